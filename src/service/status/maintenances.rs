//! Maintenance windows: schedule (retry-safe by `external_id`), edit and reschedule, delete,
//! backfill, reads. Progress (updates, start, complete, extend, cancel) is in `lifecycle`, the
//! scheduler's transitions in `schedule`. Every change that notifies records an event row in the
//! same transaction as the change and its audit entry.

mod backfill;
mod lifecycle;
mod schedule;

pub use crate::store::maintenance_claims::Due;
pub use crate::store::maintenances::Filter;
pub use backfill::{backfill, BackfillUpdate};
pub use lifecycle::{add_update, extend, transition, Move, Transition, UpdateInput};
pub use schedule::{complete_due, due, remind_due, start_due};

use crate::app::App;
use crate::domain::maintenance::{self as rules, Stages, State, Zone};
use crate::domain::types;
use crate::service::audit::Actor;
use crate::service::error::{Error, Result};
use crate::service::status::hierarchy::{self, ItemRef};
use crate::service::status::notices::{self, request_hash, retried, Subject};
use crate::store::maintenances::{self as sql, Lifecycle, MaintenanceFields, MaintenanceRow};
use crate::store::notices::{self as nsql, ItemRow, Kind, NewUpdate, UpdateRow};
use crate::store::pages::PageRow;
use crate::store::Tx;

/// What a caller sends to schedule (or backfill) a window. Times are RFC 3339, or local
/// date-times read in `time_zone` (default: the page's time zone).
#[derive(Debug, Clone)]
pub struct MaintenanceInput {
    pub external_id: Option<String>,
    pub title: String,
    pub description: String,
    pub impact: String,
    pub affected_items: Vec<ItemRef>,
    pub affected_items_freetext: String,
    pub starts_at: String,
    pub ends_at: String,
    pub time_zone: Option<String>,
    pub auto_start: bool,
    pub auto_complete: bool,
    pub reminder_minutes: i64,
    pub notify: bool,
    /// The canonical JSON of the request, to tell a retry from a different request.
    pub request_json: String,
}

/// The window's own text fields, checked.
struct Texts {
    title: String,
    description: String,
    impact: String,
    freetext: String,
}

fn texts(title: &str, description: &str, impact: &str, freetext: &str) -> Result<Texts> {
    Ok(Texts {
        title: types::name(title, 300).map_err(Error::invalid("title"))?,
        description: types::text(description, 20_000).map_err(Error::invalid("description"))?,
        impact: types::text(impact, 2_000).map_err(Error::invalid("impact"))?,
        freetext: types::text(freetext, 2_000).map_err(Error::invalid("affected_items_freetext"))?,
    })
}

/// The zone a request names, else the page's zone (UTC if the page's setting is unusable).
fn zone(page: &PageRow, name: Option<&str>) -> Result<Zone> {
    match name {
        Some(n) => Zone::parse(n).map_err(Error::invalid("time_zone")),
        None => Ok(Zone::parse(&crate::service::org::pages::settings_of(page).time_zone)
            .unwrap_or_else(|_| Zone::parse("UTC").expect("UTC exists"))),
    }
}

/// The zone a stored window was scheduled in.
pub fn zone_of(m: &MaintenanceRow) -> Zone {
    Zone::parse(&m.time_zone).unwrap_or_else(|_| Zone::parse("UTC").expect("UTC exists"))
}

fn instant(zone: &Zone, field: &str, value: &str) -> Result<i64> {
    zone.instant(value).map_err(Error::invalid(field))
}

fn window(starts_at: i64, ends_at: i64) -> Result<()> {
    rules::check_window(starts_at, ends_at).map_err(|(field, e)| Error::field(field, e.0))
}

/// The page's maintenance stages.
async fn stages(app: &App, page: &PageRow) -> Result<Stages> {
    let keys = hierarchy::stages(app, page, "maintenance").await?.into_iter().map(|s| s.key).collect();
    Stages::new(keys).ok_or_else(|| Error::Internal(format!("page {} has fewer than 4 maintenance stages", page.id)))
}

/// Resolves affected items to item ids, each item once.
async fn affected(app: &App, page: &PageRow, input: &[ItemRef]) -> Result<Vec<(i64, ())>> {
    notices::affected(app, page, input, |r| r, |_, _| Ok(())).await
}

/// The window `id` of `page`, as its changes name it.
fn subject(page: &PageRow, id: i64) -> Subject<'_> {
    Subject { page, kind: Kind::Maintenance, id }
}

/// Posts an update on window `id` in `tx` (windows' updates carry no statuses).
async fn post(tx: &mut Tx, id: i64, message: &str, stage: &str, notify: bool, at: i64) -> Result<()> {
    let update = NewUpdate { message, stage, statuses: None, notify, created_at: at };
    nsql::insert_update(&mut **tx, Kind::Maintenance, id, &update).await?;
    Ok(())
}

