//! `/api/v1/admin/feeds[...]`: readers' feeds of the page: list, statistics, one feed, delete,
//! invalidate. Feeds carry their owners' and co-managers' addresses (personal data), so every
//! route needs operate, like `/api/v1/admin/subscribers` (decision 0007).

use super::error::{ApiError, ApiResult};
use super::feeds::reader::{base_url, urls};
use super::list::{page_of, ListQuery};
use super::principal::Caller;
use crate::app::App;
use crate::auth::policy::Action;
use crate::clock::rfc3339;
use crate::service::reader_feeds::{admin, Feed};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

fn view(f: &Feed, full: bool, url: &str) -> Value {
    let r = &f.row;
    let mut v = json!({
        "id": r.id,
        "name": r.name,
        "short_code": r.short_code,
        "owner_email": r.owner_email,
        "content_types": f.content_types(),
        "format": r.format,
        "has_capability": r.capability_hash.is_some(),
        "fetch_count": r.fetch_count,
        "last_fetched_at": r.last_fetched_at.map(rfc3339),
        "created_at": rfc3339(r.created_at),
    });
    if full {
        let (atom, rss) = urls(url, &r.short_code);
        let m = v.as_object_mut().expect("object");
        m.insert("managers".into(), json!(f.managers));
        let components =
            if r.all_components { Value::Null } else { json!(f.items.iter().map(|i| &i.1).collect::<Vec<_>>()) };
        m.insert("components".into(), components);
        m.insert("max_items".into(), json!(r.max_items));
        m.insert("max_age_days".into(), json!(r.max_age_days));
        m.insert("cache_version".into(), json!(r.cache_version));
        m.insert("urls".into(), json!({"atom": atom, "rss": rss}));
        m.insert("updated_at".into(), json!(rfc3339(r.updated_at)));
    }
    v
}

fn feed_id(raw: &str) -> ApiResult<i64> {
    raw.parse().map_err(|_| ApiError::not_found())
}

/// `GET /api/v1/admin/feeds` (`limit`, `cursor`, `view=full`), newest first.
pub async fn list_feeds(State(app): State<App>, caller: Caller, q: ListQuery) -> ApiResult<Json<Value>> {
    let a = caller.page(&app, Action::Operate).await?;
    let rows = admin::list(&app, &a.page, q.cursor.unwrap_or(i64::MAX), q.limit + 1).await?;
    let (rows, next) = page_of(rows, q.limit, |f| f.row.id);
    let url = base_url(&app, &a.page).await?;
    let data: Vec<Value> = rows.iter().map(|f| view(f, q.full, &url)).collect();
    Ok(Json(json!({"data": data, "next_cursor": next})))
}

/// `GET /api/v1/admin/feeds/stats`.
pub async fn feed_stats(State(app): State<App>, caller: Caller) -> ApiResult<Json<Value>> {
    let a = caller.page(&app, Action::Operate).await?;
    let s = admin::stats(&app, &a.page).await?;
    let mut v = json!(s);
    v["last_fetched_at"] = json!(s.last_fetched_at.map(rfc3339));
    Ok(Json(v))
}

/// `GET /api/v1/admin/feeds/{id}` (the full view).
pub async fn get_feed(State(app): State<App>, caller: Caller, Path(raw): Path<String>) -> ApiResult<Json<Value>> {
    let a = caller.page(&app, Action::Operate).await?;
    let f = admin::get(&app, &a.page, feed_id(&raw)?).await?;
    Ok(Json(view(&f, true, &base_url(&app, &a.page).await?)))
}

/// `DELETE /api/v1/admin/feeds/{id}`: hard delete.
pub async fn delete_feed(State(app): State<App>, caller: Caller, Path(raw): Path<String>) -> ApiResult<StatusCode> {
    let a = caller.page(&app, Action::Operate).await?;
    admin::delete(&app, &caller.actor(), &a.page, feed_id(&raw)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/admin/feeds/{id}/invalidate`: a new ETag, so clients and caches refetch.
pub async fn invalidate_feed(
    State(app): State<App>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Json<Value>> {
    let a = caller.page(&app, Action::Operate).await?;
    let f = admin::invalidate(&app, &caller.actor(), &a.page, feed_id(&raw)?).await?;
    Ok(Json(view(&f, true, &base_url(&app, &a.page).await?)))
}
