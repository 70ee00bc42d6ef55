//! Public status reads on a page's host: summary, components, incidents, uptime.
//! Only public incidents and visible components; never internal fields or drafts.

use crate::app::App;
use crate::clock::rfc3339;
use crate::http::api::incidents::{filter, incident_json, one, Audience};
use crate::http::api::maintenances_public::summary_lists;
use crate::http::api::notices::cacheable_json;
use crate::http::api::public::{cacheable_bytes, canonical_url, Rendered};
use crate::http::extract::error::{ApiError, ApiResult};
use crate::http::extract::list::{after_key, by_position, page_of, ListQuery};
use crate::http::extract::principal::Reader;
use crate::http::front::summary_cache::SummaryCache;
use crate::http::presenters::status_model::Listed;
use crate::http::presenters::status_model::StatusJson;
use crate::http::presenters::status_public::{
    ComponentNode, ComponentRow, Components, ComponentsPage, OverallJson, PageLink, SummaryJson,
};
use crate::service::status::computed::{self, ItemStatus, PageStatus};
use crate::service::status::incidents;
use crate::store::incidents::Filter;
use axum::extract::{Extension, Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

/// Visible components as a tree, each with its computed status.
pub fn tree(s: &PageStatus) -> Vec<ComponentNode> {
    ComponentNode::tree(s)
}

/// `GET /api/v1/summary`: what a status widget needs in one call.
pub async fn summary(
    State(app): State<App>,
    Extension(cache): Extension<Arc<SummaryCache>>,
    r: Reader,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let now = app.now();
    let ttl = app.config.summary_cache_ms;
    let generation = match cache.get(r.page.id, now, ttl) {
        Ok(hit) => return Ok(cacheable_bytes(&headers, &r.page, &hit)),
        Err(generation) => generation,
    };
    let s = computed::page_status(&app, &r.page).await?;
    let active = incidents::list(&app, &r.page, Filter::Active, Audience::Public, i64::MAX, 50).await?;
    let (url, domain) = canonical_url(&app, &r.page).await?;
    let body = SummaryJson {
        page: PageLink { name: r.page.name.clone(), url_prefix: r.page.url_prefix.clone(), url, custom_domain: domain },
        status: OverallJson::of(&s),
        components: tree(&s),
        active_incidents: incident_json(&app, &active, true, Audience::Public).await?,
        maintenances: summary_lists(&app, &r.page).await?,
        statuses: s.statuses.iter().map(StatusJson::of).collect(),
    };
    let rendered = Rendered::bytes(serde_json::to_vec(&body).expect("json serialises"));
    if ttl > 0 {
        cache.put(r.page.id, generation, now, rendered.clone());
    }
    Ok(cacheable_bytes(&headers, &r.page, &rendered))
}

/// `GET /api/v1/components`: the tree, paged over top-level components (each with all its
/// descendants), or `?view=full`: a flat list with parents, paged in id order.
pub async fn components(State(app): State<App>, r: Reader, q: ListQuery, headers: HeaderMap) -> ApiResult<Response> {
    let s = computed::page_status(&app, &r.page).await?;
    let (data, next) = if q.full {
        let by_id: HashMap<i64, &ItemStatus> = s.items.iter().map(|i| (i.item.id, i)).collect();
        let visible: Vec<&ItemStatus> = s.items.iter().filter(|i| i.item.visible).collect();
        let (rows, next) = after_key(visible, &q, |i| i.item.id);
        let data =
            rows.iter().map(|i| ComponentRow::of(i, i.item.parent_id.and_then(|p| by_id.get(&p).copied()))).collect();
        (Components::Flat(data), next)
    } else {
        let (data, next) = by_position(tree(&s), &q);
        (Components::Tree(data), next)
    };
    Ok(cacheable_json(&headers, &r.page, &ComponentsPage { status: OverallJson::of(&s), data, next_cursor: next }))
}

/// `GET /api/v1/incidents?status=active|resolved|all`: public incidents, newest first.
pub async fn incidents(State(app): State<App>, r: Reader, q: ListQuery, headers: HeaderMap) -> ApiResult<Response> {
    let rows = incidents::list(&app, &r.page, filter(&q)?, Audience::Public, q.cursor.unwrap_or(i64::MAX), q.limit + 1)
        .await?;
    let (rows, next) = page_of(rows, q.limit, |r| r.id);
    let data = incident_json(&app, &rows, q.full, Audience::Public).await?;
    Ok(cacheable_json(&headers, &r.page, &Listed { data, next_cursor: next }))
}

/// `GET /api/v1/incidents/{id}`: one public incident with its updates.
pub async fn incident(
    State(app): State<App>,
    r: Reader,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let id: i64 = raw.parse().map_err(|_| ApiError::not_found())?;
    let row = incidents::one(&app, &r.page, id, Audience::Public).await?;
    Ok(cacheable_json(&headers, &r.page, &one(&app, &row, Audience::Public).await?))
}

/// One component's uptime as the API shows it.
#[derive(Serialize)]
struct ComponentUptime<'a> {
    identifier: &'a str,
    name: &'a str,
    uptime: f64,
    days: Vec<DayUptime<'a>>,
}

#[derive(Serialize)]
struct DayUptime<'a> {
    date: &'a str,
    uptime: f64,
}

#[derive(Serialize)]
struct UptimePage<'a> {
    days: i64,
    data: Vec<ComponentUptime<'a>>,
    next_cursor: Option<String>,
}

/// `days`: 1 to [`computed::MAX_UPTIME_DAYS`] (default 90, the bars a page shows); more is a 400.
fn uptime_days(q: &ListQuery) -> ApiResult<i64> {
    let max = computed::MAX_UPTIME_DAYS;
    match q.rest.iter().find(|(k, _)| k == "days") {
        None => Ok(max),
        Some((_, v)) => v
            .parse::<i64>()
            .ok()
            .filter(|d| (1..=max).contains(d))
            .ok_or_else(|| ApiError::bad_request("invalid", format!("days: must be 1 to {max}")).field("days")),
    }
}

/// `GET /api/v1/uptime?days=90`: daily uptime of visible components, paged over components in id
/// order (`limit`, `cursor`), so one answer holds at most `limit` × `days` figures.
pub async fn uptime(State(app): State<App>, r: Reader, q: ListQuery, headers: HeaderMap) -> ApiResult<Response> {
    let days = uptime_days(&q)?;
    let rows = computed::uptime(&app, &r.page, days, q.cursor.unwrap_or(0), q.limit + 1).await?;
    let (rows, next_cursor) = page_of(rows, q.limit, |(item, _)| item.id);
    // Every component has the same days: format each date once.
    let dates: Vec<String> = rows
        .first()
        .map(|(_, per_day)| per_day.iter().map(|d| rfc3339(d.start)[..10].to_string()).collect())
        .unwrap_or_default();
    let data = rows
        .iter()
        .map(|(item, per_day)| ComponentUptime {
            identifier: &item.identifier,
            name: &item.name,
            uptime: round3(per_day.iter().map(|d| d.percent).sum::<f64>() / per_day.len().max(1) as f64),
            days: per_day.iter().zip(&dates).map(|(d, date)| DayUptime { date, uptime: round3(d.percent) }).collect(),
        })
        .collect();
    let body = Rendered::bytes(serde_json::to_vec(&UptimePage { days, data, next_cursor }).expect("json serialises"));
    Ok(cacheable_bytes(&headers, &r.page, &body))
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