/// Inserts a window; a concurrent retry with the same `external_id` answers as a retry.
async fn insert(
    app: &App,
    tx: &mut Tx,
    page: &PageRow,
    identity: (Option<&str>, &str),
    f: &MaintenanceFields<'_>,
    l: &Lifecycle<'_>,
    now: i64,
) -> Result<std::result::Result<i64, (MaintenanceRow, bool)>> {
    let insert = sql::insert(&mut **tx, page.id, identity, f, l, now).await;
    notices::inserted(app, page, identity.0, identity.1, insert).await
}

/// Schedules a window. With an `external_id` that exists already: the same request returns the
/// existing window (`created == false`, nothing notified), a different one is a 409.
pub async fn create(
    app: &App,
    actor: &Actor,
    page: &PageRow,
    input: MaintenanceInput,
) -> Result<(MaintenanceRow, bool)> {
    let t = texts(&input.title, &input.description, &input.impact, &input.affected_items_freetext)?;
    let zone = zone(page, input.time_zone.as_deref())?;
    let starts_at = instant(&zone, "starts_at", &input.starts_at)?;
    let ends_at = instant(&zone, "ends_at", &input.ends_at)?;
    window(starts_at, ends_at)?;
    let reminder = rules::check_reminder(input.reminder_minutes).map_err(Error::invalid("reminder_minutes"))?;
    let items = affected(app, page, &input.affected_items).await?;
    // The request as it will be stored, defaults resolved: a retry that spells out a default, or
    // gives the same instant in another notation, is the same request.
    let canonical = serde_json::json!({
        "title": t.title, "description": t.description, "impact": t.impact, "freetext": t.freetext,
        "starts_at": starts_at, "ends_at": ends_at, "time_zone": zone.name(), "auto_start": input.auto_start,
        "auto_complete": input.auto_complete, "reminder": reminder, "notify": input.notify, "items": items,
    });
    let hash = request_hash(&canonical.to_string());
    if let Some(done) = retried(app, page, input.external_id.as_deref(), &hash).await? {
        return Ok(done);
    }
    let now = app.now();
    if ends_at <= now {
        return Err(Error::field(
            "ends_at",
            "is in the past; record past windows with POST /api/v1/admin/maintenances/backfill",
        ));
    }
    let stages = stages(app, page).await?;
    let fields = MaintenanceFields {
        title: &t.title,
        description: &t.description,
        impact: &t.impact,
        affected_items_freetext: &t.freetext,
        starts_at,
        ends_at,
        time_zone: zone.name(),
        auto_start: input.auto_start,
        auto_complete: input.auto_complete,
        reminder_minutes: reminder,
        notify: input.notify,
    };
    let life = Lifecycle {
        stage: stages.scheduled(),
        started_at: None,
        completed_at: None,
        reminded_at: rules::announcement_is_reminder(starts_at, reminder, now).then_some(now),
    };
    let mut tx = app.db.begin().await?;
    let id = match insert(app, &mut tx, page, (input.external_id.as_deref(), &hash), &fields, &life, now).await? {
        Ok(id) => id,
        Err(existing) => return Ok(existing),
    };
    nsql::set_items(&mut tx, Kind::Maintenance, id, &items).await?;
    let message = if t.description.is_empty() { t.title.as_str() } else { t.description.as_str() };
    post(&mut tx, id, message, stages.scheduled(), input.notify, now).await?;
    let s = subject(page, id);
    s.notify(&mut tx, "maintenance.scheduled", input.notify, now).await?;
    let detail = serde_json::json!({"title": t.title, "external_id": input.external_id});
    s.audit(&mut tx, actor, "maintenance.created", detail, now).await?;
    tx.commit().await?;
    Ok((get(app, page, id).await?, true))
}

/// A window of this page by id, or 404.
pub async fn get(app: &App, page: &PageRow, id: i64) -> Result<MaintenanceRow> {
    notices::get(app, page, id).await
}

