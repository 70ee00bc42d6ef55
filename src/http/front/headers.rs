//! The response headers every answer gets, set in one place (the front door calls [`finish`]):
//! a content security policy (the baseline, or the page's own stricter one) and frame refusal
//! on HTML, `Cache-Control: no-store` on personal answers, HSTS over https, and the JSON error
//! envelope for the errors that axum's extractors answer in plain text
//! (`docs/decisions/0009-connections-and-headers.md`).

use crate::auth::token::looks_like_token;
use crate::http::extract::cookies;
use crate::http::extract::error::ApiError;
use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// The baseline policy of HTML answers whose handler sets none: scripts only from our own files
/// (no inline code), inline styles for the pages' branding colours, and no framing (embeds are
/// not a feature yet). A handler may set a stricter policy of its own (the manage, view,
/// unsubscribe and invitation pages do); it stands as long as it refuses framing too.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

const HSTS: &str = "max-age=31536000";

/// The longest plain-text rejection body turned into an error message.
const MAX_REJECTION_TEXT: usize = 300;

/// Whether the answer to a request is personal: it carries a credential (bearer token, magic
/// token, session or viewer cookie), or its path is a capability (`/u/sbu_…`, `/feeds/sbf_…`,
/// the manage routes). `path` is the routed path (after `/status/<prefix>` and numeric forms).
pub fn is_personal(headers: &HeaderMap, path: &str) -> bool {
    let cookie = |name: &str| cookies::get(headers, name).is_some();
    headers.contains_key(header::AUTHORIZATION)
        || headers.contains_key("x-magic-token")
        || [true, false]
            .into_iter()
            .any(|secure| cookie(cookies::session_name(secure)) || cookie(cookies::viewer_name(secure)))
        || path.starts_with("/api/v1/manage/")
        || path.starts_with("/u/")
        || path.split('/').any(looks_like_token)
}

/// Applies the response policy to an answer. `personal` comes from [`is_personal`]; `https`
/// is whether the deployment's public scheme is https.
pub async fn finish(res: Response, personal: bool, https: bool) -> Response {
    let mut res = envelope_plain_errors(res).await;
    let h = res.headers_mut();
    if is_html(h) {
        let own = h.get(header::CONTENT_SECURITY_POLICY).map(|v| v.to_str().unwrap_or_default());
        debug_assert!(own.is_none_or(refuses_framing), "a page's own CSP must carry frame-ancestors 'none': {own:?}");
        if !own.is_some_and(refuses_framing) {
            h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
        }
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    // A response that sets a cookie is personal too (login, the viewer gate). A handler's own
    // `private, no-store` already says it.
    if (personal || h.contains_key(header::SET_COOKIE)) && !says_no_store(h) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if https {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
    res
}

/// Whether a policy forbids every framing of the page (`frame-ancestors 'none'`).
fn refuses_framing(policy: &str) -> bool {
    policy.split(';').any(|d| d.split_ascii_whitespace().eq(["frame-ancestors", "'none'"]))
}

fn says_no_store(h: &HeaderMap) -> bool {
    h.get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|cc| cc.split(',').any(|d| d.trim().eq_ignore_ascii_case("no-store")))
}

fn is_html(h: &HeaderMap) -> bool {
    h.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| ct.starts_with("text/html"))
}

/// Our handlers answer errors with [`ApiError`]; axum's extractors (a path segment that is not
/// UTF-8 after percent-decoding, a query that does not deserialize) and bare status codes answer
/// in plain text or with no body. Those become the envelope here, keeping their status and
/// headers (`Allow`, `Retry-After`); a 5xx never shows its text.
async fn envelope_plain_errors(res: Response) -> Response {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let content_type = res.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    if content_type.is_some_and(|ct| !ct.starts_with("text/plain")) {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let text = axum::body::to_bytes(body, MAX_REJECTION_TEXT * 4)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().chars().take(MAX_REJECTION_TEXT).collect::<String>())
        .unwrap_or_default();
    let message = if status.is_server_error() || text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_ascii_lowercase()
    } else {
        text.clone()
    };
    let fresh = ApiError::new(status, rejection_code(status, &text), message).into_response();
    let (fresh_parts, fresh_body) = fresh.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in &fresh_parts.headers {
        parts.headers.insert(name, value.clone());
    }
    Response::from_parts(parts, Body::new(fresh_body))
}

