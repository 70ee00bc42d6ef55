//! Public feeds of a page: RSS 2.0 and Atom history (`/history.rss`, `/history.atom`) and an
//! iCalendar of maintenance (`/maintenances.ics`). Gated like every public read (private pages
//! need viewer access), cached like them (ETag, 304). Links come from the page's canonical URL,
//! never from the request's Host; internal incidents never appear.

pub mod atom;
pub mod ics;
pub mod reader;
pub mod rss;

use crate::app::App;
use crate::clock::Millis;
use crate::http::api::public::{cacheable_typed, canonical_url, Rendered};
use crate::http::extract::error::ApiResult;
use crate::http::extract::principal::Reader;
use crate::service::org::pages;
use crate::service::status::incidents::{self as incident_reads, Audience};
use crate::service::status::maintenances::{self, Filter as MFilter};
use crate::store::incidents::Filter;
use crate::store::maintenances::MaintenanceRow;
use crate::store::pages::PageRow;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;

/// At most this many entries in a history feed.
pub const MAX_ENTRIES: usize = 50;
/// At most this many windows in the calendar (the most recently created).
pub const MAX_WINDOWS: i64 = 200;

pub const RSS_TYPE: &str = "application/rss+xml; charset=utf-8";
pub const ATOM_TYPE: &str = "application/atom+xml; charset=utf-8";
const ICS_TYPE: &str = "text/calendar; charset=utf-8";

/// What a history feed describes: the page.
#[derive(Debug, Clone)]
pub struct Channel {
    /// A stable URI for the feed (Atom `id`).
    pub id: String,
    pub title: String,
    /// The page's canonical public URL.
    pub link: String,
    pub description: String,
    /// The newest entry's `updated` (never "now", so the ETag stays stable).
    pub updated: Millis,
    /// The feed's own URL (`rel="self"`); `None` for the page's history feeds.
    pub self_link: Option<String>,
}

impl Channel {
    /// The `rel="self"` URL: the feed's own, else the page's history feed of that `file`.
    pub fn self_url(&self, file: &str) -> String {
        self.self_link.clone().unwrap_or_else(|| format!("{}/{file}", self.link))
    }
}

/// One incident or maintenance window in a history feed.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Stable per incident or window (RSS `guid`, Atom `id`).
    pub id: String,
    pub title: String,
    pub link: String,
    pub published: Millis,
    pub updated: Millis,
    /// The latest update's text (or the description before any update).
    pub summary: String,
}

/// One maintenance window in the calendar.
#[derive(Debug, Clone)]
pub struct Event {
    pub uid: String,
    pub title: String,
    pub description: String,
    pub link: String,
    pub starts_at: Millis,
    pub ends_at: Millis,
    pub updated: Millis,
    pub cancelled: bool,
}

/// `GET /history.rss`: RSS 2.0 history of public incidents and maintenance.
pub async fn history_rss(State(app): State<App>, r: Reader, headers: HeaderMap) -> ApiResult<Response> {
    let (channel, entries) = history(&app, &r.page).await?;
    let body = Rendered::bytes(rss::render(&channel, &entries).into_bytes());
    Ok(cacheable_typed(&headers, &r.page, &body, RSS_TYPE))
}

/// `GET /history.atom`: the same history as Atom 1.0.
pub async fn history_atom(State(app): State<App>, r: Reader, headers: HeaderMap) -> ApiResult<Response> {
    let (channel, entries) = history(&app, &r.page).await?;
    let body = Rendered::bytes(atom::render(&channel, &entries).into_bytes());
    Ok(cacheable_typed(&headers, &r.page, &body, ATOM_TYPE))
}

/// `GET /maintenances.ics`: every window (cancelled ones as `STATUS:CANCELLED`, so a calendar
/// that already holds them strikes them out).
pub async fn maintenances_ics(State(app): State<App>, r: Reader, headers: HeaderMap) -> ApiResult<Response> {
    let (url, _) = canonical_url(&app, &r.page).await?;
    let rows = maintenances::list(&app, &r.page, MFilter::All, None, MAX_WINDOWS).await?;
    let events: Vec<Event> = rows
        .iter()
        .map(|m| Event {
            uid: format!("maintenance-{}.page-{}@statibeat", m.id, r.page.id),
            title: m.title.clone(),
            description: m.description.clone(),
            link: format!("{url}/#maintenance-{}", m.id),
            starts_at: m.starts_at,
            ends_at: m.ends_at,
            updated: m.updated_at,
            cancelled: m.cancelled_at.is_some(),
        })
        .collect();
    let body = Rendered::bytes(ics::render(&title_of(&r.page), &events).into_bytes());
    Ok(cacheable_typed(&headers, &r.page, &body, ICS_TYPE))
}

pub fn title_of(page: &PageRow) -> String {
    let s = pages::settings_of(page);
    if s.title.is_empty() {
        page.name.clone()
    } else {
        s.title
    }
}

/// The page's public incidents and its active and completed (not cancelled) windows, newest
/// first, at most [`MAX_ENTRIES`].
async fn history(app: &App, page: &PageRow) -> ApiResult<(Channel, Vec<Entry>)> {
    let (channel, candidates) = candidates(app, page, MAX_ENTRIES, false).await?;
    Ok((channel, candidates.into_iter().map(|c| c.entry).collect()))
}

