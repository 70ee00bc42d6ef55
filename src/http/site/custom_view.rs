//! `/v/{code}`: a custom view as a page for people. A public view is rendered on the server
//! (works without JavaScript); a protected one gets a small page whose script (`/static/view.js`,
//! same origin, no inline code) asks for an access link, reads the emailed token from the URL
//! fragment, exchanges it when the reader clicks, and shows the view's data as text.

use crate::app::App;
use crate::domain::views::AccessMode;
use crate::http::api::views_public::data_json;
use crate::http::extract::principal::{ctx_of, Reader};
use crate::http::site::home::esc;
use crate::service::readers::views::{access, data};
use crate::service::Error;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde_json::Value;

/// Stricter than the site's baseline (the front door keeps it, `http::headers`): the page's
/// one script, its own API, its inline style block, nothing else.
const CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; \
     frame-ancestors 'none'; form-action 'none'; base-uri 'none'";
const STYLE: &str = "body{font:16px system-ui;max-width:48rem;margin:2rem auto;padding:0 1rem}\
    .banner{padding:1rem;border-radius:.5rem;color:#fff;font-weight:600}ul.c{list-style:none;padding:0}\
    ul.c ul{list-style:none;padding-left:1.5rem}.c li{padding:.25rem 0}.st{float:right}\
    article{border-left:4px solid;padding:.25rem 1rem;margin:1rem 0}.warn{background:#fff3cd;color:#333;padding:.5rem}\
    @media(prefers-color-scheme:dark){body{background:#111;color:#eee}}";

fn page(status: StatusCode, title: &str, main: &str, cache: &'static str, script: bool) -> Response {
    let body = format!(
        "<!doctype html><html lang=en><meta charset=utf-8><meta name=viewport content=\"width=device-width\">\
         <title>{}</title><style>{STYLE}</style><body><main>{main}</main>{}</body></html>",
        esc(title),
        if script { "<script src=\"/static/view.js\"></script>" } else { "" }
    );
    let mut res = (status, Html(body)).into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::VARY, HeaderValue::from_static("Cookie, Authorization"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    res
}

fn message(status: StatusCode, title: &str, text: &str) -> Response {
    page(status, title, &format!("<h1>{}</h1><p>{}</p>", esc(title), esc(text)), "no-store", false)
}

/// `GET /v/{code}`.
pub async fn view_page(State(app): State<App>, Path(code): Path<String>, req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    if ctx_of(&parts).ok().and_then(|c| c.page).is_none() {
        return message(StatusCode::NOT_FOUND, "Not found", "There is no status page here.");
    }
    let r = match <Reader as FromRequestParts<App>>::from_request_parts(&mut parts, &app).await {
        Ok(r) => r,
        Err(_) => {
            return message(
                StatusCode::UNAUTHORIZED,
                "This status page is private",
                "Open the status page first and enter its password, then follow this link again.",
            )
        }
    };
    let d = match access::find(&app, &r.page, &code).await {
        Ok(d) => d,
        Err(Error::NotFound(_)) => return message(StatusCode::NOT_FOUND, "Not found", "There is no such view."),
        Err(e) => return crate::http::extract::error::ApiError::from(e).into_response(),
    };
    if d.mode() != AccessMode::Public {
        let main = format!(
            "<h1>A protected status view</h1><div id=view data-code=\"{}\">\
             <p id=msg role=status>This view is shared with specific people. Enter your email address to get a \
             link that opens it.</p><form id=ask><label>Email <input type=email name=email autocomplete=email required>\
             </label> <button>Send me a link</button></form><button id=go hidden>Open the view</button>\
             <div id=out></div></div>",
            esc(&d.view.short_code)
        );
        return page(StatusCode::OK, "Protected status view", &main, "no-store", true);
    }
    // The page renders the very document `/views/{code}/data` answers, read as JSON.
    let rendered = async {
        let v = data::load(&app, &r.page, &d).await?;
        let doc = data_json(&app, &d, &v).await?;
        serde_json::to_value(doc)
            .map_err(|e| crate::http::extract::error::ApiError::from(Error::Internal(e.to_string())))
    };
    let json = match rendered.await {
        Ok(j) => j,
        Err(e) => return e.into_response(),
    };
    let cache = if r.page.visibility == "public" {
        "public, max-age=15, stale-while-revalidate=60"
    } else {
        "private, no-store"
    };
    page(StatusCode::OK, &d.view.name, &render(&json), cache, false)
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or("")
}

fn status_name<'a>(data: &'a Value, key: &'a str) -> (&'a str, &'a str) {
    let def = data["statuses"].as_array().into_iter().flatten().find(|d| s(d, "key") == key);
    def.map_or((key, ""), |d| (s(d, "name"), s(d, "color")))
}

fn tree_html(data: &Value, nodes: &Value) -> String {
    let mut out = String::new();
    for n in nodes.as_array().into_iter().flatten() {
        let (name, color) = status_name(data, s(n, "status"));
        let below = tree_html(data, &n["children"]);
        out.push_str(&format!(
            "<li>{}<span class=st style=\"color:{}\">{}</span>{}</li>",
            esc(s(n, "name")),
            esc(color),
            esc(name),
            if below.is_empty() { below } else { format!("<ul>{below}</ul>") }
        ));
    }
    out
}

fn when(v: &Value, k: &str) -> String {
    let t = s(v, k);
    if t.len() >= 16 {
        format!("{} UTC", t[..16].replace('T', " "))
    } else {
        String::new()
    }
}

