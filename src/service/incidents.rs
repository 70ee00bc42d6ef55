//! Incidents: create (retry-safe by `external_id`), edit, updates with per-item statuses,
//! acknowledge, resolve, reopen, delete, post-incident reports and backfill. Every change that
//! should notify records an event row in the same transaction.

use super::audit::{self, Actor, Event};
use super::error::{Error, Result};
use super::hierarchy::{self, ItemRef};
use crate::app::App;
use crate::auth::token::TokenHash;
use crate::clock::parse_rfc3339;
use crate::domain::types;
use crate::store::hierarchy::{StageRow, StatusRow};
use crate::store::incidents::{self as sql, IncidentFields, IncidentRow, NewUpdate};
use crate::store::tenancy::PageRow;
use crate::store::Tx;

/// An affected item as a caller names it, with an optional status of its own.
#[derive(Debug, Clone)]
pub struct AffectedInput {
    pub item: ItemRef,
    pub status: Option<String>,
}

/// What a caller sends to create (or backfill) an incident.
#[derive(Debug, Clone, Default)]
pub struct IncidentInput {
    pub external_id: Option<String>,
    pub title: String,
    pub description: String,
    pub status: Option<String>,
    pub stage: Option<String>,
    pub impact: String,
    pub affected_items: Vec<AffectedInput>,
    pub affected_items_freetext: String,
    pub started_at: Option<String>,
    pub acknowledged_at: Option<String>,
    pub visibility: Option<String>,
    pub notify: bool,
    /// The canonical JSON of the request, to tell a retry from a different request.
    pub request_json: String,
}

/// One step of a backfilled timeline.
#[derive(Debug, Clone)]
pub struct BackfillUpdate {
    pub message: String,
    pub stage: Option<String>,
    pub status: Option<String>,
    pub created_at: String,
}

/// The page's vocabulary, loaded once per use case.
struct Vocabulary {
    statuses: Vec<StatusRow>,
    stages: Vec<StageRow>,
}

impl Vocabulary {
    async fn load(app: &App, page: &PageRow) -> Result<Vocabulary> {
        Ok(Vocabulary {
            statuses: hierarchy::statuses(app, page).await?,
            stages: hierarchy::stages(app, page, "incident").await?,
        })
    }

    /// An incident status: a defined, non-reserved key.
    fn status(&self, key: &str, field: &str) -> Result<String> {
        match self.statuses.iter().find(|s| s.key == key) {
            Some(s) if !s.reserved => Ok(s.key.clone()),
            Some(_) => Err(Error::field(field, format!("'{key}' is reserved for maintenance"))),
            None => {
                let keys: Vec<&str> = self.statuses.iter().filter(|s| !s.reserved).map(|s| s.key.as_str()).collect();
                Err(Error::field(field, format!("unknown status '{key}'; this page has {}", keys.join(", "))))
            }
        }
    }

    /// The default incident status: the least severe one above the baseline.
    fn default_status(&self) -> String {
        self.statuses
            .iter()
            .filter(|s| !s.reserved && s.severity > 0)
            .map(|s| s.key.clone())
            .next()
            .unwrap_or_else(|| self.statuses[0].key.clone())
    }

    fn stage_position(&self, key: &str, field: &str) -> Result<usize> {
        self.stages.iter().position(|s| s.key == key).ok_or_else(|| {
            let keys: Vec<&str> = self.stages.iter().map(|s| s.key.as_str()).collect();
            Error::field(field, format!("unknown stage '{key}'; this page has {}", keys.join(", ")))
        })
    }

    fn first_stage(&self) -> &str {
        &self.stages[0].key
    }

    fn last_stage(&self) -> &str {
        &self.stages[self.stages.len() - 1].key
    }
}

/// External ids: 1-200 of `A-Z a-z 0-9 . _ : -`.
pub fn check_external_id(s: &str) -> Result<()> {
    let ok = !s.is_empty() && s.len() <= 200 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::field("external_id", "must be 1-200 characters of A-Z, a-z, 0-9, '.', '_', ':' and '-'"))
    }
}

fn visibility(v: Option<&str>) -> Result<&'static str> {
    match v.unwrap_or("public") {
        "public" => Ok("public"),
        "internal" => Ok("internal"),
        _ => Err(Error::field("visibility", "must be public or internal")),
    }
}

