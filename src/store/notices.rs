//! SQL shared by incidents and maintenance windows ("notices"): reads by id or external id,
//! their affected items and updates, deletion, and the event rows that notify. Each table family
//! is named by a [`Kind`]; what only one kind has (an incident's impact history, a window's
//! schedule) stays in `incidents` and `maintenances`.

use super::{Flag, Result};
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, FromRow};

/// Which notice family a statement works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Incident,
    Maintenance,
}

impl Kind {
    /// The subject kind of its events and audit entries, and the 404's noun.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Incident => "incident",
            Kind::Maintenance => "maintenance",
        }
    }

    fn table(self) -> &'static str {
        match self {
            Kind::Incident => "incidents",
            Kind::Maintenance => "maintenances",
        }
    }

    /// The column naming the notice in its items and updates tables (and in event payloads).
    pub fn key(self) -> &'static str {
        match self {
            Kind::Incident => "incident_id",
            Kind::Maintenance => "maintenance_id",
        }
    }

    fn items(self) -> &'static str {
        match self {
            Kind::Incident => "incident_items",
            Kind::Maintenance => "maintenance_items",
        }
    }

    fn updates(self) -> &'static str {
        match self {
            Kind::Incident => "incident_updates",
            Kind::Maintenance => "maintenance_updates",
        }
    }
}

/// A notice row: its family, the columns it is read from, and the hash of the request that
/// created it (to tell a retry from a different request with the same `external_id`).
pub trait Notice: for<'r> FromRow<'r, AnyRow> + Send + Unpin {
    const KIND: Kind;
    const COLS: &'static str;
    fn request_hash(&self) -> &str;
}

pub async fn by_id<'c, N: Notice, E: Executor<'c, Database = Any>>(e: E, page_id: i64, id: i64) -> Result<Option<N>> {
    let sql = format!("SELECT {} FROM {} WHERE page_id = $1 AND id = $2", N::COLS, N::KIND.table());
    Ok(sqlx::query_as(&sql).bind(page_id).bind(id).fetch_optional(e).await?)
}

/// The notice a retry-safe create named with `external_id` (unique per page and kind).
pub async fn by_external_id<'c, N: Notice, E: Executor<'c, Database = Any>>(
    e: E,
    page_id: i64,
    external_id: &str,
) -> Result<Option<N>> {
    let sql = format!("SELECT {} FROM {} WHERE page_id = $1 AND external_id = $2", N::COLS, N::KIND.table());
    Ok(sqlx::query_as(&sql).bind(page_id).bind(external_id).fetch_optional(e).await?)
}

/// Deletes a notice; its items and updates go with it (`ON DELETE CASCADE`).
pub async fn delete<'c, E: Executor<'c, Database = Any>>(e: E, kind: Kind, id: i64) -> Result<()> {
    sqlx::query(&format!("DELETE FROM {} WHERE id = $1", kind.table())).bind(id).execute(e).await?;
    Ok(())
}

// ---- affected items ---------------------------------------------------------------------------

/// An affected item of a notice, with the item's own status on an incident (`None` on a window).
#[derive(Debug, Clone, FromRow)]
pub struct ItemRow {
    pub notice_id: i64,
    pub item_id: i64,
    pub identifier: String,
    pub name: String,
    pub status: Option<String>,
}

/// Affected items of the given notices, in display order per notice; `visible_only` leaves out
/// components hidden from the public page.
pub async fn items_of<'c, E: Executor<'c, Database = Any>>(
    e: E,
    kind: Kind,
    ids: &[i64],
    visible_only: bool,
) -> Result<Vec<ItemRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // Ids are integers we produced; inlining them keeps one statement for any number.
    let visible = if visible_only { "AND h.visible = 1" } else { "" };
    let status = if kind == Kind::Incident { "x.status" } else { "NULL" };
    let (items, key, list) = (kind.items(), kind.key(), super::id_list(ids));
    let sql = format!(
        "SELECT x.{key} AS notice_id, x.item_id, h.identifier, h.name, {status} AS status FROM {items} x \
         JOIN hierarchy_items h ON h.id = x.item_id WHERE x.{key} IN ({list}) {visible} \
         ORDER BY x.{key}, h.display_order, h.id"
    );
    Ok(sqlx::query_as(&sql).fetch_all(e).await?)
}

