//! SQL for hierarchy levels and items, status definitions and lifecycle stages.

use super::{Flag, Result};
use sqlx::any::AnyArguments;
use sqlx::{Any, Arguments, Executor};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LevelRow {
    pub id: i64,
    pub page_id: i64,
    pub depth: i64,
    pub singular: String,
    pub plural: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ItemRow {
    pub id: i64,
    pub page_id: i64,
    pub depth: i64,
    pub parent_id: Option<i64>,
    pub identifier: String,
    pub name: String,
    pub abbreviation: String,
    pub description: String,
    pub display_order: i64,
    pub metadata: String,
    #[sqlx(try_from = "Flag")]
    pub visible: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StatusRow {
    pub id: i64,
    pub key: String,
    pub name: String,
    pub severity: i64,
    pub color: String,
    pub downtime_permille: i64,
    #[sqlx(try_from = "Flag")]
    pub reserved: bool,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StageRow {
    pub id: i64,
    pub kind: String,
    pub key: String,
    pub name: String,
    pub position: i64,
}

const ITEM_COLS: &str = "id, page_id, depth, parent_id, identifier, name, abbreviation, description, display_order, \
    metadata, visible, created_at, updated_at";

// ---- levels -----------------------------------------------------------------------------------

pub async fn levels<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64) -> Result<Vec<LevelRow>> {
    Ok(sqlx::query_as(
        "SELECT id, page_id, depth, singular, plural FROM hierarchy_levels WHERE page_id = $1 ORDER BY depth",
    )
    .bind(page_id)
    .fetch_all(e)
    .await?)
}

pub async fn insert_level<'c, E: Executor<'c, Database = Any>>(
    e: E,
    page_id: i64,
    depth: i64,
    singular: &str,
    plural: &str,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO hierarchy_levels (page_id, depth, singular, plural) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(page_id)
    .bind(depth)
    .bind(singular)
    .bind(plural)
    .fetch_one(e)
    .await?)
}

pub async fn update_level<'c, E: Executor<'c, Database = Any>>(
    e: E,
    page_id: i64,
    depth: i64,
    singular: &str,
    plural: &str,
) -> Result<bool> {
    let r = sqlx::query("UPDATE hierarchy_levels SET singular = $3, plural = $4 WHERE page_id = $1 AND depth = $2")
        .bind(page_id)
        .bind(depth)
        .bind(singular)
        .bind(plural)
        .execute(e)
        .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn delete_level<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64, depth: i64) -> Result<bool> {
    let r = sqlx::query("DELETE FROM hierarchy_levels WHERE page_id = $1 AND depth = $2")
        .bind(page_id)
        .bind(depth)
        .execute(e)
        .await?;
    Ok(r.rows_affected() == 1)
}

// ---- items ------------------------------------------------------------------------------------

pub async fn items<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64) -> Result<Vec<ItemRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {ITEM_COLS} FROM hierarchy_items WHERE page_id = $1 ORDER BY depth, display_order, id"
    ))
    .bind(page_id)
    .fetch_all(e)
    .await?)
}

pub async fn item_by_id<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64, id: i64) -> Result<Option<ItemRow>> {
    Ok(sqlx::query_as(&format!("SELECT {ITEM_COLS} FROM hierarchy_items WHERE page_id = $1 AND id = $2"))
        .bind(page_id)
        .bind(id)
        .fetch_optional(e)
        .await?)
}

pub async fn item_by_identifier<'c, E: Executor<'c, Database = Any>>(
    e: E,
    page_id: i64,
    identifier: &str,
) -> Result<Option<ItemRow>> {
    Ok(sqlx::query_as(&format!("SELECT {ITEM_COLS} FROM hierarchy_items WHERE page_id = $1 AND identifier = $2"))
        .bind(page_id)
        .bind(identifier)
        .fetch_optional(e)
        .await?)
}

/// Fields of an item as written.
pub struct ItemFields<'a> {
    pub depth: i64,
    pub parent_id: Option<i64>,
    pub identifier: &'a str,
    pub name: &'a str,
    pub abbreviation: &'a str,
    pub description: &'a str,
    pub display_order: i64,
    pub metadata: &'a str,
    pub visible: bool,
}

