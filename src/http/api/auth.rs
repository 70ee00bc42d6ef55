//! `/api/v1/auth/...`: login, logout, me, password change; and `/api/v1/context`.

use crate::app::App;
use crate::auth::policy::{self, Access};
use crate::http::extract::cookies;
use crate::http::extract::error::{ApiError, ApiResult};
use crate::http::extract::json::StrictJson;
use crate::http::extract::principal::Caller;
use crate::http::front::ctx::RequestCtx;
use crate::http::presenters::sessions::{
    Context, Me, OrgMembership, OrgRef, PageRef, PageRoleJson, PasswordChanged, PrincipalRef, SignedIn, UserJson,
};
use crate::service::access::{self, Principal, SESSION_ABSOLUTE};
use crate::service::credentials::sessions;
use crate::service::directory;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    email: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    current_password: String,
    new_password: String,
}

/// The `Set-Cookie` header that carries a new session.
pub fn session_cookie(app: &App, secret: &str) -> HeaderValue {
    let secure = app.config.secure_cookies();
    let c = cookies::set(cookies::session_name(secure), secret, "/", SESSION_ABSOLUTE / 1000, secure);
    HeaderValue::from_str(&c).expect("cookie is ASCII")
}

pub async fn login(
    State(app): State<App>,
    ctx: RequestCtx,
    StrictJson(b): StrictJson<LoginBody>,
) -> ApiResult<Response> {
    let (s, secret) = sessions::login(&app, &b.email, &b.password, &ctx.ip).await.map_err(|e| match e {
        crate::service::Error::Unauthorized => {
            ApiError::new(StatusCode::UNAUTHORIZED, "invalid_login", "email or password is wrong")
        }
        e => e.into(),
    })?;
    let mut res = Json(SignedIn { user: UserJson::of(&s), csrf_token: sessions::csrf_token(&secret) }).into_response();
    res.headers_mut().insert(header::SET_COOKIE, session_cookie(&app, secret.expose()));
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

fn session_of(caller: &Caller) -> ApiResult<&access::SessionPrincipal> {
    match &caller.principal {
        Principal::Session(s) => Ok(s),
        Principal::ApiToken(_) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this route is for signed-in sessions, not API tokens",
        )),
    }
}

pub async fn logout(State(app): State<App>, caller: Caller) -> ApiResult<Response> {
    let s = session_of(&caller)?;
    sessions::logout(&app, s, &caller.ctx.ip).await?;
    let secure = app.config.secure_cookies();
    let mut res = StatusCode::NO_CONTENT.into_response();
    let clear = cookies::clear(cookies::session_name(secure), "/", secure);
    res.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&clear).expect("ascii"));
    Ok(res)
}

pub async fn me(State(app): State<App>, caller: Caller, headers: HeaderMap) -> ApiResult<Json<Me>> {
    let s = session_of(&caller)?;
    let (orgs, pages) = sessions::memberships(&app, s.user_id).await?;
    let csrf = cookies::get(&headers, cookies::session_name(app.config.secure_cookies()))
        .and_then(|raw| crate::auth::token::PlainToken::parse_kind(&raw, crate::auth::token::TokenKind::Session).ok())
        .map(|t| sessions::csrf_token(&t));
    Ok(Json(Me {
        user: UserJson::of(s),
        orgs: orgs.iter().map(OrgMembership::of).collect(),
        page_roles: pages.into_iter().map(|(org_id, page_id, role)| PageRoleJson { org_id, page_id, role }).collect(),
        csrf_token: csrf,
    }))
}

pub async fn change_password(
    State(app): State<App>,
    caller: Caller,
    StrictJson(b): StrictJson<PasswordBody>,
) -> ApiResult<Response> {
    let s = session_of(&caller)?;
    let secret = sessions::change_password(&app, s, &b.current_password, &b.new_password, &caller.ctx.ip).await?;
    let mut res = Json(PasswordChanged { csrf_token: sessions::csrf_token(&secret) }).into_response();
    res.headers_mut().insert(header::SET_COOKIE, session_cookie(&app, secret.expose()));
    Ok(res)
}

/// Names the capabilities a grant gives, for automation to check before acting.
fn capabilities(grant: Access) -> Vec<&'static str> {
    let all = [
        (Access::Read, "read"),
        (Access::Operate, "write_operational"),
        (Access::Configure, "configure"),
        (Access::ManageAccess, "manage_access"),
    ];
    all.iter().filter(|(a, _)| policy::allows(Some(grant), *a)).map(|(_, n)| *n).collect()
}

/// `GET /api/v1/context`: which org and page the host resolved to, and what the caller may do.
pub async fn context(State(app): State<App>, caller: Caller) -> ApiResult<Json<Context>> {
    let page = caller.ctx.page.clone();
    let grant = match &page {
        Some(p) => access::page_grant(&app, &caller.principal, p).await?,
        None => None,
    };
    let org_id = match (&page, &caller.principal) {
        (Some(p), _) => Some(p.org_id),
        (None, Principal::ApiToken(t)) => Some(caller.ctx.org_id.unwrap_or(t.org_id)),
        (None, Principal::Session(s)) => match caller.ctx.org_id {
            Some(id) => Some(id),
            None => directory::orgs_of_user(&app, s.user_id).await?.first().map(|(o, _)| o.id),
        },
    };
    if page.is_some() && grant.is_none() {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", "page not found"));
    }
    let org_grant = match org_id {
        Some(id) => access::org_grant(&app, &caller.principal, id).await?,
        None => None,
    };
    let org = match (org_id, page.is_some() || org_grant.is_some()) {
        (Some(id), true) => directory::org(&app, id).await?,
        _ => None,
    };
    let custom_domain = match &page {
        Some(p) => directory::verified_domain_of(&app, p).await?,
        None => None,
    };
    let (principal, permission, role_key) = match &caller.principal {
        Principal::ApiToken(t) => (
            PrincipalRef { kind: "api_token", id: t.id, name: t.name.clone() },
            Some(t.permission.as_str().to_string()),
            Some(t.role.as_str().to_string()),
        ),
        Principal::Session(s) => {
            let role = match (&page, grant) {
                (Some(p), Some(_)) => directory::effective_page_role(&app, p, s.user_id).await?,
                _ => None,
            };
            (PrincipalRef { kind: "session", id: s.user_id, name: s.email.clone() }, None, role)
        }
    };
    let effective = grant.or(org_grant).unwrap_or(Access::Nothing);
    Ok(Json(Context {
        org: org.map(|o| OrgRef { id: o.id, name: o.name, slug: o.slug }),
        page: page.map(|p| PageRef { id: p.id, name: p.name, url_prefix: p.url_prefix, custom_domain }),
        principal,
        permission,
        role_key,
        capabilities: capabilities(effective),
    }))
}
