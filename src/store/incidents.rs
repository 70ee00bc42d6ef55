//! SQL for incidents: their own fields, impact history, what is in use and what the status
//! roll-up needs. Reads by id, items, updates and events are shared with maintenance windows in
//! `notices`.

use super::notices::{Kind, Notice};
use super::Result;
use sqlx::{Any, Executor, FromRow};

#[derive(Debug, Clone, FromRow)]
pub struct IncidentRow {
    pub id: i64,
    pub page_id: i64,
    pub external_id: Option<String>,
    pub request_hash: String,
    pub title: String,
    pub description: String,
    pub status: String,
    pub stage: String,
    pub impact: String,
    pub affected_items_freetext: String,
    pub visibility: String,
    pub started_at: i64,
    pub acknowledged_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub resolution_message: String,
    pub report_body: String,
    pub report_state: String,
    pub report_published_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Bumped by every write; writes name the version they read (optimistic concurrency).
    pub version: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct ImpactRow {
    pub item_id: i64,
    pub status: String,
    pub from_at: i64,
    pub until_at: Option<i64>,
}

impl Notice for IncidentRow {
    const KIND: Kind = Kind::Incident;
    const COLS: &'static str = "id, page_id, external_id, request_hash, title, description, status, stage, impact, \
    affected_items_freetext, visibility, started_at, acknowledged_at, resolved_at, resolution_message, report_body, \
    report_state, report_published_at, created_at, updated_at, version";

    fn request_hash(&self) -> &str {
        &self.request_hash
    }
}

/// The writable fields of an incident.
pub struct IncidentFields<'a> {
    pub external_id: Option<&'a str>,
    pub request_hash: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    pub status: &'a str,
    pub stage: &'a str,
    pub impact: &'a str,
    pub affected_items_freetext: &'a str,
    pub visibility: &'a str,
    pub started_at: i64,
    pub acknowledged_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub resolution_message: &'a str,
}

pub async fn insert<'c, E: Executor<'c, Database = Any>>(
    e: E,
    page_id: i64,
    f: &IncidentFields<'_>,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO incidents (page_id, external_id, request_hash, title, description, status, stage, impact, \
         affected_items_freetext, visibility, started_at, acknowledged_at, resolved_at, resolution_message, report_body, \
         report_state, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, '', 'none', $15, $15) RETURNING id",
    )
    .bind(page_id)
    .bind(f.external_id)
    .bind(f.request_hash)
    .bind(f.title)
    .bind(f.description)
    .bind(f.status)
    .bind(f.stage)
    .bind(f.impact)
    .bind(f.affected_items_freetext)
    .bind(f.visibility)
    .bind(f.started_at)
    .bind(f.acknowledged_at)
    .bind(f.resolved_at)
    .bind(f.resolution_message)
    .bind(now)
    .fetch_one(e)
    .await?)
}

/// Writes an incident's fields if nobody changed it since `seen_version` was read; false when a
/// concurrent write won (the caller answers 409 and changes nothing else).
pub async fn update<'c, E: Executor<'c, Database = Any>>(
    e: E,
    id: i64,
    seen_version: i64,
    f: &IncidentFields<'_>,
    now: i64,
) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE incidents SET title = $2, description = $3, status = $4, stage = $5, impact = $6, \
         affected_items_freetext = $7, visibility = $8, started_at = $9, acknowledged_at = $10, resolved_at = $11, \
         resolution_message = $12, updated_at = $13, version = version + 1 WHERE id = $1 AND version = $14",
    )
    .bind(id)
    .bind(f.title)
    .bind(f.description)
    .bind(f.status)
    .bind(f.stage)
    .bind(f.impact)
    .bind(f.affected_items_freetext)
    .bind(f.visibility)
    .bind(f.started_at)
    .bind(f.acknowledged_at)
    .bind(f.resolved_at)
    .bind(f.resolution_message)
    .bind(now)
    .bind(seen_version)
    .execute(e)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Writes the report if nobody changed the incident since `seen_version`.
pub async fn set_report<'c, E: Executor<'c, Database = Any>>(
    e: E,
    id: i64,
    seen_version: i64,
    body: &str,
    state: &str,
    published_at: Option<i64>,
    now: i64,
) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE incidents SET report_body = $2, report_state = $3, report_published_at = $4, updated_at = $5, \
         version = version + 1 WHERE id = $1 AND version = $6",
    )
    .bind(id)
    .bind(body)
    .bind(state)
    .bind(published_at)
    .bind(now)
    .bind(seen_version)
    .execute(e)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Which incidents a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    Active,
    Resolved,
    All,
}

