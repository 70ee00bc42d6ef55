//! A window's progress: updates, start, complete (early), extend, cancel. Each transition is a
//! conditional update, so a person and the scheduler (or two instances) never both make it.

use super::{changed, finished, get, post, stages, subject, zone_of};
use crate::app::App;
use crate::domain::maintenance::{self as rules, Stages, State};
use crate::domain::types;
use crate::service::audit::Actor;
use crate::service::error::{Error, Result};
use crate::store::maintenance_claims as claims;
use crate::store::maintenances::MaintenanceRow;
use crate::store::pages::PageRow;
use crate::store::Tx;

/// A progress update: a message, optionally a later in-progress stage.
#[derive(Debug, Clone, Default)]
pub struct UpdateInput {
    pub message: String,
    pub stage: Option<String>,
    /// Default: the window's own `notify` setting.
    pub notify: Option<bool>,
}

/// Options of a start, completion or cancellation.
#[derive(Debug, Clone, Default)]
pub struct Transition {
    /// The update posted with it (default: the preset message).
    pub message: Option<String>,
    /// Default: the window's own `notify` setting.
    pub notify: Option<bool>,
}

/// The three lifecycle moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    Start,
    Complete,
    Cancel,
}

impl Move {
    fn kind(self) -> &'static str {
        match self {
            Move::Start => "maintenance.started",
            Move::Complete => "maintenance.completed",
            Move::Cancel => "maintenance.cancelled",
        }
    }

    fn preset(self) -> &'static str {
        match self {
            Move::Start => rules::START_MESSAGE,
            Move::Complete => rules::COMPLETE_MESSAGE,
            Move::Cancel => rules::CANCEL_MESSAGE,
        }
    }
}

/// One transition to claim: which, effective when, and whether the scheduler makes it (then the
/// window must still be automatic and due when the claim runs).
#[derive(Debug, Clone, Copy)]
pub(super) struct Claim {
    pub mv: Move,
    pub at: i64,
    pub now: i64,
    pub automatic: bool,
}

/// Claims a transition of window `m` and, only if this caller won the claim, posts the update,
/// records the event (when notifying) and the audit entry, all in `tx`. False: someone else
/// already moved the window (or it is no longer due); the caller rolls back.
pub(super) async fn apply(
    tx: &mut Tx,
    (actor, page): (&Actor, &PageRow),
    m: &MaintenanceRow,
    stages: &Stages,
    c: Claim,
    (message, notify): (&str, bool),
) -> Result<bool> {
    let (mv, at, now) = (c.mv, c.at, c.now);
    let stage = match mv {
        Move::Start => stages.in_progress(),
        Move::Complete => stages.completed(),
        Move::Cancel => stages.cancelled(),
    };
    let claimed = match mv {
        Move::Start => claims::mark_started(&mut **tx, m.id, stage, at, now, c.automatic).await?,
        Move::Complete => claims::mark_completed(&mut **tx, m.id, stage, at, now, c.automatic).await?,
        Move::Cancel => claims::mark_cancelled(&mut **tx, m.id, stage, at).await?,
    };
    if !claimed {
        return Ok(false);
    }
    post(tx, m.id, message, stage, notify, at).await?;
    let s = subject(page, m.id);
    s.notify(tx, mv.kind(), notify, now).await?;
    s.audit(tx, actor, mv.kind(), serde_json::json!({"at": at}), now).await?;
    Ok(true)
}

fn message(given: Option<&str>, preset: &str) -> Result<String> {
    match given.map(str::trim).filter(|m| !m.is_empty()) {
        Some(m) => types::text(m, 20_000).map_err(Error::invalid("message")),
        None => Ok(preset.to_string()),
    }
}

