//! The front door, once per request before routing: request id, Host normalisation and
//! resolution to a page, `/status/<prefix>` and numeric-route rewriting, refusal of credentials
//! in query strings, body-size pre-check, rate limits and the access log (never a query string).

use crate::app::App;
use crate::auth::token::looks_like_token;
use crate::domain::host::{self, HostClass};
use crate::http::extract::error::ApiError;
use crate::http::extract::json::{too_large, BODY_LIMIT};
use crate::http::routes::{Limit, Limits};
use crate::limits::{RateDecision, Tier};
use crate::service::access;
use crate::service::directory;
use crate::store::pages::PageRow;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

/// How the request addressed its page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// The Host header alone (page host, custom domain, or the admin host).
    Host,
    /// `/status/<prefix>/...` on the base domain or admin host.
    StatusPath(String),
    /// `/api/v1/orgs/{org_id}/...`.
    Numeric,
}

/// What the front door learned about a request; handlers read it as an extension.
#[derive(Debug, Clone)]
pub struct RequestCtx {
    pub host: String,
    pub class: HostClass,
    pub page: Option<PageRow>,
    /// An org named explicitly by a numeric route.
    pub org_id: Option<i64>,
    pub via: Via,
    pub ip: String,
    pub request_id: String,
}

/// Query parameter names that are refused outright (credentials never travel in URLs).
const CREDENTIAL_PARAMS: &[&str] = &["token", "access_token", "api_key", "apikey", "magic_token", "session"];

/// The front-door middleware.
pub async fn front(State((app, limits)): State<(App, Arc<Limits>)>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = {
        let mut rng = app.rng.lock().expect("rng");
        format!("{:016x}", rand::Rng::gen::<u64>(&mut *rng))
    };
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "0.0.0.0".into());
    let method = req.method().clone();
    let path = loggable_path(req.uri().path());
    let personal = crate::http::front::headers::is_personal(req.headers(), &routed_path(req.uri().path()));
    let outcome = admit(&app, &limits, &mut req, &ip, &request_id).await;
    let (res, host) = match outcome {
        Ok((host, rate)) => {
            let written_page = match *req.method() {
                Method::GET | Method::HEAD | Method::OPTIONS => None,
                _ => req.extensions().get::<RequestCtx>().and_then(|c| c.page.as_ref().map(|p| p.id)),
            };
            let mut res = next.run(req).await;
            // A successful write on a page changed it: announce it (the summary cache listens).
            if let (Some(page_id), true) = (written_page, res.status().is_success()) {
                app.changes.emit(crate::changes::Change::Page(page_id));
            }
            if let Some(d) = rate {
                rate_headers(res.headers_mut(), &d);
            }
            (res, host)
        }
        Err((e, host, rate)) => {
            // People (not API clients) who reach an unknown host get an HTML 404 page.
            let for_people = e.code == "unknown_host" && !path.starts_with("/api/");
            let mut res = if for_people { unknown_host_page() } else { e.into_response() };
            if let Some(d) = rate {
                rate_headers(res.headers_mut(), &d);
            }
            (res, host)
        }
    };
    let mut res = crate::http::front::headers::finish(res, personal, app.config.secure_cookies()).await;
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert("x-request-id", v);
    }
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    tracing::info!(
        request_id = %request_id,
        %method,
        path = %path,
        host = %host,
        status = res.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    res
}

type Admitted = (String, Option<RateDecision>);

type Refused = (ApiError, String, Option<RateDecision>);