/// Incidents of a page, newest first (by id), before the cursor id.
pub async fn list<'c, E: Executor<'c, Database = Any>>(
    e: E,
    page_id: i64,
    filter: Filter,
    public_only: bool,
    before: i64,
    limit: i64,
) -> Result<Vec<IncidentRow>> {
    let state = match filter {
        Filter::Active => "AND resolved_at IS NULL",
        Filter::Resolved => "AND resolved_at IS NOT NULL",
        Filter::All => "",
    };
    let vis = if public_only { "AND visibility = 'public'" } else { "" };
    let cols = IncidentRow::COLS;
    Ok(sqlx::query_as(&format!(
        "SELECT {cols} FROM incidents WHERE page_id = $1 AND id < $2 {state} {vis} ORDER BY id DESC LIMIT $3"
    ))
    .bind(page_id)
    .bind(before)
    .bind(limit)
    .fetch_all(e)
    .await?)
}

// ---- impact history ---------------------------------------------------------------------------

/// Ends every open impact stretch of an incident at `at`.
pub async fn close_impacts<'c, E: Executor<'c, Database = Any>>(e: E, incident_id: i64, at: i64) -> Result<()> {
    sqlx::query("UPDATE incident_impacts SET until_at = $2 WHERE incident_id = $1 AND until_at IS NULL")
        .bind(incident_id)
        .bind(at)
        .execute(e)
        .await?;
    Ok(())
}

/// Starts impact stretches at `at` (open-ended, or ending at `until` for backfills).
pub async fn open_impacts(
    tx: &mut sqlx::AnyConnection,
    incident_id: i64,
    items: &[(i64, String)],
    at: i64,
    until: Option<i64>,
) -> Result<()> {
    for (item_id, status) in items {
        sqlx::query("INSERT INTO incident_impacts (incident_id, item_id, status, from_at, until_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(incident_id)
            .bind(item_id)
            .bind(status)
            .bind(at)
            .bind(until)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// Hands an item's impact history to another item (its parent, when the item is deleted).
pub async fn move_impacts<'c, E: Executor<'c, Database = Any>>(e: E, from_item: i64, to_item: i64) -> Result<()> {
    sqlx::query("UPDATE incident_impacts SET item_id = $2 WHERE item_id = $1")
        .bind(from_item)
        .bind(to_item)
        .execute(e)
        .await?;
    Ok(())
}

/// Public impact stretches of some of a page's items overlapping `[from, until)` (uptime reads
/// only the items of the page of components it serves, and their descendants).
pub async fn impacts<'c, E: Executor<'c, Database = Any>>(
    e: E,
    page_id: i64,
    item_ids: &[i64],
    from: i64,
    until: i64,
) -> Result<Vec<ImpactRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT m.item_id, m.status, m.from_at, m.until_at FROM incident_impacts m \
         JOIN incidents i ON i.id = m.incident_id \
         WHERE i.page_id = $1 AND i.visibility = 'public' AND m.from_at < $3 AND (m.until_at IS NULL OR m.until_at > $2) \
         AND m.item_id IN ({})",
        super::id_list(item_ids)
    ))
    .bind(page_id)
    .bind(from)
    .bind(until)
    .fetch_all(e)
    .await?)
}

// ---- what is in use ---------------------------------------------------------------------------

/// Status keys used by unresolved incidents or their items.
pub async fn statuses_in_use<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT status FROM incidents WHERE page_id = $1 AND resolved_at IS NULL \
         UNION SELECT ii.status FROM incident_items ii JOIN incidents i ON i.id = ii.incident_id \
         WHERE i.page_id = $1 AND i.resolved_at IS NULL",
    )
    .bind(page_id)
    .fetch_all(e)
    .await?)
}

pub async fn stages_in_use<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar("SELECT DISTINCT stage FROM incidents WHERE page_id = $1 AND resolved_at IS NULL")
        .bind(page_id)
        .fetch_all(e)
        .await?)
}

// ---- the status snapshot's inputs -------------------------------------------------------------

/// (item id, status key) of every affected item of every active public incident of a page, and
/// the statuses of active public incidents with no items.
pub async fn active_effects<'c, E: Executor<'c, Database = Any>>(
    e: E,
    page_id: i64,
) -> Result<Vec<(Option<i64>, String)>> {
    Ok(sqlx::query_as(
        "SELECT ii.item_id, ii.status FROM incident_items ii JOIN incidents i ON i.id = ii.incident_id \
         WHERE i.page_id = $1 AND i.resolved_at IS NULL AND i.visibility = 'public' \
         UNION ALL SELECT NULL, i.status FROM incidents i WHERE i.page_id = $1 AND i.resolved_at IS NULL \
         AND i.visibility = 'public' AND NOT EXISTS (SELECT 1 FROM incident_items ii WHERE ii.incident_id = i.id)",
    )
    .bind(page_id)
    .fetch_all(e)
    .await?)
}
