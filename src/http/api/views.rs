//! Custom views in the manage workspace (`/api/v1/manage/views[...]`, magic session) and in page
//! administration (`/api/v1/admin/views[...]`, operate: views name people). Decision 0006.

use crate::app::App;
use crate::auth::policy::Access;
use crate::domain::views::AccessMode;
use crate::http::api::manage::Magic;
use crate::http::extract::error::{ApiError, ApiResult};
use crate::http::extract::json::{nullable, StrictJson};
use crate::http::extract::list::{page_of, ListQuery};
use crate::http::extract::principal::Caller;
use crate::http::front::ctx::RequestCtx;
use crate::http::presenters::status_model::Listed;
use crate::http::presenters::views::CustomViewJson;
use crate::service::readers::views::{self, admin, ViewDoc, ViewInput};
use crate::store::pages::PageRow;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

/// Where a view opens: `<canonical page URL>/v/<short code>` (stored data, never the Host).
pub async fn view_url(app: &App, page: &PageRow, d: &ViewDoc) -> ApiResult<String> {
    let (url, _) = crate::http::api::public::canonical_url(app, page).await?;
    Ok(format!("{url}/v/{}", d.view.short_code))
}

async fn views_json(app: &App, page: &PageRow, docs: &[ViewDoc], full: bool) -> ApiResult<Vec<CustomViewJson>> {
    let (base, _) = crate::http::api::public::canonical_url(app, page).await?;
    Ok(docs.iter().map(|d| CustomViewJson::of(d, full.then(|| format!("{base}/v/{}", d.view.short_code)))).collect())
}

/// A view in full, with where it opens.
async fn full_view(app: &App, page: &PageRow, d: &ViewDoc) -> ApiResult<CustomViewJson> {
    Ok(CustomViewJson::of(d, Some(view_url(app, page, d).await?)))
}

fn view_id(raw: &str) -> ApiResult<i64> {
    raw.parse().map_err(|_| ApiError::not_found())
}

// ---- manage workspace ----------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewBody {
    name: Option<String>,
    description: Option<String>,
    components: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    alias: Option<Option<String>>,
    access_mode: Option<String>,
    allowed_domains: Option<Vec<String>>,
    allowed_emails: Option<Vec<String>>,
}

impl From<ViewBody> for ViewInput {
    fn from(b: ViewBody) -> ViewInput {
        ViewInput {
            name: b.name,
            description: b.description,
            components: b.components,
            alias: b.alias,
            access_mode: b.access_mode,
            allowed_domains: b.allowed_domains,
            allowed_emails: b.allowed_emails,
        }
    }
}

/// `GET /api/v1/manage/views`: views the session's address owns or co-manages (full by default:
/// they are the reader's own).
pub async fn list_managed(State(app): State<App>, m: Magic, q: ListQuery) -> ApiResult<Json<Listed<CustomViewJson>>> {
    let docs = views::list_managed(&app, &m.page, &m.who, q.cursor.unwrap_or(i64::MAX), q.limit + 1).await?;
    let (docs, next) = page_of(docs, q.limit, |d| d.view.id);
    Ok(Json(Listed { data: views_json(&app, &m.page, &docs, true).await?, next_cursor: next }))
}

/// `POST /api/v1/manage/views`: a new view owned by the session's address.
pub async fn create_managed(
    State(app): State<App>,
    m: Magic,
    ctx: RequestCtx,
    StrictJson(b): StrictJson<ViewBody>,
) -> ApiResult<Response> {
    let d = views::create(&app, &m.page, &m.who, &ctx.ip, b.into()).await?;
    Ok((StatusCode::CREATED, Json(full_view(&app, &m.page, &d).await?)).into_response())
}

pub async fn get_managed(State(app): State<App>, m: Magic, Path(id): Path<String>) -> ApiResult<Json<CustomViewJson>> {
    let d = views::get_managed(&app, &m.page, &m.who, view_id(&id)?).await?;
    Ok(Json(full_view(&app, &m.page, &d).await?))
}

pub async fn patch_managed(
    State(app): State<App>,
    m: Magic,
    ctx: RequestCtx,
    Path(id): Path<String>,
    StrictJson(b): StrictJson<ViewBody>,
) -> ApiResult<Json<CustomViewJson>> {
    let d = views::update(&app, &m.page, &m.who, &ctx.ip, view_id(&id)?, b.into()).await?;
    Ok(Json(full_view(&app, &m.page, &d).await?))
}

pub async fn delete_managed(
    State(app): State<App>,
    m: Magic,
    ctx: RequestCtx,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    views::delete(&app, &m.page, &m.who, &ctx.ip, view_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The view as its owner or a co-manager sees it after a change of its co-managers.
pub(super) async fn managed_answer(app: &App, m: &Magic, id: i64) -> ApiResult<Response> {
    let d = views::get_managed(app, &m.page, &m.who, id).await?;
    Ok(Json(full_view(app, &m.page, &d).await?).into_response())
}

// ---- page administration -------------------------------------------------------------------------

fn mode_filter(q: &ListQuery) -> ApiResult<Option<String>> {
    match q.rest.iter().find(|(k, _)| k == "access_mode").map(|(_, v)| v.as_str()) {
        None | Some("") => Ok(None),
        Some(v) => AccessMode::parse(v)
            .map(|m| Some(m.key().to_string()))
            .map_err(|e| ApiError::bad_request("invalid", format!("access_mode: {e}")).field("access_mode")),
    }
}

/// `GET /api/v1/admin/views` (`access_mode`, `limit`, `cursor`, `view=full`).
pub async fn list_views(
    State(app): State<App>,
    caller: Caller,
    q: ListQuery,
) -> ApiResult<Json<Listed<CustomViewJson>>> {
    let a = caller.page(&app, Access::Operate).await?;
    let mode = mode_filter(&q)?;
    let docs = admin::list(&app, &a.page, mode.as_deref(), q.cursor.unwrap_or(i64::MAX), q.limit + 1).await?;
    let (docs, next) = page_of(docs, q.limit, |d| d.view.id);
    Ok(Json(Listed { data: views_json(&app, &a.page, &docs, q.full).await?, next_cursor: next }))
}

/// `GET /api/v1/admin/views/stats`.
pub async fn view_stats(State(app): State<App>, caller: Caller) -> ApiResult<Json<admin::Stats>> {
    let a = caller.page(&app, Access::Operate).await?;
    Ok(Json(admin::stats(&app, &a.page).await?))
}

/// `GET /api/v1/admin/views/{id}`: the full view; another page's is 404.
pub async fn get_view(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<CustomViewJson>> {
    let a = caller.page(&app, Access::Operate).await?;
    let d = admin::get(&app, &a.page, view_id(&id)?).await?;
    Ok(Json(full_view(&app, &a.page, &d).await?))
}

/// `DELETE /api/v1/admin/views/{id}`.
pub async fn delete_view(State(app): State<App>, caller: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let a = caller.page(&app, Access::Operate).await?;
    admin::delete(&app, &caller.actor(), &a.page, view_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