async fn admit(app: &App, limits: &Limits, req: &mut Request, ip: &str, request_id: &str) -> Result<Admitted, Refused> {
    let raw_host = host_header(req.headers(), req.uri()).map_err(|e| (e, String::new(), None))?;
    let normal =
        host::normalise(&raw_host).map_err(|e| (ApiError::bad_request("invalid_host", e.0), String::new(), None))?;
    let host = normal.0.clone();
    let fail = |e: ApiError| (e, host.clone(), None);
    refuse_query_credentials(req.uri()).map_err(fail)?;
    let declared_len =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared_len.is_some_and(|n| n > BODY_LIMIT as u64) {
        return Err(fail(too_large()));
    }
    let class = host::classify(&normal, &app.config.base_domain, &app.config.admin_host);
    let path = req.uri().path().to_string();
    let host_free = path == "/healthz" || path == "/readyz" || path.starts_with("/internal/");
    let mut ctx = RequestCtx {
        host: host.clone(),
        class: class.clone(),
        page: None,
        org_id: None,
        via: Via::Host,
        ip: ip.to_string(),
        request_id: request_id.to_string(),
    };
    // Rate limits come before any database lookup.
    let rate = rate_limit(app, limits, req, &ctx).map_err(|(e, d)| (e, host.clone(), Some(d)))?;
    // The on-demand TLS check answers the operator's proxy, on the admin host only: a page
    // host or custom domain has no such route.
    if path.starts_with("/internal/") && class != HostClass::Admin {
        return Err(fail(ApiError::not_found()));
    }
    if !host_free {
        resolve(app, req, &mut ctx).await.map_err(fail)?;
    }
    req.extensions_mut().insert(ctx);
    Ok((host, rate))
}

fn host_header(headers: &HeaderMap, uri: &Uri) -> Result<String, ApiError> {
    let mut hosts = headers.get_all(header::HOST).iter();
    let first = hosts.next();
    if hosts.next().is_some() {
        return Err(ApiError::bad_request("invalid_host", "more than one Host header"));
    }
    let value = match first {
        Some(v) => v.to_str().map_err(|_| ApiError::bad_request("invalid_host", "invalid Host header"))?.to_string(),
        None => uri
            .authority()
            .map(|a| a.to_string())
            .ok_or_else(|| ApiError::bad_request("invalid_host", "missing Host header"))?,
    };
    if let Some(authority) = uri.authority() {
        if !authority.as_str().eq_ignore_ascii_case(&value) {
            return Err(ApiError::bad_request("invalid_host", "request target and Host header disagree"));
        }
    }
    Ok(value)
}

/// 400 for any credential-shaped query parameter; the value is never logged.
pub fn refuse_query_credentials(uri: &Uri) -> Result<(), ApiError> {
    let Some(q) = uri.query() else { return Ok(()) };
    for (k, v) in form_urlencoded::parse(q.as_bytes()) {
        let key = k.to_ascii_lowercase();
        if CREDENTIAL_PARAMS.contains(&key.as_str()) || looks_like_token(&v) || looks_like_token(&k) {
            tracing::warn!(param = %if looks_like_token(&k) { "<token-shaped>" } else { key.as_str() }, "refused a credential in the query string");
            return Err(ApiError::bad_request(
                "credential_in_query",
                "credentials are not accepted in the query string; send them in a header",
            ));
        }
    }
    Ok(())
}

/// The HTML answer for an unknown host; it does not echo the host.
fn unknown_host_page() -> Response {
    let body = "<!doctype html><html lang=en><meta charset=utf-8><title>Not found</title>\
        <body><h1>Not found</h1><p>There is no status page at this address.</p></body></html>";
    (StatusCode::NOT_FOUND, [(header::CACHE_CONTROL, "no-store")], axum::response::Html(body)).into_response()
}

fn unknown_host() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "unknown_host", "unknown host")
}

/// Finds the page (or explicit org) the request is about and rewrites the path for routing.
async fn resolve(app: &App, req: &mut Request, ctx: &mut RequestCtx) -> Result<(), ApiError> {
    ctx.page = match &ctx.class {
        HostClass::Admin | HostClass::Base => None,
        HostClass::PagePrefix(prefix) => {
            Some(directory::live_page_by_prefix(app, prefix).await?.ok_or_else(unknown_host)?)
        }
        HostClass::Custom(domain) => Some(directory::live_page_by_domain(app, domain).await?.ok_or_else(unknown_host)?),
    };
    let path = req.uri().path().to_string();
    if let Some(rest) = path.strip_prefix("/status/") {
        if ctx.page.is_some() {
            return Err(ApiError::not_found());
        }
        let (prefix, tail) = rest.split_once('/').map(|(p, t)| (p, format!("/{t}"))).unwrap_or((rest, "/".into()));
        let page = directory::live_page_by_prefix(app, prefix).await?.ok_or_else(ApiError::not_found)?;
        ctx.via = Via::StatusPath(page.url_prefix.clone());
        ctx.page = Some(page);
        return rewrite(req, &tail);
    }
    if let Some(rest) = path.strip_prefix("/api/v1/orgs/") {
        return resolve_numeric(app, req, ctx, rest).await;
    }
    if ctx.class == HostClass::Base && ctx.page.is_none() && path != "/" {
        return Err(unknown_host());
    }
    Ok(())
}

