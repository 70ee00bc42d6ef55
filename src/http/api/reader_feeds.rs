//! `/api/v1/manage/feeds[...]`: readers create and manage their own feeds with a magic session
//! (`X-Magic-Token: sbx_…`). A session reaches only the feeds its address owns or co-manages on
//! its page (anything else is 404); only the owner deletes a feed (co-managers: `http::co_managers`).

use crate::app::App;
use crate::auth::token::PlainToken;
use crate::http::api::manage::Magic;
use crate::http::extract::error::{ApiError, ApiResult};
use crate::http::extract::json::StrictJson;
use crate::http::extract::list::{page_of, ListQuery};
use crate::http::front::ctx::RequestCtx;
use crate::http::presenters::reader_feeds::{FeedJson, FeedUrls, FeedWithCapability};
use crate::http::presenters::status_model::Listed;
use crate::http::site::feeds::reader::base_url;
use crate::service::readers::reader_feeds::{self, FeedInput};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Deserializer, Serialize};

/// The feed with its capability, shown this once.
fn with_capability(feed: FeedJson, url: &str, cap: &PlainToken) -> FeedWithCapability {
    FeedWithCapability { feed, capability: cap.expose().to_string(), capability_urls: FeedUrls::of(url, cap.expose()) }
}

fn no_store(status: StatusCode, body: impl Serialize) -> Response {
    let mut res = (status, Json(body)).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn feed_id(raw: &str) -> ApiResult<i64> {
    raw.parse().map_err(|_| ApiError::not_found())
}

/// `null` clears a value, absence keeps it.
fn nullable<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedBody {
    name: Option<String>,
    components: Option<Vec<String>>,
    content_types: Option<Vec<String>>,
    max_items: Option<i64>,
    #[serde(default, deserialize_with = "nullable")]
    max_age_days: Option<Option<i64>>,
    format: Option<String>,
    view: Option<String>,
}

impl From<FeedBody> for FeedInput {
    fn from(b: FeedBody) -> FeedInput {
        FeedInput {
            name: b.name,
            components: b.components,
            content_types: b.content_types,
            max_items: b.max_items,
            max_age_days: b.max_age_days,
            format: b.format,
            view: b.view,
        }
    }
}

/// `GET /api/v1/manage/feeds`: the feeds this address owns or co-manages on the page.
/// Newest first, paged (`limit`, `cursor`).
pub async fn list_feeds(State(app): State<App>, m: Magic, q: ListQuery) -> ApiResult<Response> {
    let url = base_url(&app, &m.page).await?;
    let feeds = reader_feeds::mine(&app, &m.page, &m.who, q.cursor.unwrap_or(i64::MAX), q.limit + 1).await?;
    let (feeds, next) = page_of(feeds, q.limit, |f| f.row.id);
    let data = feeds.iter().map(|f| FeedJson::of(f, &url, &m.who.email)).collect();
    Ok(no_store(StatusCode::OK, Listed { data, next_cursor: next }))
}

/// `POST /api/v1/manage/feeds`: 201 with the feed (and its capability, once, on a private page).
pub async fn create_feed(
    State(app): State<App>,
    ctx: RequestCtx,
    m: Magic,
    StrictJson(b): StrictJson<FeedBody>,
) -> ApiResult<Response> {
    let (feed, cap) = reader_feeds::create(&app, &m.page, &m.who, b.into(), &ctx.ip).await?;
    let url = base_url(&app, &m.page).await?;
    let v = FeedJson::of(&feed, &url, &m.who.email);
    Ok(match &cap {
        Some(cap) => no_store(StatusCode::CREATED, with_capability(v, &url, cap)),
        None => no_store(StatusCode::CREATED, v),
    })
}

/// `GET /api/v1/manage/feeds/{id}`.
pub async fn get_feed(State(app): State<App>, m: Magic, Path(raw): Path<String>) -> ApiResult<Response> {
    let feed = reader_feeds::get_mine(&app, &m.page, &m.who, feed_id(&raw)?).await?;
    let url = base_url(&app, &m.page).await?;
    Ok(no_store(StatusCode::OK, FeedJson::of(&feed, &url, &m.who.email)))
}

/// `PATCH /api/v1/manage/feeds/{id}` (owner or co-manager).
pub async fn patch_feed(
    State(app): State<App>,
    ctx: RequestCtx,
    m: Magic,
    Path(raw): Path<String>,
    StrictJson(b): StrictJson<FeedBody>,
) -> ApiResult<Response> {
    let feed = reader_feeds::update(&app, &m.page, &m.who, feed_id(&raw)?, b.into(), &ctx.ip).await?;
    let url = base_url(&app, &m.page).await?;
    Ok(no_store(StatusCode::OK, FeedJson::of(&feed, &url, &m.who.email)))
}

/// `DELETE /api/v1/manage/feeds/{id}` (owner only).
pub async fn delete_feed(
    State(app): State<App>,
    ctx: RequestCtx,
    m: Magic,
    Path(raw): Path<String>,
) -> ApiResult<StatusCode> {
    reader_feeds::delete(&app, &m.page, &m.who, feed_id(&raw)?, &ctx.ip).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/manage/feeds/{id}/reset`: a new capability; the old path is 404 at once.
pub async fn reset_feed(
    State(app): State<App>,
    ctx: RequestCtx,
    m: Magic,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let (feed, cap) = reader_feeds::reset(&app, &m.page, &m.who, feed_id(&raw)?, &ctx.ip).await?;
    let url = base_url(&app, &m.page).await?;
    Ok(no_store(StatusCode::OK, with_capability(FeedJson::of(&feed, &url, &m.who.email), &url, &cap)))
}

/// The feed as its owner or a co-manager sees it after a change of its co-managers.
pub(super) async fn managed_answer(app: &App, m: &Magic, id: i64) -> ApiResult<Response> {
    let feed = reader_feeds::get_mine(app, &m.page, &m.who, id).await?;
    let url = base_url(app, &m.page).await?;
    Ok(no_store(StatusCode::OK, FeedJson::of(&feed, &url, &m.who.email)))
}