/// A page of windows in the filter's order, after the window `after`.
pub async fn list(
    app: &App,
    page: &PageRow,
    filter: Filter,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<MaintenanceRow>> {
    Ok(sql::list(&app.db.pool, page.id, filter, after, limit).await?)
}

/// The affected items of windows (`visible_only`: only components shown on the public page).
pub async fn items_of(app: &App, ids: &[i64], visible_only: bool) -> Result<Vec<ItemRow>> {
    Ok(nsql::items_of(&app.db.pool, Kind::Maintenance, ids, visible_only).await?)
}

/// The updates of windows, newest first.
pub async fn updates_of(app: &App, ids: &[i64]) -> Result<Vec<UpdateRow>> {
    Ok(nsql::updates_of(&app.db.pool, Kind::Maintenance, ids).await?)
}

/// The 409 for a change to a window that has finished.
fn finished(state: State) -> Error {
    match state {
        State::Cancelled => {
            Error::Conflict { code: "maintenance_cancelled", message: "the window is cancelled".into() }
        }
        _ => Error::Conflict { code: "maintenance_completed", message: "the window is completed".into() },
    }
}

/// The 409 when a window's state moved between reading and writing it.
fn changed() -> Error {
    Error::Conflict {
        code: "maintenance_changed",
        message: "the window changed meanwhile (it started, finished or was edited); reload it and retry".into(),
    }
}

/// Edits of a window's own fields; only before it completes or is cancelled, and its start only
/// before it starts. `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct MaintenancePatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub impact: Option<String>,
    pub affected_items: Option<Vec<ItemRef>>,
    pub affected_items_freetext: Option<String>,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub time_zone: Option<String>,
    pub auto_start: Option<bool>,
    pub auto_complete: Option<bool>,
    pub reminder_minutes: Option<i64>,
    pub notify: Option<bool>,
}

/// Edits (and reschedules) a window. A new start or end notifies as `maintenance.rescheduled`
/// when the window notifies; a new start re-arms the reminder.
pub async fn patch(app: &App, actor: &Actor, page: &PageRow, id: i64, p: MaintenancePatch) -> Result<MaintenanceRow> {
    let cur = get(app, page, id).await?;
    let state = State::of(cur.started_at, cur.completed_at, cur.cancelled_at);
    if state.is_finished() {
        return Err(finished(state));
    }
    let t = texts(
        p.title.as_deref().unwrap_or(&cur.title),
        p.description.as_deref().unwrap_or(&cur.description),
        p.impact.as_deref().unwrap_or(&cur.impact),
        p.affected_items_freetext.as_deref().unwrap_or(&cur.affected_items_freetext),
    )?;
    let zone = match &p.time_zone {
        Some(name) => zone(page, Some(name))?,
        None => zone_of(&cur),
    };
    let starts_at =
        p.starts_at.as_deref().map(|s| instant(&zone, "starts_at", s)).transpose()?.unwrap_or(cur.starts_at);
    let ends_at = p.ends_at.as_deref().map(|s| instant(&zone, "ends_at", s)).transpose()?.unwrap_or(cur.ends_at);
    let moved_start = starts_at != cur.starts_at;
    if moved_start && state != State::Scheduled {
        return Err(Error::field("starts_at", "the window has started; its start cannot move"));
    }
    window(starts_at, ends_at)?;
    let now = app.now();
    if ends_at != cur.ends_at && ends_at <= now {
        return Err(Error::field("ends_at", "must be in the future; to end the window now, POST .../complete"));
    }
    let reminder = match p.reminder_minutes {
        Some(m) => rules::check_reminder(m).map_err(Error::invalid("reminder_minutes"))?,
        None => cur.reminder_minutes,
    };
    let items = match &p.affected_items {
        Some(list) => Some(affected(app, page, list).await?),
        None => None,
    };
    let notify = p.notify.unwrap_or(cur.notify);
    let fields = MaintenanceFields {
        title: &t.title,
        description: &t.description,
        impact: &t.impact,
        affected_items_freetext: &t.freetext,
        starts_at,
        ends_at,
        time_zone: zone.name(),
        auto_start: p.auto_start.unwrap_or(cur.auto_start),
        auto_complete: p.auto_complete.unwrap_or(cur.auto_complete),
        reminder_minutes: reminder,
        notify,
    };
    let rearm = (moved_start || reminder != cur.reminder_minutes) && state == State::Scheduled;
    let reminded = rearm.then(|| rules::announcement_is_reminder(starts_at, reminder, now).then_some(now));
    let rescheduled = moved_start || ends_at != cur.ends_at;
    let mut tx = app.db.begin().await?;
    if !sql::update_fields(&mut *tx, id, &fields, moved_start, reminded, (cur.starts_at, cur.ends_at), now).await? {
        return Err(changed());
    }
    if let Some(items) = &items {
        nsql::set_items(&mut tx, Kind::Maintenance, id, items).await?;
    }
    let s = subject(page, id);
    s.notify(&mut tx, "maintenance.rescheduled", rescheduled && notify, now).await?;
    s.audit(&mut tx, actor, "maintenance.edited", serde_json::json!({"rescheduled": rescheduled}), now).await?;
    tx.commit().await?;
    get(app, page, id).await
}

/// Deletes a window and its updates (a mistake, not a cancellation: nobody is notified).
pub async fn delete(app: &App, actor: &Actor, page: &PageRow, id: i64) -> Result<()> {
    let cur = get(app, page, id).await?;
    notices::delete::<MaintenanceRow>(app, actor, page, id, &cur.title).await
}
