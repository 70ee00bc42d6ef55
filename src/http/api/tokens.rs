//! `/api/v1/admin/api-tokens` (page tokens) and `/api/v1/org/api-tokens` (org tokens).
//! Handlers are generic over `ORG`: the same code serves both scopes.

use crate::app::App;
use crate::auth::policy::Access;
use crate::http::extract::error::{ApiError, ApiResult};
use crate::http::extract::json::{OptionalJson, StrictJson};
use crate::http::extract::list::{envelope, ListQuery};
use crate::http::extract::principal::Caller;
use crate::http::presenters::people::{AuditEntry, TokenJson, TokenStats, TokenWithSecret};
use crate::http::presenters::status_model::Listed;
use crate::service::access::Principal;
use crate::service::audit::Actor;
use crate::service::credentials::tokens::{self, Holder, NewToken, TokenScope};
use crate::store::api_tokens::ApiTokenRow;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;

/// Request body of token creation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenBody {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    notes: String,
    permission: String,
    role_key: String,
    #[serde(default)]
    terraform_managed: bool,
    expires_at: Option<String>,
}

/// Request body of rotation.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RotateBody {
    #[serde(default)]
    grace_seconds: u64,
}

/// Every token route needs credentials-and-people access on its scope.
async fn scope<const ORG: bool>(app: &App, caller: &Caller) -> ApiResult<(TokenScope, Actor, Access)> {
    if ORG {
        let (org_id, grant) = caller.org(app, Access::ManageAccess).await?;
        Ok((TokenScope::Org { org_id }, caller.actor(), grant))
    } else {
        let a = caller.page(app, Access::ManageAccess).await?;
        Ok((TokenScope::Page { org_id: a.page.org_id, page_id: a.page.id }, caller.actor(), a.grant))
    }
}

fn with_secret(t: &ApiTokenRow, now: i64, secret: &str) -> TokenWithSecret {
    TokenWithSecret { view: TokenJson::of(t, now, true), token: secret.to_string() }
}

fn parse_id(raw: &str) -> ApiResult<i64> {
    raw.parse::<i64>().map_err(|_| ApiError::not_found())
}

pub async fn list_tokens<const ORG: bool>(
    State(app): State<App>,
    caller: Caller,
    q: ListQuery,
) -> ApiResult<Json<Listed<TokenJson>>> {
    let (scope, _, _) = scope::<ORG>(&app, &caller).await?;
    let rows = tokens::list(&app, scope, q.cursor.unwrap_or(0), q.limit + 1).await?;
    let now = app.now();
    Ok(Json(envelope(rows, q.limit, |t| t.id, |t| TokenJson::of(t, now, q.full))))
}

pub async fn create_token<const ORG: bool>(
    State(app): State<App>,
    caller: Caller,
    StrictJson(b): StrictJson<CreateTokenBody>,
) -> ApiResult<impl IntoResponse> {
    let (scope, actor, grant) = scope::<ORG>(&app, &caller).await?;
    let input = NewToken {
        name: b.name,
        description: b.description,
        notes: b.notes,
        permission: b.permission,
        role_key: b.role_key,
        terraform_managed: b.terraform_managed,
        expires_at: b.expires_at,
    };
    let expires_at = match &caller.principal {
        Principal::ApiToken(t) => t.expires_at,
        Principal::Session(_) => None,
    };
    let (row, secret) = tokens::create(&app, &actor, Holder { grant, expires_at }, scope, input).await?;
    Ok((StatusCode::CREATED, Json(with_secret(&row, app.now(), secret.expose()))))
}

pub async fn get_token<const ORG: bool>(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<TokenJson>> {
    let (scope, _, _) = scope::<ORG>(&app, &caller).await?;
    let row = tokens::get(&app, scope, parse_id(&id)?).await?;
    Ok(Json(TokenJson::of(&row, app.now(), true)))
}

pub async fn revoke_token<const ORG: bool>(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<TokenJson>> {
    let (scope, actor, _) = scope::<ORG>(&app, &caller).await?;
    let row = tokens::revoke(&app, &actor, scope, parse_id(&id)?).await?;
    Ok(Json(TokenJson::of(&row, app.now(), true)))
}

pub async fn delete_token<const ORG: bool>(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let (scope, actor, _) = scope::<ORG>(&app, &caller).await?;
    tokens::delete(&app, &actor, scope, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn rotate_token<const ORG: bool>(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<RotateBody>,
) -> ApiResult<Json<TokenWithSecret>> {
    let (scope, actor, _) = scope::<ORG>(&app, &caller).await?;
    let grace = body.map(|b| b.grace_seconds).unwrap_or(0);
    let (row, secret) = tokens::rotate(&app, &actor, scope, parse_id(&id)?, grace).await?;
    Ok(Json(with_secret(&row, app.now(), secret.expose())))
}

pub async fn token_stats<const ORG: bool>(State(app): State<App>, caller: Caller) -> ApiResult<Json<TokenStats>> {
    let (scope, _, _) = scope::<ORG>(&app, &caller).await?;
    let (total, active, revoked, expired) = tokens::stats(&app, scope).await?;
    Ok(Json(TokenStats { total, active, revoked, expired }))
}

pub async fn token_audit_log<const ORG: bool>(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    q: ListQuery,
) -> ApiResult<Json<Listed<AuditEntry>>> {
    let (scope, _, _) = scope::<ORG>(&app, &caller).await?;
    let rows = tokens::audit_trail(&app, scope, parse_id(&id)?, q.cursor.unwrap_or(i64::MAX), q.limit + 1).await?;
    Ok(Json(envelope(rows, q.limit, |r| r.id, AuditEntry::of)))
}
