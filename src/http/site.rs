//! Server-rendered pages for people. The full public page arrives with the status model; today
//! the page host shows the page's identity, and the admin host points to the API.

use super::ctx::{RequestCtx, Via};
use super::principal::{ctx_of, Reader};
use crate::app::App;
use crate::service::pages;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '&' => "&amp;".into(),
            '<' => "&lt;".into(),
            '>' => "&gt;".into(),
            '"' => "&quot;".into(),
            '\'' => "&#39;".into(),
            c => c.to_string(),
        })
        .collect()
}

pub async fn home(State(app): State<App>, req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    let Ok(ctx): Result<RequestCtx, _> = ctx_of(&parts) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let Some(page) = ctx.page else {
        return axum::response::Redirect::to("/admin").into_response();
    };
    let admitted = <Reader as FromRequestParts<App>>::from_request_parts(&mut parts, &app).await.is_ok();
    let base = match &ctx.via {
        Via::StatusPath(prefix) => format!("/status/{prefix}"),
        _ => String::new(),
    };
    if !admitted {
        let body = format!("<!doctype html><html lang=en><meta charset=utf-8><title>Private status page</title><body>\
            <h1>This status page is private</h1><form id=gate><label>Password <input type=password name=password \
            autocomplete=current-password required></label><button>View</button></form><p id=msg role=status></p>\
            <script>document.getElementById('gate').onsubmit=async e=>{{e.preventDefault();\
            const r=await fetch('{}/api/v1/viewer-access',{{method:'POST',headers:{{'content-type':'application/json'}},\
            body:JSON.stringify({{password:e.target.password.value}})}});\
            if(r.ok)location.reload();else document.getElementById('msg').textContent='Wrong password';}};</script></body></html>", esc(&base));
        return (StatusCode::UNAUTHORIZED, [(header::CACHE_CONTROL, "no-store")], Html(body)).into_response();
    }
    let s = pages::settings_of(&page);
    let title = if s.title.is_empty() { page.name.clone() } else { s.title.clone() };
    let body = format!(
        "<!doctype html><html lang=\"{}\"><meta charset=utf-8><meta name=viewport content=\"width=device-width\">\
         <title>{}</title><style>body{{font:16px system-ui;max-width:48rem;margin:2rem auto;padding:0 1rem}}\
         header{{border-bottom:4px solid {}}}@media(prefers-color-scheme:dark){{body{{background:#111;color:#eee}}}}</style>\
         <body><header><h1>{}</h1><p>{}</p></header><main><p>Component status, incidents and maintenance appear here \
         once the page has components.</p></main></body></html>",
        esc(&s.locale),
        esc(&title),
        esc(&s.brand_color),
        esc(&title),
        esc(&s.subtitle)
    );
    // A private page is only ever cached by the reader's own browser.
    let cache =
        if page.visibility == "public" { "public, max-age=15, stale-while-revalidate=60" } else { "private, no-store" };
    ([(header::CACHE_CONTROL, cache), (header::VARY, "Cookie, Authorization")], Html(body)).into_response()
}
