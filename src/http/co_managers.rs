//! `POST /api/v1/manage/{views,feeds}/{id}/managers {email}` and
//! `DELETE /api/v1/manage/{views,feeds}/{id}/managers/{email}`: co-managers of a custom view or a
//! reader's feed, one set of rules for both (`service::co_managers`). Magic session required; the
//! owner adds and removes, a co-manager may only leave. Adding answers the resource as its own
//! routes do (a view, or a feed with the caller's `role`); removing answers 204.

use super::ctx::RequestCtx;
use super::error::ApiResult;
use super::json::StrictJson;
use super::manage::Magic;
use crate::app::App;
use crate::service::co_managers::{self, Managed};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManagerBody {
    email: String,
}

/// `POST /api/v1/manage/views/{id}/managers {email}` (owner only).
pub async fn add_view_manager(
    State(app): State<App>,
    m: Magic,
    ctx: RequestCtx,
    Path(id): Path<String>,
    StrictJson(b): StrictJson<ManagerBody>,
) -> ApiResult<Response> {
    let id = super::views::view_id(&id)?;
    co_managers::add(&app, &m.page, &m.who, &ctx.ip, Managed::View, id, &b.email).await?;
    super::views::managed_answer(&app, &m, id).await
}

/// `POST /api/v1/manage/feeds/{id}/managers {email}` (owner only).
pub async fn add_feed_manager(
    State(app): State<App>,
    m: Magic,
    ctx: RequestCtx,
    Path(id): Path<String>,
    StrictJson(b): StrictJson<ManagerBody>,
) -> ApiResult<Response> {
    let id = super::reader_feeds::feed_id(&id)?;
    co_managers::add(&app, &m.page, &m.who, &ctx.ip, Managed::Feed, id, &b.email).await?;
    super::reader_feeds::managed_answer(&app, &m, id).await
}

/// `DELETE /api/v1/manage/views/{id}/managers/{email}` (the owner, or a co-manager leaving).
pub async fn remove_view_manager(
    State(app): State<App>,
    m: Magic,
    ctx: RequestCtx,
    Path((id, email)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    remove(&app, &m, &ctx, Managed::View, super::views::view_id(&id)?, &email).await
}

/// `DELETE /api/v1/manage/feeds/{id}/managers/{email}` (the owner, or a co-manager leaving).
pub async fn remove_feed_manager(
    State(app): State<App>,
    m: Magic,
    ctx: RequestCtx,
    Path((id, email)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    remove(&app, &m, &ctx, Managed::Feed, super::reader_feeds::feed_id(&id)?, &email).await
}

async fn remove(app: &App, m: &Magic, ctx: &RequestCtx, of: Managed, id: i64, email: &str) -> ApiResult<StatusCode> {
    co_managers::remove(app, &m.page, &m.who, &ctx.ip, of, id, email).await?;
    Ok(StatusCode::NO_CONTENT)
}
