//! One-click unsubscribe (RFC 8058). The `sbu_` token in the path is a deliberate capability
//! (SPEC §2): mail clients POST to the `List-Unsubscribe` URL with no cookie or header. A GET only
//! shows a button, because mail scanners prefetch links. Unknown, expired, malformed or
//! other-page tokens are all 404.

use crate::app::App;
use crate::http::extract::error::ApiResult;
use crate::http::extract::principal::ctx_of;
use crate::service::readers::notify;
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};

fn page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=en><meta charset=utf-8><meta name=viewport content=\"width=device-width\">\
         <title>{t}</title><body><main><h1>{t}</h1>{body}</main></body></html>",
        t = crate::http::site::home::esc(title)
    );
    let mut res = (StatusCode::OK, Html(html)).into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Stricter than the site's baseline (the front door keeps it, `http::headers`): no script
    // or style at all; the one form posts back to this page.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    );
    res
}

/// `GET /u/{token}`: a page with a button that POSTs; changes nothing.
pub async fn unsubscribe_page(State(app): State<App>, Path(token): Path<String>, parts: Parts) -> ApiResult<Response> {
    let ctx = ctx_of(&parts)?;
    let pg = ctx.page.ok_or_else(crate::http::extract::error::ApiError::not_found)?;
    let sub = notify::check_unsubscribe(&app, &pg, &token, &ctx.ip).await?;
    let body = if sub.state == "unsubscribed" {
        "<p>This address is already unsubscribed.</p>".to_string()
    } else {
        format!(
            "<p>Stop receiving updates from {} at this address?</p><form method=post><button>Unsubscribe</button></form>",
            crate::http::site::home::esc(&pg.name)
        )
    };
    Ok(page("Unsubscribe", &body))
}

/// `POST /u/{token}`: unsubscribes at once (idempotent); no cookie or header needed.
pub async fn unsubscribe(State(app): State<App>, Path(token): Path<String>, parts: Parts) -> ApiResult<Response> {
    let ctx = ctx_of(&parts)?;
    let pg = ctx.page.ok_or_else(crate::http::extract::error::ApiError::not_found)?;
    notify::unsubscribe(&app, &pg, &token, &ctx.ip).await?;
    let body = format!("<p>You will no longer receive updates from {}.</p>", crate::http::site::home::esc(&pg.name));
    Ok(page("You are unsubscribed", &body))
}
