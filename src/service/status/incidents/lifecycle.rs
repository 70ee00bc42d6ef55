//! What happens to an incident after it is opened: edits, progress updates, acknowledge,
//! resolve, reopen, delete.

use super::{affected, get, items_json, notifies, subject, time, visibility, AffectedInput, Vocabulary};
use crate::app::App;
use crate::domain::types;
use crate::service::audit::Actor;
use crate::service::error::{Error, Result};
use crate::service::status::notices;
use crate::store::incidents::{self as sql, IncidentFields, IncidentRow};
use crate::store::notices::{self as nsql, Kind, NewUpdate};
use crate::store::pages::PageRow;

/// When the incident's status changes and no items are given, the items that carried the old
/// status (the default) follow it to the new one; items given their own status keep it.
async fn follow_status(app: &App, cur: &IncidentRow, status: &str) -> Result<Option<Vec<(i64, String)>>> {
    if status == cur.status {
        return Ok(None);
    }
    let items = nsql::items_of(&app.db.pool, Kind::Incident, &[cur.id], false).await?;
    if items.is_empty() {
        return Ok(None);
    }
    let moved = items
        .into_iter()
        .map(|i| {
            let own = i.status.unwrap_or_default();
            (i.item_id, if own == cur.status { status.to_string() } else { own })
        })
        .collect();
    Ok(Some(moved))
}

/// Another write changed the incident between our read and our write.
pub(super) fn changed() -> Error {
    Error::Conflict {
        code: "incident_changed",
        message: "the incident changed meanwhile; read it again and retry".into(),
    }
}

/// Edits of an incident's own fields (no update entry, no notification).
#[derive(Debug, Clone, Default)]
pub struct IncidentPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub impact: Option<String>,
    pub status: Option<String>,
    pub affected_items: Option<Vec<AffectedInput>>,
    pub affected_items_freetext: Option<String>,
    pub visibility: Option<String>,
    pub started_at: Option<String>,
    pub acknowledged_at: Option<String>,
}

pub async fn patch(app: &App, actor: &Actor, page: &PageRow, id: i64, p: IncidentPatch) -> Result<IncidentRow> {
    let cur = get(app, page, id).await?;
    let vocab = Vocabulary::load(app, page).await?;
    let title = match &p.title {
        Some(t) => types::name(t, 300).map_err(Error::invalid("title"))?,
        None => cur.title.clone(),
    };
    let description = match &p.description {
        Some(d) => types::text(d, 20_000).map_err(Error::invalid("description"))?,
        None => cur.description.clone(),
    };
    let impact = match &p.impact {
        Some(d) => types::text(d, 2_000).map_err(Error::invalid("impact"))?,
        None => cur.impact.clone(),
    };
    let freetext = match &p.affected_items_freetext {
        Some(d) => types::text(d, 2_000).map_err(Error::invalid("affected_items_freetext"))?,
        None => cur.affected_items_freetext.clone(),
    };
    let status = match &p.status {
        Some(s) => vocab.status(s, "status")?,
        None => cur.status.clone(),
    };
    let vis = match &p.visibility {
        Some(v) => visibility(Some(v))?,
        None => visibility(Some(&cur.visibility))?,
    };
    let now = app.now();
    let started_at = time("started_at", p.started_at.as_deref())?.unwrap_or(cur.started_at);
    let acknowledged_at = time("acknowledged_at", p.acknowledged_at.as_deref())?.or(cur.acknowledged_at);
    if started_at > now || cur.resolved_at.is_some_and(|r| started_at > r) {
        return Err(Error::field("started_at", "must not be in the future or after resolution"));
    }
    if acknowledged_at.is_some_and(|a| a < started_at) {
        return Err(Error::field("acknowledged_at", "must not be before started_at"));
    }
    let items = match &p.affected_items {
        Some(list) => Some(affected(app, page, &vocab, list, &status).await?),
        None => follow_status(app, &cur, &status).await?,
    };
    let fields = IncidentFields {
        external_id: cur.external_id.as_deref(),
        request_hash: &cur.request_hash,
        title: &title,
        description: &description,
        status: &status,
        stage: &cur.stage,
        impact: &impact,
        affected_items_freetext: &freetext,
        visibility: vis,
        started_at,
        acknowledged_at,
        resolved_at: cur.resolved_at,
        resolution_message: &cur.resolution_message,
    };
    let mut tx = app.db.begin().await?;
    if !sql::update(&mut *tx, id, cur.version, &fields, now).await? {
        return Err(changed());
    }
    if let Some(items) = &items {
        nsql::set_items(&mut tx, Kind::Incident, id, items).await?;
        if cur.resolved_at.is_none() {
            sql::close_impacts(&mut *tx, id, now).await?;
            sql::open_impacts(&mut tx, id, items, now, None).await?;
        }
    }
    subject(page, id).audit(&mut tx, actor, "incident.edited", serde_json::json!({}), now).await?;
    tx.commit().await?;
    get(app, page, id).await
}

