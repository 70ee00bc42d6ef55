//! Readers' routes: subscribe, ask for a management link, exchange it for a magic session, and
//! the self-service `/api/v1/manage/...` routes authenticated by `X-Magic-Token`.

use crate::app::App;
use crate::clock::rfc3339;
use crate::http::extract::error::{ApiError, ApiResult};
use crate::http::extract::json::StrictJson;
use crate::http::extract::principal::{ctx_of, Reader};
use crate::http::presenters::readers::{Accepted, MagicSession, SubscriptionJson, SubscriptionUpdated, WebhookSecret};
use crate::service::readers::subscribers::{self, MagicPrincipal, PreferencesPatch, SubscribeInput};
use crate::store::pages::PageRow;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

/// The same answer whatever happened, so nobody learns whether an address is known.
fn accepted() -> Response {
    let body = Accepted {
        status: "accepted",
        message: "If this address can receive mail from this page, a message is on its way.",
    };
    (StatusCode::ACCEPTED, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscribeBody {
    email: String,
    webhook_url: Option<String>,
    components: Option<Vec<String>>,
    incidents: Option<bool>,
    maintenances: Option<bool>,
}

/// `POST /api/v1/subscribers`: double opt-in; always 202 for a well-formed request.
pub async fn subscribe(
    State(app): State<App>,
    r: Reader,
    StrictJson(b): StrictJson<SubscribeBody>,
) -> ApiResult<Response> {
    let input = SubscribeInput {
        email: b.email,
        webhook_url: b.webhook_url,
        components: b.components,
        incidents: b.incidents,
        maintenances: b.maintenances,
    };
    subscribers::subscribe(&app, &r.page, input, &r.ctx.ip).await?;
    Ok(accepted())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessBody {
    email: String,
}

/// `POST /api/v1/subscribers/access`: always 202; a known address gets a management link.
pub async fn request_access(
    State(app): State<App>,
    r: Reader,
    StrictJson(b): StrictJson<AccessBody>,
) -> ApiResult<Response> {
    subscribers::request_access(&app, &r.page, &b.email).await?;
    Ok(accepted())
}

fn magic_header(parts: &Parts) -> ApiResult<String> {
    let v = parts.headers.get("x-magic-token").ok_or_else(|| {
        ApiError::new(StatusCode::UNAUTHORIZED, "magic_token_required", "send the management token in X-Magic-Token")
    })?;
    Ok(v.to_str().unwrap_or("").trim().to_string())
}

fn page_of(parts: &Parts) -> ApiResult<PageRow> {
    ctx_of(parts)?.page.ok_or_else(ApiError::not_found)
}

/// `POST /api/v1/manage/session`: exchanges the emailed link token (once) for a magic session.
pub async fn exchange(State(app): State<App>, parts: Parts) -> ApiResult<Response> {
    let page = page_of(&parts)?;
    let ip = ctx_of(&parts)?.ip;
    let raw = magic_header(&parts)?;
    let x = subscribers::exchange(&app, &page, &raw, &ip).await?;
    let body = MagicSession {
        token: x.session.expose().to_string(),
        expires_at: rfc3339(x.expires_at),
        idle_timeout_seconds: subscribers::SESSION_IDLE / 1000,
        subscription: x.subscription.as_ref().map(|s| SubscriptionJson::of(s, &[])),
        webhook_secret: x.webhook_secret,
    };
    let mut res = Json(body).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// A reader holding a magic session for the page this request resolved to.
pub struct Magic {
    pub who: MagicPrincipal,
    pub page: PageRow,
}

impl FromRequestParts<App> for Magic {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> ApiResult<Magic> {
        let page = page_of(parts)?;
        let ip = ctx_of(parts)?.ip;
        let raw = magic_header(parts)?;
        let who = subscribers::authenticate(app, &page, &raw, &ip).await?;
        Ok(Magic { who, page })
    }
}

pub async fn get_subscription(State(app): State<App>, m: Magic) -> ApiResult<Json<SubscriptionJson>> {
    let (sub, items) = subscribers::subscription(&app, &m.page, &m.who).await?;
    Ok(Json(SubscriptionJson::of(&sub, &items)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreferencesBody {
    channel: Option<String>,
    webhook_url: Option<String>,
    components: Option<Vec<String>>,
    incidents: Option<bool>,
    maintenances: Option<bool>,
}

pub async fn patch_subscription(
    State(app): State<App>,
    m: Magic,
    StrictJson(b): StrictJson<PreferencesBody>,
) -> ApiResult<Json<SubscriptionUpdated>> {
    let p = PreferencesPatch {
        channel: b.channel,
        webhook_url: b.webhook_url,
        components: b.components,
        incidents: b.incidents,
        maintenances: b.maintenances,
    };
    let (sub, items, webhook_secret) = subscribers::update(&app, &m.page, &m.who, p).await?;
    Ok(Json(SubscriptionUpdated { subscription: SubscriptionJson::of(&sub, &items), webhook_secret }))
}

/// `POST /api/v1/manage/subscriptions/webhook-secret`: a new signing secret, shown once.
pub async fn rotate_webhook_secret(State(app): State<App>, m: Magic) -> ApiResult<Response> {
    let secret = subscribers::rotate_webhook_secret(&app, &m.page, &m.who).await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(WebhookSecret { webhook_secret: secret })).into_response())
}

pub async fn delete_subscription(State(app): State<App>, m: Magic) -> ApiResult<StatusCode> {
    subscribers::unsubscribe(&app, &m.page, &m.who).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /manage`: the page a management link opens. Its script reads the token from the URL
/// fragment, removes it from history, and exchanges it only when the reader clicks. It shows the
/// subscription (if the address has one), a webhook's signing secret the one time it is issued,
/// and the custom views and feeds the address owns or co-manages, with forms to create more.
pub async fn manage_page(r: Reader) -> Response {
    let body = format!(
        "<!doctype html><html lang=en><meta charset=utf-8><meta name=viewport content=\"width=device-width\">\
         <title>Manage your updates · {}</title><body><main><h1>Manage your updates</h1>\
         <p id=msg role=status>Checking your link…</p><button id=go hidden>Continue</button>\
         <section id=secret hidden><h2>Webhook signing secret</h2><p>Shown this once: store it where your \
         receiver verifies signatures.</p><p><code id=secretval></code></p></section>\
         <form id=prefs hidden><label><input type=checkbox name=incidents> Incidents</label> \
         <label><input type=checkbox name=maintenances> Maintenance</label> <button>Save</button></form>\
         <button id=unsub hidden>Unsubscribe</button>\
         <section id=owned hidden><h2>Your views and feeds</h2><ul id=items></ul></section>\
         <section id=create hidden><h2>New feed</h2><form id=newfeed>\
         <label>Name <input name=name required maxlength=100></label>\
         <fieldset class=comps><legend>Components (none ticked: the whole page)</legend></fieldset>\
         <label><input type=checkbox name=incidents checked> Incidents</label> \
         <label><input type=checkbox name=maintenances checked> Maintenance</label> \
         <button>Create feed</button></form>\
         <h2>New view</h2><form id=newview><label>Name <input name=name required maxlength=100></label>\
         <fieldset class=comps><legend>Components</legend></fieldset>\
         <label>Who may open it <select name=access_mode><option value=public>Anyone</option>\
         <option value=verified_email>Anyone who confirms an email address</option></select></label> \
         <button>Create view</button></form><p id=created role=status></p></section>\
         </main><script src=\"/static/manage.js\"></script></body></html>",
        crate::http::site::home::esc(&r.page.name)
    );
    let mut res = (StatusCode::OK, axum::response::Html(body)).into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Stricter than the site's baseline: the page needs its one script and its own API, nothing
    // else (no styles, no form posts: the script sends everything with fetch).
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(MANAGE_CSP));
    res
}

/// The management page's policy (the front door keeps it, `http::headers`).
const MANAGE_CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; \
     form-action 'none'; base-uri 'none'";

/// The management page's script (same origin, no inline code, so the CSP can forbid all else;
/// text only ever goes in with `textContent`).
pub async fn manage_script() -> Response {
    const JS: &str = r#"(function(){
const $=function(i){return document.getElementById(i);};
const m=$('msg'),go=$('go'),f=$('prefs'),u=$('unsub'),owned=$('owned'),items=$('items');
const base=location.pathname.replace(/\/manage$/,'');
const h=new URLSearchParams(location.hash.slice(1));const link=h.get('token');
if(link){history.replaceState(null,'',location.pathname);}
// A link opened in a tab already showing this page only changes the fragment: start over.
window.addEventListener('hashchange',function(){if(new URLSearchParams(location.hash.slice(1)).get('token'))location.reload();});
let session=sessionStorage.getItem('sb-magic');
function get(path){return fetch(base+path,{headers:{'X-Magic-Token':session}});}
// Lists come in pages of at most 200 rows: follow next_cursor to the end (what one answers, if it fails).
async function all(path,fetcher){const out=[];let next=null;
 do{const r=await fetcher(path+(path.includes('?')?'&':'?')+'limit=200'+(next?'&cursor='+encodeURIComponent(next):''));
  if(!r.ok)break;const b=await r.json();out.push(...b.data);next=b.next_cursor;}while(next);return out;}
function add(kind,name,url){const li=document.createElement('li');const a=document.createElement('a');
 a.href=url;a.textContent=name;li.append(kind+': ',a);items.append(li);owned.hidden=false;}
async function load(){const r=await get('/api/v1/manage/subscriptions');
 if(r.status===401){m.textContent='This link has expired. Ask for a new one.';return;}
 if(r.ok){const s=await r.json();
  m.textContent='Subscribed as '+s.email+' ('+s.state+(s.channel==='webhook'?', webhook '+s.webhook_url:'')+').';
  f.incidents.checked=s.incidents;f.maintenances.checked=s.maintenances;f.hidden=false;u.hidden=s.state==='unsubscribed';}
 else{m.textContent='This address has no subscription on this page.';}
 for(const [kind,path] of [['View','/api/v1/manage/views'],['Feed','/api/v1/manage/feeds']]){
  for(const x of await all(path,get)){add(kind,x.name,x.url);}}
 // Components come in id order: show them by level.
 const comps=await all('/api/v1/components?view=full',function(p){return fetch(base+p);});
 comps.sort(function(a,b){return a.depth-b.depth||a.display_order-b.display_order||a.id-b.id;});
 document.querySelectorAll('#create .comps').forEach(function(box){box.querySelectorAll('label').forEach(function(l){l.remove();});
  comps.forEach(function(x){const l=document.createElement('label'),i=document.createElement('input');
   i.type='checkbox';i.name='components';i.value=x.identifier;l.append(i,' '+'\u00a0'.repeat(x.depth*2)+x.name+' ');box.append(l);});});
 $('create').hidden=false;}
function ticked(form){return Array.from(form.querySelectorAll('[name=components]:checked')).map(function(i){return i.value;});}
async function create(path,body,kind){const r=await fetch(base+path,{method:'POST',
 headers:{'X-Magic-Token':session,'Content-Type':'application/json'},body:JSON.stringify(body)});const x=await r.json();
 if(!r.ok){$('created').textContent=kind+' not created: '+(x.error||r.status);return;}
 const url=x.capability_urls?x.capability_urls.atom:x.url;add(kind,x.name,url);
 $('created').textContent=kind+' created: '+url+(x.capability?' (a private address, shown this once: keep it to yourself)':'');}
$('newfeed').onsubmit=function(e){e.preventDefault();const t=e.target,types=[];
 if(t.incidents.checked)types.push('incidents');if(t.maintenances.checked)types.push('maintenances');
 create('/api/v1/manage/feeds',{name:t.elements['name'].value,components:ticked(t),content_types:types},'Feed');};
$('newview').onsubmit=function(e){e.preventDefault();const t=e.target;
 create('/api/v1/manage/views',{name:t.elements['name'].value,components:ticked(t),access_mode:t.access_mode.value},'View');};
go.onclick=async function(){go.hidden=true;const r=await fetch(base+'/api/v1/manage/session',{method:'POST',headers:{'X-Magic-Token':link}});
 if(!r.ok){m.textContent='This link has expired or was used already. Ask for a new one.';return;}
 const x=await r.json();session=x.token;sessionStorage.setItem('sb-magic',session);
 if(x.webhook_secret){$('secretval').textContent=x.webhook_secret;$('secret').hidden=false;}
 load();};
f.onsubmit=async function(e){e.preventDefault();const r=await fetch(base+'/api/v1/manage/subscriptions',{method:'PATCH',
 headers:{'X-Magic-Token':session,'Content-Type':'application/json'},body:JSON.stringify({incidents:f.incidents.checked,maintenances:f.maintenances.checked})});
 m.textContent=r.ok?'Saved.':'Not saved: '+((await r.json()).error||r.status);};
u.onclick=async function(){const r=await fetch(base+'/api/v1/manage/subscriptions',{method:'DELETE',headers:{'X-Magic-Token':session}});
 if(!r.ok){m.textContent=r.status===401?'This link has expired. Ask for a new one.':'Not unsubscribed: '+r.status;return;}
 sessionStorage.removeItem('sb-magic');f.hidden=true;u.hidden=true;m.textContent='You are unsubscribed.';};
if(link){m.textContent='Continue to confirm or manage your updates.';go.hidden=false;}else if(session){load();}
else{m.textContent='Open the link from your email to manage your updates.';}
})();"#;
    ([(header::CONTENT_TYPE, "application/javascript"), (header::CACHE_CONTROL, "public, max-age=300")], JS)
        .into_response()
}
