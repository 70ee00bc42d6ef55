//! SQL for maintenance windows' own fields and lists. Their transitions and the scheduler's scans
//! are in `maintenance_claims`; reads by id, items, updates and events are shared with incidents
//! in `notices`.

use super::notices::{Kind, Notice};
use super::Flag;
use super::Result;
use sqlx::{Any, Executor, FromRow};

/// A maintenance window as stored (times in epoch milliseconds, UTC).
#[derive(Debug, Clone, FromRow)]
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
    #[sqlx(try_from = "Flag")]
    pub auto_start: bool,
    #[sqlx(try_from = "Flag")]
    pub auto_complete: bool,
    pub reminder_minutes: i64,
    pub stage: String,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub cancelled_at: Option<i64>,
    pub reminded_at: Option<i64>,
    #[sqlx(try_from = "Flag")]
    pub notify: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Notice for MaintenanceRow {
    const KIND: Kind = Kind::Maintenance;
    const COLS: &'static str =
        "id, page_id, external_id, request_hash, title, description, impact, affected_items_freetext, \
    starts_at, ends_at, time_zone, auto_start, auto_complete, reminder_minutes, stage, started_at, completed_at, \
    cancelled_at, reminded_at, notify, created_at, updated_at";

    fn request_hash(&self) -> &str {
        &self.request_hash
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
    Ok(sqlx::query_scalar(
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
    .await?)
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
    let cols = MaintenanceRow::COLS;
    Ok(sqlx::query_as(&format!(
        "SELECT {cols} FROM maintenances WHERE page_id = $1 AND {cond} AND ($2 = 0 OR ({key}, id) {cmp} \
         (SELECT {key}, id FROM maintenances WHERE page_id = $1 AND id = $2)) \
         ORDER BY {key} {dir}, id {dir} LIMIT $3"
    ))
    .bind(page_id)
    .bind(after.unwrap_or(0))
    .bind(limit)
    .fetch_all(e)
    .await?)
}

/// Stages used by unfinished windows.
pub async fn stages_in_use<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT stage FROM maintenances WHERE page_id = $1 AND completed_at IS NULL AND cancelled_at IS NULL",
    )
    .bind(page_id)
    .fetch_all(e)
    .await?)
}

/// Items under an in-progress maintenance of a page (`None` for one without items).
pub async fn effects<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64) -> Result<Vec<Option<i64>>> {
    Ok(sqlx::query_scalar(
        "SELECT mi.item_id FROM maintenances m LEFT JOIN maintenance_items mi ON mi.maintenance_id = m.id \
         WHERE m.page_id = $1 AND m.started_at IS NOT NULL AND m.completed_at IS NULL AND m.cancelled_at IS NULL",
    )
    .bind(page_id)
    .fetch_all(e)
    .await?)
}
