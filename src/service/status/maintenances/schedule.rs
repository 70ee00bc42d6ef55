//! The scheduler's transitions, one window and one transaction at a time. Each begins with a
//! conditional claim; only the instance whose claim changed the row posts the update and records
//! the event, so every transition and reminder happens exactly once however many instances run.

use super::lifecycle::{apply, Claim, Move};
use super::stages;
use crate::app::App;
use crate::domain::maintenance as rules;
use crate::service::audit::Actor;
use crate::service::error::{Error, Result};
use crate::service::status::notices::notify_event;
use crate::store::maintenance_claims::{self as claims, Due};
use crate::store::maintenances::MaintenanceRow;
use crate::store::notices::Kind;
use crate::store::pages::{self, PageRow};

/// Who the audit log names for automatic transitions.
fn scheduler() -> Actor {
    Actor { kind: "system", id: None, name: "scheduler".into(), ip: String::new() }
}

async fn page_of(app: &App, m: &MaintenanceRow) -> Result<PageRow> {
    pages::page_by_id(&app.db.pool, m.page_id).await?.ok_or(Error::NotFound("page"))
}

/// Up to `limit` windows (of live pages) due for `what` at `now`, the longest overdue first.
pub async fn due(app: &App, what: Due, now: i64, limit: i64) -> Result<Vec<MaintenanceRow>> {
    Ok(claims::due(&app.db.pool, what, now, limit).await?)
}

/// Sends the reminder of a window that has not started yet. A window whose start has passed gets
/// none: after downtime the scheduler starts it instead of announcing it late.
pub async fn remind_due(app: &App, m: &MaintenanceRow, now: i64) -> Result<bool> {
    let mut tx = app.db.begin().await?;
    if !claims::mark_reminded(&mut *tx, m.id, now).await? {
        return Ok(false);
    }
    notify_event(&mut tx, m.page_id, Kind::Maintenance, m.id, "maintenance.reminder", now).await?;
    tx.commit().await?;
    Ok(true)
}

/// Starts an automatic window whose start has come, as of its scheduled start (or its creation,
/// for a window scheduled to start in the past), with the preset message.
pub async fn start_due(app: &App, m: &MaintenanceRow, now: i64) -> Result<bool> {
    let at = m.starts_at.max(m.created_at).min(now);
    run(app, m, Move::Start, at, now, rules::START_MESSAGE).await
}

/// Completes an automatic window in progress whose end has come, as of its scheduled end (never
/// before it started), with the preset message.
pub async fn complete_due(app: &App, m: &MaintenanceRow, now: i64) -> Result<bool> {
    let at = m.ends_at.max(m.started_at.unwrap_or(m.starts_at)).min(now);
    run(app, m, Move::Complete, at, now, rules::COMPLETE_MESSAGE).await
}

async fn run(app: &App, m: &MaintenanceRow, mv: Move, at: i64, now: i64, message: &str) -> Result<bool> {
    let page = page_of(app, m).await?;
    let stages = stages(app, &page).await?;
    let mut tx = app.db.begin().await?;
    let claim = Claim { mv, at, now, automatic: true };
    if !apply(&mut tx, (&scheduler(), &page), m, &stages, claim, (message, m.notify)).await? {
        return Ok(false);
    }
    tx.commit().await?;
    // The page's status changed without a request: announce it (caches drop their copies).
    app.changes.emit(crate::changes::Change::Page(page.id));
    Ok(true)
}
