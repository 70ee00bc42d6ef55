//! SQL for custom views: the `custom_views` rows, their selected components (by identifier), and
//! what a view's data needs (co-managers: `store::co_managers`; the tokens of view access:
//! `store::magic_tokens`).

use super::co_managers::{Managed, ManagedRow};
use super::Result;
use sqlx::any::AnyArguments;
use sqlx::{Any, Arguments, Executor};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ViewRow {
    pub id: i64,
    pub page_id: i64,
    pub short_code: String,
    pub alias: Option<String>,
    pub name: String,
    pub description: String,
    pub access_mode: String,
    #[sqlx(try_from = "JsonList")]
    pub allowed_domains: Vec<String>,
    #[sqlx(try_from = "JsonList")]
    pub allowed_emails: Vec<String>,
    pub owner_email: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLS: &str = "id, page_id, short_code, alias, name, description, access_mode, allowed_domains, \
    allowed_emails, owner_email, created_at, updated_at";

/// A JSON array of strings in a text column; text that is not one reads as an empty list.
struct JsonList(Vec<String>);

impl sqlx::Type<Any> for JsonList {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <String as sqlx::Type<Any>>::type_info()
    }

    fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
        <String as sqlx::Type<Any>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, Any> for JsonList {
    fn decode(value: sqlx::any::AnyValueRef<'r>) -> std::result::Result<Self, sqlx::error::BoxDynError> {
        let text = <String as sqlx::Decode<Any>>::decode(value)?;
        Ok(JsonList(serde_json::from_str(&text).unwrap_or_default()))
    }
}

impl From<JsonList> for Vec<String> {
    fn from(l: JsonList) -> Vec<String> {
        l.0
    }
}

impl ManagedRow for ViewRow {
    const OF: Managed = Managed::View;
    const COLS: &'static str = COLS;
}

/// The editable fields of a view, already validated.
pub struct ViewFields<'a> {
    pub alias: Option<&'a str>,
    pub name: &'a str,
    pub description: &'a str,
    pub access_mode: &'a str,
    pub allowed_domains: &'a [String],
    pub allowed_emails: &'a [String],
}

fn json_list(l: &[String]) -> String {
    serde_json::to_string(l).expect("strings serialise")
}

/// A view's fields as `$2` to `$7` after `key` (`$1`: the page of a new view, or the view
/// updated), and `now` as `$8`.
fn fields_args<'q>(key: i64, f: &ViewFields<'q>, now: i64) -> Result<AnyArguments<'q>> {
    super::args(|a| {
        a.add(key)?;
        a.add(f.alias)?;
        a.add(f.name)?;
        a.add(f.description)?;
        a.add(f.access_mode)?;
        a.add(json_list(f.allowed_domains))?;
        a.add(json_list(f.allowed_emails))?;
        a.add(now)
    })
}

pub async fn insert<'c, E: Executor<'c, Database = Any>>(
    e: E,
    page_id: i64,
    short_code: &str,
    owner: &str,
    f: &ViewFields<'_>,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar_with(
        "INSERT INTO custom_views (page_id, alias, name, description, access_mode, allowed_domains, allowed_emails, \
         created_at, updated_at, short_code, owner_email) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10) \
         RETURNING id",
        fields_args(page_id, f, now)?,
    )
    .bind(short_code)
    .bind(owner)
    .fetch_one(e)
    .await?)
}

pub async fn update<'c, E: Executor<'c, Database = Any>>(e: E, id: i64, f: &ViewFields<'_>, now: i64) -> Result<()> {
    sqlx::query_with(
        "UPDATE custom_views SET alias = $2, name = $3, description = $4, access_mode = $5, allowed_domains = $6, \
         allowed_emails = $7, updated_at = $8 WHERE id = $1",
        fields_args(id, f, now)?,
    )
    .execute(e)
    .await?;
    Ok(())
}

pub async fn delete<'c, E: Executor<'c, Database = Any>>(e: E, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM custom_views WHERE id = $1").bind(id).execute(e).await?;
    Ok(())
}

pub async fn by_id<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64, id: i64) -> Result<Option<ViewRow>> {
    Ok(sqlx::query_as(&format!("SELECT {COLS} FROM custom_views WHERE page_id = $1 AND id = $2"))
        .bind(page_id)
        .bind(id)
        .fetch_optional(e)
        .await?)
}

/// A view of the page by short code or alias (the two never collide: codes hold upper case).
pub async fn by_code<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64, code: &str) -> Result<Option<ViewRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLS} FROM custom_views WHERE page_id = $1 AND (short_code = $2 OR alias = $2) ORDER BY id LIMIT 1"
    ))
    .bind(page_id)
    .bind(code)
    .fetch_optional(e)
    .await?)
}

