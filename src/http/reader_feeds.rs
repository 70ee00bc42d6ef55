//! `/api/v1/manage/feeds[...]`: readers create and manage their own feeds with a magic session
//! (`X-Magic-Token: sbx_…`). A session reaches only the feeds its address owns or co-manages on
//! its page (anything else is 404); only the owner deletes a feed (co-managers: `http::co_managers`).

use super::ctx::RequestCtx;
use super::error::{ApiError, ApiResult};
use super::feeds::reader::{base_url, urls};
use super::json::StrictJson;
use super::list::{page_of, ListQuery};
use super::manage::Magic;
use crate::app::App;
use crate::auth::token::PlainToken;
use crate::clock::rfc3339;
use crate::service::reader_feeds::{self, Feed, FeedInput};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

/// A feed as its owner and co-managers see it.
pub fn feed_view(f: &Feed, url: &str, me: Option<&str>) -> Value {
    let r = &f.row;
    let (atom, rss) = urls(url, &r.short_code);
    let mut v = json!({
        "id": r.id,
        "name": r.name,
        "short_code": r.short_code,
        "owner_email": r.owner_email,
        "managers": f.managers,
        "components": if r.all_components { Value::Null } else { json!(f.items.iter().map(|i| &i.1).collect::<Vec<_>>()) },
        "content_types": f.content_types(),
        "max_items": r.max_items,
        "max_age_days": r.max_age_days,
        "format": r.format,
        "url": if r.format == "rss" { &rss } else { &atom },
        "urls": {"atom": atom, "rss": rss},
        "has_capability": r.capability_hash.is_some(),
        "view_id": r.view_id,
        "created_at": rfc3339(r.created_at),
        "updated_at": rfc3339(r.updated_at),
    });
    if let Some(me) = me {
        v["role"] = json!(if f.owned_by(me) { "owner" } else { "manager" });
    }
    v
}

/// The view plus the capability, shown this once.
fn with_capability(mut v: Value, url: &str, cap: &PlainToken) -> Value {
    let (atom, rss) = urls(url, cap.expose());
    v["capability"] = json!(cap.expose());
    v["capability_urls"] = json!({"atom": atom, "rss": rss});
    v
}

fn no_store(status: StatusCode, v: Value) -> Response {
    let mut res = (status, Json(v)).into_response();
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
    let data: Vec<Value> = feeds.iter().map(|f| feed_view(f, &url, Some(&m.who.email))).collect();
    Ok(no_store(StatusCode::OK, json!({"data": data, "next_cursor": next})))
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
    let v = feed_view(&feed, &url, Some(&m.who.email));
    let v = match &cap {
        Some(cap) => with_capability(v, &url, cap),
        None => v,
    };
    Ok(no_store(StatusCode::CREATED, v))
}

/// `GET /api/v1/manage/feeds/{id}`.
pub async fn get_feed(State(app): State<App>, m: Magic, Path(raw): Path<String>) -> ApiResult<Response> {
    let feed = reader_feeds::get_mine(&app, &m.page, &m.who, feed_id(&raw)?).await?;
    let url = base_url(&app, &m.page).await?;
    Ok(no_store(StatusCode::OK, feed_view(&feed, &url, Some(&m.who.email))))
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
    Ok(no_store(StatusCode::OK, feed_view(&feed, &url, Some(&m.who.email))))
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
    Ok(no_store(StatusCode::OK, with_capability(feed_view(&feed, &url, Some(&m.who.email)), &url, &cap)))
}

/// The feed as its owner or a co-manager sees it after a change of its co-managers.
pub(super) async fn managed_answer(app: &App, m: &Magic, id: i64) -> ApiResult<Response> {
    let feed = reader_feeds::get_mine(app, &m.page, &m.who, id).await?;
    let url = base_url(app, &m.page).await?;
    Ok(no_store(StatusCode::OK, feed_view(&feed, &url, Some(&m.who.email))))
}
