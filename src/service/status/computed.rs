//! The computed status of a page right now: every component's status (rolled up from active
//! public incidents and in-progress maintenance) and the page's overall status. Never stored.

use crate::app::App;
use crate::clock::DAY;
use crate::domain::status::{self, Direct, Impact, Level, Node};
use crate::service::error::Result;
use crate::service::status::hierarchy::MAINTENANCE;
use crate::store::hierarchy::{self as hsql, ItemRow, StatusRow};
use crate::store::incidents as isql;
use crate::store::pages::PageRow;
use std::collections::{HashMap, HashSet};

/// A component with its computed status.
#[derive(Debug, Clone)]
pub struct ItemStatus {
    pub item: ItemRow,
    pub status: String,
}

/// The status of a whole page.
#[derive(Debug, Clone)]
pub struct PageStatus {
    pub overall: String,
    pub items: Vec<ItemStatus>,
    pub statuses: Vec<StatusRow>,
}

fn key_of(level: Level, statuses: &[StatusRow]) -> String {
    match level {
        Level::Baseline => {
            statuses.iter().find(|s| !s.reserved).map(|s| s.key.clone()).unwrap_or_else(|| "operational".into())
        }
        Level::Maintenance => MAINTENANCE.to_string(),
        Level::Incident(sev) => statuses
            .iter()
            .filter(|s| !s.reserved && s.severity <= sev)
            .max_by_key(|s| s.severity)
            .map(|s| s.key.clone())
            .unwrap_or_default(),
    }
}

/// Computes the page's status from the current rows.
pub async fn page_status(app: &App, page: &PageRow) -> Result<PageStatus> {
    let pool = &app.db.pool;
    let statuses = hsql::statuses(pool, page.id).await?;
    let items = hsql::items(pool, page.id).await?;
    let severity: HashMap<&str, i64> =
        statuses.iter().filter(|s| !s.reserved).map(|s| (s.key.as_str(), s.severity)).collect();
    let mut direct: HashMap<i64, Direct> = HashMap::new();
    let mut page_level = Direct::default();
    for (item, key) in isql::active_effects(pool, page.id).await? {
        let sev = severity.get(key.as_str()).copied().unwrap_or(0);
        page_level.incident_severity = page_level.incident_severity.max(sev);
        if let Some(id) = item {
            let d = direct.entry(id).or_default();
            d.incident_severity = d.incident_severity.max(sev);
        }
    }
    for item in crate::store::maintenances::effects(pool, page.id).await? {
        page_level.maintenance = true;
        if let Some(id) = item {
            direct.entry(id).or_default().maintenance = true;
        }
    }
    let nodes: Vec<Node> = items.iter().map(|i| Node { id: i.id, parent: i.parent_id }).collect();
    let levels = status::roll_up(&nodes, &direct);
    let items: Vec<ItemStatus> = items
        .into_iter()
        .map(|item| {
            let level = levels.get(&item.id).copied().unwrap_or(Level::Baseline);
            ItemStatus { status: key_of(level, &statuses), item }
        })
        .collect();
    let overall = key_of(status::level_of(page_level), &statuses);
    Ok(PageStatus { overall, items, statuses })
}

/// Longest uptime history served: the 90 days of bars a page shows.
pub const MAX_UPTIME_DAYS: i64 = 90;

/// One day of a component's uptime: when it starts, the percentage up, and how the day reads
/// on a bar (its worst impact, or no data before the component existed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Day {
    pub start: i64,
    pub percent: f64,
    pub mark: status::DayMark,
}

/// One component's daily uptime, oldest day first.
pub type ItemUptime = (ItemRow, Vec<Day>);

/// Daily uptime for the last `days` days (today included, up to now) of up to `limit` visible
/// components with ids above `after`, in id order. A parent counts its descendants' impacts.
/// Only the impacts of those components and their descendants are read, so a request's work and
/// memory grow with one page of components, never with every component times every day.
pub async fn uptime(app: &App, page: &PageRow, days: i64, after: i64, limit: i64) -> Result<Vec<ItemUptime>> {
    let pool = &app.db.pool;
    let days = days.clamp(1, MAX_UPTIME_DAYS);
    let now = app.now();
    let today = now - now.rem_euclid(DAY);
    let from = today - (days - 1) * DAY;
    let statuses = hsql::statuses(pool, page.id).await?;
    let weight: HashMap<&str, i64> = statuses.iter().map(|s| (s.key.as_str(), s.downtime_permille)).collect();
    // Every component of the page (at most `hierarchy::MAX_COMPONENTS`), for the parent links.
    let items = hsql::items(pool, page.id).await?;
    let parent: HashMap<i64, Option<i64>> = items.iter().map(|i| (i.id, i.parent_id)).collect();
    let mut chosen: Vec<ItemRow> = items.iter().filter(|i| i.visible && i.id > after).cloned().collect();
    chosen.sort_by_key(|i| i.id);
    chosen.truncate(usize::try_from(limit).unwrap_or(0));
    let wanted: HashSet<i64> = chosen.iter().map(|i| i.id).collect();
    let relevant: Vec<i64> =
        items.iter().map(|i| i.id).filter(|id| ancestors(*id, &parent).any(|a| wanted.contains(&a))).collect();
    // Each chosen item's impacts include its descendants' (walk up from every impacted item).
    // Beside each impact's downtime weight, its mark for the bar: any status above the baseline
    // marks the day (degraded performance is an impact even when it counts as up), a fully-down
    // status marks it an outage.
    let severity: HashMap<&str, i64> = statuses.iter().map(|s| (s.key.as_str(), s.severity)).collect();
    let mut rolled: HashMap<i64, (Vec<Impact>, Vec<Impact>)> = HashMap::new();
    for m in isql::impacts(pool, page.id, &relevant, from, now).await? {
        let w = weight.get(m.status.as_str()).copied().unwrap_or(0);
        let mark = match (severity.get(m.status.as_str()).copied().unwrap_or(0), w) {
            (0, _) => 0,
            (_, w) if w >= 1000 => 1000,
            _ => 500,
        };
        let impact = Impact { from: m.from_at, until: m.until_at, weight_permille: w };
        for id in ancestors(m.item_id, &parent).filter(|a| wanted.contains(a)) {
            let (down, marks) = rolled.entry(id).or_default();
            down.push(impact);
            marks.push(Impact { weight_permille: mark, ..impact });
        }
    }
    Ok(chosen
        .into_iter()
        .map(|item| {
            let (impacts, marks) =
                rolled.get(&item.id).map(|(d, m)| (d.as_slice(), m.as_slice())).unwrap_or((&[], &[]));
            let per_day = (0..days)
                .map(|d| {
                    let start = from + d * DAY;
                    let end = (start + DAY).min(now.max(start + 1));
                    let mark = status::DayMark::of(status::worst(marks, start, end), start + DAY, item.created_at);
                    Day { start, percent: status::uptime(impacts, start, end), mark }
                })
                .collect();
            (item, per_day)
        })
        .collect())
}

/// An item and its ancestors, nearest first (at most 64 steps, whatever the rows say).
fn ancestors(id: i64, parent: &HashMap<i64, Option<i64>>) -> impl Iterator<Item = i64> + '_ {
    std::iter::successors(Some(id), move |cur| parent.get(cur).copied().flatten()).take(64)
}
