//! The mail an event becomes: subject with the page's branding, what changed, a link to the page
//! (its canonical URL, never a request's Host) and the one-click unsubscribe link.

use crate::clock::rfc3339;
use crate::domain::html::esc;
use crate::store::events::PendingEvent;
use crate::store::notices::{self, Kind};
use crate::store::pages::PageRow;
use crate::store::{hierarchy, incidents, maintenances, Result, Tx};

/// What a mail about one event says, before the per-recipient unsubscribe link.
#[derive(Debug, Clone)]
pub struct Notice {
    pub subject: String,
    /// Every affected component (hidden ones too), for scope matching.
    pub affected: Vec<i64>,
    /// `incident` or `maintenance`, its id and title, for webhook payloads.
    kind: &'static str,
    subject_id: i64,
    title: String,
    brand: String,
    /// The page's brand color (validated `#rrggbb`) and logo, for the HTML body.
    color: String,
    logo: Option<String>,
    headline: String,
    status: String,
    message: String,
    components: Vec<String>,
    when: Option<String>,
    link: String,
}

impl Notice {
    /// Reads the event's subject as it is now; `None` when there is nothing to tell (the subject
    /// was deleted, or an incident is no longer public).
    pub async fn load(tx: &mut Tx, page: &PageRow, ev: &PendingEvent, url: &str) -> Result<Option<Notice>> {
        let settings = crate::service::org::pages::settings_of(page);
        let (color, logo) = (settings.brand_color.clone(), settings.logo_url.clone());
        let brand = if settings.title.trim().is_empty() { page.name.clone() } else { settings.title };
        let action = ev.kind.rsplit('.').next().unwrap_or("updated").replace('_', " ");
        let kind = if ev.subject_kind == "maintenance" { "maintenance" } else { "incident" };
        let base = |title: String,
                    headline: String,
                    status: String,
                    message: String,
                    components,
                    affected,
                    when,
                    anchor: String| Notice {
            subject: format!("[{brand}] {headline}: {status}"),
            affected,
            kind,
            subject_id: ev.subject_id,
            title,
            brand: brand.clone(),
            color: color.clone(),
            logo: logo.clone(),
            headline,
            status,
            message,
            components,
            when,
            link: format!("{url}/#{anchor}"),
        };
        match ev.subject_kind.as_str() {
            "incident" => {
                let Some(inc) = notices::by_id::<incidents::IncidentRow, _>(&mut **tx, page.id, ev.subject_id).await?
                else {
                    return Ok(None);
                };
                if inc.visibility != "public" {
                    return Ok(None);
                }
                let items = notices::items_of(&mut **tx, Kind::Incident, &[inc.id], false).await?;
                let visible: Vec<i64> = notices::items_of(&mut **tx, Kind::Incident, &[inc.id], true)
                    .await?
                    .iter()
                    .map(|i| i.item_id)
                    .collect();
                let message = notices::updates_of(&mut **tx, Kind::Incident, &[inc.id])
                    .await?
                    .into_iter()
                    .next()
                    .map(|u| u.message)
                    .unwrap_or_else(|| inc.description.clone());
                let status = hierarchy::statuses(&mut **tx, page.id)
                    .await?
                    .into_iter()
                    .find(|s| s.key == inc.status)
                    .map_or(inc.status.clone(), |s| s.name);
                let status = if inc.resolved_at.is_some() { "Resolved".to_string() } else { status };
                let components =
                    items.iter().filter(|i| visible.contains(&i.item_id)).map(|i| i.name.clone()).collect();
                let affected = items.iter().map(|i| i.item_id).collect();
                let headline = format!("{} ({action})", inc.title);
                let anchor = format!("incident-{}", inc.id);
                Ok(Some(base(inc.title.clone(), headline, status, message, components, affected, None, anchor)))
            }
            "maintenance" => {
                let Some(m) =
                    notices::by_id::<maintenances::MaintenanceRow, _>(&mut **tx, page.id, ev.subject_id).await?
                else {
                    return Ok(None);
                };
                let items = notices::items_of(&mut **tx, Kind::Maintenance, &[m.id], false).await?;
                let visible: Vec<i64> = notices::items_of(&mut **tx, Kind::Maintenance, &[m.id], true)
                    .await?
                    .iter()
                    .map(|i| i.item_id)
                    .collect();
                let message = notices::updates_of(&mut **tx, Kind::Maintenance, &[m.id])
                    .await?
                    .into_iter()
                    .max_by_key(|u| (u.created_at, u.id))
                    .map(|u| u.message)
                    .unwrap_or_else(|| m.description.clone());
                let components =
                    items.iter().filter(|i| visible.contains(&i.item_id)).map(|i| i.name.clone()).collect();
                let affected = items.iter().map(|i| i.item_id).collect();
                let when = Some(format!("{} to {} (UTC)", rfc3339(m.starts_at), rfc3339(m.ends_at)));
                let headline = format!("Maintenance {action}: {}", m.title);
                let anchor = format!("maintenance-{}", m.id);
                let stage = m.stage.replace('_', " ");
                Ok(Some(base(m.title.clone(), headline, stage, message, components, affected, when, anchor)))
            }
            _ => Ok(None),
        }
    }

    /// The JSON body of a webhook call about this event (Standard Webhooks shape: `type`,
    /// `timestamp`, `data`).
    pub fn webhook_payload(&self, ev: &PendingEvent, page: &PageRow, page_url: &str, now: i64) -> String {
        serde_json::json!({
            "type": ev.kind,
            "timestamp": rfc3339(now),
            "data": {
                "event_id": ev.id,
                "page": {"id": page.id, "name": page.name, "url": page_url},
                self.kind: {
                    "id": self.subject_id,
                    "title": self.title,
                    "status": self.status,
                    "message": self.message,
                    "components": self.components,
                    "window": self.when,
                    "url": self.link,
                },
            },
        })
        .to_string()
    }

    /// The text and HTML bodies for one recipient.
    pub fn bodies(&self, unsubscribe: &str) -> (String, String) {
        let components = if self.components.is_empty() { "—".to_string() } else { self.components.join(", ") };
        let when = self.when.as_ref().map(|w| format!("When: {w}\n")).unwrap_or_default();
        let text = format!(
            "{brand}\n\n{headline}\nStatus: {status}\nAffected: {components}\n{when}\n{message}\n\n\
             Details: {link}\n\nUnsubscribe: {unsubscribe}\n",
            brand = self.brand,
            headline = self.headline,
            status = self.status,
            message = self.message,
            link = self.link,
        );
        let when_html = self.when.as_ref().map(|w| format!("<p>When: {}</p>", esc(w))).unwrap_or_default();
        let logo =
            self.logo.as_ref().map(|l| format!("<img src=\"{}\" alt=\"\" height=\"32\"> ", esc(l))).unwrap_or_default();
        let html = format!(
            "<!doctype html><html><body><div style=\"border-top:6px solid {};padding-top:8px\">\
             <h1>{logo}{}</h1></div><h2>{}</h2><p><strong>Status:</strong> {}</p>\
             <p><strong>Affected:</strong> {}</p>{when_html}<p>{}</p><p><a href=\"{}\">View on the status page</a></p>\
             <hr><p><small><a href=\"{}\">Unsubscribe</a></small></p></body></html>",
            esc(&self.color),
            esc(&self.brand),
            esc(&self.headline),
            esc(&self.status),
            esc(&components),
            esc(&self.message),
            esc(&self.link),
            esc(unsubscribe),
        );
        (text, html)
    }
}