/// A person's start, completion (early, or of a window that does not complete by itself) or
/// cancellation (of a window that has not completed), effective now.
pub async fn transition(
    app: &App,
    actor: &Actor,
    page: &PageRow,
    id: i64,
    mv: Move,
    t: Transition,
) -> Result<MaintenanceRow> {
    let cur = get(app, page, id).await?;
    let state = State::of(cur.started_at, cur.completed_at, cur.cancelled_at);
    if state.is_finished() {
        return Err(finished(state));
    }
    match (mv, state) {
        (Move::Start, State::InProgress) => {
            return Err(Error::Conflict {
                code: "maintenance_started",
                message: "the window is already in progress".into(),
            })
        }
        (Move::Complete, State::Scheduled) => {
            return Err(Error::Conflict {
                code: "maintenance_not_started",
                message: "the window has not started; start it first, or cancel it".into(),
            })
        }
        _ => {}
    }
    let text = message(t.message.as_deref(), mv.preset())?;
    let stages = stages(app, page).await?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let claim = Claim { mv, at: now, now, automatic: false };
    let notify = t.notify.unwrap_or(cur.notify);
    if !apply(&mut tx, (actor, page), &cur, &stages, claim, (&text, notify)).await? {
        return Err(changed());
    }
    tx.commit().await?;
    get(app, page, id).await
}

/// Posts an update on an unfinished window, optionally moving it to a later in-progress stage.
pub async fn add_update(app: &App, actor: &Actor, page: &PageRow, id: i64, u: UpdateInput) -> Result<MaintenanceRow> {
    let cur = get(app, page, id).await?;
    let state = State::of(cur.started_at, cur.completed_at, cur.cancelled_at);
    if state.is_finished() {
        return Err(finished(state));
    }
    let text = types::name(&u.message, 20_000).map_err(Error::invalid("message"))?;
    let stage = match &u.stage {
        Some(s) => stages(app, page).await?.for_update(&cur.stage, state, s).map_err(Error::invalid("stage"))?,
        None => cur.stage.clone(),
    };
    let notify = u.notify.unwrap_or(cur.notify);
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let still_there = if stage == cur.stage {
        claims::touch_unfinished(&mut *tx, id, now).await?
    } else {
        claims::set_stage(&mut *tx, id, &cur.stage, &stage, now).await?
    };
    if !still_there {
        return Err(changed());
    }
    post(&mut tx, id, &text, &stage, notify, now).await?;
    let s = subject(page, id);
    s.notify(&mut tx, "maintenance.updated", notify, now).await?;
    s.audit(&mut tx, actor, "maintenance.updated", serde_json::json!({"stage": stage}), now).await?;
    tx.commit().await?;
    get(app, page, id).await
}

/// Moves the end of an unfinished window later; posts an update saying until when.
pub async fn extend(
    app: &App,
    actor: &Actor,
    page: &PageRow,
    id: i64,
    ends_at: &str,
    t: Transition,
) -> Result<MaintenanceRow> {
    let cur = get(app, page, id).await?;
    let state = State::of(cur.started_at, cur.completed_at, cur.cancelled_at);
    if state.is_finished() {
        return Err(finished(state));
    }
    let zone = zone_of(&cur);
    let new_end = zone.instant(ends_at).map_err(Error::invalid("ends_at"))?;
    let now = app.now();
    if new_end <= cur.ends_at {
        let current = zone.local(cur.ends_at);
        return Err(Error::field("ends_at", format!("must be after the current end, {current}")));
    }
    if new_end <= now {
        return Err(Error::field("ends_at", "must be in the future"));
    }
    rules::check_window(cur.starts_at, new_end).map_err(|(f, e)| Error::field(f, e.0))?;
    let preset = format!("The maintenance window has been extended until {}.", zone.human(new_end));
    let text = message(t.message.as_deref(), &preset)?;
    let notify = t.notify.unwrap_or(cur.notify);
    let mut tx = app.db.begin().await?;
    if !claims::extend(&mut *tx, id, cur.ends_at, new_end, now).await? {
        return Err(changed());
    }
    post(&mut tx, id, &text, &cur.stage, notify, now).await?;
    let s = subject(page, id);
    s.notify(&mut tx, "maintenance.extended", notify, now).await?;
    let detail = serde_json::json!({"from": cur.ends_at, "to": new_end});
    s.audit(&mut tx, actor, "maintenance.extended", detail, now).await?;
    tx.commit().await?;
    get(app, page, id).await
}