/// A history entry with what readers' own feeds filter on.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub entry: Entry,
    /// A maintenance window (else an incident).
    pub maintenance: bool,
    /// Ids of the components it names (hidden ones too); empty = the whole page.
    pub items: Vec<i64>,
}

/// The page's history as [`Candidate`]s: up to `limit` public incidents and `limit` active and
/// completed windows, newest first, cut to `limit`. `with_items` loads the named components.
pub async fn candidates(
    app: &App,
    page: &PageRow,
    limit: usize,
    with_items: bool,
) -> ApiResult<(Channel, Vec<Candidate>)> {
    let (url, _) = canonical_url(app, page).await?;
    let max = limit as i64;
    let incidents = incident_reads::list(app, page, Filter::All, Audience::Public, i64::MAX, max).await?;
    let ids: Vec<i64> = incidents.iter().map(|i| i.id).collect();
    let updates = incident_reads::updates_of(app, &ids).await?;
    // Every affected item, hidden ones too: they only decide which readers' scopes an entry is in.
    let items = if with_items { incident_reads::items_of(app, &ids, Audience::Admin).await? } else { Vec::new() };
    let mut out: Vec<Candidate> = incidents
        .iter()
        .map(|i| {
            // Updates come newest first per incident.
            let latest = updates.iter().find(|u| u.notice_id == i.id);
            let entry = Entry {
                id: format!("statibeat:incident:{}:{}", page.id, i.id),
                title: i.title.clone(),
                link: format!("{url}/#incident-{}", i.id),
                published: i.started_at,
                updated: latest.map_or(i.updated_at, |u| u.created_at.max(i.updated_at)),
                summary: latest.map_or(&i.description, |u| &u.message).clone(),
            };
            let items = items.iter().filter(|x| x.notice_id == i.id).map(|x| x.item_id).collect();
            Candidate { entry, maintenance: false, items }
        })
        .collect();
    let mut windows: Vec<MaintenanceRow> = maintenances::list(app, page, MFilter::Active, None, max).await?;
    windows.extend(maintenances::list(app, page, MFilter::Completed, None, max).await?);
    windows.retain(|m| m.cancelled_at.is_none());
    let ids: Vec<i64> = windows.iter().map(|m| m.id).collect();
    let updates = maintenances::updates_of(app, &ids).await?;
    let items = if with_items { maintenances::items_of(app, &ids, false).await? } else { Vec::new() };
    out.extend(windows.iter().map(|m| {
        let latest = updates.iter().find(|u| u.notice_id == m.id);
        let entry = Entry {
            id: format!("statibeat:maintenance:{}:{}", page.id, m.id),
            title: format!("Maintenance: {}", m.title),
            link: format!("{url}/#maintenance-{}", m.id),
            published: m.started_at.unwrap_or(m.starts_at),
            updated: latest.map_or(m.updated_at, |u| u.created_at.max(m.updated_at)),
            summary: latest.map_or(&m.description, |u| &u.message).clone(),
        };
        let items = items.iter().filter(|x| x.notice_id == m.id).map(|x| x.item_id).collect();
        Candidate { entry, maintenance: true, items }
    }));
    out.sort_by(|a, b| (b.entry.published, &b.entry.id).cmp(&(a.entry.published, &a.entry.id)));
    out.truncate(limit);
    let title = title_of(page);
    let channel = Channel {
        id: format!("statibeat:page:{}", page.id),
        description: format!("Incidents and maintenance of {title}"),
        title,
        updated: out.iter().map(|c| c.entry.updated).max().unwrap_or(page.created_at),
        link: url,
        self_link: None,
    };
    Ok((channel, out))
}

/// Escapes text for XML content and attribute values; drops characters XML 1.0 cannot carry.
pub fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

fn strftime(ms: Millis, fmt: &str) -> String {
    let ts = jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    ts.strftime(fmt).to_string()
}

/// RFC 822 (as RSS 2.0 wants it), in UTC: `Mon, 30 Nov 2026 12:00:00 +0000`.
pub fn rfc822(ms: Millis) -> String {
    strftime(ms, "%a, %d %b %Y %H:%M:%S +0000")
}

/// RFC 3339 in UTC, whole seconds: `2026-11-30T12:00:00Z`.
pub fn rfc3339_seconds(ms: Millis) -> String {
    strftime(ms, "%Y-%m-%dT%H:%M:%SZ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_markup_and_drops_control_characters() {
        assert_eq!(xml(r#"<b>"Tom" & 'Jerry'</b>"#), "&lt;b&gt;&quot;Tom&quot; &amp; &apos;Jerry&apos;&lt;/b&gt;");
        assert_eq!(xml("a\u{0}b\u{1b}c\td\ne"), "abc\td\ne");
        assert_eq!(xml("café ✓"), "café ✓");
    }

    #[test]
    fn dates_are_utc() {
        // 2026-11-30T12:00:00Z, a Monday.
        assert_eq!(rfc822(1_796_040_000_000), "Mon, 30 Nov 2026 12:00:00 +0000");
        assert_eq!(rfc3339_seconds(1_796_040_000_999), "2026-11-30T12:00:00Z");
    }
}
