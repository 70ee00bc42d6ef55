//! `POST /api/v1/manage/{views,feeds}/{id}/managers {email}` and
//! `DELETE /api/v1/manage/{views,feeds}/{id}/managers/{email}`: co-managers of a custom view or a
//! reader's feed, one set of rules for both (`service::co_managers`). Magic session required; the
//! owner adds and removes, a co-manager may only leave. Adding answers the resource as its own
//! routes do (a view, or a feed with the caller's `role`); removing answers 204.

use crate::app::App;
use crate::http::api::manage::Magic;
use crate::http::extract::error::{ApiError, ApiResult};
use crate::http::extract::json::StrictJson;
use crate::http::front::ctx::RequestCtx;
use crate::service::readers::co_managers::{self, Managed, Resource};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManagerBody {
    email: String,
}

type Body = StrictJson<ManagerBody>;

/// `POST /api/v1/manage/views/{id}/managers {email}` (owner only): the view.
pub async fn add_view_manager(app: State<App>, m: Magic, ctx: RequestCtx, id: Path<String>, b: Body) -> Answer {
    add(app, m, ctx, Managed::View, id, b).await
}

/// `POST /api/v1/manage/feeds/{id}/managers {email}` (owner only): the feed, with `role`.
pub async fn add_feed_manager(app: State<App>, m: Magic, ctx: RequestCtx, id: Path<String>, b: Body) -> Answer {
    add(app, m, ctx, Managed::Feed, id, b).await
}

/// `DELETE /api/v1/manage/views/{id}/managers/{email}` (the owner, or a co-manager leaving): 204.
pub async fn remove_view_manager(app: State<App>, m: Magic, ctx: RequestCtx, p: Path<(String, String)>) -> Gone {
    remove(app, m, ctx, Managed::View, p).await
}

/// `DELETE /api/v1/manage/feeds/{id}/managers/{email}` (the owner, or a co-manager leaving): 204.
pub async fn remove_feed_manager(app: State<App>, m: Magic, ctx: RequestCtx, p: Path<(String, String)>) -> Gone {
    remove(app, m, ctx, Managed::Feed, p).await
}

type Answer = ApiResult<Response>;
type Gone = ApiResult<StatusCode>;

/// A resource id in a path; anything else names no resource.
fn resource_id(raw: &str) -> ApiResult<i64> {
    raw.parse().map_err(|_| ApiError::not_found())
}

async fn add(
    State(app): State<App>,
    m: Magic,
    ctx: RequestCtx,
    of: Managed,
    Path(id): Path<String>,
    StrictJson(b): Body,
) -> Answer {
    let id = resource_id(&id)?;
    co_managers::add(&app, &m.page, &m.who, &ctx.ip, Resource { of, id }, &b.email).await?;
    match of {
        Managed::View => crate::http::api::views::managed_answer(&app, &m, id).await,
        Managed::Feed => crate::http::api::reader_feeds::managed_answer(&app, &m, id).await,
    }
}

async fn remove(State(app): State<App>, m: Magic, ctx: RequestCtx, of: Managed, p: Path<(String, String)>) -> Gone {
    let Path((id, email)) = p;
    let r = Resource { of, id: resource_id(&id)? };
    co_managers::remove(&app, &m.page, &m.who, &ctx.ip, r, &email).await?;
    Ok(StatusCode::NO_CONTENT)
}
