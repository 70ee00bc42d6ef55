//! `/api/v1/admin/incidents[...]` and the same under `/api/v1/admin/incidents/external/{external_id}`.

use crate::app::App;
use crate::auth::policy::Access;
use crate::http::api::notices::{affected, created_or_found, target, yes, AffectedBody};
use crate::http::extract::error::{ApiError, ApiResult};
use crate::http::extract::json::{OptionalJson, StrictJson};
use crate::http::extract::list::{page_of, ListQuery};
use crate::http::extract::principal::Caller;
use crate::http::presenters::notices::IncidentJson;
use crate::http::presenters::status_model::Listed;
use crate::service::status::incidents::{
    self, BackfillUpdate, IncidentInput, IncidentPatch, ReportAction, UpdateInput,
};
use crate::store::incidents::{Filter, IncidentRow};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

pub use crate::service::status::incidents::Audience;

/// Incidents as the API shows them, with their items and updates loaded in two queries.
pub async fn incident_json(app: &App, rows: &[IncidentRow], full: bool, who: Audience) -> ApiResult<Vec<IncidentJson>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let items = incidents::items_of(app, &ids, who).await?;
    let updates = if full { incidents::updates_of(app, &ids).await? } else { Vec::new() };
    Ok(rows.iter().map(|r| IncidentJson::of(r, &items, &updates, full, who)).collect())
}

/// One incident, in full.
pub async fn one(app: &App, row: &IncidentRow, who: Audience) -> ApiResult<IncidentJson> {
    Ok(incident_json(app, std::slice::from_ref(row), true, who).await?.remove(0))
}

/// `status=active|resolved|all` (default all).
pub fn filter(q: &ListQuery) -> ApiResult<Filter> {
    match q.rest.iter().find(|(k, _)| k == "status").map(|(_, v)| v.as_str()) {
        None | Some("all") => Ok(Filter::All),
        Some("active") => Ok(Filter::Active),
        Some("resolved") => Ok(Filter::Resolved),
        Some(_) => Err(ApiError::bad_request("invalid", "status: must be active, resolved or all").field("status")),
    }
}

#[derive(Deserialize, Serialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    title: String,
    #[serde(default)]
    description: String,
    status: Option<String>,
    stage: Option<String>,
    #[serde(default)]
    impact: String,
    external_id: Option<String>,
    #[serde(default)]
    affected_items: Vec<AffectedBody>,
    #[serde(default)]
    affected_items_freetext: String,
    started_at: Option<String>,
    acknowledged_at: Option<String>,
    visibility: Option<String>,
    #[serde(default = "yes")]
    notify: bool,
}

impl CreateBody {
    fn into_input(self) -> ApiResult<IncidentInput> {
        let request_json = serde_json::to_string(&self).expect("serialisable");
        Ok(IncidentInput {
            external_id: self.external_id,
            title: self.title,
            description: self.description,
            status: self.status,
            stage: self.stage,
            impact: self.impact,
            affected_items: affected(self.affected_items)?,
            affected_items_freetext: self.affected_items_freetext,
            started_at: self.started_at,
            acknowledged_at: self.acknowledged_at,
            visibility: self.visibility,
            notify: self.notify,
            request_json,
        })
    }
}

pub async fn list_incidents(
    State(app): State<App>,
    caller: Caller,
    q: ListQuery,
) -> ApiResult<Json<Listed<IncidentJson>>> {
    let a = caller.page(&app, Access::Read).await?;
    let before = q.cursor.unwrap_or(i64::MAX);
    let rows = incidents::list(&app, &a.page, filter(&q)?, Audience::Admin, before, q.limit + 1).await?;
    let (rows, next) = page_of(rows, q.limit, |r| r.id);
    let data = incident_json(&app, &rows, q.full, Audience::Admin).await?;
    Ok(Json(Listed { data, next_cursor: next }))
}

pub async fn create_incident(
    State(app): State<App>,
    caller: Caller,
    StrictJson(b): StrictJson<CreateBody>,
) -> ApiResult<Response> {
    let a = caller.page(&app, Access::Operate).await?;
    let (row, is_new) = incidents::create(&app, &caller.actor(), &a.page, b.into_input()?).await?;
    Ok(created_or_found(one(&app, &row, Audience::Admin).await?, is_new))
}

