//! Credential → principal, and the one-line requirement checks handlers start with.

use crate::app::App;
use crate::auth::policy::{self, Access, Decision};
use crate::http::extract::cookies;
use crate::http::extract::error::{ApiError, ApiResult};
use crate::http::front::ctx::RequestCtx;
use crate::service::access::{self, Principal, Refusal};
use crate::service::audit::Actor;
use crate::service::credentials::{sessions, viewer};
use crate::service::directory;
use crate::store::pages::PageRow;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};

/// An authenticated caller of an admin, org or context route (API token or session).
pub struct Caller {
    pub principal: Principal,
    pub ctx: RequestCtx,
}

/// A page the caller may act on, with the caller's access there.
pub struct PageAccess {
    pub page: PageRow,
    pub grant: Access,
}

pub fn ctx_of(parts: &Parts) -> ApiResult<RequestCtx> {
    parts
        .extensions
        .get::<RequestCtx>()
        .cloned()
        .ok_or_else(|| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error"))
}

impl FromRequestParts<App> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> ApiResult<Caller> {
        let ctx = ctx_of(parts)?;
        let principal = authenticate(app, &parts.headers, &parts.method, &ctx).await?;
        Ok(Caller { principal, ctx })
    }
}

/// Reads the one credential a request may carry on these routes and authenticates it.
pub async fn authenticate(app: &App, h: &HeaderMap, method: &Method, ctx: &RequestCtx) -> ApiResult<Principal> {
    let page = ctx.page.as_ref();
    let ip = ctx.ip.as_str();
    if h.contains_key("x-magic-token") {
        return Err(access::refuse(app, Refusal::WrongKind, "magic", page, ip).into());
    }
    let bearer = h.get(header::AUTHORIZATION);
    let session = cookies::get(h, cookies::session_name(app.config.secure_cookies()));
    match (bearer, session) {
        (Some(_), Some(_)) => Err(ApiError::bad_request(
            "ambiguous_credentials",
            "send either an Authorization header or a session cookie, not both",
        )),
        (Some(v), None) => {
            let v = v.to_str().unwrap_or("");
            let token = match v.split_once(' ') {
                Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => t.trim_start_matches(' '),
                _ => return Err(access::refuse(app, Refusal::Malformed, "bearer", page, ip).into()),
            };
            Ok(Principal::ApiToken(access::authenticate_token(app, token, page, ip).await?))
        }
        (None, Some(raw)) => {
            let s = access::authenticate_session(app, &raw, page, ip).await?;
            let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
            if !safe && !csrf_ok(app, h, presents_csrf_token(h, &raw)) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "csrf",
                    "cross-site request refused: send it from the same origin, or with X-CSRF-Token",
                ));
            }
            Ok(Principal::Session(s))
        }
        (None, None) => Err(ApiError::unauthorized()),
    }
}

/// The one CSRF rule, for cookie-authenticated unsafe API calls and the admin HTML forms alike.
/// A browser's Fetch Metadata decides (same-origin, or none: the user's own navigation), else its
/// Origin must be this origin. A request with neither is not from a browser (browsers send Origin
/// on every POST), so it must prove itself with its session's CSRF token (`presents_token`):
/// a client that is not a browser on the API, never the sign-in form, which has no session yet.
pub fn csrf_ok(app: &App, h: &HeaderMap, presents_token: bool) -> bool {
    let get = |name: &str| h.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = get("sec-fetch-site") {
        return site == "same-origin" || site == "none";
    }
    if let Some(origin) = get("origin") {
        let host = get("host").unwrap_or("");
        return origin.eq_ignore_ascii_case(&format!("{}://{host}", app.config.public_scheme));
    }
    presents_token
}

/// Whether `X-CSRF-Token` carries the CSRF token of this session.
fn presents_csrf_token(h: &HeaderMap, session_raw: &str) -> bool {
    let Ok(token) = crate::auth::token::PlainToken::parse_kind(session_raw, crate::auth::token::TokenKind::Session)
    else {
        return false;
    };
    h.get("x-csrf-token").and_then(|v| v.to_str().ok()).is_some_and(|t| t == sessions::csrf_token(&token))
}