/// The view's data (the JSON of `/views/{code}/data`) as HTML; every value escaped.
fn render(data: &Value) -> String {
    let view = &data["view"];
    let (overall, color) = status_name(data, s(&data["status"], "key"));
    let mut html = format!(
        "<header><h1>{}</h1><p>{}</p><p>{} monitored components</p></header>\
         <p class=banner role=status style=\"background:{}\">{}</p>",
        esc(s(view, "name")),
        esc(s(view, "description")),
        data["component_count"].as_u64().unwrap_or(0),
        esc(color),
        esc(overall)
    );
    for w in data["warnings"].as_array().into_iter().flatten() {
        html.push_str(&format!("<p class=warn>{}</p>", esc(s(w, "message"))));
    }
    let tree = tree_html(data, &data["components"]);
    if !tree.is_empty() {
        html.push_str(&format!("<h2>Components</h2><ul class=c>{tree}</ul>"));
    }
    for (title, key) in [("Active incidents", "active_incidents"), ("Recent incidents", "recent_incidents")] {
        let list = data[key].as_array().cloned().unwrap_or_default();
        if list.is_empty() {
            continue;
        }
        html.push_str(&format!("<h2>{title}</h2>"));
        for i in &list {
            let (name, color) = status_name(data, s(i, "status"));
            html.push_str(&format!(
                "<article style=\"border-color:{}\"><h3>{}</h3><p>{} · {} · started {}</p>",
                esc(color),
                esc(s(i, "title")),
                esc(name),
                esc(s(i, "stage")),
                esc(&when(i, "started_at"))
            ));
            for u in i["updates"].as_array().into_iter().flatten().take(5) {
                html.push_str(&format!(
                    "<p><strong>{}</strong> — {} <small>{}</small></p>",
                    esc(s(u, "stage")),
                    esc(s(u, "message")),
                    esc(&when(u, "created_at"))
                ));
            }
            html.push_str("</article>");
        }
    }
    for (title, key) in [("Maintenance in progress", "active"), ("Upcoming maintenance", "upcoming")] {
        let list = data["maintenances"][key].as_array().cloned().unwrap_or_default();
        if list.is_empty() {
            continue;
        }
        html.push_str(&format!("<h2>{title}</h2>"));
        for m in &list {
            html.push_str(&format!(
                "<article><h3>{}</h3><p>{} – {}</p></article>",
                esc(s(m, "title")),
                esc(&when(m, "starts_at")),
                esc(&when(m, "ends_at"))
            ));
        }
    }
    html
}

/// The protected view page's script: no inline code, so the CSP can forbid everything else.
pub async fn view_script() -> Response {
    const JS: &str = r#"(function(){
const box=document.getElementById('view');if(!box)return;
const code=box.dataset.code,m=document.getElementById('msg'),ask=document.getElementById('ask'),
go=document.getElementById('go'),out=document.getElementById('out');
const base=location.pathname.replace(/\/v\/[^\/]+$/,'')+'/views/'+encodeURIComponent(code);
const h=new URLSearchParams(location.hash.slice(1));const link=h.get('token');
if(link){history.replaceState(null,'',location.pathname);}
// A link opened in a tab already showing this page only changes the fragment: start over.
window.addEventListener('hashchange',function(){if(new URLSearchParams(location.hash.slice(1)).get('token'))location.reload();});
const key='sb-view-'+code;let viewer=sessionStorage.getItem(key);
function line(tag,text){const e=document.createElement(tag);e.textContent=text;out.appendChild(e);return e;}
async function show(){const r=await fetch(base+'/data',{headers:{'X-Magic-Token':viewer}});
 if(!r.ok){sessionStorage.removeItem(key);m.textContent='Your access has ended. Ask for a new link.';ask.hidden=false;return;}
 const d=await r.json();ask.hidden=true;out.textContent='';m.textContent=d.view.name+': '+(d.status.name||d.status.key);
 if(d.view.description)line('p',d.view.description);
 d.warnings.forEach(function(w){line('p',w.message);});
 function tree(nodes,depth){nodes.forEach(function(n){line('p','\u00a0'.repeat(depth*4)+n.name+' — '+n.status);tree(n.children,depth+1);});}
 line('h2','Components');tree(d.components,0);
 if(d.active_incidents.length)line('h2','Active incidents');
 d.active_incidents.forEach(function(i){line('p',i.title+' ('+i.status+', '+i.stage+')');});
 if(d.recent_incidents.length)line('h2','Recent incidents');
 d.recent_incidents.forEach(function(i){line('p',i.title+' (resolved)');});
 const mt=d.maintenances.active.concat(d.maintenances.upcoming);if(mt.length)line('h2','Maintenance');
 mt.forEach(function(w){line('p',w.title+' ('+w.starts_at+' – '+w.ends_at+')');});}
ask.onsubmit=async function(e){e.preventDefault();await fetch(base+'/viewer-access/request',{method:'POST',
 headers:{'Content-Type':'application/json'},body:JSON.stringify({email:ask.email.value})});
 m.textContent='If this address may open the view, a link is on its way. It works for 30 minutes.';};
go.onclick=async function(){go.hidden=true;const r=await fetch(base+'/viewer-access/exchange',{method:'POST',headers:{'X-Magic-Token':link}});
 if(!r.ok){m.textContent='This link has expired or was used already. Ask for a new one.';ask.hidden=false;return;}
 viewer=(await r.json()).token;sessionStorage.setItem(key,viewer);show();};
if(link){ask.hidden=true;m.textContent='Continue to open the view.';go.hidden=false;}else if(viewer){show();}
})();"#;
    ([(header::CONTENT_TYPE, "application/javascript"), (header::CACHE_CONTROL, "public, max-age=300")], JS)
        .into_response()
}
