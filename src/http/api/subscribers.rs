//! `/api/v1/admin/subscribers[...]`: list and search, counts, one subscriber, hard delete, bulk
//! hygiene, CSV export and import. Subscriber data is personal data: reads need operate, like
//! the writes (decision 0005 "Admin").

use crate::app::App;
use crate::auth::policy::Access;
use crate::http::extract::error::{ApiError, ApiResult};
use crate::http::extract::json::StrictJson;
use crate::http::extract::list::{page_of, ListQuery};
use crate::http::extract::principal::Caller;
use crate::http::presenters::status_model::Listed;
use crate::http::presenters::subscribers::{DeliveryJson, SubscriberJson};
use crate::service::readers::subscribers::admin::{self, Consent, HYGIENES, STATES};
use crate::store::subscribers::AdminFilter;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use std::collections::HashMap;

fn one_of(q: &ListQuery, name: &str, allowed: &[&str]) -> ApiResult<Option<String>> {
    match q.rest.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()) {
        None | Some("") => Ok(None),
        Some(v) if allowed.contains(&v) => Ok(Some(v.to_string())),
        Some(_) => {
            Err(ApiError::bad_request("invalid", format!("{name}: must be one of {}", allowed.join(", "))).field(name))
        }
    }
}

fn filter(q: &ListQuery) -> ApiResult<AdminFilter> {
    let search = q.rest.iter().find(|(k, _)| k == "q").map(|(_, v)| v.trim().to_string()).filter(|v| !v.is_empty());
    if search.as_ref().is_some_and(|s| s.len() > 254) {
        return Err(ApiError::bad_request("invalid", "q: at most 254 characters").field("q"));
    }
    Ok(AdminFilter { q: search, state: one_of(q, "state", STATES)?, hygiene: one_of(q, "hygiene", HYGIENES)? })
}

fn subscriber_id(raw: &str) -> ApiResult<i64> {
    raw.parse().map_err(|_| ApiError::not_found())
}

/// `GET /api/v1/admin/subscribers` (`q`, `state`, `hygiene`, `limit`, `cursor`, `view=full`).
pub async fn list_subscribers(
    State(app): State<App>,
    caller: Caller,
    q: ListQuery,
) -> ApiResult<Json<Listed<SubscriberJson>>> {
    let a = caller.page(&app, Access::Operate).await?;
    let f = filter(&q)?;
    let rows = admin::list(&app, &a.page, &f, q.cursor.unwrap_or(i64::MAX), q.limit + 1).await?;
    let (rows, next) = page_of(rows, q.limit, |r| r.id);
    let scopes = if q.full { admin::scopes(&app, &a.page).await? } else { HashMap::new() };
    let data = rows.iter().map(|s| SubscriberJson::of(s, q.full, &scopes)).collect();
    Ok(Json(Listed { data, next_cursor: next }))
}

/// `GET /api/v1/admin/subscribers/counts`.
pub async fn subscriber_counts(State(app): State<App>, caller: Caller) -> ApiResult<Json<admin::Counts>> {
    let a = caller.page(&app, Access::Operate).await?;
    Ok(Json(admin::counts(&app, &a.page).await?))
}

/// `GET /api/v1/admin/subscribers/{id}` (the full view).
pub async fn get_subscriber(
    State(app): State<App>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Json<SubscriberJson>> {
    let a = caller.page(&app, Access::Operate).await?;
    let s = admin::get(&app, &a.page, subscriber_id(&raw)?).await?;
    let scopes = admin::scopes(&app, &a.page).await?;
    Ok(Json(SubscriberJson::of(&s, true, &scopes)))
}

/// `DELETE /api/v1/admin/subscribers/{id}`: hard delete.
pub async fn delete_subscriber(
    State(app): State<App>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<StatusCode> {
    let a = caller.page(&app, Access::Operate).await?;
    admin::delete(&app, &caller.actor(), &a.page, subscriber_id(&raw)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HygieneBody {
    ids: Vec<i64>,
    hygiene: String,
}

/// `POST /api/v1/admin/subscribers/hygiene` `{"ids": [...], "hygiene": "suppressed"}`.
pub async fn bulk_hygiene(
    State(app): State<App>,
    caller: Caller,
    StrictJson(b): StrictJson<HygieneBody>,
) -> ApiResult<Json<admin::HygieneOutcome>> {
    let a = caller.page(&app, Access::Operate).await?;
    let out = admin::set_hygiene(&app, &caller.actor(), &a.page, &b.ids, &b.hygiene).await?;
    Ok(Json(out))
}

/// `GET /api/v1/admin/subscribers/export`: `text/csv`, the header row first.
pub async fn export_subscribers(State(app): State<App>, caller: Caller) -> ApiResult<Response> {
    let a = caller.page(&app, Access::Operate).await?;
    let body = admin::export(&app, &a.page).await?;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"subscribers.csv\""),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportBody {
    csv: String,
    consent: String,
}

/// `POST /api/v1/admin/subscribers/import` `{"csv": "...", "consent": "attested"|"none"}`.
pub async fn import_subscribers(
    State(app): State<App>,
    caller: Caller,
    StrictJson(b): StrictJson<ImportBody>,
) -> ApiResult<Json<admin::ImportOutcome>> {
    let a = caller.page(&app, Access::Operate).await?;
    let consent = match b.consent.as_str() {
        "attested" => Consent::Attested,
        "none" => Consent::None,
        _ => return Err(ApiError::bad_request("invalid", "consent: must be attested or none").field("consent")),
    };
    let out = admin::import(&app, &caller.actor(), &a.page, &b.csv, consent).await?;
    Ok(Json(out))
}

/// `GET /api/v1/admin/subscribers/{id}/deliveries`: the notifications sent to a subscriber,
/// newest first, with every failed attempt (`limit`, `cursor`).
pub async fn subscriber_deliveries(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    q: ListQuery,
) -> ApiResult<Json<Listed<DeliveryJson>>> {
    let a = caller.page(&app, Access::Operate).await?;
    let rows = admin::deliveries(&app, &a.page, subscriber_id(&id)?, q.cursor.unwrap_or(i64::MAX), q.limit + 1).await?;
    let (rows, next) = page_of(rows, q.limit, |r| r.0.id);
    let data = rows.iter().map(|(d, attempts)| DeliveryJson::of(d, attempts)).collect();
    Ok(Json(Listed { data, next_cursor: next }))
}
