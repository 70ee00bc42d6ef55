//! Operations routes: liveness, readiness, and the on-demand TLS domain check.

use super::error::{ApiError, ApiResult};
use crate::app::App;
use crate::service::domains;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

pub async fn readyz(State(app): State<App>) -> (StatusCode, Json<Value>) {
    if crate::service::directory::database_ready(&app).await {
        (StatusCode::OK, Json(json!({"status": "ready"})))
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "database unreachable"})))
    }
}

#[derive(Deserialize)]
pub struct DomainCheck {
    domain: Option<String>,
}

/// `GET /internal/domain-check?domain=`: 200 for a verified domain of a live page, else 404.
pub async fn domain_check(
    State(app): State<App>,
    q: Result<Query<DomainCheck>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    let domain = q
        .ok()
        .and_then(|q| q.0.domain)
        .ok_or_else(|| ApiError::bad_request("invalid", "domain: required").field("domain"))?;
    if domains::is_servable(&app, &domain).await? {
        Ok(Json(json!({"domain": domain.to_ascii_lowercase(), "status": "verified"})))
    } else {
        Err(ApiError::new(StatusCode::NOT_FOUND, "unknown_domain", "not a verified domain"))
    }
}
