//! `/api/v1/admin/maintenances[...]` and the same under
//! `/api/v1/admin/maintenances/external/{external_id}`.

use crate::app::App;
use crate::auth::policy::Access;
use crate::domain::maintenance::DEFAULT_REMINDER_MINUTES;
use crate::http::api::incidents::Audience;
use crate::http::api::maintenances_public::{envelope, one};
use crate::http::api::notices::{created_or_found, items, target, yes, ItemBody};
use crate::http::extract::error::ApiResult;
use crate::http::extract::json::{OptionalJson, StrictJson};
use crate::http::extract::list::ListQuery;
use crate::http::extract::principal::Caller;
use crate::http::presenters::notices::MaintenanceJson;
use crate::http::presenters::status_model::Listed;
use crate::service::status::maintenances::{
    self, BackfillUpdate, MaintenanceInput, MaintenancePatch, Move, Transition, UpdateInput,
};
use crate::store::maintenances::MaintenanceRow;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

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
            affected_items: items(self.affected_items)?,
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

pub async fn list_maintenances(
    State(app): State<App>,
    caller: Caller,
    q: ListQuery,
) -> ApiResult<Json<Listed<MaintenanceJson>>> {
    let a = caller.page(&app, Access::Read).await?;
    Ok(Json(envelope(&app, &a.page, &q, Audience::Admin).await?))
}

pub async fn create_maintenance(
    State(app): State<App>,
    caller: Caller,
    StrictJson(b): StrictJson<CreateBody>,
) -> ApiResult<Response> {
    let a = caller.page(&app, Access::Operate).await?;
    let (row, is_new) = maintenances::create(&app, &caller.actor(), &a.page, b.into_input()?).await?;
    Ok(created_or_found(one(&app, &row, Audience::Admin).await?, is_new))
}

pub async fn get_maintenance<const EXT: bool>(
    State(app): State<App>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Json<MaintenanceJson>> {
    let a = caller.page(&app, Access::Read).await?;
    let row = target::<MaintenanceRow, EXT>(&app, &a.page, &raw).await?;
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
) -> ApiResult<Json<MaintenanceJson>> {
    let a = caller.page(&app, Access::Operate).await?;
    let row = target::<MaintenanceRow, EXT>(&app, &a.page, &raw).await?;
    let p = MaintenancePatch {
        title: b.title,
        description: b.description,
        impact: b.impact,
        affected_items: b.affected_items.map(items).transpose()?,
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
    let a = caller.page(&app, Access::Operate).await?;
    let row = target::<MaintenanceRow, EXT>(&app, &a.page, &raw).await?;
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
    let a = caller.page(&app, Access::Operate).await?;
    let row = target::<MaintenanceRow, EXT>(&app, &a.page, &raw).await?;
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

/// `POST .../start`.
pub async fn start_maintenance<const EXT: bool>(
    app: State<App>,
    caller: Caller,
    raw: Path<String>,
    body: OptionalJson<TransitionBody>,
) -> ApiResult<Json<MaintenanceJson>> {
    transition::<EXT>(app, caller, raw, body, Move::Start).await
}

/// `POST .../complete` (early, or by hand).
pub async fn complete_maintenance<const EXT: bool>(
    app: State<App>,
    caller: Caller,
    raw: Path<String>,
    body: OptionalJson<TransitionBody>,
) -> ApiResult<Json<MaintenanceJson>> {
    transition::<EXT>(app, caller, raw, body, Move::Complete).await
}

/// `POST .../cancel`.
pub async fn cancel_maintenance<const EXT: bool>(
    app: State<App>,
    caller: Caller,
    raw: Path<String>,
    body: OptionalJson<TransitionBody>,
) -> ApiResult<Json<MaintenanceJson>> {
    transition::<EXT>(app, caller, raw, body, Move::Cancel).await
}

async fn transition<const EXT: bool>(
    State(app): State<App>,
    caller: Caller,
    Path(raw): Path<String>,
    OptionalJson(b): OptionalJson<TransitionBody>,
    mv: Move,
) -> ApiResult<Json<MaintenanceJson>> {
    let a = caller.page(&app, Access::Operate).await?;
    let row = target::<MaintenanceRow, EXT>(&app, &a.page, &raw).await?;
    let t = b.unwrap_or_default().into_transition();
    let actor = caller.actor();
    let row = maintenances::transition(&app, &actor, &a.page, row.id, mv, t).await?;
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
) -> ApiResult<Json<MaintenanceJson>> {
    let a = caller.page(&app, Access::Operate).await?;
    let row = target::<MaintenanceRow, EXT>(&app, &a.page, &raw).await?;
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
    let a = caller.page(&app, Access::Configure).await?;
    let request_json = serde_json::to_string(&b).expect("serialisable");
    let input = MaintenanceInput {
        external_id: b.external_id,
        title: b.title,
        description: b.description,
        impact: b.impact,
        affected_items: items(b.affected_items)?,
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
    Ok(created_or_found(one(&app, &row, Audience::Admin).await?, is_new))
}
