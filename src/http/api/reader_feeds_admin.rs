//! `/api/v1/admin/feeds[...]`: readers' feeds of the page: list, statistics, one feed, delete,
//! invalidate. Feeds carry their owners' and co-managers' addresses (personal data), so every
//! route needs operate, like `/api/v1/admin/subscribers` (decision 0007).

use crate::app::App;
use crate::auth::policy::Access;
use crate::http::extract::error::{ApiError, ApiResult};
use crate::http::extract::list::{page_of, ListQuery};
use crate::http::extract::principal::Caller;
use crate::http::presenters::reader_feeds::{FeedAdminJson, FeedStats};
use crate::http::presenters::status_model::Listed;
use crate::http::site::feeds::reader::base_url;
use crate::service::readers::reader_feeds::admin;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;

fn feed_id(raw: &str) -> ApiResult<i64> {
    raw.parse().map_err(|_| ApiError::not_found())
}

/// `GET /api/v1/admin/feeds` (`limit`, `cursor`, `view=full`), newest first.
pub async fn list_feeds(
    State(app): State<App>,
    caller: Caller,
    q: ListQuery,
) -> ApiResult<Json<Listed<FeedAdminJson>>> {
    let a = caller.page(&app, Access::Operate).await?;
    let rows = admin::list(&app, &a.page, q.cursor.unwrap_or(i64::MAX), q.limit + 1).await?;
    let (rows, next) = page_of(rows, q.limit, |f| f.row.id);
    let url = base_url(&app, &a.page).await?;
    let data = rows.iter().map(|f| FeedAdminJson::of(f, q.full.then_some(url.as_str()))).collect();
    Ok(Json(Listed { data, next_cursor: next }))
}

/// `GET /api/v1/admin/feeds/stats`.
pub async fn feed_stats(State(app): State<App>, caller: Caller) -> ApiResult<Json<FeedStats>> {
    let a = caller.page(&app, Access::Operate).await?;
    Ok(Json(FeedStats::of(admin::stats(&app, &a.page).await?)))
}

/// `GET /api/v1/admin/feeds/{id}` (the full view).
pub async fn get_feed(
    State(app): State<App>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Json<FeedAdminJson>> {
    let a = caller.page(&app, Access::Operate).await?;
    let f = admin::get(&app, &a.page, feed_id(&raw)?).await?;
    Ok(Json(FeedAdminJson::of(&f, Some(&base_url(&app, &a.page).await?))))
}

/// `DELETE /api/v1/admin/feeds/{id}`: hard delete.
pub async fn delete_feed(State(app): State<App>, caller: Caller, Path(raw): Path<String>) -> ApiResult<StatusCode> {
    let a = caller.page(&app, Access::Operate).await?;
    admin::delete(&app, &caller.actor(), &a.page, feed_id(&raw)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/admin/feeds/{id}/invalidate`: a new ETag, so clients and caches refetch.
pub async fn invalidate_feed(
    State(app): State<App>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Json<FeedAdminJson>> {
    let a = caller.page(&app, Access::Operate).await?;
    let f = admin::invalidate(&app, &caller.actor(), &a.page, feed_id(&raw)?).await?;
    Ok(Json(FeedAdminJson::of(&f, Some(&base_url(&app, &a.page).await?))))
}
