//! `/api/v1/admin/api-tokens` (page tokens) and `/api/v1/org/api-tokens` (org tokens).
//! Handlers are generic over `ORG`: the same code serves both scopes.

use super::error::{ApiError, ApiResult};
use super::json::{OptionalJson, StrictJson};
use super::list::{envelope, ListQuery};
use super::principal::Caller;
use crate::app::App;
use crate::auth::policy::Action;
use crate::clock::rfc3339;
use crate::service::access::Principal;
use crate::service::audit::Actor;
use crate::service::tokens::{self, Holder, NewToken, TokenScope};
use crate::store::audit::AuditRow;
use crate::store::credentials::ApiTokenRow;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

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
async fn scope<const ORG: bool>(app: &App, caller: &Caller) -> ApiResult<(TokenScope, Actor, Action)> {
    if ORG {
        let (org_id, grant) = caller.org(app, Action::ManageAccess).await?;
        Ok((TokenScope::Org { org_id }, caller.actor(), grant))
    } else {
        let a = caller.page(app, Action::ManageAccess).await?;
        Ok((TokenScope::Page { org_id: a.page.org_id, page_id: a.page.id }, caller.actor(), a.grant))
    }
}

/// A token as lists and reads show it: never the secret, only its last four characters.
pub fn token_view(t: &ApiTokenRow, now: i64, full: bool) -> Value {
    let mut v = json!({
        "id": t.id,
        "name": t.name,
        "permission": t.permission,
        "role_key": t.role_key,
        "state": tokens::state(t, now),
        "token_hint": format!("sbt_…{}", t.token_hint),
        "expires_at": t.expires_at.map(rfc3339),
        "last_used_at": t.last_used_at.map(rfc3339),
    });
    if full {
        let m = v.as_object_mut().expect("object");
        m.insert("description".into(), json!(t.description));
        m.insert("notes".into(), json!(t.notes));
        m.insert("terraform_managed".into(), json!(t.terraform_managed));
        m.insert("scope".into(), json!(if t.page_id.is_some() { "page" } else { "org" }));
        m.insert("org_id".into(), json!(t.org_id));
        m.insert("page_id".into(), json!(t.page_id));
        m.insert("created_at".into(), json!(rfc3339(t.created_at)));
        m.insert("created_by".into(), json!({"kind": t.created_by_kind, "id": t.created_by_id}));
        m.insert("revoked_at".into(), json!(t.revoked_at.map(rfc3339)));
        m.insert("rotated_at".into(), json!(t.rotated_at.map(rfc3339)));
        m.insert("previous_secret_valid_until".into(), json!(t.previous_valid_until.filter(|v| *v > now).map(rfc3339)));
        m.insert("last_used_ip".into(), json!(t.last_used_ip));
    }
    v
}

fn with_secret(t: &ApiTokenRow, now: i64, secret: &str) -> Value {
    let mut v = token_view(t, now, true);
    v["token"] = json!(secret);
    v
}

fn parse_id(raw: &str) -> ApiResult<i64> {
    raw.parse::<i64>().map_err(|_| ApiError::not_found())
}

pub async fn list_tokens<const ORG: bool>(
    State(app): State<App>,
    caller: Caller,
    q: ListQuery,
) -> ApiResult<Json<Value>> {
    let (scope, _, _) = scope::<ORG>(&app, &caller).await?;
    let rows = tokens::list(&app, scope, q.cursor.unwrap_or(0), q.limit + 1).await?;
    let now = app.now();
    Ok(Json(envelope(rows, q.limit, |t| t.id, |t| token_view(t, now, q.full))))
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
) -> ApiResult<Json<Value>> {
    let (scope, _, _) = scope::<ORG>(&app, &caller).await?;
    let row = tokens::get(&app, scope, parse_id(&id)?).await?;
    Ok(Json(token_view(&row, app.now(), true)))
}

pub async fn revoke_token<const ORG: bool>(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let (scope, actor, _) = scope::<ORG>(&app, &caller).await?;
    let row = tokens::revoke(&app, &actor, scope, parse_id(&id)?).await?;
    Ok(Json(token_view(&row, app.now(), true)))
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
) -> ApiResult<Json<Value>> {
    let (scope, actor, _) = scope::<ORG>(&app, &caller).await?;
    let grace = body.map(|b| b.grace_seconds).unwrap_or(0);
    let (row, secret) = tokens::rotate(&app, &actor, scope, parse_id(&id)?, grace).await?;
    Ok(Json(with_secret(&row, app.now(), secret.expose())))
}

pub async fn token_stats<const ORG: bool>(State(app): State<App>, caller: Caller) -> ApiResult<Json<Value>> {
    let (scope, _, _) = scope::<ORG>(&app, &caller).await?;
    let (total, active, revoked, expired) = tokens::stats(&app, scope).await?;
    Ok(Json(json!({"total": total, "active": active, "revoked": revoked, "expired": expired})))
}

pub async fn token_audit_log<const ORG: bool>(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    q: ListQuery,
) -> ApiResult<Json<Value>> {
    let (scope, _, _) = scope::<ORG>(&app, &caller).await?;
    let rows = tokens::audit_trail(&app, scope, parse_id(&id)?, q.cursor.unwrap_or(i64::MAX), q.limit + 1).await?;
    Ok(Json(envelope(rows, q.limit, |r| r.id, audit_view)))
}

/// An audit entry as the API shows it.
pub fn audit_view(r: &AuditRow) -> Value {
    json!({
        "id": r.id,
        "at": rfc3339(r.at),
        "actor": {"kind": r.actor_kind, "id": r.actor_id, "name": r.actor_name},
        "action": r.action,
        "target": {"kind": r.target_kind, "id": r.target_id},
        "page_id": r.page_id,
        "ip": r.ip,
        "detail": serde_json::from_str::<Value>(&r.detail).unwrap_or(Value::Null),
    })
}
