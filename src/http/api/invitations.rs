//! Invitations: the answers of `POST .../members` that mail one, the lists and withdrawals under
//! `/api/v1/admin/invitations` (a page's) and `/api/v1/org/invitations` (the org's), and the
//! invitee's side on the admin host: `GET /api/v1/invitations/current`,
//! `POST /api/v1/invitations/accept` (the `sbi_` link token in `X-Magic-Token`) and the page the
//! emailed link opens, `/admin/invite`.

use crate::app::App;
use crate::auth::policy::Access;
use crate::domain::host::HostClass;
use crate::http::api::auth::session_cookie;
use crate::http::extract::error::{ApiError, ApiResult};
use crate::http::extract::json::StrictJson;
use crate::http::extract::list::{envelope, ListQuery};
use crate::http::extract::principal::Caller;
use crate::http::front::ctx::RequestCtx;
use crate::http::presenters::invitations::{AcceptedJson, InvitationJson, InviteeJson};
use crate::http::presenters::people::MemberJson;
use crate::http::presenters::status_model::Listed;
use crate::service::org::invitations::{self, NewAccount};
use crate::service::org::members::{Added, Scope};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

/// 201 with the member when someone of the org joined a page at once; 202 with the invitation
/// otherwise (the same answer whether or not the address has an account).
pub fn added_answer(app: &App, added: Added) -> Response {
    match added {
        Added::Member(m) => (StatusCode::CREATED, Json(MemberJson::of(&m))).into_response(),
        Added::Invited(i) => (StatusCode::ACCEPTED, Json(InvitationJson::of(&i, app.now()))).into_response(),
    }
}

fn parse_id(raw: &str) -> ApiResult<i64> {
    raw.parse::<i64>().map_err(|_| ApiError::not_found())
}

async fn list_in(app: &App, scope: Scope<'_>, q: &ListQuery) -> ApiResult<Json<Listed<InvitationJson>>> {
    let rows = invitations::list(app, scope, q.cursor.unwrap_or(i64::MAX), q.limit + 1).await?;
    let now = app.now();
    Ok(Json(envelope(rows, q.limit, |i| i.id, |i| InvitationJson::of(i, now))))
}

pub async fn list_page_invitations(
    State(app): State<App>,
    caller: Caller,
    q: ListQuery,
) -> ApiResult<Json<Listed<InvitationJson>>> {
    let a = caller.page(&app, Access::ManageAccess).await?;
    list_in(&app, Scope::Page(&a.page), &q).await
}

pub async fn revoke_page_invitation(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<InvitationJson>> {
    let a = caller.page(&app, Access::ManageAccess).await?;
    let row = invitations::revoke(&app, &caller.actor(), Scope::Page(&a.page), parse_id(&id)?).await?;
    Ok(Json(InvitationJson::of(&row, app.now())))
}

pub async fn list_org_invitations(
    State(app): State<App>,
    caller: Caller,
    q: ListQuery,
) -> ApiResult<Json<Listed<InvitationJson>>> {
    let (org_id, _) = caller.org(&app, Access::ManageAccess).await?;
    list_in(&app, Scope::Org(org_id), &q).await
}

pub async fn revoke_org_invitation(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<InvitationJson>> {
    let (org_id, _) = caller.org(&app, Access::ManageAccess).await?;
    let row = invitations::revoke(&app, &caller.actor(), Scope::Org(org_id), parse_id(&id)?).await?;
    Ok(Json(InvitationJson::of(&row, app.now())))
}

// ---- the invitee's side (admin host, link token in X-Magic-Token) ----------------------------

/// The invitee routes live on the admin host only; the link token travels in `X-Magic-Token`.
fn invite_token(ctx: &RequestCtx, headers: &HeaderMap) -> ApiResult<String> {
    if ctx.class != HostClass::Admin || ctx.page.is_some() {
        return Err(ApiError::not_found());
    }
    let v = headers.get("x-magic-token").ok_or_else(|| {
        ApiError::new(StatusCode::UNAUTHORIZED, "magic_token_required", "send the invitation token in X-Magic-Token")
    })?;
    Ok(v.to_str().unwrap_or("").trim().to_string())
}

/// `GET /api/v1/invitations/current`: reads the invitation without using it.
pub async fn current_invitation(State(app): State<App>, ctx: RequestCtx, headers: HeaderMap) -> ApiResult<Response> {
    let raw = invite_token(&ctx, &headers)?;
    let invitee = invitations::lookup(&app, &raw, &ctx.ip).await?;
    // `no-store` comes from the front door (the request carries a credential).
    Ok(Json(InviteeJson::of(&invitee)).into_response())
}

/// A new account's name and password; both absent (`{}`) when the address has an account.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptBody {
    name: Option<String>,
    password: Option<String>,
}

/// `POST /api/v1/invitations/accept`: uses the invitation once.
pub async fn accept_invitation(
    State(app): State<App>,
    ctx: RequestCtx,
    headers: HeaderMap,
    StrictJson(b): StrictJson<AcceptBody>,
) -> ApiResult<Response> {
    let raw = invite_token(&ctx, &headers)?;
    let account = match (b.name, b.password) {
        (None, None) => None,
        (Some(name), Some(password)) => Some(NewAccount { name, password }),
        _ => return Err(ApiError::bad_request("invalid", "name and password go together").field("password")),
    };
    let x = invitations::accept(&app, &raw, &ctx.ip, account).await?;
    let mut res = Json(AcceptedJson::of(&x)).into_response();
    if x.account_created {
        let (_, secret) = crate::service::credentials::sessions::open_session(&app, &x.user, &ctx.ip).await?;
        res.headers_mut().insert(header::SET_COOKIE, session_cookie(&app, secret.expose()));
    }
    Ok(res)
}

/// `GET /admin/invite`: the page the emailed link opens. Its script reads the token from the
/// fragment, removes it from history, shows what the invitation is for, and accepts only when the
/// invitee submits (a GET never uses the token: mail scanners prefetch links).
pub async fn invite_page(ctx: RequestCtx) -> Response {
    if ctx.class != HostClass::Admin || ctx.page.is_some() {
        return StatusCode::NOT_FOUND.into_response();
    }
    const HTML: &str = "<!doctype html><html lang=en><meta charset=utf-8>\
        <meta name=viewport content=\"width=device-width\"><title>Invitation · StatiBeat</title>\
        <link rel=stylesheet href=/static/invite.css><body><main><h1>Invitation</h1>\
        <p id=msg role=status>Checking your invitation…</p>\
        <form id=accept hidden><p id=what></p>\
        <div id=newacct hidden><p>Choose your name and a password for your new account.</p>\
        <label>Your name <input name=name autocomplete=name maxlength=200></label>\
        <label>Password <input type=password name=password autocomplete=new-password minlength=8 maxlength=1024></label></div>\
        <button>Accept the invitation</button></form>\
        <p id=done hidden><a href=/admin>Open the workspace</a></p></main>\
        <script src=/static/invite.js></script></body></html>";
    let mut res = axum::response::Html(HTML).into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Stricter than the site's baseline (the front door keeps it): its own script, style and API
    // only; the form is sent by the script, never posted.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; frame-ancestors 'none'; \
             form-action 'none'",
        ),
    );
    res
}

