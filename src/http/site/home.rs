//! The public status page (`GET /` on a page host, `/status/<prefix>/`, a verified custom
//! domain) and the private page's password gate, rendered from the templates in `templates/`
//! (askama: checked at compile time, HTML-escaped by default; decision 0014).

use crate::app::App;
use crate::domain::maintenance::Zone;
use crate::http::extract::principal::{ctx_of, Reader};
use crate::http::front::ctx::{RequestCtx, Via};
use crate::http::site::assets::STYLESHEET;
use crate::service::org::pages::{self, SiteSettings};
use crate::service::status::computed::{self, PageStatus};
use crate::service::status::incidents::{self, Audience};
use crate::service::status::maintenances;
use crate::store::hierarchy::StatusRow;
use crate::store::pages::PageRow;
use askama::Template;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};

pub use crate::domain::html::esc;

/// What every page of a status page shares: the layout's head, header and footer.
pub struct Chrome {
    pub locale: String,
    pub title: String,
    pub subtitle: String,
    pub description: String,
    /// `/status/<prefix>` when the page is served under the platform host, else empty.
    pub base: String,
    pub stylesheet: String,
    pub time_zone: String,
    /// Whether the head and footer link the page's feeds (not on the private page's gate).
    pub feeds: bool,
    pub noindex: bool,
}

impl Chrome {
    fn of(page: &PageRow, s: &SiteSettings, base: &str) -> Chrome {
        let title = if s.title.is_empty() { page.name.clone() } else { s.title.clone() };
        Chrome {
            locale: s.locale.clone(),
            description: format!("Current status, incidents and scheduled maintenance of {title}."),
            title,
            subtitle: s.subtitle.clone(),
            base: base.to_string(),
            stylesheet: STYLESHEET.path.clone(),
            time_zone: s.time_zone.clone(),
            feeds: true,
            noindex: page.visibility != "public",
        }
    }
}

/// An instant, machine-readable and as the page's readers see it (in the page's time zone).
pub struct Shown {
    pub iso: String,
    pub shown: String,
}

impl Shown {
    fn at(zone: &Zone, ms: i64) -> Shown {
        Shown { iso: crate::clock::rfc3339(ms), shown: zone.human(ms) }
    }
}

/// The sections of the home page, in the order the page's settings give.
pub enum Section {
    Banner,
    Incidents,
    Maintenances,
    Components,
}

pub struct Banner {
    pub text: String,
    pub icon: &'static str,
}

pub struct UpdateLine {
    pub stage: String,
    pub message: String,
}

pub struct IncidentCard {
    pub id: i64,
    pub title: String,
    pub status: String,
    pub icon: &'static str,
    pub impact: String,
    pub affected: String,
    pub latest: Option<UpdateLine>,
    pub started: Shown,
    pub updated: Shown,
}

pub struct WindowCard {
    pub id: i64,
    pub title: String,
    pub in_progress: bool,
    pub affected: String,
    pub starts: Shown,
    pub ends: Shown,
}

pub struct ComponentLine {
    pub name: String,
    pub status: String,
    pub icon: &'static str,
}

/// The component tree as a sequence the template writes out: an item opens an `<li>`, `Down`
/// and `Up` open and close its children's list, `End` closes the `<li>`.
pub enum Tree {
    Item(ComponentLine),
    Down,
    Up,
    End,
}

#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    pub page: Chrome,
    pub sections: Vec<Section>,
    pub banner: Banner,
    /// When this answer was built (the page is rendered from the current rows on each miss).
    pub updated: Shown,
    pub incidents: Vec<IncidentCard>,
    pub windows: Vec<WindowCard>,
    pub components: Vec<Tree>,
}

#[derive(Template)]
#[template(path = "gate.html")]
pub struct GatePage {
    pub page: Chrome,
}

/// The icon class of a status: never colour alone, the stylesheet adds a symbol, the template
/// the status's name.
fn icon(statuses: &[StatusRow], key: &str) -> &'static str {
    match statuses.iter().find(|s| s.key == key) {
        Some(s) if s.reserved => "i-maint",
        Some(s) if s.severity == 0 => "i-ok",
        Some(s) if s.downtime_permille >= 1000 => "i-major",
        Some(_) => "i-minor",
        None => "i-ok",
    }
}

