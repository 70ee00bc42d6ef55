//! Incidents: create (retry-safe by `external_id`), edit, updates with per-item statuses,
//! acknowledge, resolve, reopen, delete, post-incident reports and backfill. Every change that
//! should notify records an event row in the same transaction.

use crate::app::App;
use crate::clock::parse_rfc3339;
use crate::domain::types;
use crate::service::audit::Actor;
use crate::service::error::{Error, Result};
use crate::service::status::hierarchy::{self, ItemRef};
use crate::service::status::notices::{self, request_hash, retried, Subject};
use crate::store::hierarchy::{StageRow, StatusRow};
use crate::store::incidents::{self as sql, IncidentFields, IncidentRow};
use crate::store::notices::{self as nsql, Kind, NewUpdate};
use crate::store::pages::PageRow;
use crate::store::Tx;

mod history;
mod reads;
pub use reads::{items_of, list, one, updates_of, Audience};
mod lifecycle;
pub use history::{backfill, report, BackfillUpdate, ReportAction};
pub use lifecycle::{acknowledge, add_update, delete, patch, reopen, resolve, IncidentPatch, UpdateInput};

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
    notices::affected(
        app,
        page,
        input,
        |a| &a.item,
        |a, field| match &a.status {
            Some(s) => vocab.status(s, &format!("{field}.status")),
            None => Ok(default.to_string()),
        },
    )
    .await
}

/// The incident `id` of `page`, as its changes name it.
fn subject(page: &PageRow, id: i64) -> Subject<'_> {
    Subject { page, kind: Kind::Incident, id }
}

/// Whether a change notifies: when asked to, and only about a public incident.
fn notifies(visibility: &str, notify: bool) -> bool {
    notify && visibility == "public"
}

/// Inserts an incident with its items, impacted from its start (until `until`, for a backfill),
/// in `tx`. `Err`: a concurrent retry with the same `external_id` won the race; its answer.
async fn insert(
    app: &App,
    tx: &mut Tx,
    page: &PageRow,
    fields: &IncidentFields<'_>,
    items: &[(i64, String)],
    until: Option<i64>,
    now: i64,
) -> Result<std::result::Result<i64, (IncidentRow, bool)>> {
    let insert = sql::insert(&mut **tx, page.id, fields, now).await;
    let id = match notices::inserted(app, page, fields.external_id, fields.request_hash, insert).await? {
        Ok(id) => id,
        Err(existing) => return Ok(Err(existing)),
    };
    nsql::set_items(tx, Kind::Incident, id, items).await?;
    sql::open_impacts(tx, id, items, fields.started_at, until).await?;
    Ok(Ok(id))
}

/// Creates an incident. With an `external_id` that exists already: the same request returns the
/// existing incident (`created == false`, nothing notified), a different one is a 409.
pub async fn create(app: &App, actor: &Actor, page: &PageRow, input: IncidentInput) -> Result<(IncidentRow, bool)> {
    if let Some(ext) = &input.external_id {
        notices::check_external_id(ext)?;
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
    // The request as it will be stored, defaults resolved: a retry that spells out a default (or
    // orders keys differently) is the same request.
    let canonical = serde_json::json!({
        "title": title, "description": description, "status": status, "stage": stage, "impact": impact,
        "items": items, "freetext": freetext, "visibility": vis, "notify": input.notify,
        "started_at": time("started_at", input.started_at.as_deref())?,
        "acknowledged_at": acknowledged_at,
    });
    let hash = request_hash(&canonical.to_string());
    if let Some(done) = retried(app, page, input.external_id.as_deref(), &hash).await? {
        return Ok(done);
    }
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
    let id = match insert(app, &mut tx, page, &fields, &items, None, now).await? {
        Ok(id) => id,
        Err(existing) => return Ok(existing),
    };
    let message = if description.is_empty() { title.clone() } else { description.clone() };
    let update = NewUpdate {
        message: &message,
        stage: &stage,
        statuses: Some((&status, &items_json(&items))),
        notify: input.notify,
        created_at: now,
    };
    nsql::insert_update(&mut *tx, Kind::Incident, id, &update).await?;
    let s = subject(page, id);
    s.notify(&mut tx, "incident.created", notifies(vis, input.notify), now).await?;
    let detail = serde_json::json!({"title": title, "external_id": input.external_id});
    s.audit(&mut tx, actor, "incident.created", detail, now).await?;
    tx.commit().await?;
    Ok((get(app, page, id).await?, true))
}

fn items_json(items: &[(i64, String)]) -> String {
    serde_json::Value::Object(items.iter().map(|(id, s)| (id.to_string(), serde_json::json!(s))).collect()).to_string()
}

/// An incident of this page by id, or 404.
pub async fn get(app: &App, page: &PageRow, id: i64) -> Result<IncidentRow> {
    notices::get(app, page, id).await
}