pub async fn get_incident<const EXT: bool>(
    State(app): State<App>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Json<IncidentJson>> {
    let a = caller.page(&app, Access::Read).await?;
    let row = target::<IncidentRow, EXT>(&app, &a.page, &raw).await?;
    Ok(Json(one(&app, &row, Audience::Admin).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchBody {
    title: Option<String>,
    description: Option<String>,
    impact: Option<String>,
    status: Option<String>,
    affected_items: Option<Vec<AffectedBody>>,
    affected_items_freetext: Option<String>,
    visibility: Option<String>,
    started_at: Option<String>,
    acknowledged_at: Option<String>,
}

pub async fn patch_incident<const EXT: bool>(
    State(app): State<App>,
    caller: Caller,
    Path(raw): Path<String>,
    StrictJson(b): StrictJson<PatchBody>,
) -> ApiResult<Json<IncidentJson>> {
    let a = caller.page(&app, Access::Operate).await?;
    let row = target::<IncidentRow, EXT>(&app, &a.page, &raw).await?;
    let p = IncidentPatch {
        title: b.title,
        description: b.description,
        impact: b.impact,
        status: b.status,
        affected_items: b.affected_items.map(affected).transpose()?,
        affected_items_freetext: b.affected_items_freetext,
        visibility: b.visibility,
        started_at: b.started_at,
        acknowledged_at: b.acknowledged_at,
    };
    let row = incidents::patch(&app, &caller.actor(), &a.page, row.id, p).await?;
    Ok(Json(one(&app, &row, Audience::Admin).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    message: String,
    stage: Option<String>,
    status: Option<String>,
    affected_items: Option<Vec<AffectedBody>>,
    #[serde(default = "yes")]
    notify: bool,
}

pub async fn add_update<const EXT: bool>(
    State(app): State<App>,
    caller: Caller,
    Path(raw): Path<String>,
    StrictJson(b): StrictJson<UpdateBody>,
) -> ApiResult<impl IntoResponse> {
    let a = caller.page(&app, Access::Operate).await?;
    let row = target::<IncidentRow, EXT>(&app, &a.page, &raw).await?;
    let u = UpdateInput {
        message: b.message,
        stage: b.stage,
        status: b.status,
        affected_items: b.affected_items.map(affected).transpose()?,
        notify: b.notify,
    };
    let row = incidents::add_update(&app, &caller.actor(), &a.page, row.id, u).await?;
    Ok((StatusCode::CREATED, Json(one(&app, &row, Audience::Admin).await?)))
}

pub async fn acknowledge<const EXT: bool>(
    State(app): State<App>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Json<IncidentJson>> {
    let a = caller.page(&app, Access::Operate).await?;
    let row = target::<IncidentRow, EXT>(&app, &a.page, &raw).await?;
    let row = incidents::acknowledge(&app, &caller.actor(), &a.page, row.id).await?;
    Ok(Json(one(&app, &row, Audience::Admin).await?))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    #[serde(default)]
    resolution_message: String,
    #[serde(default = "yes")]
    notify: bool,
}

pub async fn resolve<const EXT: bool>(
    State(app): State<App>,
    caller: Caller,
    Path(raw): Path<String>,
    OptionalJson(b): OptionalJson<ResolveBody>,
) -> ApiResult<Json<IncidentJson>> {
    let a = caller.page(&app, Access::Operate).await?;
    let row = target::<IncidentRow, EXT>(&app, &a.page, &raw).await?;
    let b = b.unwrap_or(ResolveBody { resolution_message: String::new(), notify: true });
    let row = incidents::resolve(&app, &caller.actor(), &a.page, row.id, &b.resolution_message, b.notify).await?;
    Ok(Json(one(&app, &row, Audience::Admin).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReopenBody {
    message: Option<String>,
    #[serde(default = "yes")]
    notify: bool,
}

pub async fn reopen<const EXT: bool>(
    State(app): State<App>,
    caller: Caller,
    Path(raw): Path<String>,
    OptionalJson(b): OptionalJson<ReopenBody>,
) -> ApiResult<Json<IncidentJson>> {
    let a = caller.page(&app, Access::Operate).await?;
    let row = target::<IncidentRow, EXT>(&app, &a.page, &raw).await?;
    let (message, notify) = b.map(|b| (b.message, b.notify)).unwrap_or((None, true));
    let row = incidents::reopen(&app, &caller.actor(), &a.page, row.id, message.as_deref(), notify).await?;
    Ok(Json(one(&app, &row, Audience::Admin).await?))
}

pub async fn delete_incident<const EXT: bool>(
    State(app): State<App>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<StatusCode> {
    let a = caller.page(&app, Access::Operate).await?;
    let row = target::<IncidentRow, EXT>(&app, &a.page, &raw).await?;
    incidents::delete(&app, &caller.actor(), &a.page, row.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportBody {
    body: String,
}

pub async fn put_report<const EXT: bool>(
    State(app): State<App>,
    caller: Caller,
    Path(raw): Path<String>,
    StrictJson(b): StrictJson<ReportBody>,
) -> ApiResult<Json<IncidentJson>> {
    report::<EXT>(app, caller, raw, ReportAction::Draft, Some(b.body)).await
}

pub async fn publish_report<const EXT: bool>(
    State(app): State<App>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Json<IncidentJson>> {
    report::<EXT>(app, caller, raw, ReportAction::Publish, None).await
}

pub async fn unpublish_report<const EXT: bool>(
    State(app): State<App>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Json<IncidentJson>> {
    report::<EXT>(app, caller, raw, ReportAction::Unpublish, None).await
}

async fn report<const EXT: bool>(
    app: App,
    caller: Caller,
    raw: String,
    action: ReportAction,
    body: Option<String>,
) -> ApiResult<Json<IncidentJson>> {
    let a = caller.page(&app, Access::Operate).await?;
    let row = target::<IncidentRow, EXT>(&app, &a.page, &raw).await?;
    let row = incidents::report(&app, &caller.actor(), &a.page, row.id, action, body.as_deref()).await?;
    Ok(Json(one(&app, &row, Audience::Admin).await?))
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BackfillUpdateBody {
    message: String,
    stage: Option<String>,
    status: Option<String>,
    created_at: String,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BackfillBody {
    title: String,
    #[serde(default)]
    description: String,
    status: Option<String>,
    #[serde(default)]
    impact: String,
    external_id: Option<String>,
    #[serde(default)]
    affected_items: Vec<AffectedBody>,
    #[serde(default)]
    affected_items_freetext: String,
    started_at: String,
    acknowledged_at: Option<String>,
    resolved_at: Option<String>,
    #[serde(default)]
    resolution_message: String,
    visibility: Option<String>,
    #[serde(default)]
    updates: Vec<BackfillUpdateBody>,
}

/// Backfill rebuilds history; it is configuration-level work (page admins), and never notifies.
pub async fn backfill(
    State(app): State<App>,
    caller: Caller,
    StrictJson(b): StrictJson<BackfillBody>,
) -> ApiResult<Response> {
    let a = caller.page(&app, Access::Configure).await?;
    let request_json = serde_json::to_string(&b).expect("serialisable");
    let input = IncidentInput {
        external_id: b.external_id,
        title: b.title,
        description: b.description,
        status: b.status,
        stage: None,
        impact: b.impact,
        affected_items: affected(b.affected_items)?,
        affected_items_freetext: b.affected_items_freetext,
        started_at: Some(b.started_at),
        acknowledged_at: b.acknowledged_at,
        visibility: b.visibility,
        notify: false,
        request_json,
    };
    let updates = b
        .updates
        .into_iter()
        .map(|u| BackfillUpdate { message: u.message, stage: u.stage, status: u.status, created_at: u.created_at })
        .collect();
    let (row, is_new) =
        incidents::backfill(&app, &caller.actor(), &a.page, input, b.resolved_at, b.resolution_message, updates)
            .await?;
    Ok(created_or_found(one(&app, &row, Audience::Admin).await?, is_new))
}