/// A stable code for a rejection, from its status and (for 400) axum's wording.
fn rejection_code(status: StatusCode, text: &str) -> &'static str {
    match status.as_u16() {
        400 | 422 if text.starts_with("Invalid URL") || text.starts_with("Wrong number of path") => "invalid_path",
        400 | 422 if text.starts_with("Failed to deserialize query string") => "invalid_query",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "request_timeout",
        413 => "body_too_large",
        415 => "unsupported_media_type",
        429 => "rate_limited",
        500..=599 => "internal",
        _ => "invalid_request",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::{FromRequestParts, Path, Query};
    use axum::http::Request;
    use serde_json::Value;

    async fn body_json(res: Response) -> Value {
        serde_json::from_slice(&axum::body::to_bytes(res.into_body(), 10_000).await.unwrap()).unwrap()
    }

    /// axum's own rejections, so an upgrade that rewords them shows up here first.
    #[tokio::test]
    async fn axum_rejections_get_the_envelope_and_a_precise_code() {
        let query = {
            #[derive(serde::Deserialize, Debug)]
            struct Q {
                #[allow(dead_code)]
                days: u32,
            }
            let (mut parts, _) = Request::get("/x?days=many").body(()).unwrap().into_parts();
            Query::<Q>::from_request_parts(&mut parts, &()).await.unwrap_err().into_response()
        };
        let res = finish(query, false, false).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let v = body_json(res).await;
        assert_eq!(v["code"], "invalid_query", "{v}");
        assert!(v["error"].as_str().unwrap().contains("days"), "{v}");

        let router = axum::Router::new().route("/i/{id}", axum::routing::get(|Path(id): Path<String>| async { id }));
        let res =
            tower::ServiceExt::oneshot(router, Request::get("/i/%ff").body(Body::empty()).unwrap()).await.unwrap();
        let res = finish(res, false, false).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert_eq!(res.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(body_json(res).await["code"], "invalid_path");
    }

    #[tokio::test]
    async fn bare_statuses_get_the_envelope_and_keep_their_headers_and_5xx_hides_its_text() {
        let res =
            finish((StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "GET")]).into_response(), false, false).await;
        assert_eq!(res.headers()[header::ALLOW], "GET");
        assert_eq!(body_json(res).await["code"], "method_not_allowed");
        let res =
            finish((StatusCode::INTERNAL_SERVER_ERROR, "db at 10.0.0.5 said no").into_response(), false, false).await;
        let v = body_json(res).await;
        assert_eq!((v["code"].as_str(), v["error"].as_str()), (Some("internal"), Some("internal server error")));
    }

    #[tokio::test]
    async fn a_page_keeps_its_own_policy_and_other_html_gets_the_baseline() {
        let html = |csp: Option<&'static str>| {
            let mut res = axum::response::Html("<p>hi</p>").into_response();
            if let Some(p) = csp {
                res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(p));
            }
            res
        };
        let strict = "default-src 'none'; form-action 'self'; frame-ancestors 'none'";
        let res = finish(html(Some(strict)), false, false).await;
        assert_eq!(res.headers()[header::CONTENT_SECURITY_POLICY], strict);
        assert_eq!(res.headers()[header::X_FRAME_OPTIONS], "DENY");
        let res = finish(html(None), false, false).await;
        assert_eq!(res.headers()[header::CONTENT_SECURITY_POLICY], CSP);
        let json = finish(axum::Json(1).into_response(), false, false).await;
        assert!(json.headers().get(header::CONTENT_SECURITY_POLICY).is_none());
    }

    #[test]
    fn a_policy_refuses_framing_only_with_frame_ancestors_none() {
        assert!(refuses_framing(CSP));
        assert!(refuses_framing("default-src 'none';frame-ancestors  'none'"));
        assert!(!refuses_framing("default-src 'none'"));
        assert!(!refuses_framing("default-src 'none'; frame-ancestors 'self'"));
        assert!(!refuses_framing("default-src 'none'; frame-ancestors 'none' https://evil.example"));
        assert!(!refuses_framing("default-src 'none'; x-frame-ancestors 'none'"));
    }

    /// A page whose own policy allows framing is a bug: debug builds (the tests) fail loudly,
    /// release builds send the baseline instead.
    #[cfg(debug_assertions)]
    #[tokio::test]
    #[should_panic(expected = "frame-ancestors")]
    async fn a_page_policy_that_allows_framing_is_caught_in_debug_builds() {
        let mut res = axum::response::Html("<p>hi</p>").into_response();
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'"));
        finish(res, false, false).await;
    }

    #[test]
    fn credentials_and_capability_paths_make_an_answer_personal() {
        let with = |k: &str, v: &str| {
            let mut h = HeaderMap::new();
            h.insert(axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
            h
        };
        let none = HeaderMap::new();
        assert!(is_personal(&with("authorization", "Bearer x"), "/api/v1/summary"));
        assert!(is_personal(&with("x-magic-token", "sbx_x"), "/views/abc/data"));
        assert!(is_personal(&with("cookie", "a=1; statibeat_session=sbs_x"), "/api/v1/summary"));
        assert!(is_personal(&with("cookie", "__Secure-statibeat_viewer=v"), "/"));
        assert!(!is_personal(&with("cookie", "theme=dark"), "/api/v1/summary"));
        assert!(is_personal(&none, "/api/v1/manage/subscriptions"));
        assert!(is_personal(&none, "/u/sbu_abc"));
        assert!(is_personal(&none, "/feeds/sbf_abc/feed.atom"));
        assert!(!is_personal(&none, "/feeds/abc123/feed.atom"));
        assert!(!is_personal(&none, "/api/v1/summary"));
    }
}
