//! The computed status of a page right now: every component's status (rolled up from active
//! public incidents and in-progress maintenance) and the page's overall status. Never stored.

use super::error::Result;
use super::hierarchy::MAINTENANCE;
use crate::app::App;
use crate::clock::DAY;
use crate::domain::status::{self, Direct, Impact, Level, Node};
use crate::store::hierarchy::{self as hsql, ItemRow, StatusRow};
use crate::store::incidents as isql;
use crate::store::tenancy::PageRow;
use std::collections::HashMap;

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
    for item in isql::maintenance_effects(pool, page.id).await? {
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

/// Daily uptime of every visible component for the last `days` days (today included, up to now),
/// oldest first. A parent counts its descendants' impacts.
pub async fn uptime(app: &App, page: &PageRow, days: i64) -> Result<Vec<(ItemRow, Vec<(i64, f64)>)>> {
    let pool = &app.db.pool;
    let now = app.now();
    let today = now - now.rem_euclid(DAY);
    let from = today - (days - 1) * DAY;
    let statuses = hsql::statuses(pool, page.id).await?;
    let weight: HashMap<&str, i64> = statuses.iter().map(|s| (s.key.as_str(), s.downtime_permille)).collect();
    let items = hsql::items(pool, page.id).await?;
    let mut by_item: HashMap<i64, Vec<Impact>> = HashMap::new();
    for m in isql::impacts(pool, page.id, from, now).await? {
        let w = weight.get(m.status.as_str()).copied().unwrap_or(0);
        by_item.entry(m.item_id).or_default().push(Impact { from: m.from_at, until: m.until_at, weight_permille: w });
    }
    // Each item's impacts include its descendants' (walk up from every impacted item).
    let parent: HashMap<i64, Option<i64>> = items.iter().map(|i| (i.id, i.parent_id)).collect();
    let mut rolled: HashMap<i64, Vec<Impact>> = HashMap::new();
    for (item, impacts) in &by_item {
        let mut cur = Some(*item);
        let mut guard = 0;
        while let Some(id) = cur {
            rolled.entry(id).or_default().extend(impacts.iter().copied());
            cur = parent.get(&id).copied().flatten();
            guard += 1;
            if guard > 64 {
                break;
            }
        }
    }
    Ok(items
        .into_iter()
        .filter(|i| i.visible)
        .map(|item| {
            let impacts = rolled.get(&item.id).map(Vec::as_slice).unwrap_or(&[]);
            let per_day = (0..days)
                .map(|d| {
                    let start = from + d * DAY;
                    let end = (start + DAY).min(now.max(start + 1));
                    (start, status::uptime(impacts, start, end))
                })
                .collect();
            (item, per_day)
        })
        .collect())
}