/// The invitation page's script and style (same origin, no inline code; text goes in with
/// `textContent` only).
pub async fn invite_script() -> Response {
    const JS: &str = r#"(function(){
const $=function(i){return document.getElementById(i);};
const m=$('msg'),f=$('accept');
const h=new URLSearchParams(location.hash.slice(1));const token=h.get('token');
if(token){history.replaceState(null,'',location.pathname);}
window.addEventListener('hashchange',function(){if(new URLSearchParams(location.hash.slice(1)).get('token'))location.reload();});
const roles={org_admin:'an org admin',org_member:'an org member',page_admin:'a page admin',page_manager:'a page manager',page_viewer:'a page viewer'};
let needsAccount=false;
async function load(){
 if(!token){m.textContent='Open the link from your invitation email.';return;}
 const r=await fetch('/api/v1/invitations/current',{headers:{'X-Magic-Token':token}});
 if(!r.ok){m.textContent='This invitation has expired, was withdrawn, or was used already.';return;}
 const x=await r.json();needsAccount=!x.account_exists;
 m.textContent='Invitation for '+x.email+'.';
 $('what').textContent='Join '+(x.page?'the status page '+x.page+' of ':'')+x.org+' as '+(roles[x.role]||x.role)+'.'
  +(x.account_exists?' You already have an account: accept, then sign in as usual.':'');
 $('newacct').hidden=!needsAccount;f.name.required=needsAccount;f.password.required=needsAccount;f.hidden=false;}
f.onsubmit=async function(e){e.preventDefault();
 const body=needsAccount?{name:f.elements['name'].value,password:f.password.value}:{};
 const r=await fetch('/api/v1/invitations/accept',{method:'POST',headers:{'X-Magic-Token':token,'Content-Type':'application/json'},body:JSON.stringify(body)});
 const x=await r.json();
 if(!r.ok){m.textContent='Not accepted: '+(x.error||r.status);return;}
 f.hidden=true;m.textContent='You joined '+(x.page?x.page+' of ':'')+x.org+'.'+(x.account_created?' You are signed in.':' Sign in to continue.');
 const a=$('done');a.querySelector('a').href=x.account_created?'/admin':'/admin/login';a.hidden=false;};
load();
})();"#;
    ([(header::CONTENT_TYPE, "application/javascript"), (header::CACHE_CONTROL, "public, max-age=300")], JS)
        .into_response()
}

pub async fn invite_style() -> Response {
    const CSS: &str =
        ":root{color-scheme:light dark}body{font:16px system-ui;max-width:40rem;margin:2rem auto;padding:0 1rem}\
        label{display:block;margin:.5rem 0}input,button{font:inherit}\
        @media(prefers-color-scheme:dark){body{background:#111;color:#eee}a{color:#8cf}}";
    ([(header::CONTENT_TYPE, "text/css"), (header::CACHE_CONTROL, "public, max-age=300")], CSS).into_response()
}
