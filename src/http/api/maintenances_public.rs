//! Maintenance windows as the API shows them (admins and the public), and the public reads
//! `GET /api/v1/maintenances` and `GET /api/v1/maintenances/{id}`.

use crate::app::App;
use crate::http::api::incidents::Audience;
use crate::http::api::notices::cacheable_json;
use crate::http::extract::error::{ApiError, ApiResult};
use crate::http::extract::list::{page_of, ListQuery};
use crate::http::extract::principal::Reader;
use crate::http::presenters::notices::{MaintenanceJson, MaintenanceLists};
use crate::http::presenters::status_model::Listed;
use crate::service::status::maintenances::{self, Filter};
use crate::store::maintenances::MaintenanceRow;
use crate::store::pages::PageRow;
use axum::extract::{Path, State as AppState};
use axum::http::HeaderMap;
use axum::response::Response;

/// Windows with their items (and, when `full`, updates), loaded in two queries.
pub async fn maintenance_json(
    app: &App,
    rows: &[MaintenanceRow],
    full: bool,
    who: Audience,
) -> ApiResult<Vec<MaintenanceJson>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let items = maintenances::items_of(app, &ids, who == Audience::Public).await?;
    let updates = if full { maintenances::updates_of(app, &ids).await? } else { Vec::new() };
    Ok(rows.iter().map(|m| MaintenanceJson::of(m, &items, &updates, full, who)).collect())
}

/// One window, in full.
pub async fn one(app: &App, row: &MaintenanceRow, who: Audience) -> ApiResult<MaintenanceJson> {
    Ok(maintenance_json(app, std::slice::from_ref(row), true, who).await?.remove(0))
}

/// `status=upcoming|active|completed|all` (default all).
pub fn filter(q: &ListQuery) -> ApiResult<Filter> {
    match q.rest.iter().find(|(k, _)| k == "status").map(|(_, v)| v.as_str()) {
        None | Some("all") => Ok(Filter::All),
        Some("upcoming") => Ok(Filter::Upcoming),
        Some("active") => Ok(Filter::Active),
        Some("completed") => Ok(Filter::Completed),
        Some(_) => {
            Err(ApiError::bad_request("invalid", "status: must be upcoming, active, completed or all").field("status"))
        }
    }
}

/// A page of windows as the `{"data", "next_cursor"}` envelope.
pub async fn envelope(app: &App, page: &PageRow, q: &ListQuery, who: Audience) -> ApiResult<Listed<MaintenanceJson>> {
    let rows = maintenances::list(app, page, filter(q)?, q.cursor, q.limit + 1).await?;
    let (rows, next_cursor) = page_of(rows, q.limit, |r: &MaintenanceRow| r.id);
    Ok(Listed { data: maintenance_json(app, &rows, q.full, who).await?, next_cursor })
}

/// The active and upcoming windows for the summary.
pub async fn summary_lists(app: &App, page: &PageRow) -> ApiResult<MaintenanceLists> {
    let active = maintenances::list(app, page, Filter::Active, None, 50).await?;
    let upcoming = maintenances::list(app, page, Filter::Upcoming, None, 50).await?;
    Ok(MaintenanceLists {
        active: maintenance_json(app, &active, true, Audience::Public).await?,
        upcoming: maintenance_json(app, &upcoming, true, Audience::Public).await?,
    })
}

/// `GET /api/v1/maintenances?status=upcoming|active|completed|all`: compact unless `view=full`.
pub async fn list_maintenances(
    AppState(app): AppState<App>,
    r: Reader,
    q: ListQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let body = envelope(&app, &r.page, &q, Audience::Public).await?;
    Ok(cacheable_json(&headers, &r.page, &body))
}

/// `GET /api/v1/maintenances/{id}`: one window with its updates.
pub async fn get_maintenance(
    AppState(app): AppState<App>,
    r: Reader,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let id: i64 = raw.parse().map_err(|_| ApiError::not_found())?;
    let row = maintenances::get(&app, &r.page, id).await?;
    let body = one(&app, &row, Audience::Public).await?;
    Ok(cacheable_json(&headers, &r.page, &body))
}
