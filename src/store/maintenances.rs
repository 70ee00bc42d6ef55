//! SQL for maintenance windows, their items and updates. Their transitions and the scheduler's
//! scans are in `maintenance_claims`.

use super::{opt_i64, opt_str, Result};
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

/// A maintenance window as stored (times in epoch milliseconds, UTC).
#[derive(Debug, Clone)]
pub struct MaintenanceRow {
    pub id: i64,
    pub page_id: i64,
    pub external_id: Option<String>,
    pub request_hash: String,
    pub title: String,
    pub description: String,
    pub impact: String,
    pub affected_items_freetext: String,
    pub starts_at: i64,
    pub ends_at: i64,
    pub time_zone: String,
    pub auto_start: bool,
    pub auto_complete: bool,
    pub reminder_minutes: i64,
    pub stage: String,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub cancelled_at: Option<i64>,
    pub reminded_at: Option<i64>,
    pub notify: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One update posted on a window.
#[derive(Debug, Clone)]
pub struct MaintenanceUpdateRow {
    pub id: i64,
    pub maintenance_id: i64,
    pub message: String,
    pub stage: String,
    pub notify: bool,
    pub created_at: i64,
}

/// The columns of [`MaintenanceRow`], for `SELECT`.
pub const COLS: &str = "id, page_id, external_id, request_hash, title, description, impact, affected_items_freetext, \
    starts_at, ends_at, time_zone, auto_start, auto_complete, reminder_minutes, stage, started_at, completed_at, \
    cancelled_at, reminded_at, notify, created_at, updated_at";

/// Reads a [`MaintenanceRow`].
pub fn row(r: &AnyRow) -> MaintenanceRow {
    MaintenanceRow {
        id: r.get("id"),
        page_id: r.get("page_id"),
        external_id: opt_str(r, "external_id"),
        request_hash: r.get("request_hash"),
        title: r.get("title"),
        description: r.get("description"),
        impact: r.get("impact"),
        affected_items_freetext: r.get("affected_items_freetext"),
        starts_at: r.get("starts_at"),
        ends_at: r.get("ends_at"),
        time_zone: r.get("time_zone"),
        auto_start: r.get::<i64, _>("auto_start") != 0,
        auto_complete: r.get::<i64, _>("auto_complete") != 0,
        reminder_minutes: r.get("reminder_minutes"),
        stage: r.get("stage"),
        started_at: opt_i64(r, "started_at"),
        completed_at: opt_i64(r, "completed_at"),
        cancelled_at: opt_i64(r, "cancelled_at"),
        reminded_at: opt_i64(r, "reminded_at"),
        notify: r.get::<i64, _>("notify") != 0,
        created_at: r.get("created_at"),
        updated_at: r.get("updated_at"),
    }
}

/// The fields a caller sets on a window.
pub struct MaintenanceFields<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub impact: &'a str,
    pub affected_items_freetext: &'a str,
    pub starts_at: i64,
    pub ends_at: i64,
    pub time_zone: &'a str,
    pub auto_start: bool,
    pub auto_complete: bool,
    pub reminder_minutes: i64,
    pub notify: bool,
}

/// Where a new window starts its life (a backfill inserts a finished one).
pub struct Lifecycle<'a> {
    pub stage: &'a str,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub reminded_at: Option<i64>,
}

pub async fn insert<'c, E: Executor<'c, Database = Any>>(
    e: E,
    page_id: i64,
    identity: (Option<&str>, &str),
    f: &MaintenanceFields<'_>,
    l: &Lifecycle<'_>,
    now: i64,
) -> Result<i64> {
    let r = sqlx::query(
        "INSERT INTO maintenances (page_id, external_id, request_hash, title, description, impact, \
         affected_items_freetext, starts_at, ends_at, time_zone, auto_start, auto_complete, reminder_minutes, stage, \
         started_at, completed_at, cancelled_at, reminded_at, notify, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, NULL, $17, $18, $19, $19) \
         RETURNING id",
    )
    .bind(page_id)
    .bind(identity.0)
    .bind(identity.1)
    .bind(f.title)
    .bind(f.description)
    .bind(f.impact)
    .bind(f.affected_items_freetext)
    .bind(f.starts_at)
    .bind(f.ends_at)
    .bind(f.time_zone)
    .bind(f.auto_start as i64)
    .bind(f.auto_complete as i64)
    .bind(f.reminder_minutes)
    .bind(l.stage)
    .bind(l.started_at)
    .bind(l.completed_at)
    .bind(l.reminded_at)
    .bind(f.notify as i64)
    .bind(now)
    .fetch_one(e)
    .await?;
    Ok(r.get(0))
}