/// `/api/v1/orgs/{org}/pages/{page}/<rest>` → `/api/v1/<rest>` on that page;
/// `/api/v1/orgs/{org}[/<rest>]` → `/api/v1/org[/<rest>]` on that org.
async fn resolve_numeric(app: &App, req: &mut Request, ctx: &mut RequestCtx, rest: &str) -> Result<(), ApiError> {
    let numeric = NumericRoute::parse(rest).ok_or_else(ApiError::not_found)?;
    ctx.via = Via::Numeric;
    ctx.org_id = Some(numeric.org_id);
    if ctx.page.as_ref().is_some_and(|p| p.org_id != numeric.org_id) {
        return Err(ApiError::not_found());
    }
    if let Some(page_id) = numeric.page_id {
        let page = directory::live_page_in_org(app, numeric.org_id, page_id).await?.ok_or_else(ApiError::not_found)?;
        if ctx.page.as_ref().is_some_and(|p| p.id != page.id) {
            return Err(ApiError::not_found());
        }
        ctx.page = Some(page);
    }
    rewrite(req, &numeric.routed)
}

/// A numeric route: `/api/v1/orgs/{org}/pages/{page}/<rest>` names a page and routes as
/// `/api/v1/<rest>`; `/api/v1/orgs/{org}[/<rest>]` names an org and routes as `/api/v1/org[/<rest>]`
/// (so `.../pages/{id}` and `.../pages/{id}/restore` are the org's page routes).
struct NumericRoute {
    org_id: i64,
    page_id: Option<i64>,
    routed: String,
}

impl NumericRoute {
    /// Parses what follows `/api/v1/orgs/`.
    fn parse(rest: &str) -> Option<NumericRoute> {
        let mut parts = rest.splitn(4, '/');
        let org_id: i64 = parts.next()?.parse().ok()?;
        if let (Some("pages"), Some(page), Some(tail)) = (parts.next(), parts.next(), parts.next()) {
            if !tail.is_empty() && tail != "restore" {
                let page_id = page.parse().ok()?;
                return Some(NumericRoute { org_id, page_id: Some(page_id), routed: format!("/api/v1/{tail}") });
            }
        }
        let after_org = rest.split_once('/').map(|(_, r)| format!("/{r}")).unwrap_or_default();
        Some(NumericRoute { org_id, page_id: None, routed: format!("/api/v1/org{after_org}") })
    }
}

/// The path the router will see for a request path: status-path and numeric forms folded onto
/// the host-native routes (rate limits use it before anything is looked up).
fn routed_path(path: &str) -> String {
    if let Some(rest) = path.strip_prefix("/status/") {
        return rest.find('/').map_or_else(|| "/".to_string(), |i| rest[i..].to_string());
    }
    match path.strip_prefix("/api/v1/orgs/").and_then(NumericRoute::parse) {
        Some(n) => n.routed,
        None => path.to_string(),
    }
}

fn rewrite(req: &mut Request, path: &str) -> Result<(), ApiError> {
    let pq = match req.uri().query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    let mut parts = req.uri().clone().into_parts();
    parts.path_and_query = Some(pq.parse().map_err(|_| ApiError::not_found())?);
    *req.uri_mut() = Uri::from_parts(parts).map_err(|_| ApiError::not_found())?;
    Ok(())
}

/// The path as the access log shows it: capability tokens in the path (one-click unsubscribe)
/// become `{token}`, so a secret never reaches a log.
fn loggable_path(path: &str) -> String {
    path.split('/').map(|seg| if looks_like_token(seg) { "{token}" } else { seg }).collect::<Vec<_>>().join("/")
}

