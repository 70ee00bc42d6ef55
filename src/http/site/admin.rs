//! The signed-in web app on the admin host: an HTML login form that uses the same session
//! service as the API, the workspace index, and logout with the per-session CSRF token.

use crate::app::App;
use crate::auth::token::{PlainToken, TokenKind};
use crate::domain::host::HostClass;
use crate::http::api::auth::session_cookie;
use crate::http::extract::cookies;
use crate::http::extract::principal::csrf_ok;
use crate::http::front::ctx::RequestCtx;
use crate::http::site::home::esc;
use crate::service::credentials::sessions;
use crate::service::directory;
use crate::service::{access, Error};
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

/// The forms post to this origin, which [`csrf_ok`] checks. Over plain http (not localhost)
/// browsers send no `Sec-Fetch-Site`, and under the site-wide `Referrer-Policy: no-referrer` a
/// form post carries `Origin: null`: the meta tag lets these pages send their own origin (and
/// never a referrer to another site), so signing in works there too.
fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=en><meta charset=utf-8><meta name=viewport content=\"width=device-width\">\
         <meta name=referrer content=same-origin>\
         <title>{} · StatiBeat</title><style>body{{font:16px system-ui;max-width:40rem;margin:2rem auto;padding:0 1rem}}\
         label{{display:block;margin:.5rem 0}}input{{font:inherit}}@media(prefers-color-scheme:dark){{body{{background:#111;color:#eee}}}}\
         </style><body><main>{}</main></body></html>",
        esc(title),
        body
    )
}

fn login_form(message: Option<&str>) -> String {
    let msg = message.map(|m| format!("<p role=alert>{}</p>", esc(m))).unwrap_or_default();
    page(
        "Sign in",
        &format!(
            "<h1>Sign in</h1>{msg}<form method=post action=/admin/login>\
             <label>Email <input type=email name=email autocomplete=username required></label>\
             <label>Password <input type=password name=password autocomplete=current-password required></label>\
             <button>Sign in</button></form>"
        ),
    )
}

fn not_admin_host(ctx: &RequestCtx) -> bool {
    ctx.class != HostClass::Admin || ctx.page.is_some()
}

pub async fn login_page(ctx: RequestCtx) -> Response {
    if not_admin_host(&ctx) {
        return StatusCode::NOT_FOUND.into_response();
    }
    Html(login_form(None)).into_response()
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
}

pub async fn login_submit(
    State(app): State<App>,
    ctx: RequestCtx,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    if not_admin_host(&ctx) {
        return StatusCode::NOT_FOUND.into_response();
    }
    // No session yet, so no CSRF token to present: only a browser on this origin signs in here.
    if !csrf_ok(&app, &headers, false) {
        return (StatusCode::FORBIDDEN, Html(login_form(Some("Cross-site sign-in refused.")))).into_response();
    }
    let Ok(Form(f)) = form else {
        return (StatusCode::BAD_REQUEST, Html(login_form(Some("Enter an email and a password.")))).into_response();
    };
    match sessions::login(&app, &f.email, &f.password, &ctx.ip).await {
        Ok((_, secret)) => {
            let mut res = Redirect::to("/admin").into_response();
            res.headers_mut().insert(header::SET_COOKIE, session_cookie(&app, secret.expose()));
            res
        }
        Err(Error::TooMany { retry_after }) => {
            let mut res =
                (StatusCode::TOO_MANY_REQUESTS, Html(login_form(Some("Too many attempts; wait and try again."))))
                    .into_response();
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            res
        }
        Err(Error::Unauthorized) => {
            (StatusCode::UNAUTHORIZED, Html(login_form(Some("Email or password is wrong.")))).into_response()
        }
        Err(e) => crate::http::extract::error::ApiError::from(e).into_response(),
    }
}

async fn signed_in(app: &App, ctx: &RequestCtx, headers: &HeaderMap) -> Option<(access::SessionPrincipal, PlainToken)> {
    let raw = cookies::get(headers, cookies::session_name(app.config.secure_cookies()))?;
    let token = PlainToken::parse_kind(&raw, TokenKind::Session).ok()?;
    let s = access::authenticate_session(app, &raw, None, &ctx.ip).await.ok()?;
    Some((s, token))
}

pub async fn workspace(State(app): State<App>, ctx: RequestCtx, headers: HeaderMap) -> Response {
    if not_admin_host(&ctx) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let Some((s, token)) = signed_in(&app, &ctx, &headers).await else {
        return Redirect::to("/admin/login").into_response();
    };
    let Ok((orgs, _)) = sessions::memberships(&app, s.user_id).await else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let mut body = format!("<h1>Workspace</h1><p>Signed in as {}.</p>", esc(&s.email));
    for (org, role) in &orgs {
        body.push_str(&format!("<h2>{} <small>({})</small></h2><ul>", esc(&org.name), esc(role)));
        let scope = access::scope_for_org_role(Some(role.as_str()), s.user_id);
        let pages = directory::pages_of_org(&app, org.id, scope, false, 0, 200).await.unwrap_or_default();
        for p in pages {
            let url = app.config.origin_for(&format!("{}.{}", p.url_prefix, app.config.base_domain));
            body.push_str(&format!(
                "<li><a href=\"{}/\">{}</a> <code>{}</code></li>",
                esc(&url),
                esc(&p.name),
                esc(&p.url_prefix)
            ));
        }
        body.push_str("</ul>");
    }
    body.push_str(&format!(
        "<form method=post action=/admin/logout><input type=hidden name=csrf_token value=\"{}\"><button>Sign out</button></form>",
        esc(&sessions::csrf_token(&token))
    ));
    ([(header::CACHE_CONTROL, "private, no-store")], Html(page("Workspace", &body))).into_response()
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf_token: String,
}

pub async fn logout_submit(
    State(app): State<App>,
    ctx: RequestCtx,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    if not_admin_host(&ctx) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let Some((s, token)) = signed_in(&app, &ctx, &headers).await else {
        return Redirect::to("/admin/login").into_response();
    };
    // The form always carries its session's token, so a stale form (of an earlier session)
    // changes nothing even when posted from this origin.
    let token_ok = form.is_ok_and(|Form(f)| f.csrf_token == sessions::csrf_token(&token));
    if !token_ok || !csrf_ok(&app, &headers, token_ok) {
        return (StatusCode::FORBIDDEN, Html(page("Refused", "<p>That form is stale or came from another site.</p>")))
            .into_response();
    }
    if let Err(e) = sessions::logout(&app, &s, &ctx.ip).await {
        return crate::http::extract::error::ApiError::from(e).into_response();
    }
    let secure = app.config.secure_cookies();
    let mut res = Redirect::to("/admin/login").into_response();
    let clear = cookies::clear(cookies::session_name(secure), "/", secure);
    res.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&clear).expect("ascii"));
    res
}