/// Rewrites a window's own fields while it is unfinished (and, with `before_start`, not started).
/// `reminder` = `Some(x)` sets `reminded_at` to x (a reschedule re-arms the reminder); `None`
/// leaves it alone. False when the window's state moved on underneath.
pub async fn update_fields<'c, E: Executor<'c, Database = Any>>(
    e: E,
    id: i64,
    f: &MaintenanceFields<'_>,
    before_start: bool,
    reminder: Option<Option<i64>>,
    seen: (i64, i64),
    now: i64,
) -> Result<bool> {
    // `seen` is the (starts_at, ends_at) the caller read: a concurrent extend or reschedule makes
    // this update change nothing rather than undo it.
    let r = sqlx::query(
        "UPDATE maintenances SET title = $2, description = $3, impact = $4, affected_items_freetext = $5, \
         starts_at = $6, ends_at = $7, time_zone = $8, auto_start = $9, auto_complete = $10, reminder_minutes = $11, \
         notify = $12, reminded_at = CASE WHEN $13 = 1 THEN $14 ELSE reminded_at END, updated_at = $15 \
         WHERE id = $1 AND completed_at IS NULL AND cancelled_at IS NULL AND ($16 = 0 OR started_at IS NULL) \
         AND starts_at = $17 AND ends_at = $18",
    )
    .bind(id)
    .bind(f.title)
    .bind(f.description)
    .bind(f.impact)
    .bind(f.affected_items_freetext)
    .bind(f.starts_at)
    .bind(f.ends_at)
    .bind(f.time_zone)
    .bind(f.auto_start as i64)
    .bind(f.auto_complete as i64)
    .bind(f.reminder_minutes)
    .bind(f.notify as i64)
    .bind(reminder.is_some() as i64)
    .bind(reminder.flatten())
    .bind(now)
    .bind(before_start as i64)
    .bind(seen.0)
    .bind(seen.1)
    .execute(e)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn by_id<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64, id: i64) -> Result<Option<MaintenanceRow>> {
    let r = sqlx::query(&format!("SELECT {COLS} FROM maintenances WHERE page_id = $1 AND id = $2"))
        .bind(page_id)
        .bind(id)
        .fetch_optional(e)
        .await?;
    Ok(r.as_ref().map(row))
}

pub async fn by_external_id<'c, E: Executor<'c, Database = Any>>(
    e: E,
    page_id: i64,
    external_id: &str,
) -> Result<Option<MaintenanceRow>> {
    let r = sqlx::query(&format!("SELECT {COLS} FROM maintenances WHERE page_id = $1 AND external_id = $2"))
        .bind(page_id)
        .bind(external_id)
        .fetch_optional(e)
        .await?;
    Ok(r.as_ref().map(row))
}

pub async fn delete<'c, E: Executor<'c, Database = Any>>(e: E, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM maintenances WHERE id = $1").bind(id).execute(e).await?;
    Ok(())
}

/// Which windows a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// Not started, not finished: soonest first.
    Upcoming,
    /// Started, not finished: soonest first.
    Active,
    /// Completed or cancelled: most recently finished first.
    Completed,
    /// Everything: newest first.
    All,
}