fn status_name(statuses: &[StatusRow], key: &str) -> String {
    statuses.iter().find(|s| s.key == key).map(|s| s.name.clone()).unwrap_or_else(|| key.to_string())
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
    let s = pages::settings_of(&page);
    if !admitted {
        // Nothing of the page shows before the password: not even its name.
        let mut chrome = Chrome::of(&page, &s, &base);
        chrome.title = "Private status page".into();
        chrome.subtitle.clear();
        chrome.description = "This status page is private.".into();
        chrome.feeds = false;
        let html = match (GatePage { page: chrome }).render() {
            Ok(h) => h,
            Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        };
        return (StatusCode::UNAUTHORIZED, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response();
    }
    let html = match home_page(&app, &page, &s, &base).await {
        Ok(p) => p.render(),
        Err(e) => return crate::http::extract::error::ApiError::from(e).into_response(),
    };
    let Ok(html) = html else { return StatusCode::INTERNAL_SERVER_ERROR.into_response() };
    // A private page is only ever cached by the reader's own browser.
    let cache =
        if page.visibility == "public" { "public, max-age=15, stale-while-revalidate=60" } else { "private, no-store" };
    ([(header::CACHE_CONTROL, cache), (header::VARY, "Cookie, Authorization")], Html(html)).into_response()
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

/// Everything the home page shows, read through the services.
async fn home_page(app: &App, page: &PageRow, s: &SiteSettings, base: &str) -> crate::service::Result<HomePage> {
    let zone = Zone::parse(&s.time_zone)
        .or_else(|_| Zone::parse("UTC"))
        .map_err(|_| crate::service::Error::NotFound("zone"))?;
    let st = computed::page_status(app, page).await?;
    let banner = Banner {
        text: if icon(&st.statuses, &st.overall) == "i-ok" {
            "All systems operational".to_string()
        } else {
            status_name(&st.statuses, &st.overall)
        },
        icon: icon(&st.statuses, &st.overall),
    };
    let active =
        incidents::list(app, page, crate::store::incidents::Filter::Active, Audience::Public, i64::MAX, 20).await?;
    let ids: Vec<i64> = active.iter().map(|i| i.id).collect();
    let updates = incidents::updates_of(app, &ids).await?;
    let items = incidents::items_of(app, &ids, Audience::Public).await?;
    let incidents = active
        .iter()
        .map(|i| IncidentCard {
            id: i.id,
            title: i.title.clone(),
            status: status_name(&st.statuses, &i.status),
            icon: icon(&st.statuses, &i.status),
            impact: i.impact.clone(),
            affected: names(items.iter().filter(|x| x.notice_id == i.id).map(|x| x.name.as_str())),
            latest: updates
                .iter()
                .filter(|u| u.notice_id == i.id)
                .max_by_key(|u| (u.created_at, u.id))
                .map(|u| UpdateLine { stage: u.stage.clone(), message: u.message.clone() }),
            started: Shown::at(&zone, i.started_at),
            updated: Shown::at(&zone, i.updated_at),
        })
        .collect();
    let mut windows = Vec::new();
    for (filter, in_progress) in [(maintenances::Filter::Active, true), (maintenances::Filter::Upcoming, false)] {
        let rows = maintenances::list(app, page, filter, None, 20).await?;
        let ids: Vec<i64> = rows.iter().map(|m| m.id).collect();
        let items = maintenances::items_of(app, &ids, true).await?;
        windows.extend(rows.iter().map(|m| WindowCard {
            id: m.id,
            title: m.title.clone(),
            in_progress,
            affected: names(items.iter().filter(|x| x.notice_id == m.id).map(|x| x.name.as_str())),
            starts: Shown::at(&zone, m.starts_at),
            ends: Shown::at(&zone, m.ends_at),
        }));
    }
    let sections = s
        .homepage_sections
        .iter()
        .filter_map(|k| match k.as_str() {
            "banner" => Some(Section::Banner),
            "incidents" => Some(Section::Incidents),
            "maintenances" => Some(Section::Maintenances),
            "components" => Some(Section::Components),
            _ => None,
        })
        .collect();
    Ok(HomePage {
        page: Chrome::of(page, s, base),
        sections,
        banner,
        updated: Shown::at(&zone, app.now()),
        incidents,
        windows,
        components: tree(&st),
    })
}

fn names<'a>(it: impl Iterator<Item = &'a str>) -> String {
    it.collect::<Vec<_>>().join(", ")
}

/// The visible components in tree order (depth first, children after their parent).
fn tree(st: &PageStatus) -> Vec<Tree> {
    use std::collections::HashMap;
    let mut kids: HashMap<Option<i64>, Vec<&computed::ItemStatus>> = HashMap::new();
    for i in st.items.iter().filter(|i| i.item.visible) {
        kids.entry(i.item.parent_id).or_default().push(i);
    }
    fn walk(
        out: &mut Vec<Tree>,
        kids: &HashMap<Option<i64>, Vec<&computed::ItemStatus>>,
        st: &PageStatus,
        parent: Option<i64>,
    ) {
        for i in kids.get(&parent).into_iter().flatten() {
            out.push(Tree::Item(ComponentLine {
                name: i.item.name.clone(),
                status: status_name(&st.statuses, &i.status),
                icon: icon(&st.statuses, &i.status),
            }));
            if kids.contains_key(&Some(i.item.id)) {
                out.push(Tree::Down);
                walk(out, kids, st, Some(i.item.id));
                out.push(Tree::Up);
            }
            out.push(Tree::End);
        }
    }
    let mut out = Vec::new();
    walk(&mut out, &kids, st, None);
    out
}
