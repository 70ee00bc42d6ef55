//! Opening a custom view on the page's host: `GET /views/{code}`, `GET /views/{code}/data`, the
//! viewer-access flow of protected views, and the server-rendered page `/v/{code}`. `{code}` is
//! the short code or the alias. The page's own gate (`Reader`) comes first; a protected view then
//! needs a viewer token for that view in `X-Magic-Token`. Decision 0006.

use crate::app::App;
use crate::clock::rfc3339;
use crate::http::api::incidents::{incident_json, Audience};
use crate::http::api::public::cacheable;
use crate::http::api::status::tree;
use crate::http::extract::error::{ApiError, ApiResult};
use crate::http::extract::json::StrictJson;
use crate::http::extract::principal::Reader;
use crate::http::presenters::readers::Accepted;
use crate::http::presenters::status_model::StatusJson;
use crate::http::presenters::views::{
    AccessStatus, CustomViewDataJson, CustomViewPublicJson, MaintenanceGroups, OverallStatus, ViewerToken, WarningJson,
};
use crate::service::readers::views::access::{self, Admission};
use crate::service::readers::views::data::{self, ViewData};
use crate::service::readers::views::ViewDoc;
use crate::store::pages::PageRow;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

fn magic(headers: &HeaderMap) -> Option<String> {
    headers.get("x-magic-token").map(|v| v.to_str().unwrap_or("").trim().to_string())
}

fn access_required(d: &ViewDoc) -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "view_access_required",
        format!(
            "this view is protected: POST /views/{}/viewer-access/request {{\"email\": ...}}, open the emailed link, \
             and send the viewer token it gives as X-Magic-Token",
            d.view.short_code
        ),
    )
}

/// The view named in the path, once the page's gate and the view's own gate are passed.
async fn admitted(app: &App, r: &Reader, code: &str, headers: &HeaderMap) -> ApiResult<(ViewDoc, Admission)> {
    let d = access::find(app, &r.page, code).await?;
    let token = magic(headers);
    match access::admission(app, &r.page, &d, token.as_deref(), &r.ctx.ip).await? {
        Admission::Required => Err(access_required(&d)),
        a => Ok((d, a)),
    }
}

/// Public views of public pages are cached like the page; anything gated is private, no-store.
fn respond(headers: &HeaderMap, page: &PageRow, a: &Admission, body: &impl Serialize) -> Response {
    let mut res = cacheable(headers, page, body);
    if *a != Admission::Open {
        res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    }
    res
}

/// `GET /views/{code}`: the view's definition.
pub async fn get_view(
    State(app): State<App>,
    r: Reader,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let (d, a) = admitted(&app, &r, &code, &headers).await?;
    Ok(respond(&headers, &r.page, &a, &CustomViewPublicJson::of(&d)))
}

/// The answer of `/views/{code}/data` (also what `/v/{code}` renders).
pub async fn data_json(app: &App, d: &ViewDoc, v: &ViewData) -> ApiResult<CustomViewDataJson> {
    let status_def = v.status.statuses.iter().find(|s| s.key == v.status.overall);
    let maint = |rows| crate::http::api::maintenances_public::maintenance_json(app, rows, true, Audience::Public);
    Ok(CustomViewDataJson {
        view: CustomViewPublicJson::of(d),
        status: OverallStatus {
            key: v.status.overall.clone(),
            name: status_def.map(|s| s.name.clone()),
            color: status_def.map(|s| s.color.clone()),
        },
        component_count: v.status.items.iter().filter(|i| i.item.visible).count(),
        components: tree(&v.status),
        active_incidents: incident_json(app, &v.active_incidents, true, Audience::Public).await?,
        recent_incidents: incident_json(app, &v.recent_incidents, true, Audience::Public).await?,
        maintenances: MaintenanceGroups {
            active: maint(&v.active_maintenances).await?,
            upcoming: maint(&v.upcoming_maintenances).await?,
            recent: maint(&v.recent_maintenances).await?,
        },
        warnings: v.warnings.iter().map(WarningJson::of).collect(),
        statuses: v.status.statuses.iter().map(StatusJson::of).collect(),
    })
}

/// `GET /views/{code}/data`: scoped status, tree, incidents and maintenance, warnings.
pub async fn get_view_data(
    State(app): State<App>,
    r: Reader,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let (d, a) = admitted(&app, &r, &code, &headers).await?;
    let v = data::load(&app, &r.page, &d).await?;
    Ok(respond(&headers, &r.page, &a, &data_json(&app, &d, &v).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestBody {
    email: String,
}

/// `POST /views/{code}/viewer-access/request {email}`: always 202 for a well-formed request.
pub async fn request_access(
    State(app): State<App>,
    r: Reader,
    Path(code): Path<String>,
    StrictJson(b): StrictJson<RequestBody>,
) -> ApiResult<Response> {
    let d = access::find(&app, &r.page, &code).await?;
    access::request(&app, &r.page, &d, &b.email).await?;
    let body = Accepted { status: "accepted", message: "If this address may open this view, a message is on its way." };
    Ok((StatusCode::ACCEPTED, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response())
}

/// `POST /views/{code}/viewer-access/exchange` with the emailed link in `X-Magic-Token`.
pub async fn exchange(
    State(app): State<App>,
    r: Reader,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let d = access::find(&app, &r.page, &code).await?;
    let raw = magic(&headers).ok_or_else(|| {
        ApiError::new(StatusCode::UNAUTHORIZED, "magic_token_required", "send the emailed link token in X-Magic-Token")
    })?;
    let (token, expires_at) = access::exchange(&app, &r.page, &d, &raw, &r.ctx.ip).await?;
    let body = ViewerToken {
        token: token.expose().to_string(),
        expires_at: rfc3339(expires_at),
        view: CustomViewPublicJson::of(&d),
    };
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response())
}

/// `GET /views/{code}/viewer-access/status`: whether the presented token (if any) opens the view.
pub async fn access_status(
    State(app): State<App>,
    r: Reader,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let d = access::find(&app, &r.page, &code).await?;
    let token = magic(&headers);
    let admission = match access::admission(&app, &r.page, &d, token.as_deref(), &r.ctx.ip).await {
        Ok(a) => a,
        Err(crate::service::Error::Unauthorized) => Admission::Required,
        Err(e) => return Err(e.into()),
    };
    let (granted, expires_at) = match admission {
        Admission::Open => (true, None),
        Admission::Granted { expires_at } => (true, Some(rfc3339(expires_at))),
        Admission::Required => (false, None),
    };
    let body = AccessStatus { access_mode: d.view.access_mode.clone(), granted, expires_at };
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response())
}
