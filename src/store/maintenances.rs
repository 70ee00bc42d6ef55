//! SQL for maintenance windows.

use super::{opt_i64, opt_str, Result};
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

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

pub const COLS: &str = "id, page_id, external_id, request_hash, title, description, impact, affected_items_freetext, \
    starts_at, ends_at, time_zone, auto_start, auto_complete, reminder_minutes, stage, started_at, completed_at, \
    cancelled_at, reminded_at, notify, created_at, updated_at";

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

/// Which windows a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// Not started, not cancelled.
    Upcoming,
    /// Started, not completed or cancelled.
    Active,
    /// Completed or cancelled.
    Completed,
    All,
}

/// Windows of a page: upcoming ones soonest first, the others newest first.
pub async fn list<'c, E: Executor<'c, Database = Any>>(
    e: E,
    page_id: i64,
    filter: Filter,
    after: i64,
    limit: i64,
) -> Result<Vec<MaintenanceRow>> {
    let (cond, order) = match filter {
        Filter::Upcoming => ("started_at IS NULL AND cancelled_at IS NULL AND completed_at IS NULL", "starts_at, id"),
        Filter::Active => ("started_at IS NOT NULL AND completed_at IS NULL AND cancelled_at IS NULL", "starts_at, id"),
        Filter::Completed => ("(completed_at IS NOT NULL OR cancelled_at IS NOT NULL)", "id DESC"),
        Filter::All => ("1 = 1", "id DESC"),
    };
    // Keyset on id for every filter: `after` is the last id seen (0 = start) in id order.
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM maintenances WHERE page_id = $1 AND {cond} AND ($2 = 0 OR id <> $2) ORDER BY {order} LIMIT $3"
    ))
    .bind(page_id)
    .bind(after)
    .bind(limit)
    .fetch_all(e)
    .await?;
    Ok(rows.iter().map(row).collect())
}

/// Identifiers of the items of the given windows: (maintenance id, item identifier, item name).
pub async fn items_of<'c, E: Executor<'c, Database = Any>>(
    e: E,
    ids: &[i64],
) -> Result<Vec<(i64, i64, String, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let rows = sqlx::query(&format!(
        "SELECT mi.maintenance_id, h.id, h.identifier, h.name FROM maintenance_items mi \
         JOIN hierarchy_items h ON h.id = mi.item_id WHERE mi.maintenance_id IN ({list}) ORDER BY h.display_order, h.id"
    ))
    .fetch_all(e)
    .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect())
}