/// Windows of a page in the filter's order, after the window `after` (the last one of the
/// previous page; `None` = from the start).
pub async fn list<'c, E: Executor<'c, Database = Any>>(
    e: E,
    page_id: i64,
    filter: Filter,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<MaintenanceRow>> {
    // (condition, sort key, direction): keyset pagination on (key, id) in that direction.
    let (cond, key, cmp, dir) = match filter {
        Filter::Upcoming => {
            ("started_at IS NULL AND completed_at IS NULL AND cancelled_at IS NULL", "starts_at", ">", "")
        }
        Filter::Active => {
            ("started_at IS NOT NULL AND completed_at IS NULL AND cancelled_at IS NULL", "starts_at", ">", "")
        }
        Filter::Completed => (
            "(completed_at IS NOT NULL OR cancelled_at IS NOT NULL)",
            "COALESCE(completed_at, cancelled_at)",
            "<",
            "DESC",
        ),
        Filter::All => ("1 = 1", "id", "<", "DESC"),
    };
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM maintenances WHERE page_id = $1 AND {cond} AND ($2 = 0 OR ({key}, id) {cmp} \
         (SELECT {key}, id FROM maintenances WHERE page_id = $1 AND id = $2)) \
         ORDER BY {key} {dir}, id {dir} LIMIT $3"
    ))
    .bind(page_id)
    .bind(after.unwrap_or(0))
    .bind(limit)
    .fetch_all(e)
    .await?;
    Ok(rows.iter().map(row).collect())
}

// ---- affected items ----------------------------------------------------------------------------

/// The items of the given windows: (maintenance id, item id, item identifier, item name).
pub async fn items_of<'c, E: Executor<'c, Database = Any>>(
    e: E,
    ids: &[i64],
    visible_only: bool,
) -> Result<Vec<(i64, i64, String, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // Ids are integers we produced; inlining them keeps one statement for any number.
    let list = super::id_list(ids);
    let visible = if visible_only { "AND h.visible = 1" } else { "" };
    let rows = sqlx::query(&format!(
        "SELECT mi.maintenance_id, h.id, h.identifier, h.name FROM maintenance_items mi \
         JOIN hierarchy_items h ON h.id = mi.item_id WHERE mi.maintenance_id IN ({list}) {visible} \
         ORDER BY h.display_order, h.id"
    ))
    .fetch_all(e)
    .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect())
}

/// Replaces a window's affected items.
pub async fn set_items(tx: &mut sqlx::AnyConnection, maintenance_id: i64, items: &[i64]) -> Result<()> {
    sqlx::query("DELETE FROM maintenance_items WHERE maintenance_id = $1")
        .bind(maintenance_id)
        .execute(&mut *tx)
        .await?;
    for item_id in items {
        sqlx::query("INSERT INTO maintenance_items (maintenance_id, item_id) VALUES ($1, $2)")
            .bind(maintenance_id)
            .bind(item_id)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

// ---- updates -----------------------------------------------------------------------------------

pub async fn insert_update<'c, E: Executor<'c, Database = Any>>(
    e: E,
    maintenance_id: i64,
    message: &str,
    stage: &str,
    notify: bool,
    created_at: i64,
) -> Result<i64> {
    let r = sqlx::query(
        "INSERT INTO maintenance_updates (maintenance_id, message, stage, notify, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(maintenance_id)
    .bind(message)
    .bind(stage)
    .bind(notify as i64)
    .bind(created_at)
    .fetch_one(e)
    .await?;
    Ok(r.get(0))
}

/// Updates of the given windows, newest first.
pub async fn updates_of<'c, E: Executor<'c, Database = Any>>(e: E, ids: &[i64]) -> Result<Vec<MaintenanceUpdateRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = super::id_list(ids);
    let rows = sqlx::query(&format!(
        "SELECT id, maintenance_id, message, stage, notify, created_at FROM maintenance_updates \
         WHERE maintenance_id IN ({list}) ORDER BY maintenance_id, created_at DESC, id DESC"
    ))
    .fetch_all(e)
    .await?;
    Ok(rows
        .iter()
        .map(|r| MaintenanceUpdateRow {
            id: r.get("id"),
            maintenance_id: r.get("maintenance_id"),
            message: r.get("message"),
            stage: r.get("stage"),
            notify: r.get::<i64, _>("notify") != 0,
            created_at: r.get("created_at"),
        })
        .collect())
}