/// Whether a short code exists anywhere in the deployment (codes are unique across pages).
pub async fn code_taken<'c, E: Executor<'c, Database = Any>>(e: E, code: &str) -> Result<bool> {
    let r = sqlx::query("SELECT 1 FROM custom_views WHERE short_code = $1").bind(code).fetch_optional(e).await?;
    Ok(r.is_some())
}

pub async fn count_owned<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64, email: &str) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM custom_views WHERE page_id = $1 AND owner_email = $2")
        .bind(page_id)
        .bind(email)
        .fetch_one(e)
        .await?)
}

/// Admin list: views of the page, newest first, before the cursor id; `mode` filters.
pub async fn list_admin<'c, E: Executor<'c, Database = Any>>(
    e: E,
    page_id: i64,
    mode: Option<&str>,
    before: i64,
    limit: i64,
) -> Result<Vec<ViewRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLS} FROM custom_views WHERE page_id = $1 AND id < $2 AND ($3 = '' OR access_mode = $3) \
         ORDER BY id DESC LIMIT $4"
    ))
    .bind(page_id)
    .bind(before)
    .bind(mode.unwrap_or(""))
    .bind(limit)
    .fetch_all(e)
    .await?)
}

/// (access mode, count) of the page's views.
pub async fn counts_by_mode<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64) -> Result<Vec<(String, i64)>> {
    Ok(sqlx::query_as("SELECT access_mode, COUNT(*) FROM custom_views WHERE page_id = $1 GROUP BY access_mode")
        .bind(page_id)
        .fetch_all(e)
        .await?)
}

/// How many of the page's views select a component that no longer exists.
pub async fn count_with_deleted_components<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM custom_views v WHERE v.page_id = $1 AND EXISTS (SELECT 1 FROM custom_view_components c \
         WHERE c.view_id = v.id AND NOT EXISTS (SELECT 1 FROM hierarchy_items h WHERE h.page_id = v.page_id \
         AND h.identifier = c.identifier))",
    )
    .bind(page_id)
    .fetch_one(e)
    .await?)
}

// ---- components ---------------------------------------------------------------------------

/// The selected component identifiers of the given views: (view id, identifier), in order.
pub async fn components_of<'c, E: Executor<'c, Database = Any>>(e: E, ids: &[i64]) -> Result<Vec<(i64, String)>> {
    super::id_text_pairs(e, ids, |list| {
        format!(
            "SELECT view_id, identifier FROM custom_view_components WHERE view_id IN ({list}) ORDER BY view_id, position"
        )
    })
    .await
}

pub async fn set_components(tx: &mut sqlx::AnyConnection, view_id: i64, identifiers: &[String]) -> Result<()> {
    sqlx::query("DELETE FROM custom_view_components WHERE view_id = $1").bind(view_id).execute(&mut *tx).await?;
    for (i, identifier) in identifiers.iter().enumerate() {
        sqlx::query("INSERT INTO custom_view_components (view_id, position, identifier) VALUES ($1, $2, $3)")
            .bind(view_id)
            .bind(i as i64)
            .bind(identifier)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

// ---- what a view's data touches ----------------------------------------------------------------

/// What a view lists besides its components' status.
#[derive(Debug, Clone, Copy)]
pub enum Listed {
    /// Public incidents that are open, or resolved since `since`.
    Incidents,
    /// Maintenance windows upcoming, in progress, or finished since `since`.
    Maintenances,
}

impl Listed {
    /// The table, its component table with the key column there, and the condition on a row `s`
    /// (with `since` as `$2`).
    fn parts(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            Listed::Incidents => (
                "incidents",
                "incident_items",
                "incident_id",
                "s.visibility = 'public' AND (s.resolved_at IS NULL OR s.resolved_at >= $2)",
            ),
            Listed::Maintenances => (
                "maintenances",
                "maintenance_items",
                "maintenance_id",
                "COALESCE(s.completed_at, s.cancelled_at, $2) >= $2",
            ),
        }
    }
}

/// Ids of the page's incidents or maintenance windows ([`Listed`]) that name one of `items` or no
/// component at all (page-wide): newest first, at most `limit`.
pub async fn touching<'c, E: Executor<'c, Database = Any>>(
    e: E,
    listed: Listed,
    page_id: i64,
    items: &[i64],
    since: i64,
    limit: i64,
) -> Result<Vec<i64>> {
    let (table, item_table, key, cond) = listed.parts();
    let list = super::id_list(items);
    Ok(sqlx::query_scalar(&format!(
        "SELECT s.id FROM {table} s WHERE s.page_id = $1 AND {cond} \
         AND (EXISTS (SELECT 1 FROM {item_table} x WHERE x.{key} = s.id AND x.item_id IN ({list})) \
              OR NOT EXISTS (SELECT 1 FROM {item_table} y WHERE y.{key} = s.id)) \
         ORDER BY s.id DESC LIMIT $3"
    ))
    .bind(page_id)
    .bind(since)
    .bind(limit)
    .fetch_all(e)
    .await?)
}