/// What an affected item carries besides its id: an incident's item its status, a window's
/// item nothing.
pub trait ItemStatus {
    fn status(&self) -> Option<&str>;
}

impl ItemStatus for String {
    fn status(&self) -> Option<&str> {
        Some(self)
    }
}

impl ItemStatus for () {
    fn status(&self) -> Option<&str> {
        None
    }
}

/// Replaces a notice's affected items.
pub async fn set_items<S: ItemStatus>(
    tx: &mut sqlx::AnyConnection,
    kind: Kind,
    id: i64,
    items: &[(i64, S)],
) -> Result<()> {
    let (table, key) = (kind.items(), kind.key());
    sqlx::query(&format!("DELETE FROM {table} WHERE {key} = $1")).bind(id).execute(&mut *tx).await?;
    let with_status = format!("INSERT INTO {table} ({key}, item_id, status) VALUES ($1, $2, $3)");
    let bare = format!("INSERT INTO {table} ({key}, item_id) VALUES ($1, $2)");
    for (item_id, extra) in items {
        let q = match extra.status() {
            Some(status) => sqlx::query(&with_status).bind(id).bind(item_id).bind(status),
            None => sqlx::query(&bare).bind(id).bind(item_id),
        };
        q.execute(&mut *tx).await?;
    }
    Ok(())
}

// ---- updates ----------------------------------------------------------------------------------

/// One update posted on a notice. `status` is an incident's (`None` on a window).
#[derive(Debug, Clone, FromRow)]
pub struct UpdateRow {
    pub id: i64,
    pub notice_id: i64,
    pub message: String,
    pub stage: String,
    pub status: Option<String>,
    #[sqlx(try_from = "Flag")]
    pub notify: bool,
    pub created_at: i64,
}

pub struct NewUpdate<'a> {
    pub message: &'a str,
    pub stage: &'a str,
    /// An incident's status and per-item statuses (a JSON object) as of the update; `None` on a
    /// window.
    pub statuses: Option<(&'a str, &'a str)>,
    pub notify: bool,
    pub created_at: i64,
}

pub async fn insert_update<'c, E: Executor<'c, Database = Any>>(
    e: E,
    kind: Kind,
    id: i64,
    u: &NewUpdate<'_>,
) -> Result<i64> {
    let (table, key) = (kind.updates(), kind.key());
    let (cols, values) = match u.statuses {
        Some(_) => (", status, item_statuses", ", $6, $7"),
        None => ("", ""),
    };
    let sql = format!(
        "INSERT INTO {table} ({key}, message, stage, notify, created_at{cols}) \
         VALUES ($1, $2, $3, $4, $5{values}) RETURNING id"
    );
    let mut q =
        sqlx::query_scalar(&sql).bind(id).bind(u.message).bind(u.stage).bind(u.notify as i64).bind(u.created_at);
    if let Some((status, items)) = u.statuses {
        q = q.bind(status).bind(items);
    }
    Ok(q.fetch_one(e).await?)
}

/// Updates of the given notices, newest first per notice.
pub async fn updates_of<'c, E: Executor<'c, Database = Any>>(e: E, kind: Kind, ids: &[i64]) -> Result<Vec<UpdateRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let status = if kind == Kind::Incident { "status" } else { "NULL" };
    let (table, key, list) = (kind.updates(), kind.key(), super::id_list(ids));
    let sql = format!(
        "SELECT id, {key} AS notice_id, message, stage, {status} AS status, notify, created_at FROM {table} \
         WHERE {key} IN ({list}) ORDER BY {key}, created_at DESC, id DESC"
    );
    Ok(sqlx::query_as(&sql).fetch_all(e).await?)
}

// ---- events -----------------------------------------------------------------------------------

/// Records the notification event `event` (`incident.created`, `maintenance.started`, ...) about a
/// notice; delivery reads these rows in id order.
pub async fn insert_event<'c, E: Executor<'c, Database = Any>>(
    e: E,
    page_id: i64,
    kind: Kind,
    event: &str,
    id: i64,
    payload: &str,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO events (page_id, kind, subject_kind, subject_id, payload, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(page_id)
    .bind(event)
    .bind(kind.name())
    .bind(id)
    .bind(payload)
    .bind(now)
    .fetch_one(e)
    .await?)
}
