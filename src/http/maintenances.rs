//! `/api/v1/admin/maintenances[...]` and the same under
//! `/api/v1/admin/maintenances/external/{external_id}`.

use super::error::{ApiError, ApiResult};
use super::hierarchy::RefBody;
use super::incidents::Audience;
use super::json::{OptionalJson, StrictJson};
use super::list::ListQuery;
use super::maintenances_public::{envelope, one};
use super::principal::Caller;
use crate::app::App;
use crate::auth::policy::Action;
use crate::domain::maintenance::DEFAULT_REMINDER_MINUTES;
use crate::service::hierarchy::ItemRef;
use crate::service::maintenances::{self, BackfillUpdate, MaintenanceInput, MaintenancePatch, Transition, UpdateInput};
use crate::store::maintenances::MaintenanceRow;
use crate::store::pages::PageRow;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The window a path names: `{id}`, or `external/{external_id}` when `EXT`.
async fn target<const EXT: bool>(app: &App, page: &PageRow, raw: &str) -> ApiResult<MaintenanceRow> {
    Ok(if EXT {
        maintenances::get_external(app, page, raw).await?
    } else {
        maintenances::get(app, page, raw.parse().map_err(|_| ApiError::not_found())?).await?
    })
}

/// An affected item: `{"external_id": "api-gateway"}` or `{"id": 7}`.
#[derive(Deserialize, Serialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct ItemBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    external_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<i64>,
}

fn affected(list: Vec<ItemBody>) -> ApiResult<Vec<ItemRef>> {
    list.into_iter()
        .enumerate()
        .map(|(i, a)| RefBody::from_parts(a.external_id, a.id).into_ref(&format!("affected_items[{i}]")))
        .collect()
}

fn yes() -> bool {
    true
}

fn default_reminder() -> i64 {
    DEFAULT_REMINDER_MINUTES
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    impact: String,
    external_id: Option<String>,
    #[serde(default)]
    affected_items: Vec<ItemBody>,
    #[serde(default)]
    affected_items_freetext: String,
    starts_at: String,
    ends_at: String,
    time_zone: Option<String>,
    #[serde(default = "yes")]
    auto_start: bool,
    #[serde(default = "yes")]
    auto_complete: bool,
    #[serde(default = "default_reminder")]
    reminder_minutes: i64,
    #[serde(default = "yes")]
    notify: bool,
}

impl CreateBody {
    fn into_input(self) -> ApiResult<MaintenanceInput> {
        // Defaults are filled in, so a retry that spells them out is still the same request.
        let request_json = serde_json::to_string(&self).expect("serialisable");
        Ok(MaintenanceInput {
            external_id: self.external_id,
            title: self.title,
            description: self.description,
            impact: self.impact,
            affected_items: affected(self.affected_items)?,
            affected_items_freetext: self.affected_items_freetext,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            time_zone: self.time_zone,
            auto_start: self.auto_start,
            auto_complete: self.auto_complete,
            reminder_minutes: self.reminder_minutes,
            notify: self.notify,
            request_json,
        })
    }
}

pub async fn list_maintenances(State(app): State<App>, caller: Caller, q: ListQuery) -> ApiResult<Json<Value>> {
    let a = caller.page(&app, Action::Read).await?;
    Ok(Json(envelope(&app, &a.page, &q, Audience::Admin).await?))
}

pub async fn create_maintenance(
    State(app): State<App>,
    caller: Caller,
    StrictJson(b): StrictJson<CreateBody>,
) -> ApiResult<Response> {
    let a = caller.page(&app, Action::Operate).await?;
    let (row, is_new) = maintenances::create(&app, &caller.actor(), &a.page, b.into_input()?).await?;
    Ok(super::created_or_found(one(&app, &row, Audience::Admin).await?, is_new))
}