/// An item's fields as `$2` to `$10` after `key` (`$1`: the page of a new item, or the item
/// updated), and `now` as `$11`.
fn item_args<'q>(key: i64, f: &ItemFields<'q>, now: i64) -> Result<AnyArguments<'q>> {
    super::args(|a| {
        a.add(key)?;
        a.add(f.depth)?;
        a.add(f.parent_id)?;
        a.add(f.identifier)?;
        a.add(f.name)?;
        a.add(f.abbreviation)?;
        a.add(f.description)?;
        a.add(f.display_order)?;
        a.add(f.metadata)?;
        a.add(f.visible as i64)?;
        a.add(now)
    })
}

pub async fn insert_item<'c, E: Executor<'c, Database = Any>>(
    e: E,
    page_id: i64,
    f: &ItemFields<'_>,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar_with(
        "INSERT INTO hierarchy_items (page_id, depth, parent_id, identifier, name, abbreviation, description, \
         display_order, metadata, visible, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id",
        item_args(page_id, f, now)?,
    )
    .fetch_one(e)
    .await?)
}

pub async fn update_item<'c, E: Executor<'c, Database = Any>>(
    e: E,
    id: i64,
    f: &ItemFields<'_>,
    now: i64,
) -> Result<()> {
    sqlx::query_with(
        "UPDATE hierarchy_items SET depth = $2, parent_id = $3, identifier = $4, name = $5, abbreviation = $6, \
         description = $7, display_order = $8, metadata = $9, visible = $10, updated_at = $11 WHERE id = $1",
        item_args(id, f, now)?,
    )
    .execute(e)
    .await?;
    Ok(())
}

pub async fn delete_item<'c, E: Executor<'c, Database = Any>>(e: E, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM hierarchy_items WHERE id = $1").bind(id).execute(e).await?;
    Ok(())
}

pub async fn count_children<'c, E: Executor<'c, Database = Any>>(e: E, id: i64) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM hierarchy_items WHERE parent_id = $1").bind(id).fetch_one(e).await?)
}

pub async fn count_items_at_depth<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64, depth: i64) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM hierarchy_items WHERE page_id = $1 AND depth = $2")
        .bind(page_id)
        .bind(depth)
        .fetch_one(e)
        .await?)
}

// ---- status definitions -----------------------------------------------------------------------

pub async fn statuses<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64) -> Result<Vec<StatusRow>> {
    Ok(sqlx::query_as(
        "SELECT id, key, name, severity, color, downtime_permille, reserved FROM status_definitions \
         WHERE page_id = $1 ORDER BY reserved, severity",
    )
    .bind(page_id)
    .fetch_all(e)
    .await?)
}

/// Replaces a page's status definitions (the service validated the whole set).
pub async fn replace_statuses(tx: &mut sqlx::AnyConnection, page_id: i64, defs: &[StatusRow]) -> Result<()> {
    sqlx::query("DELETE FROM status_definitions WHERE page_id = $1").bind(page_id).execute(&mut *tx).await?;
    for d in defs {
        sqlx::query(
            "INSERT INTO status_definitions (page_id, key, name, severity, color, downtime_permille, reserved) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(page_id)
        .bind(&d.key)
        .bind(&d.name)
        .bind(d.severity)
        .bind(&d.color)
        .bind(d.downtime_permille)
        .bind(d.reserved as i64)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

// ---- lifecycle stages -------------------------------------------------------------------------

pub async fn stages<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64, kind: &str) -> Result<Vec<StageRow>> {
    Ok(sqlx::query_as(
        "SELECT id, kind, key, name, position FROM lifecycle_stages WHERE page_id = $1 AND kind = $2 ORDER BY position",
    )
    .bind(page_id)
    .bind(kind)
    .fetch_all(e)
    .await?)
}

/// Replaces a page's stages of one kind, in the given order.
pub async fn replace_stages(
    tx: &mut sqlx::AnyConnection,
    page_id: i64,
    kind: &str,
    stages: &[(String, String)],
) -> Result<()> {
    sqlx::query("DELETE FROM lifecycle_stages WHERE page_id = $1 AND kind = $2")
        .bind(page_id)
        .bind(kind)
        .execute(&mut *tx)
        .await?;
    for (i, (key, name)) in stages.iter().enumerate() {
        sqlx::query("INSERT INTO lifecycle_stages (page_id, kind, key, name, position) VALUES ($1, $2, $3, $4, $5)")
            .bind(page_id)
            .bind(kind)
            .bind(key)
            .bind(name)
            .bind(i as i64)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}