/// A progress update: message, and optionally a later stage, a new status, new per-item statuses.
#[derive(Debug, Clone, Default)]
pub struct UpdateInput {
    pub message: String,
    pub stage: Option<String>,
    pub status: Option<String>,
    pub affected_items: Option<Vec<AffectedInput>>,
    pub notify: bool,
}

pub async fn add_update(app: &App, actor: &Actor, page: &PageRow, id: i64, u: UpdateInput) -> Result<IncidentRow> {
    let cur = get(app, page, id).await?;
    if cur.resolved_at.is_some() {
        return Err(Error::Conflict {
            code: "incident_resolved",
            message: "the incident is resolved; reopen it first".into(),
        });
    }
    let vocab = Vocabulary::load(app, page).await?;
    let message = types::name(&u.message, 20_000).map_err(Error::invalid("message"))?;
    let stage = match &u.stage {
        Some(s) => {
            let pos = vocab.stage_position(s, "stage")?;
            let now_pos = vocab.stage_position(&cur.stage, "stage").unwrap_or(0);
            if pos < now_pos {
                return Err(Error::field(
                    "stage",
                    format!("stages only move forward: the incident is at '{}'", cur.stage),
                ));
            }
            if pos == vocab.stages.len() - 1 {
                return Err(Error::field("stage", "to resolve, POST .../resolve"));
            }
            s.clone()
        }
        None => cur.stage.clone(),
    };
    let status = match &u.status {
        Some(s) => vocab.status(s, "status")?,
        None => cur.status.clone(),
    };
    let items = match &u.affected_items {
        Some(list) => Some(affected(app, page, &vocab, list, &status).await?),
        None => follow_status(app, &cur, &status).await?,
    };
    let now = app.now();
    let fields = IncidentFields {
        external_id: cur.external_id.as_deref(),
        request_hash: &cur.request_hash,
        title: &cur.title,
        description: &cur.description,
        status: &status,
        stage: &stage,
        impact: &cur.impact,
        affected_items_freetext: &cur.affected_items_freetext,
        visibility: &cur.visibility,
        started_at: cur.started_at,
        acknowledged_at: cur.acknowledged_at,
        resolved_at: None,
        resolution_message: "",
    };
    let mut tx = app.db.begin().await?;
    if !sql::update(&mut *tx, id, cur.version, &fields, now).await? {
        return Err(changed());
    }
    let item_statuses = match &items {
        Some(items) => {
            nsql::set_items(&mut tx, Kind::Incident, id, items).await?;
            sql::close_impacts(&mut *tx, id, now).await?;
            sql::open_impacts(&mut tx, id, items, now, None).await?;
            items_json(items)
        }
        None => "{}".to_string(),
    };
    let update = NewUpdate {
        message: &message,
        stage: &stage,
        statuses: Some((&status, &item_statuses)),
        notify: u.notify,
        created_at: now,
    };
    nsql::insert_update(&mut *tx, Kind::Incident, id, &update).await?;
    let s = subject(page, id);
    s.notify(&mut tx, "incident.updated", notifies(&cur.visibility, u.notify), now).await?;
    s.audit(&mut tx, actor, "incident.updated", serde_json::json!({"stage": stage, "status": status}), now).await?;
    tx.commit().await?;
    get(app, page, id).await
}

/// Marks the incident acknowledged (once; later calls keep the first time).
pub async fn acknowledge(app: &App, actor: &Actor, page: &PageRow, id: i64) -> Result<IncidentRow> {
    let cur = get(app, page, id).await?;
    if cur.acknowledged_at.is_some() {
        return Ok(cur);
    }
    let now = app.now();
    let fields = fields_of(&cur, Some(now), cur.resolved_at, &cur.stage, &cur.resolution_message);
    let mut tx = app.db.begin().await?;
    if !sql::update(&mut *tx, id, cur.version, &fields, now).await? {
        return Err(changed());
    }
    subject(page, id).audit(&mut tx, actor, "incident.acknowledged", serde_json::json!({}), now).await?;
    tx.commit().await?;
    get(app, page, id).await
}