pub async fn get_maintenance<const EXT: bool>(
    State(app): State<App>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Json<Value>> {
    let a = caller.page(&app, Action::Read).await?;
    let row = target::<EXT>(&app, &a.page, &raw).await?;
    Ok(Json(one(&app, &row, Audience::Admin).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchBody {
    title: Option<String>,
    description: Option<String>,
    impact: Option<String>,
    affected_items: Option<Vec<ItemBody>>,
    affected_items_freetext: Option<String>,
    starts_at: Option<String>,
    ends_at: Option<String>,
    time_zone: Option<String>,
    auto_start: Option<bool>,
    auto_complete: Option<bool>,
    reminder_minutes: Option<i64>,
    notify: Option<bool>,
}

pub async fn patch_maintenance<const EXT: bool>(
    State(app): State<App>,
    caller: Caller,
    Path(raw): Path<String>,
    StrictJson(b): StrictJson<PatchBody>,
) -> ApiResult<Json<Value>> {
    let a = caller.page(&app, Action::Operate).await?;
    let row = target::<EXT>(&app, &a.page, &raw).await?;
    let p = MaintenancePatch {
        title: b.title,
        description: b.description,
        impact: b.impact,
        affected_items: b.affected_items.map(affected).transpose()?,
        affected_items_freetext: b.affected_items_freetext,
        starts_at: b.starts_at,
        ends_at: b.ends_at,
        time_zone: b.time_zone,
        auto_start: b.auto_start,
        auto_complete: b.auto_complete,
        reminder_minutes: b.reminder_minutes,
        notify: b.notify,
    };
    let row = maintenances::patch(&app, &caller.actor(), &a.page, row.id, p).await?;
    Ok(Json(one(&app, &row, Audience::Admin).await?))
}

pub async fn delete_maintenance<const EXT: bool>(
    State(app): State<App>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<StatusCode> {
    let a = caller.page(&app, Action::Operate).await?;
    let row = target::<EXT>(&app, &a.page, &raw).await?;
    maintenances::delete(&app, &caller.actor(), &a.page, row.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    message: String,
    stage: Option<String>,
    notify: Option<bool>,
}

pub async fn add_update<const EXT: bool>(
    State(app): State<App>,
    caller: Caller,
    Path(raw): Path<String>,
    StrictJson(b): StrictJson<UpdateBody>,
) -> ApiResult<impl IntoResponse> {
    let a = caller.page(&app, Action::Operate).await?;
    let row = target::<EXT>(&app, &a.page, &raw).await?;
    let u = UpdateInput { message: b.message, stage: b.stage, notify: b.notify };
    let row = maintenances::add_update(&app, &caller.actor(), &a.page, row.id, u).await?;
    Ok((StatusCode::CREATED, Json(one(&app, &row, Audience::Admin).await?)))
}

/// The optional body of start, complete and cancel.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TransitionBody {
    message: Option<String>,
    notify: Option<bool>,
}

impl TransitionBody {
    fn into_transition(self) -> Transition {
        Transition { message: self.message, notify: self.notify }
    }
}

/// A lifecycle move made by hand.
#[derive(Clone, Copy)]
enum Move {
    Start,
    Complete,
    Cancel,
}

/// `POST .../start`.
pub async fn start_maintenance<const EXT: bool>(
    app: State<App>,
    caller: Caller,
    raw: Path<String>,
    body: OptionalJson<TransitionBody>,
) -> ApiResult<Json<Value>> {
    transition::<EXT>(app, caller, raw, body, Move::Start).await
}

/// `POST .../complete` (early, or by hand).
pub async fn complete_maintenance<const EXT: bool>(
    app: State<App>,
    caller: Caller,
    raw: Path<String>,
    body: OptionalJson<TransitionBody>,
) -> ApiResult<Json<Value>> {
    transition::<EXT>(app, caller, raw, body, Move::Complete).await
}

/// `POST .../cancel`.
pub async fn cancel_maintenance<const EXT: bool>(
    app: State<App>,
    caller: Caller,
    raw: Path<String>,
    body: OptionalJson<TransitionBody>,
) -> ApiResult<Json<Value>> {
    transition::<EXT>(app, caller, raw, body, Move::Cancel).await
}

async fn transition<const EXT: bool>(
    State(app): State<App>,
    caller: Caller,
    Path(raw): Path<String>,
    OptionalJson(b): OptionalJson<TransitionBody>,
    mv: Move,
) -> ApiResult<Json<Value>> {
    let a = caller.page(&app, Action::Operate).await?;
    let row = target::<EXT>(&app, &a.page, &raw).await?;
    let t = b.unwrap_or_default().into_transition();
    let actor = caller.actor();
    let row = match mv {
        Move::Start => maintenances::start(&app, &actor, &a.page, row.id, t).await?,
        Move::Complete => maintenances::complete(&app, &actor, &a.page, row.id, t).await?,
        Move::Cancel => maintenances::cancel(&app, &actor, &a.page, row.id, t).await?,
    };
    Ok(Json(one(&app, &row, Audience::Admin).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtendBody {
    ends_at: String,
    message: Option<String>,
    notify: Option<bool>,
}

pub async fn extend_maintenance<const EXT: bool>(
    State(app): State<App>,
    caller: Caller,
    Path(raw): Path<String>,
    StrictJson(b): StrictJson<ExtendBody>,
) -> ApiResult<Json<Value>> {
    let a = caller.page(&app, Action::Operate).await?;
    let row = target::<EXT>(&app, &a.page, &raw).await?;
    let t = Transition { message: b.message, notify: b.notify };
    let row = maintenances::extend(&app, &caller.actor(), &a.page, row.id, &b.ends_at, t).await?;
    Ok(Json(one(&app, &row, Audience::Admin).await?))
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BackfillUpdateBody {
    message: String,
    stage: Option<String>,
    created_at: String,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BackfillBody {
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    impact: String,
    external_id: Option<String>,
    #[serde(default)]
    affected_items: Vec<ItemBody>,
    #[serde(default)]
    affected_items_freetext: String,
    starts_at: String,
    ends_at: String,
    time_zone: Option<String>,
    #[serde(default)]
    updates: Vec<BackfillUpdateBody>,
}

/// Backfill rebuilds history; it is configuration-level work (page admins), and never notifies.
pub async fn backfill(
    State(app): State<App>,
    caller: Caller,
    StrictJson(b): StrictJson<BackfillBody>,
) -> ApiResult<Response> {
    let a = caller.page(&app, Action::Configure).await?;
    let request_json = serde_json::to_string(&b).expect("serialisable");
    let input = MaintenanceInput {
        external_id: b.external_id,
        title: b.title,
        description: b.description,
        impact: b.impact,
        affected_items: affected(b.affected_items)?,
        affected_items_freetext: b.affected_items_freetext,
        starts_at: b.starts_at,
        ends_at: b.ends_at,
        time_zone: b.time_zone,
        auto_start: true,
        auto_complete: true,
        reminder_minutes: 0,
        notify: false,
        request_json,
    };
    let updates = b
        .updates
        .into_iter()
        .map(|u| BackfillUpdate { message: u.message, stage: u.stage, created_at: u.created_at })
        .collect();
    let (row, is_new) = maintenances::backfill(&app, &caller.actor(), &a.page, input, updates).await?;
    Ok(super::created_or_found(one(&app, &row, Audience::Admin).await?, is_new))
}
