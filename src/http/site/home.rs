//! Server-rendered pages for people. The full public page arrives with the status model; today
//! the page host shows the page's identity, and the admin host points to the API.

use crate::app::App;
use crate::http::extract::principal::{ctx_of, Reader};
use crate::http::front::ctx::{RequestCtx, Via};
use crate::service::org::pages;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};

pub use crate::domain::html::esc;

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
        // The form's script is a file (`/static/gate.js`): the pages' CSP allows no inline code.
        let body = format!(
            "<!doctype html><html lang=en><meta charset=utf-8><title>Private status page</title><body>\
            <h1>This status page is private</h1><form id=gate data-base=\"{base}\"><label>Password \
            <input type=password name=password autocomplete=current-password required></label><button>View</button>\
            </form><p id=msg role=status></p><script src=\"{base}/static/gate.js\"></script></body></html>",
            base = esc(&base)
        );
        return (StatusCode::UNAUTHORIZED, [(header::CACHE_CONTROL, "no-store")], Html(body)).into_response();
    }
    let s = pages::settings_of(&page);
    let title = if s.title.is_empty() { page.name.clone() } else { s.title.clone() };
    let main = match status_html(&app, &page).await {
        Ok(html) => html,
        Err(e) => return crate::http::extract::error::ApiError::from(e).into_response(),
    };
    let body = format!(
        "<!doctype html><html lang=\"{}\"><meta charset=utf-8><meta name=viewport content=\"width=device-width\">\
         <title>{}</title><style>body{{font:16px system-ui;max-width:48rem;margin:2rem auto;padding:0 1rem}}\
         header{{border-bottom:4px solid {}}}.banner{{padding:1rem;border-radius:.5rem;color:#fff;font-weight:600}}\
         ul.c{{list-style:none;padding:0}}ul.c ul{{list-style:none;padding-left:1.5rem}}\
         .c li{{padding:.25rem 0}}.st{{float:right}}article{{border-left:4px solid;padding:.25rem 1rem;margin:1rem 0}}\
         @media(prefers-color-scheme:dark){{body{{background:#111;color:#eee}}}}</style>\
         <body><header><h1>{}</h1><p>{}</p></header><main>{}</main></body></html>",
        esc(&s.locale),
        esc(&title),
        esc(&s.brand_color),
        esc(&title),
        esc(&s.subtitle),
        main
    );
    // A private page is only ever cached by the reader's own browser.
    let cache =
        if page.visibility == "public" { "public, max-age=15, stale-while-revalidate=60" } else { "private, no-store" };
    ([(header::CACHE_CONTROL, cache), (header::VARY, "Cookie, Authorization")], Html(body)).into_response()
}

/// The private page's password form script: posts the password, reloads on success.
pub async fn gate_script() -> Response {
    const JS: &str = r#"(function(){
const f=document.getElementById('gate'),m=document.getElementById('msg');
f.addEventListener('submit',async function(e){e.preventDefault();
const r=await fetch(f.dataset.base+'/api/v1/viewer-access',{method:'POST',headers:{'content-type':'application/json'},
body:JSON.stringify({password:f.password.value})});
if(r.ok)location.reload();else m.textContent='Wrong password';});
})();"#;
    ([(header::CONTENT_TYPE, "application/javascript"), (header::CACHE_CONTROL, "public, max-age=300")], JS)
        .into_response()
}

/// The status part of the public page: overall banner, component tree, active incidents.
async fn status_html(app: &App, page: &crate::store::pages::PageRow) -> crate::service::Result<String> {
    use crate::service::status::computed::{self, ItemStatus};
    let st = computed::page_status(app, page).await?;
    let color = |key: &str| st.statuses.iter().find(|d| d.key == key).map(|d| d.color.clone()).unwrap_or_default();
    let name = |key: &str| st.statuses.iter().find(|d| d.key == key).map(|d| d.name.clone()).unwrap_or_default();
    let banner = if st.overall == st.statuses.first().map(|d| d.key.as_str()).unwrap_or("") {
        "All systems operational".to_string()
    } else {
        name(&st.overall)
    };
    let mut html =
        format!("<p class=banner role=status style=\"background:{}\">{}</p>", esc(&color(&st.overall)), esc(&banner));
    type Children<'a> = std::collections::HashMap<Option<i64>, Vec<&'a ItemStatus>>;
    fn tree(
        kids: &Children<'_>,
        parent: Option<i64>,
        name: &dyn Fn(&str) -> String,
        color: &dyn Fn(&str) -> String,
    ) -> String {
        let mut out = String::new();
        for i in kids.get(&parent).into_iter().flatten() {
            let below = tree(kids, Some(i.item.id), name, color);
            out.push_str(&format!(
                "<li>{}<span class=st style=\"color:{}\">{}</span>{}</li>",
                esc(&i.item.name),
                esc(&color(&i.status)),
                esc(&name(&i.status)),
                if below.is_empty() { below } else { format!("<ul>{below}</ul>") }
            ));
        }
        out
    }
    let mut kids: Children<'_> = Default::default();
    for i in st.items.iter().filter(|i| i.item.visible) {
        kids.entry(i.item.parent_id).or_default().push(i);
    }
    let components = tree(&kids, None, &name, &color);
    if !components.is_empty() {
        html.push_str(&format!("<h2>Components</h2><ul class=c>{components}</ul>"));
    }
    use crate::service::status::incidents::{self, Audience};
    let active =
        incidents::list(app, page, crate::store::incidents::Filter::Active, Audience::Public, i64::MAX, 20).await?;
    let updates = incidents::updates_of(app, &active.iter().map(|i| i.id).collect::<Vec<_>>()).await?;
    if !active.is_empty() {
        html.push_str("<h2>Active incidents</h2>");
    }
    for inc in &active {
        html.push_str(&format!(
            "<article id=\"incident-{}\" style=\"border-color:{}\"><h3>{}</h3><p>{} · started {}</p>",
            inc.id,
            esc(&color(&inc.status)),
            esc(&inc.title),
            esc(&name(&inc.status)),
            esc(&crate::clock::rfc3339(inc.started_at)[..16].replace('T', " "))
        ));
        for u in updates.iter().filter(|u| u.notice_id == inc.id).take(5) {
            html.push_str(&format!(
                "<p><strong>{}</strong> — {} <small>{} UTC</small></p>",
                esc(&u.stage),
                esc(&u.message),
                esc(&crate::clock::rfc3339(u.created_at)[..16].replace('T', " "))
            ));
        }
        html.push_str("</article>");
    }
    Ok(html)
}