fn fields_of<'a>(
    cur: &'a IncidentRow,
    ack: Option<i64>,
    resolved: Option<i64>,
    stage: &'a str,
    resolution: &'a str,
) -> IncidentFields<'a> {
    IncidentFields {
        external_id: cur.external_id.as_deref(),
        request_hash: &cur.request_hash,
        title: &cur.title,
        description: &cur.description,
        status: &cur.status,
        stage,
        impact: &cur.impact,
        affected_items_freetext: &cur.affected_items_freetext,
        visibility: &cur.visibility,
        started_at: cur.started_at,
        acknowledged_at: ack,
        resolved_at: resolved,
        resolution_message: resolution,
    }
}

/// Resolves: the last stage, the end of every impact, an update with the resolution message.
pub async fn resolve(
    app: &App,
    actor: &Actor,
    page: &PageRow,
    id: i64,
    resolution_message: &str,
    notify: bool,
) -> Result<IncidentRow> {
    let cur = get(app, page, id).await?;
    if cur.resolved_at.is_some() {
        return Err(Error::Conflict { code: "incident_resolved", message: "the incident is already resolved".into() });
    }
    let message = types::text(resolution_message, 20_000).map_err(Error::invalid("resolution_message"))?;
    let vocab = Vocabulary::load(app, page).await?;
    let last = vocab.last_stage().to_string();
    let now = app.now();
    let fields = fields_of(&cur, cur.acknowledged_at, Some(now), &last, &message);
    let mut tx = app.db.begin().await?;
    if !sql::update(&mut *tx, id, cur.version, &fields, now).await? {
        return Err(changed());
    }
    sql::close_impacts(&mut *tx, id, now).await?;
    let text = if message.is_empty() { "This incident has been resolved." } else { message.as_str() };
    let update =
        NewUpdate { message: text, stage: &last, statuses: Some((&cur.status, "{}")), notify, created_at: now };
    nsql::insert_update(&mut *tx, Kind::Incident, id, &update).await?;
    let s = subject(page, id);
    s.notify(&mut tx, "incident.resolved", notifies(&cur.visibility, notify), now).await?;
    s.audit(&mut tx, actor, "incident.resolved", serde_json::json!({}), now).await?;
    tx.commit().await?;
    get(app, page, id).await
}

/// Reopens a resolved incident at the first stage; its items are impacted again from now.
pub async fn reopen(
    app: &App,
    actor: &Actor,
    page: &PageRow,
    id: i64,
    message: Option<&str>,
    notify: bool,
) -> Result<IncidentRow> {
    let cur = get(app, page, id).await?;
    if cur.resolved_at.is_none() {
        return Err(Error::Conflict { code: "incident_open", message: "the incident is not resolved".into() });
    }
    let vocab = Vocabulary::load(app, page).await?;
    let first = vocab.first_stage().to_string();
    let now = app.now();
    let fields = fields_of(&cur, cur.acknowledged_at, None, &first, "");
    let items: Vec<(i64, String)> = nsql::items_of(&app.db.pool, Kind::Incident, &[id], false)
        .await?
        .into_iter()
        .map(|i| (i.item_id, i.status.unwrap_or_default()))
        .collect();
    let text = types::text(message.unwrap_or("This incident has been reopened."), 20_000)
        .map_err(Error::invalid("message"))?;
    let mut tx = app.db.begin().await?;
    if !sql::update(&mut *tx, id, cur.version, &fields, now).await? {
        return Err(changed());
    }
    sql::open_impacts(&mut tx, id, &items, now, None).await?;
    let update = NewUpdate {
        message: &text,
        stage: &first,
        statuses: Some((&cur.status, &items_json(&items))),
        notify,
        created_at: now,
    };
    nsql::insert_update(&mut *tx, Kind::Incident, id, &update).await?;
    let s = subject(page, id);
    s.notify(&mut tx, "incident.reopened", notifies(&cur.visibility, notify), now).await?;
    s.audit(&mut tx, actor, "incident.reopened", serde_json::json!({}), now).await?;
    tx.commit().await?;
    get(app, page, id).await
}

/// Deletes an incident with its items, updates and impact history (nobody is notified).
pub async fn delete(app: &App, actor: &Actor, page: &PageRow, id: i64) -> Result<()> {
    let cur = get(app, page, id).await?;
    notices::delete::<IncidentRow>(app, actor, page, id, &cur.title).await
}
