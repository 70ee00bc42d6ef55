//! SQL for the `events` table: changes of incidents and maintenances waiting to be fanned out to
//! subscribers, each taken under a lease by one worker at a time.

use super::Result;
use sqlx::{Any, Executor};

/// An event not yet fanned out.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PendingEvent {
    pub id: i64,
    pub page_id: i64,
    pub kind: String,
    pub subject_kind: String,
    pub subject_id: i64,
}

/// The oldest events not yet fanned out and not held by a worker at `now`, in id order.
pub async fn pending_events<'c, E: Executor<'c, Database = Any>>(
    e: E,
    now: i64,
    limit: i64,
) -> Result<Vec<PendingEvent>> {
    Ok(sqlx::query_as(
        "SELECT id, page_id, kind, subject_kind, subject_id FROM events \
         WHERE fanned_out_at IS NULL AND fan_out_lease <= $1 ORDER BY id LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(e)
    .await?)
}

/// Takes an event for fan-out until `lease_until`: false when it is done or another worker holds it.
pub async fn lease_event<'c, E: Executor<'c, Database = Any>>(
    e: E,
    id: i64,
    now: i64,
    lease_until: i64,
) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE events SET fan_out_lease = $3 WHERE id = $1 AND fanned_out_at IS NULL AND fan_out_lease <= $2",
    )
    .bind(id)
    .bind(now)
    .bind(lease_until)
    .execute(e)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Extends the lease of an event this worker is fanning out.
pub async fn renew_event<'c, E: Executor<'c, Database = Any>>(e: E, id: i64, lease_until: i64) -> Result<()> {
    sqlx::query("UPDATE events SET fan_out_lease = $2 WHERE id = $1 AND fanned_out_at IS NULL")
        .bind(id)
        .bind(lease_until)
        .execute(e)
        .await?;
    Ok(())
}

/// Marks an event fanned out: every message it causes is queued.
pub async fn finish_event<'c, E: Executor<'c, Database = Any>>(e: E, id: i64, now: i64) -> Result<()> {
    sqlx::query("UPDATE events SET fanned_out_at = $2 WHERE id = $1 AND fanned_out_at IS NULL")
        .bind(id)
        .bind(now)
        .execute(e)
        .await?;
    Ok(())
}
