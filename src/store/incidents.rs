//! SQL for incidents, their affected items, updates and impact history, the event rows, and the
//! in-progress maintenance the status roll-up needs.

use super::{opt_i64, Result};
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

#[derive(Debug, Clone)]
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

#[derive(Debug, Clone)]
pub struct IncidentItemRow {
    pub incident_id: i64,
    pub item_id: i64,
    pub identifier: String,
    pub name: String,
    pub status: String,
}

#[derive(Debug, Clone)]
pub struct UpdateRow {
    pub id: i64,
    pub incident_id: i64,
    pub message: String,
    pub stage: String,
    pub status: String,
    pub item_statuses: String,
    pub notify: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct ImpactRow {
    pub item_id: i64,
    pub status: String,
    pub from_at: i64,
    pub until_at: Option<i64>,
}

const COLS: &str = "id, page_id, external_id, request_hash, title, description, status, stage, impact, \
    affected_items_freetext, visibility, started_at, acknowledged_at, resolved_at, resolution_message, report_body, \
    report_state, report_published_at, created_at, updated_at, version";

fn incident(r: &AnyRow) -> IncidentRow {
    IncidentRow {
        id: r.get("id"),
        page_id: r.get("page_id"),
        external_id: super::opt_str(r, "external_id"),
        request_hash: r.get("request_hash"),
        title: r.get("title"),
        description: r.get("description"),
        status: r.get("status"),
        stage: r.get("stage"),
        impact: r.get("impact"),
        affected_items_freetext: r.get("affected_items_freetext"),
        visibility: r.get("visibility"),
        started_at: r.get("started_at"),
        acknowledged_at: opt_i64(r, "acknowledged_at"),
        resolved_at: opt_i64(r, "resolved_at"),
        resolution_message: r.get("resolution_message"),
        report_body: r.get("report_body"),
        report_state: r.get("report_state"),
        report_published_at: opt_i64(r, "report_published_at"),
        created_at: r.get("created_at"),
        updated_at: r.get("updated_at"),
        version: r.get("version"),
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
    let r = sqlx::query(
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
    .await?;
    Ok(r.get(0))
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

pub async fn by_id<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64, id: i64) -> Result<Option<IncidentRow>> {
    let r = sqlx::query(&format!("SELECT {COLS} FROM incidents WHERE page_id = $1 AND id = $2"))
        .bind(page_id)
        .bind(id)
        .fetch_optional(e)
        .await?;
    Ok(r.as_ref().map(incident))
}

pub async fn by_external_id<'c, E: Executor<'c, Database = Any>>(
    e: E,
    page_id: i64,
    external_id: &str,
) -> Result<Option<IncidentRow>> {
    let r = sqlx::query(&format!("SELECT {COLS} FROM incidents WHERE page_id = $1 AND external_id = $2"))
        .bind(page_id)
        .bind(external_id)
        .fetch_optional(e)
        .await?;
    Ok(r.as_ref().map(incident))
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
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM incidents WHERE page_id = $1 AND id < $2 {state} {vis} ORDER BY id DESC LIMIT $3"
    ))
    .bind(page_id)
    .bind(before)
    .bind(limit)
    .fetch_all(e)
    .await?;
    Ok(rows.iter().map(incident).collect())
}

pub async fn delete<'c, E: Executor<'c, Database = Any>>(e: E, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM incidents WHERE id = $1").bind(id).execute(e).await?;
    Ok(())
}

// ---- affected items ---------------------------------------------------------------------------

/// Affected items of the given incidents; `visible_only` leaves out components hidden from the
/// public page.
pub async fn items_of<'c, E: Executor<'c, Database = Any>>(
    e: E,
    incident_ids: &[i64],
    visible_only: bool,
) -> Result<Vec<IncidentItemRow>> {
    if incident_ids.is_empty() {
        return Ok(Vec::new());
    }
    // Ids are integers we produced; inlining them keeps one statement for any number.
    let visible = if visible_only { "AND h.visible = 1" } else { "" };
    let list = super::id_list(incident_ids);
    let rows = sqlx::query(&format!(
        "SELECT ii.incident_id, ii.item_id, h.identifier, h.name, ii.status FROM incident_items ii \
         JOIN hierarchy_items h ON h.id = ii.item_id WHERE ii.incident_id IN ({list}) {visible} ORDER BY ii.incident_id, h.display_order, h.id"
    ))
    .fetch_all(e)
    .await?;
    Ok(rows
        .iter()
        .map(|r| IncidentItemRow {
            incident_id: r.get("incident_id"),
            item_id: r.get("item_id"),
            identifier: r.get("identifier"),
            name: r.get("name"),
            status: r.get("status"),
        })
        .collect())
}

/// Replaces an incident's affected items and their statuses.
pub async fn set_items(tx: &mut sqlx::AnyConnection, incident_id: i64, items: &[(i64, String)]) -> Result<()> {
    sqlx::query("DELETE FROM incident_items WHERE incident_id = $1").bind(incident_id).execute(&mut *tx).await?;
    for (item_id, status) in items {
        sqlx::query("INSERT INTO incident_items (incident_id, item_id, status) VALUES ($1, $2, $3)")
            .bind(incident_id)
            .bind(item_id)
            .bind(status)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
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
    let rows = sqlx::query(&format!(
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
    .await?;
    Ok(rows
        .iter()
        .map(|r| ImpactRow {
            item_id: r.get("item_id"),
            status: r.get("status"),
            from_at: r.get("from_at"),
            until_at: opt_i64(r, "until_at"),
        })
        .collect())
}

// ---- updates ----------------------------------------------------------------------------------

pub struct NewUpdate<'a> {
    pub message: &'a str,
    pub stage: &'a str,
    pub status: &'a str,
    pub item_statuses: &'a str,
    pub notify: bool,
    pub created_at: i64,
}

pub async fn insert_update<'c, E: Executor<'c, Database = Any>>(
    e: E,
    incident_id: i64,
    u: &NewUpdate<'_>,
) -> Result<i64> {
    let r = sqlx::query(
        "INSERT INTO incident_updates (incident_id, message, stage, status, item_statuses, notify, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(incident_id)
    .bind(u.message)
    .bind(u.stage)
    .bind(u.status)
    .bind(u.item_statuses)
    .bind(u.notify as i64)
    .bind(u.created_at)
    .fetch_one(e)
    .await?;
    Ok(r.get(0))
}

pub async fn updates_of<'c, E: Executor<'c, Database = Any>>(e: E, incident_ids: &[i64]) -> Result<Vec<UpdateRow>> {
    if incident_ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = super::id_list(incident_ids);
    let rows = sqlx::query(&format!(
        "SELECT id, incident_id, message, stage, status, item_statuses, notify, created_at FROM incident_updates \
         WHERE incident_id IN ({list}) ORDER BY incident_id, created_at DESC, id DESC"
    ))
    .fetch_all(e)
    .await?;
    Ok(rows
        .iter()
        .map(|r| UpdateRow {
            id: r.get("id"),
            incident_id: r.get("incident_id"),
            message: r.get("message"),
            stage: r.get("stage"),
            status: r.get("status"),
            item_statuses: r.get("item_statuses"),
            notify: r.get::<i64, _>("notify") != 0,
            created_at: r.get("created_at"),
        })
        .collect())
}

// ---- what is in use ---------------------------------------------------------------------------

/// Status keys used by unresolved incidents or their items.
pub async fn statuses_in_use<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT status FROM incidents WHERE page_id = $1 AND resolved_at IS NULL \
         UNION SELECT ii.status FROM incident_items ii JOIN incidents i ON i.id = ii.incident_id \
         WHERE i.page_id = $1 AND i.resolved_at IS NULL",
    )
    .bind(page_id)
    .fetch_all(e)
    .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

pub async fn stages_in_use<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64) -> Result<Vec<String>> {
    let rows = sqlx::query("SELECT DISTINCT stage FROM incidents WHERE page_id = $1 AND resolved_at IS NULL")
        .bind(page_id)
        .fetch_all(e)
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

pub async fn maintenance_stages_in_use<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT DISTINCT stage FROM maintenances WHERE page_id = $1 AND completed_at IS NULL AND cancelled_at IS NULL",
    )
    .bind(page_id)
    .fetch_all(e)
    .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

// ---- the status snapshot's inputs -------------------------------------------------------------

/// (item id, status key) of every affected item of every active public incident of a page, and
/// the statuses of active public incidents with no items.
pub async fn active_effects<'c, E: Executor<'c, Database = Any>>(
    e: E,
    page_id: i64,
) -> Result<Vec<(Option<i64>, String)>> {
    let rows = sqlx::query(
        "SELECT ii.item_id, ii.status FROM incident_items ii JOIN incidents i ON i.id = ii.incident_id \
         WHERE i.page_id = $1 AND i.resolved_at IS NULL AND i.visibility = 'public' \
         UNION ALL SELECT NULL, i.status FROM incidents i WHERE i.page_id = $1 AND i.resolved_at IS NULL \
         AND i.visibility = 'public' AND NOT EXISTS (SELECT 1 FROM incident_items ii WHERE ii.incident_id = i.id)",
    )
    .bind(page_id)
    .fetch_all(e)
    .await?;
    Ok(rows.iter().map(|r| (opt_i64(r, "item_id"), r.get::<String, _>("status"))).collect())
}

/// Items under an in-progress maintenance of a page (`None` for one without items).
pub async fn maintenance_effects<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64) -> Result<Vec<Option<i64>>> {
    let rows = sqlx::query(
        "SELECT mi.item_id FROM maintenances m LEFT JOIN maintenance_items mi ON mi.maintenance_id = m.id \
         WHERE m.page_id = $1 AND m.started_at IS NOT NULL AND m.completed_at IS NULL AND m.cancelled_at IS NULL",
    )
    .bind(page_id)
    .fetch_all(e)
    .await?;
    Ok(rows.iter().map(|r| opt_i64(r, "item_id")).collect())
}

// ---- events -----------------------------------------------------------------------------------

pub async fn insert_event<'c, E: Executor<'c, Database = Any>>(
    e: E,
    page_id: i64,
    kind: &str,
    subject_kind: &str,
    subject_id: i64,
    payload: &str,
    now: i64,
) -> Result<i64> {
    let r = sqlx::query(
        "INSERT INTO events (page_id, kind, subject_kind, subject_id, payload, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(page_id)
    .bind(kind)
    .bind(subject_kind)
    .bind(subject_id)
    .bind(payload)
    .bind(now)
    .fetch_one(e)
    .await?;
    Ok(r.get(0))
}
