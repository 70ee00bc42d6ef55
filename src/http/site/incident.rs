//! `/incidents/{id}`: one public incident as readers follow it, the whole timeline of updates,
//! the affected components and, once resolved, its published post-incident report.

use super::layout::{icon, status_name, visit, Chrome, Shown, Visit};
use crate::app::App;
use crate::service::status::hierarchy;
use crate::service::status::incidents::{self, Audience};
use askama::Template;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;

pub struct TimelineEntry {
    pub stage: String,
    pub message: String,
    pub at: Shown,
}

#[derive(Template)]
#[template(path = "incident.html")]
pub struct IncidentPage {
    pub page: Chrome,
    pub title: String,
    pub status: String,
    pub icon: &'static str,
    pub impact: String,
    pub description: String,
    /// What the operator said when resolving it (empty while open).
    pub resolution: String,
    pub affected: Vec<String>,
    pub started: Shown,
    pub resolved: Option<Shown>,
    pub timeline: Vec<TimelineEntry>,
    /// The published report's paragraphs (a blank line separates them).
    pub report: Vec<String>,
}

pub async fn incident_page(State(app): State<App>, Path(raw): Path<String>, req: Request) -> Response {
    let v = match visit(&app, req).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Ok(id) = raw.parse::<i64>() else { return v.failed(crate::service::Error::NotFound("incident")) };
    match page(&app, &v, id).await {
        Ok(p) => v.respond(StatusCode::OK, &p),
        Err(e) => v.failed(e),
    }
}

async fn page(app: &App, v: &Visit, id: i64) -> crate::service::Result<IncidentPage> {
    let i = incidents::one(app, &v.page, id, Audience::Public).await?;
    // Only the vocabulary (names and symbols), not the page's computed status.
    let statuses = hierarchy::statuses(app, &v.page).await?;
    let items = incidents::items_of(app, &[i.id], Audience::Public).await?;
    let mut updates = incidents::updates_of(app, &[i.id]).await?;
    updates.sort_by_key(|u| std::cmp::Reverse((u.created_at, u.id)));
    let published = i.report_state == "published" && i.resolved_at.is_some();
    let mut chrome = v.chrome();
    chrome.description = format!("{}: {}", i.title, status_name(&statuses, &i.status));
    Ok(IncidentPage {
        page: chrome,
        status: status_name(&statuses, &i.status),
        icon: icon(&statuses, &i.status),
        impact: i.impact.clone(),
        description: i.description.clone(),
        resolution: if i.resolved_at.is_some() { i.resolution_message.clone() } else { String::new() },
        affected: items.into_iter().map(|x| x.name).collect(),
        started: v.at(i.started_at),
        resolved: i.resolved_at.map(|t| v.at(t)),
        timeline: updates
            .into_iter()
            .map(|u| TimelineEntry { stage: u.stage, message: u.message, at: v.at(u.created_at) })
            .collect(),
        report: if published {
            i.report_body.split("\n\n").map(str::trim).filter(|p| !p.is_empty()).map(String::from).collect()
        } else {
            Vec::new()
        },
        title: i.title,
    })
}
