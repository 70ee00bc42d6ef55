//! Maintenance windows as the API shows them (admins and the public), and the public reads
//! `GET /api/v1/maintenances` and `GET /api/v1/maintenances/{id}`.

use super::error::{ApiError, ApiResult};
use super::incidents::Audience;
use super::list::{page_of, ListQuery};
use super::principal::Reader;
use super::public::cacheable;
use crate::app::App;
use crate::clock::rfc3339;
use crate::domain::maintenance::State;
use crate::service::maintenances::{self, Filter};
use crate::store::maintenances::MaintenanceRow;
use crate::store::pages::PageRow;
use axum::extract::{Path, State as AppState};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{json, Map, Value};

/// Windows with their items (and, when `full`, updates), loaded in two queries. Times are UTC;
/// `time_zone` with `starts_at_local`/`ends_at_local` show the window in its zone.
pub async fn views(app: &App, rows: &[MaintenanceRow], full: bool, who: Audience) -> ApiResult<Vec<Value>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let items = maintenances::items_of(app, &ids, who == Audience::Public).await?;
    let updates = if full { maintenances::updates_of(app, &ids).await? } else { Vec::new() };
    Ok(rows
        .iter()
        .map(|m| {
            let zone = maintenances::zone_of(m);
            let its: Vec<&(i64, i64, String, String)> = items.iter().filter(|i| i.0 == m.id).collect();
            let mut v = json!({
                "id": m.id,
                "title": m.title,
                "state": State::of(m.started_at, m.completed_at, m.cancelled_at).key(),
                "stage": m.stage,
                "impact": m.impact,
                "starts_at": rfc3339(m.starts_at),
                "ends_at": rfc3339(m.ends_at),
                "time_zone": zone.name(),
                "starts_at_local": zone.local(m.starts_at),
                "ends_at_local": zone.local(m.ends_at),
                "started_at": m.started_at.map(rfc3339),
                "completed_at": m.completed_at.map(rfc3339),
                "cancelled_at": m.cancelled_at.map(rfc3339),
                "updated_at": rfc3339(m.updated_at),
                "affected_items": its.iter().map(|i| {
                    if full { json!({"id": i.1, "external_id": i.2, "name": i.3}) } else { json!(i.2) }
                }).collect::<Vec<_>>(),
            });
            let o: &mut Map<String, Value> = v.as_object_mut().expect("object");
            if who == Audience::Admin {
                o.insert("external_id".into(), json!(m.external_id));
                o.insert("auto_start".into(), json!(m.auto_start));
                o.insert("auto_complete".into(), json!(m.auto_complete));
                o.insert("reminder_minutes".into(), json!(m.reminder_minutes));
                o.insert("reminded_at".into(), json!(m.reminded_at.map(rfc3339)));
                o.insert("notify".into(), json!(m.notify));
            }
            if full {
                o.insert("description".into(), json!(m.description));
                o.insert("affected_items_freetext".into(), json!(m.affected_items_freetext));
                o.insert("created_at".into(), json!(rfc3339(m.created_at)));
                let ups: Vec<Value> = updates
                    .iter()
                    .filter(|u| u.maintenance_id == m.id)
                    .map(|u| {
                        let mut uv = json!({"id": u.id, "message": u.message, "stage": u.stage, "created_at": rfc3339(u.created_at)});
                        if who == Audience::Admin {
                            uv["notify"] = json!(u.notify);
                        }
                        uv
                    })
                    .collect();
                o.insert("updates".into(), json!(ups));
            }
            v
        })
        .collect())
}

/// One window, in full.
pub async fn one(app: &App, row: &MaintenanceRow, who: Audience) -> ApiResult<Value> {
    Ok(views(app, std::slice::from_ref(row), true, who).await?.remove(0))
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
pub async fn envelope(app: &App, page: &PageRow, q: &ListQuery, who: Audience) -> ApiResult<Value> {
    let rows = maintenances::list(app, page, filter(q)?, q.cursor, q.limit + 1).await?;
    let (rows, next) = page_of(rows, q.limit, |r: &MaintenanceRow| r.id);
    Ok(json!({"data": views(app, &rows, q.full, who).await?, "next_cursor": next}))
}

/// The active and upcoming windows for the summary.
pub async fn summary_lists(app: &App, page: &PageRow) -> ApiResult<Value> {
    let active = maintenances::list(app, page, Filter::Active, None, 50).await?;
    let upcoming = maintenances::list(app, page, Filter::Upcoming, None, 50).await?;
    Ok(json!({
        "active": views(app, &active, true, Audience::Public).await?,
        "upcoming": views(app, &upcoming, true, Audience::Public).await?,
    }))
}

/// `GET /api/v1/maintenances?status=upcoming|active|completed|all`: compact unless `view=full`.
pub async fn list_maintenances(
    AppState(app): AppState<App>,
    r: Reader,
    q: ListQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let body = envelope(&app, &r.page, &q, Audience::Public).await?;
    Ok(cacheable(&headers, &r.page, &body))
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
    Ok(cacheable(&headers, &r.page, &one(&app, &row, Audience::Public).await?))
}
