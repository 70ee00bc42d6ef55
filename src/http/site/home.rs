//! The public status page (`GET /` on a page host, `/status/<prefix>/`, a verified custom
//! domain) and the private page's password gate, rendered from the templates in `templates/`
//! (askama: checked at compile time, HTML-escaped by default; decision 0014).

use super::layout::{icon, status_name, visit, Chrome, Shown, Visit};
use crate::app::App;
use crate::domain::status::{percent_label, DayMark};
use crate::service::status::computed::{self, PageStatus};
use crate::service::status::incidents::{self, Audience};
use crate::service::status::maintenances;
use askama::Template;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;

pub use crate::domain::html::esc;

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
    /// The 90-day bar, when the page shows uptime.
    pub bar: Option<UptimeBar>,
}

/// A component's uptime over the last 90 days: one segment a day, oldest first.
pub struct UptimeBar {
    /// Over the days the component existed.
    pub percent: String,
    pub days: Vec<BarDay>,
}

pub struct BarDay {
    pub class: &'static str,
    /// Date and uptime, shown on hover and focus and read by screen readers.
    pub tip: String,
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

pub async fn home(State(app): State<App>, req: Request) -> Response {
    let v = match visit(&app, req).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match home_page(&app, &v).await {
        Ok(p) => v.respond(StatusCode::OK, &p),
        Err(e) => v.failed(e),
    }
}

/// The private page's password form script: posts the password, reloads on success.
pub async fn gate_script() -> Response {
    const JS: &str = r#"(function(){
const f=document.getElementById('gate'),m=document.getElementById('msg');
f.addEventListener('submit',async function(e){e.preventDefault();
const r=await fetch(f.dataset.base+'/api/v1/viewer-access',{method:'POST',headers:{'content-type':'application/json'},
body:JSON.stringify({password:document.getElementById('gate-password').value})});
if(r.ok)location.reload();else m.textContent='Wrong password';});
})();"#;
    ([(header::CONTENT_TYPE, "application/javascript"), (header::CACHE_CONTROL, "public, max-age=300")], JS)
        .into_response()
}

/// Everything the home page shows, read through the services.
async fn home_page(app: &App, v: &Visit) -> crate::service::Result<HomePage> {
    let (page, s) = (&v.page, &v.settings);
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
            started: v.at(i.started_at),
            updated: v.at(i.updated_at),
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
            starts: v.at(m.starts_at),
            ends: v.at(m.ends_at),
        }));
    }
    let bars =
        if s.homepage_sections.iter().any(|k| k == "uptime") { uptime_bars(app, v).await? } else { HashMap::new() };
    let mut seen = std::collections::HashSet::new();
    let sections = s
        .homepage_sections
        .iter()
        .filter(|k| seen.insert(k.as_str()))
        .filter_map(|k| match k.as_str() {
            "banner" => Some(Section::Banner),
            "incidents" => Some(Section::Incidents),
            "maintenances" => Some(Section::Maintenances),
            "components" => Some(Section::Components),
            _ => None,
        })
        .collect();
    Ok(HomePage {
        page: v.chrome(),
        sections,
        banner,
        updated: v.at(app.now()),
        incidents,
        windows,
        components: tree(&st, bars),
    })
}

fn names<'a>(it: impl Iterator<Item = &'a str>) -> String {
    it.collect::<Vec<_>>().join(", ")
}

/// Every visible component's 90-day bar, by component id.
async fn uptime_bars(app: &App, v: &Visit) -> crate::service::Result<HashMap<i64, UptimeBar>> {
    let days = computed::MAX_UPTIME_DAYS;
    let rows = computed::uptime(app, &v.page, days, 0, i64::from(u16::MAX)).await?;
    Ok(rows
        .into_iter()
        .map(|(item, per_day)| {
            let known: Vec<f64> = per_day.iter().filter(|d| d.mark != DayMark::NoData).map(|d| d.percent).collect();
            let percent = if known.is_empty() {
                "no data".to_string()
            } else {
                percent_label(known.iter().sum::<f64>() / known.len() as f64)
            };
            let days = per_day
                .iter()
                .map(|d| {
                    // Bars count UTC days: the label says so, whatever the page's zone.
                    let date = format!("{} (UTC)", &crate::clock::rfc3339(d.start)[..10]);
                    let (class, tip) = match d.mark {
                        DayMark::NoData => ("d-none", format!("{date}: no data")),
                        DayMark::Operational => ("d-ok", format!("{date}: {} uptime", percent_label(d.percent))),
                        DayMark::Degraded => {
                            ("d-minor", format!("{date}: {} uptime, degraded", percent_label(d.percent)))
                        }
                        DayMark::Outage => ("d-major", format!("{date}: {} uptime, outage", percent_label(d.percent))),
                    };
                    BarDay { class, tip }
                })
                .collect();
            (item.id, UptimeBar { percent, days })
        })
        .collect())
}

/// The visible components in tree order (depth first, children after their parent), each
/// with its bar when there is one.
fn tree(st: &PageStatus, mut bars: HashMap<i64, UptimeBar>) -> Vec<Tree> {
    type Kids<'a> = HashMap<Option<i64>, Vec<&'a computed::ItemStatus>>;
    fn walk(
        out: &mut Vec<Tree>,
        kids: &Kids<'_>,
        st: &PageStatus,
        bars: &mut HashMap<i64, UptimeBar>,
        parent: Option<i64>,
    ) {
        for i in kids.get(&parent).into_iter().flatten() {
            out.push(Tree::Item(ComponentLine {
                name: i.item.name.clone(),
                status: status_name(&st.statuses, &i.status),
                icon: icon(&st.statuses, &i.status),
                bar: bars.remove(&i.item.id),
            }));
            if kids.contains_key(&Some(i.item.id)) {
                out.push(Tree::Down);
                walk(out, kids, st, bars, Some(i.item.id));
                out.push(Tree::Up);
            }
            out.push(Tree::End);
        }
    }
    let mut kids: Kids<'_> = HashMap::new();
    for i in st.items.iter().filter(|i| i.item.visible) {
        kids.entry(i.item.parent_id).or_default().push(i);
    }
    let mut out = Vec::new();
    walk(&mut out, &kids, st, &mut bars, None);
    out
}