fn time(field: &str, v: Option<&str>) -> Result<Option<i64>> {
    match v {
        None => Ok(None),
        Some(s) => parse_rfc3339(s).map(Some).ok_or_else(|| Error::field(field, "must be an RFC 3339 timestamp")),
    }
}

/// Resolves affected items to (item id, status), each item once.
async fn affected(
    app: &App,
    page: &PageRow,
    vocab: &Vocabulary,
    input: &[AffectedInput],
    default: &str,
) -> Result<Vec<(i64, String)>> {
    if input.len() > 500 {
        return Err(Error::field("affected_items", "at most 500 items"));
    }
    let mut out: Vec<(i64, String)> = Vec::new();
    for (i, a) in input.iter().enumerate() {
        let field = format!("affected_items[{i}]");
        let item = hierarchy::resolve_item(app, page, &a.item, &field).await?;
        let status = match &a.status {
            Some(s) => vocab.status(s, &format!("{field}.status"))?,
            None => default.to_string(),
        };
        if out.iter().any(|(id, _)| *id == item.id) {
            return Err(Error::field(&field, format!("'{}' is listed twice", item.identifier)));
        }
        out.push((item.id, status));
    }
    Ok(out)
}

fn event<'a>(page: &PageRow, action: &'a str, id: i64, detail: serde_json::Value) -> Event<'a> {
    Event {
        org_id: Some(page.org_id),
        page_id: Some(page.id),
        action,
        target_kind: "incident",
        target_id: Some(id),
        detail,
    }
}

/// Records a notification event for a public incident when asked to notify.
async fn notify_event(
    tx: &mut Tx,
    page: &PageRow,
    inc_id: i64,
    visibility: &str,
    notify: bool,
    kind: &str,
    now: i64,
) -> Result<()> {
    if notify && visibility == "public" {
        let payload = serde_json::json!({ "incident_id": inc_id }).to_string();
        sql::insert_event(&mut **tx, page.id, kind, "incident", inc_id, &payload, now).await?;
    }
    Ok(())
}

fn request_hash(json: &str) -> String {
    TokenHash::of(json.as_bytes()).to_hex()
}

