//! SQL for the transitions of maintenance windows and the scheduler's scans.
//!
//! Every lifecycle change is a conditional update (`... WHERE id = $1 AND started_at IS NULL ...`)
//! that reports whether it changed the row: of two writers (two server instances, or a person
//! and the scheduler) exactly one wins; the other sees `false` and does nothing else.

use super::maintenances::MaintenanceRow;
use super::notices::Notice;
use super::Result;
use sqlx::{Any, Executor};

/// Scheduled → in progress at `at`. With `automatic`, only a window that starts by itself and
/// whose start has come by `now`. False if it is not (or no longer) so.
pub async fn mark_started<'c, E: Executor<'c, Database = Any>>(
    e: E,
    id: i64,
    stage: &str,
    at: i64,
    now: i64,
    automatic: bool,
) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE maintenances SET started_at = $2, stage = $3, updated_at = $4 \
         WHERE id = $1 AND started_at IS NULL AND completed_at IS NULL AND cancelled_at IS NULL \
         AND ($5 = 0 OR (auto_start = 1 AND starts_at <= $4))",
    )
    .bind(id)
    .bind(at)
    .bind(stage)
    .bind(now)
    .bind(automatic as i64)
    .execute(e)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// In progress → completed at `at`. With `automatic`, only a window that completes by itself
/// and whose end has come by `now`. False if it is not (or no longer) so.
pub async fn mark_completed<'c, E: Executor<'c, Database = Any>>(
    e: E,
    id: i64,
    stage: &str,
    at: i64,
    now: i64,
    automatic: bool,
) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE maintenances SET completed_at = $2, stage = $3, updated_at = $4 \
         WHERE id = $1 AND started_at IS NOT NULL AND completed_at IS NULL AND cancelled_at IS NULL \
         AND ($5 = 0 OR (auto_complete = 1 AND ends_at <= $4))",
    )
    .bind(id)
    .bind(at)
    .bind(stage)
    .bind(now)
    .bind(automatic as i64)
    .execute(e)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Unfinished → cancelled at `at`. False if it finished meanwhile.
pub async fn mark_cancelled<'c, E: Executor<'c, Database = Any>>(e: E, id: i64, stage: &str, at: i64) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE maintenances SET cancelled_at = $2, stage = $3, updated_at = $2 \
         WHERE id = $1 AND completed_at IS NULL AND cancelled_at IS NULL",
    )
    .bind(id)
    .bind(at)
    .bind(stage)
    .execute(e)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Claims the reminder of a window that has not started and starts after `now`. False if it was
/// sent already, or the window started, finished or moved into the past meanwhile.
pub async fn mark_reminded<'c, E: Executor<'c, Database = Any>>(e: E, id: i64, now: i64) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE maintenances SET reminded_at = $2 WHERE id = $1 AND reminded_at IS NULL AND started_at IS NULL \
         AND completed_at IS NULL AND cancelled_at IS NULL AND notify = 1 AND starts_at > $2",
    )
    .bind(id)
    .bind(now)
    .execute(e)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Moves the end of an unfinished window from `from` to `to` (compare-and-swap on the end).
pub async fn extend<'c, E: Executor<'c, Database = Any>>(e: E, id: i64, from: i64, to: i64, now: i64) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE maintenances SET ends_at = $3, updated_at = $4 \
         WHERE id = $1 AND ends_at = $2 AND completed_at IS NULL AND cancelled_at IS NULL",
    )
    .bind(id)
    .bind(from)
    .bind(to)
    .bind(now)
    .execute(e)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Marks an unfinished window as changed now. False if it finished meanwhile.
pub async fn touch_unfinished<'c, E: Executor<'c, Database = Any>>(e: E, id: i64, now: i64) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE maintenances SET updated_at = $2 WHERE id = $1 AND completed_at IS NULL AND cancelled_at IS NULL",
    )
    .bind(id)
    .bind(now)
    .execute(e)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Moves an unfinished window from stage `from` to `to` (compare-and-swap on the stage).
pub async fn set_stage<'c, E: Executor<'c, Database = Any>>(
    e: E,
    id: i64,
    from: &str,
    to: &str,
    now: i64,
) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE maintenances SET stage = $3, updated_at = $4 \
         WHERE id = $1 AND stage = $2 AND completed_at IS NULL AND cancelled_at IS NULL",
    )
    .bind(id)
    .bind(from)
    .bind(to)
    .bind(now)
    .execute(e)
    .await?;
    Ok(r.rows_affected() == 1)
}

// ---- the scheduler's scans ---------------------------------------------------------------------

/// What the scheduler looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Notifying windows inside their reminder lead, not reminded, not started, starting later.
    Reminder,
    /// Automatic windows whose start has come.
    Start,
    /// Automatic windows in progress whose end has come.
    Completion,
}

/// Windows (of live pages) due for `what` at `now`, oldest due first.
pub async fn due<'c, E: Executor<'c, Database = Any>>(
    e: E,
    what: Due,
    now: i64,
    limit: i64,
) -> Result<Vec<MaintenanceRow>> {
    let (cond, order) = match what {
        Due::Reminder => (
            "m.notify = 1 AND m.reminder_minutes > 0 AND m.reminded_at IS NULL AND m.started_at IS NULL \
             AND m.completed_at IS NULL AND m.cancelled_at IS NULL AND m.starts_at > $1 \
             AND m.starts_at - m.reminder_minutes * 60000 <= $1",
            "m.starts_at",
        ),
        Due::Start => (
            "m.auto_start = 1 AND m.started_at IS NULL AND m.completed_at IS NULL AND m.cancelled_at IS NULL \
             AND m.starts_at <= $1",
            "m.starts_at",
        ),
        Due::Completion => (
            "m.auto_complete = 1 AND m.started_at IS NOT NULL AND m.completed_at IS NULL AND m.cancelled_at IS NULL \
             AND m.ends_at <= $1",
            "m.ends_at",
        ),
    };
    let cols = MaintenanceRow::COLS.split(", ").map(|c| format!("m.{c}")).collect::<Vec<_>>().join(", ");
    Ok(sqlx::query_as(&format!(
        "SELECT {cols} FROM maintenances m JOIN pages p ON p.id = m.page_id \
         WHERE p.deleted_at IS NULL AND {cond} ORDER BY {order}, m.id LIMIT $2"
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(e)
    .await?)
}
