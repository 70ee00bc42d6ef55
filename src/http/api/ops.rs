//! Operations routes: liveness, readiness, and the on-demand TLS domain check.

use crate::app::App;
use crate::http::extract::error::{ApiError, ApiResult};
use crate::service::org::domains;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

/// The state `/healthz` and `/readyz` report.
#[derive(Serialize)]
pub struct Health {
    /// `ok` (the process is up), `ready`, or `database unreachable`.
    pub status: &'static str,
}

/// `/internal/domain-check`'s answer for a verified domain.
#[derive(Serialize)]
pub struct DomainVerified {
    pub domain: String,
    pub status: &'static str,
}

pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

pub async fn readyz(State(app): State<App>) -> (StatusCode, Json<Health>) {
    if crate::service::directory::database_ready(&app).await {
        (StatusCode::OK, Json(Health { status: "ready" }))
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(Health { status: "database unreachable" }))
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
) -> ApiResult<Json<DomainVerified>> {
    let domain = q
        .ok()
        .and_then(|q| q.0.domain)
        .ok_or_else(|| ApiError::bad_request("invalid", "domain: required").field("domain"))?;
    if domains::is_servable(&app, &domain).await? {
        Ok(Json(DomainVerified { domain: domain.to_ascii_lowercase(), status: "verified" }))
    } else {
        Err(ApiError::new(StatusCode::NOT_FOUND, "unknown_domain", "not a verified domain"))
    }
}