/// Creates an incident. With an `external_id` that exists already: the same request returns the
/// existing incident (`created == false`, nothing notified), a different one is a 409.
pub async fn create(app: &App, actor: &Actor, page: &PageRow, input: IncidentInput) -> Result<(IncidentRow, bool)> {
    let hash = request_hash(&input.request_json);
    if let Some(ext) = &input.external_id {
        check_external_id(ext)?;
        if let Some(existing) = sql::by_external_id(&app.db.pool, page.id, ext).await? {
            return same_request(existing, &hash);
        }
    }
    let vocab = Vocabulary::load(app, page).await?;
    let title = types::name(&input.title, 300).map_err(Error::invalid("title"))?;
    let description = types::text(&input.description, 20_000).map_err(Error::invalid("description"))?;
    let impact = types::text(&input.impact, 2_000).map_err(Error::invalid("impact"))?;
    let freetext =
        types::text(&input.affected_items_freetext, 2_000).map_err(Error::invalid("affected_items_freetext"))?;
    let status = match &input.status {
        Some(s) => vocab.status(s, "status")?,
        None => vocab.default_status(),
    };
    let stage = match &input.stage {
        Some(s) => {
            let pos = vocab.stage_position(s, "stage")?;
            if pos == vocab.stages.len() - 1 {
                return Err(Error::field(
                    "stage",
                    "a new incident cannot start resolved; use backfill for past incidents",
                ));
            }
            s.clone()
        }
        None => vocab.first_stage().to_string(),
    };
    let vis = visibility(input.visibility.as_deref())?;
    let now = app.now();
    let started_at = time("started_at", input.started_at.as_deref())?.unwrap_or(now);
    if started_at > now {
        return Err(Error::field("started_at", "must not be in the future"));
    }
    let acknowledged_at = time("acknowledged_at", input.acknowledged_at.as_deref())?;
    if acknowledged_at.is_some_and(|a| a < started_at || a > now) {
        return Err(Error::field("acknowledged_at", "must be between started_at and now"));
    }
    let items = affected(app, page, &vocab, &input.affected_items, &status).await?;
    let fields = IncidentFields {
        external_id: input.external_id.as_deref(),
        request_hash: &hash,
        title: &title,
        description: &description,
        status: &status,
        stage: &stage,
        impact: &impact,
        affected_items_freetext: &freetext,
        visibility: vis,
        started_at,
        acknowledged_at,
        resolved_at: None,
        resolution_message: "",
    };
    let mut tx = app.db.begin().await?;
    let id = match sql::insert(&mut *tx, page.id, &fields, now).await {
        Ok(id) => id,
        // A concurrent retry with the same external_id won the race.
        Err(crate::store::StoreError::Conflict(_)) if input.external_id.is_some() => {
            drop(tx);
            let ext = input.external_id.as_deref().unwrap_or_default();
            let existing = sql::by_external_id(&app.db.pool, page.id, ext).await?.ok_or(Error::NotFound("incident"))?;
            return same_request(existing, &hash);
        }
        Err(e) => return Err(e.into()),
    };
    sql::set_items(&mut tx, id, &items).await?;
    sql::open_impacts(&mut tx, id, &items, started_at, None).await?;
    let message = if description.is_empty() { title.clone() } else { description.clone() };
    let update = NewUpdate {
        message: &message,
        stage: &stage,
        status: &status,
        item_statuses: &items_json(&items),
        notify: input.notify,
        created_at: now,
    };
    sql::insert_update(&mut *tx, id, &update).await?;
    notify_event(&mut tx, page, id, vis, input.notify, "incident.created", now).await?;
    audit::record(
        &mut tx,
        actor,
        event(page, "incident.created", id, serde_json::json!({"title": title, "external_id": input.external_id})),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok((get(app, page, id).await?, true))
}

fn same_request(existing: IncidentRow, hash: &str) -> Result<(IncidentRow, bool)> {
    if existing.request_hash == hash {
        Ok((existing, false))
    } else {
        Err(Error::Conflict {
            code: "external_id_conflict",
            message: "an incident with this external_id exists with different content; use its routes to change it"
                .into(),
        })
    }
}

fn items_json(items: &[(i64, String)]) -> String {
    serde_json::Value::Object(items.iter().map(|(id, s)| (id.to_string(), serde_json::json!(s))).collect()).to_string()
}

/// An incident of this page by id, or 404.
pub async fn get(app: &App, page: &PageRow, id: i64) -> Result<IncidentRow> {
    sql::by_id(&app.db.pool, page.id, id).await?.ok_or(Error::NotFound("incident"))
}

/// An incident of this page by external id, or 404.
pub async fn get_external(app: &App, page: &PageRow, external_id: &str) -> Result<IncidentRow> {
    sql::by_external_id(&app.db.pool, page.id, external_id).await?.ok_or(Error::NotFound("incident"))
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
        None => None,
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
    sql::update(&mut *tx, id, &fields, now).await?;
    if let Some(items) = &items {
        sql::set_items(&mut tx, id, items).await?;
        if cur.resolved_at.is_none() {
            sql::close_impacts(&mut *tx, id, now).await?;
            sql::open_impacts(&mut tx, id, items, now, None).await?;
        }
    }
    audit::record(&mut tx, actor, event(page, "incident.edited", id, serde_json::json!({})), now).await?;
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
        None => None,
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
    sql::update(&mut *tx, id, &fields, now).await?;
    let item_statuses = match &items {
        Some(items) => {
            sql::set_items(&mut tx, id, items).await?;
            sql::close_impacts(&mut *tx, id, now).await?;
            sql::open_impacts(&mut tx, id, items, now, None).await?;
            items_json(items)
        }
        None => "{}".to_string(),
    };
    let update = NewUpdate {
        message: &message,
        stage: &stage,
        status: &status,
        item_statuses: &item_statuses,
        notify: u.notify,
        created_at: now,
    };
    sql::insert_update(&mut *tx, id, &update).await?;
    notify_event(&mut tx, page, id, &cur.visibility, u.notify, "incident.updated", now).await?;
    audit::record(
        &mut tx,
        actor,
        event(page, "incident.updated", id, serde_json::json!({"stage": stage, "status": status})),
        now,
    )
    .await?;
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
    sql::update(&mut *tx, id, &fields, now).await?;
    audit::record(&mut tx, actor, event(page, "incident.acknowledged", id, serde_json::json!({})), now).await?;
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
    sql::update(&mut *tx, id, &fields, now).await?;
    sql::close_impacts(&mut *tx, id, now).await?;
    let text = if message.is_empty() { "This incident has been resolved." } else { message.as_str() };
    let update =
        NewUpdate { message: text, stage: &last, status: &cur.status, item_statuses: "{}", notify, created_at: now };
    sql::insert_update(&mut *tx, id, &update).await?;
    notify_event(&mut tx, page, id, &cur.visibility, notify, "incident.resolved", now).await?;
    audit::record(&mut tx, actor, event(page, "incident.resolved", id, serde_json::json!({})), now).await?;
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
    let items: Vec<(i64, String)> =
        sql::items_of(&app.db.pool, &[id]).await?.into_iter().map(|i| (i.item_id, i.status)).collect();
    let text = types::text(message.unwrap_or("This incident has been reopened."), 20_000)
        .map_err(Error::invalid("message"))?;
    let mut tx = app.db.begin().await?;
    sql::update(&mut *tx, id, &fields, now).await?;
    sql::open_impacts(&mut tx, id, &items, now, None).await?;
    let update = NewUpdate {
        message: &text,
        stage: &first,
        status: &cur.status,
        item_statuses: &items_json(&items),
        notify,
        created_at: now,
    };
    sql::insert_update(&mut *tx, id, &update).await?;
    notify_event(&mut tx, page, id, &cur.visibility, notify, "incident.reopened", now).await?;
    audit::record(&mut tx, actor, event(page, "incident.reopened", id, serde_json::json!({})), now).await?;
    tx.commit().await?;
    get(app, page, id).await
}

pub async fn delete(app: &App, actor: &Actor, page: &PageRow, id: i64) -> Result<()> {
    let cur = get(app, page, id).await?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    sql::delete(&mut *tx, id).await?;
    audit::record(&mut tx, actor, event(page, "incident.deleted", id, serde_json::json!({"title": cur.title})), now)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Post-incident report actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportAction {
    Draft,
    Publish,
    Unpublish,
}

/// Writes the report draft, or publishes / unpublishes it (publishing needs a resolved incident
/// and a non-empty report).
pub async fn report(
    app: &App,
    actor: &Actor,
    page: &PageRow,
    id: i64,
    action: ReportAction,
    body: Option<&str>,
) -> Result<IncidentRow> {
    let cur = get(app, page, id).await?;
    let now = app.now();
    let (text, state, published) = match action {
        ReportAction::Draft => {
            let b = types::text(body.unwrap_or_default(), 100_000).map_err(Error::invalid("body"))?;
            let state = if cur.report_state == "published" { "published" } else { "draft" };
            (b, state, cur.report_published_at)
        }
        ReportAction::Publish => {
            if cur.resolved_at.is_none() {
                return Err(Error::Conflict {
                    code: "incident_open",
                    message: "a report is published once the incident is resolved".into(),
                });
            }
            if cur.report_body.trim().is_empty() {
                return Err(Error::Conflict {
                    code: "report_empty",
                    message: "write the report before publishing it".into(),
                });
            }
            (cur.report_body.clone(), "published", Some(now))
        }
        ReportAction::Unpublish => {
            (cur.report_body.clone(), if cur.report_body.is_empty() { "none" } else { "draft" }, None)
        }
    };
    let mut tx = app.db.begin().await?;
    sql::set_report(&mut *tx, id, &text, state, published, now).await?;
    audit::record(&mut tx, actor, event(page, "incident.report", id, serde_json::json!({"state": state})), now).await?;
    tx.commit().await?;
    get(app, page, id).await
}

/// Recreates a past incident with explicit times and ordered updates; never notifies anyone.
pub async fn backfill(
    app: &App,
    actor: &Actor,
    page: &PageRow,
    mut input: IncidentInput,
    resolved_at: Option<String>,
    resolution_message: String,
    updates: Vec<BackfillUpdate>,
) -> Result<(IncidentRow, bool)> {
    let hash = request_hash(&input.request_json);
    if let Some(ext) = &input.external_id {
        check_external_id(ext)?;
        if let Some(existing) = sql::by_external_id(&app.db.pool, page.id, ext).await? {
            return same_request(existing, &hash);
        }
    }
    let vocab = Vocabulary::load(app, page).await?;
    let now = app.now();
    let started_at = time("started_at", input.started_at.as_deref())?
        .ok_or_else(|| Error::field("started_at", "is required for a backfill"))?;
    let resolved = time("resolved_at", resolved_at.as_deref())?;
    if started_at > now || resolved.is_some_and(|r| r < started_at || r > now) {
        return Err(Error::field("resolved_at", "times must be in the past, with started_at ≤ resolved_at"));
    }
    let acknowledged_at = time("acknowledged_at", input.acknowledged_at.as_deref())?;
    if acknowledged_at.is_some_and(|a| a < started_at || resolved.is_some_and(|r| a > r)) {
        return Err(Error::field("acknowledged_at", "must be between started_at and resolved_at"));
    }
    let title = types::name(&input.title, 300).map_err(Error::invalid("title"))?;
    let description = types::text(&input.description, 20_000).map_err(Error::invalid("description"))?;
    let status = match &input.status {
        Some(s) => vocab.status(s, "status")?,
        None => vocab.default_status(),
    };
    let items = affected(app, page, &vocab, &input.affected_items, &status).await?;
    // The timeline: each update's time within [started_at, resolved_at], in order, stages forward.
    let mut timeline = Vec::new();
    let mut last_time = started_at;
    let mut stage_pos = 0usize;
    for (i, u) in updates.iter().enumerate() {
        let field = format!("updates[{i}]");
        let at = parse_rfc3339(&u.created_at)
            .ok_or_else(|| Error::field(&field, "created_at must be an RFC 3339 timestamp"))?;
        if at < last_time || at > resolved.unwrap_or(now) {
            return Err(Error::field(&field, "updates must be in time order, between started_at and resolved_at"));
        }
        let stage = match &u.stage {
            Some(s) => {
                let pos = vocab.stage_position(s, &format!("{field}.stage"))?;
                if pos < stage_pos {
                    return Err(Error::field(&field, "stages only move forward"));
                }
                stage_pos = pos;
                s.clone()
            }
            None => vocab.stages[stage_pos].key.clone(),
        };
        let st = match &u.status {
            Some(s) => vocab.status(s, &format!("{field}.status"))?,
            None => status.clone(),
        };
        let message = types::name(&u.message, 20_000).map_err(|e| Error::field(&field, e.0))?;
        timeline.push((at, message, stage, st));
        last_time = at;
    }
    if updates.len() > 200 {
        return Err(Error::field("updates", "at most 200 updates"));
    }
    let stage = if resolved.is_some() { vocab.last_stage().to_string() } else { vocab.stages[stage_pos].key.clone() };
    let vis = visibility(input.visibility.as_deref())?;
    input.notify = false;
    let fields = IncidentFields {
        external_id: input.external_id.as_deref(),
        request_hash: &hash,
        title: &title,
        description: &description,
        status: &status,
        stage: &stage,
        impact: &input.impact,
        affected_items_freetext: &input.affected_items_freetext,
        visibility: vis,
        started_at,
        acknowledged_at,
        resolved_at: resolved,
        resolution_message: &resolution_message,
    };
    let mut tx = app.db.begin().await?;
    let id = sql::insert(&mut *tx, page.id, &fields, now).await?;
    sql::set_items(&mut tx, id, &items).await?;
    sql::open_impacts(&mut tx, id, &items, started_at, resolved).await?;
    for (at, message, stage, st) in &timeline {
        let update = NewUpdate { message, stage, status: st, item_statuses: "{}", notify: false, created_at: *at };
        sql::insert_update(&mut *tx, id, &update).await?;
    }
    if let Some(r) = resolved {
        let text = if resolution_message.is_empty() {
            "This incident has been resolved."
        } else {
            resolution_message.as_str()
        };
        let update = NewUpdate {
            message: text,
            stage: vocab.last_stage(),
            status: &status,
            item_statuses: "{}",
            notify: false,
            created_at: r,
        };
        sql::insert_update(&mut *tx, id, &update).await?;
    }
    audit::record(&mut tx, actor, event(page, "incident.backfilled", id, serde_json::json!({"title": title})), now)
        .await?;
    tx.commit().await?;
    Ok((get(app, page, id).await?, true))
}