/// Chooses the tier and key of a request, from the family its route declares, and counts it.
fn rate_limit(
    app: &App,
    limits: &Limits,
    req: &Request,
    ctx: &RequestCtx,
) -> Result<Option<RateDecision>, (ApiError, RateDecision)> {
    let routed = routed_path(req.uri().path());
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    // Budgets are per client: an IPv6 client by its /64 (`ctx.ip` stays the real address).
    let client = host::client_bucket(&ctx.ip);
    let (limit, pattern) = limits.of(&routed);
    let (tier, key) = match limit {
        Limit::Unlimited => return Ok(None),
        Limit::Internal => (Tier::InternalRead, client),
        Limit::Magic => (Tier::Magic, client),
        Limit::Subscribe if unsafe_method => (Tier::Subscribe, client),
        Limit::Subscribe | Limit::Public => (Tier::PublicRead, client),
        Limit::Authenticated => {
            // A client that keeps presenting bad credentials is turned away here, so inventing a
            // new credential per request buys neither fresh rate-limit buckets nor database lookups.
            if let Some(d) = app.rate.exhausted(Tier::Magic, &access::auth_failure_key(&ctx.ip), app.now()) {
                return Err((too_many(&d), d));
            }
            let who = credential_fingerprint(req.headers()).unwrap_or(client);
            if unsafe_method {
                // Writes are counted per route, so one busy route does not starve the others.
                (Tier::AdminWrite, format!("{who} {} {}", req.method(), pattern.unwrap_or(&routed)))
            } else {
                (Tier::InternalRead, who)
            }
        }
    };
    let Some(d) = app.rate.check(tier, &key, app.now()) else { return Ok(None) };
    if d.allowed {
        return Ok(Some(d));
    }
    Err((too_many(&d), d))
}

fn too_many(d: &RateDecision) -> ApiError {
    ApiError {
        retry_after: Some(d.reset_secs),
        ..ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("rate limit of the {} tier exceeded", d.tier.name()),
        )
    }
}

/// A short, non-reversible key for whichever credential the request carries.
fn credential_fingerprint(h: &HeaderMap) -> Option<String> {
    let raw = h.get(header::AUTHORIZATION).or_else(|| h.get("x-magic-token")).or_else(|| h.get(header::COOKIE))?;
    Some(crate::auth::digest::sha256_hex(raw.as_bytes())[..16].to_string())
}

fn rate_headers(h: &mut HeaderMap, d: &RateDecision) {
    h.insert("x-ratelimit-tier", HeaderValue::from_static(d.tier.name()));
    h.insert("x-ratelimit-limit", HeaderValue::from(d.limit));
    h.insert("x-ratelimit-remaining", HeaderValue::from(d.remaining));
    h.insert("x-ratelimit-window-seconds", HeaderValue::from_static("60"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_in_paths_never_reach_the_log() {
        assert_eq!(loggable_path("/u/sbu_abc123"), "/u/{token}");
        assert_eq!(loggable_path("/status/acme/u/sbu_x"), "/status/acme/u/{token}");
        assert_eq!(loggable_path("/feeds/sbf_abc123/feed.atom"), "/feeds/{token}/feed.atom");
        assert_eq!(loggable_path("/api/v1/summary"), "/api/v1/summary");
    }

    #[test]
    fn credentials_in_query_strings_are_refused() {
        for q in [
            "/x?token=abc",
            "/x?Access_Token=abc",
            "/x?api_key=1",
            "/x?apikey=1",
            "/x?magic_token=1",
            "/x?session=1",
            "/x?q=sbt_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "/x?q=sbx%5Fabc",
        ] {
            assert!(refuse_query_credentials(&q.parse().unwrap()).is_err(), "{q}");
        }
        for q in ["/x", "/x?view=full&limit=5", "/internal/domain-check?domain=status.acme.com"] {
            assert!(refuse_query_credentials(&q.parse().unwrap()).is_ok(), "{q}");
        }
    }

    #[test]
    fn every_way_to_a_route_routes_as_the_host_native_path() {
        assert_eq!(routed_path("/status/acme/api/v1/settings"), "/api/v1/settings");
        assert_eq!(routed_path("/status/acme"), "/");
        assert_eq!(routed_path("/api/v1/orgs/1/pages/2/admin/api-tokens"), "/api/v1/admin/api-tokens");
        assert_eq!(routed_path("/api/v1/orgs/1/pages/2/restore"), "/api/v1/org/pages/2/restore");
        assert_eq!(routed_path("/api/v1/orgs/1/pages/2"), "/api/v1/org/pages/2");
        assert_eq!(routed_path("/api/v1/orgs/1"), "/api/v1/org");
        assert_eq!(routed_path("/api/v1/orgs/x/pages"), "/api/v1/orgs/x/pages");
        assert_eq!(routed_path("/api/v1/settings"), "/api/v1/settings");
    }
}