fn check(grant: Option<Access>, wanted: Access, what: &'static str) -> ApiResult<Access> {
    match policy::decide(grant, wanted) {
        Decision::Allow => Ok(grant.expect("allowed grants exist")),
        Decision::Forbid => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("this credential may not {} here", action_words(wanted)),
        )),
        Decision::Hide => Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))),
    }
}

fn action_words(a: Access) -> &'static str {
    match a {
        Access::Nothing | Access::Read => "read",
        Access::Operate => "change operational content",
        Access::Configure => "change configuration",
        Access::ManageAccess => "manage credentials and people",
    }
}

impl Caller {
    /// The caller as the audit log names it.
    pub fn actor(&self) -> Actor {
        self.principal.actor(&self.ctx.ip)
    }

    /// Requires `wanted` on the page this request resolved to.
    pub async fn page(&self, app: &App, wanted: Access) -> ApiResult<PageAccess> {
        let page = self.ctx.page.clone().ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "no_page",
                "this route acts on a page: call it on the page's host or under /api/v1/orgs/{org_id}/pages/{page_id}/",
            )
        })?;
        let grant = check(access::page_grant(app, &self.principal, &page).await?, wanted, "page")?;
        Ok(PageAccess { page, grant })
    }

    /// Requires `wanted` on the org this request is about; returns the org id and the grant.
    pub async fn org(&self, app: &App, wanted: Access) -> ApiResult<(i64, Access)> {
        let org_id = match (self.ctx.org_id, &self.ctx.page, &self.principal) {
            (Some(id), _, _) => id,
            (None, Some(p), _) => p.org_id,
            (None, None, Principal::ApiToken(t)) => t.org_id,
            (None, None, Principal::Session(s)) => {
                let orgs = directory::orgs_of_user(app, s.user_id).await?;
                match orgs.as_slice() {
                    [(o, _)] => o.id,
                    [] => return Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", "org not found")),
                    _ => {
                        return Err(ApiError::bad_request(
                            "ambiguous_org",
                            "you belong to several orgs: use /api/v1/orgs/{org_id}/... or a page host",
                        ))
                    }
                }
            }
        };
        let grant = check(access::org_grant(app, &self.principal, org_id).await?, wanted, "org")?;
        Ok((org_id, grant))
    }
}

/// An anonymous reader of a page's public routes; private pages need a viewer grant (or a
/// credential with read access to the page).
pub struct Reader {
    pub page: PageRow,
    pub ctx: RequestCtx,
}

impl FromRequestParts<App> for Reader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> ApiResult<Reader> {
        let ctx = ctx_of(parts)?;
        let page = ctx.page.clone().ok_or_else(ApiError::not_found)?;
        if page.visibility == "private" && !may_view_private(app, &parts.headers, &parts.method, &ctx, &page).await? {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "viewer_access_required",
                "this page is private: POST /api/v1/viewer-access with its password first",
            ));
        }
        Ok(Reader { page, ctx })
    }
}

async fn may_view_private(app: &App, h: &HeaderMap, m: &Method, ctx: &RequestCtx, page: &PageRow) -> ApiResult<bool> {
    if let Some(v) = cookies::get(h, cookies::viewer_name(app.config.secure_cookies())) {
        if viewer::admits(app, page, &v).await? {
            return Ok(true);
        }
    }
    let has_credential = h.contains_key(header::AUTHORIZATION)
        || cookies::get(h, cookies::session_name(app.config.secure_cookies())).is_some();
    if !has_credential {
        return Ok(false);
    }
    let principal = authenticate(app, h, m, ctx).await?;
    Ok(policy::allows(access::page_grant(app, &principal, page).await?, Access::Read))
}

impl FromRequestParts<App> for RequestCtx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &App) -> ApiResult<RequestCtx> {
        ctx_of(parts)
    }
}
