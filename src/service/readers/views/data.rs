//! A view's data: the page's computed status (`service::status`) cut down to the selected
//! components and their descendants, and the incidents and maintenance that touch them.
//!
//! "Touching" follows the subscriber scope rule (decision 0005): a row naming a selected
//! component, one of its descendants or one of its ancestors (an incident on the whole platform
//! concerns its parts), or naming no component at all (the whole page).

use super::ViewDoc;
use crate::app::App;
use crate::clock::DAY;
use crate::domain::maintenance::State;
use crate::service::error::Result;
use crate::service::status::computed::{self, ItemStatus, PageStatus};
use crate::service::status::hierarchy::MAINTENANCE;
use crate::store::hierarchy::StatusRow;
use crate::store::incidents::IncidentRow;
use crate::store::maintenances::MaintenanceRow;
use crate::store::notices::{self as nsql, Kind};
use crate::store::pages::PageRow;
use crate::store::views as sql;
use std::collections::{HashMap, HashSet};

/// How far back resolved incidents and finished maintenance count as recent.
pub const RECENT: i64 = 14 * DAY;
/// Most incidents, and most maintenance windows, one view shows.
pub const MAX_ROWS: i64 = 50;

/// A selected component that the view can no longer show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub identifier: String,
    /// `deleted` or `hidden`.
    pub problem: &'static str,
}

/// Everything a view shows.
#[derive(Debug, Clone)]
pub struct ViewData {
    /// The scoped status: `items` are the selected components (roots, `parent_id: None`) and their
    /// descendants; `overall` their worst status, page-wide incidents and maintenance included.
    pub status: PageStatus,
    pub active_incidents: Vec<IncidentRow>,
    pub recent_incidents: Vec<IncidentRow>,
    pub active_maintenances: Vec<MaintenanceRow>,
    pub upcoming_maintenances: Vec<MaintenanceRow>,
    pub recent_maintenances: Vec<MaintenanceRow>,
    pub warnings: Vec<Warning>,
}

/// How severe a status key is: the baseline lowest, maintenance above it, incidents by severity.
fn rank(key: &str, statuses: &[StatusRow]) -> i64 {
    if key == MAINTENANCE {
        return 1;
    }
    let baseline = statuses.iter().find(|s| !s.reserved).map(|s| s.key.as_str());
    if Some(key) == baseline {
        return 0;
    }
    statuses.iter().find(|s| !s.reserved && s.key == key).map_or(0, |s| 2 + s.severity)
}

pub async fn load(app: &App, page: &PageRow, d: &ViewDoc) -> Result<ViewData> {
    let whole = computed::page_status(app, page).await?;
    let by_identifier: HashMap<&str, &ItemStatus> =
        whole.items.iter().map(|i| (i.item.identifier.as_str(), i)).collect();
    let mut warnings = Vec::new();
    let mut selected: Vec<i64> = Vec::new();
    for identifier in &d.components {
        match by_identifier.get(identifier.as_str()) {
            None => warnings.push(Warning { identifier: identifier.clone(), problem: "deleted" }),
            Some(i) if !i.item.visible => warnings.push(Warning { identifier: identifier.clone(), problem: "hidden" }),
            Some(i) => selected.push(i.item.id),
        }
    }
    let mut children: HashMap<i64, Vec<i64>> = HashMap::new();
    let parent: HashMap<i64, Option<i64>> = whole.items.iter().map(|i| (i.item.id, i.item.parent_id)).collect();
    for i in &whole.items {
        if let Some(p) = i.item.parent_id {
            children.entry(p).or_default().push(i.item.id);
        }
    }
    let mut scope: HashSet<i64> = HashSet::new();
    let mut stack = selected.clone();
    while let Some(id) = stack.pop() {
        if scope.insert(id) {
            stack.extend(children.get(&id).into_iter().flatten().copied());
        }
    }
    let mut touching: Vec<i64> = scope.iter().copied().collect();
    for id in &selected {
        let mut cur = parent.get(id).copied().flatten();
        let mut guard = 0;
        while let (Some(p), true) = (cur, guard < 64) {
            touching.push(p);
            cur = parent.get(&p).copied().flatten();
            guard += 1;
        }
    }
    touching.sort_unstable();
    touching.dedup();

    // The scoped tree: selected components become roots (unless an ancestor is selected too).
    let items: Vec<ItemStatus> = whole
        .items
        .iter()
        .filter(|i| scope.contains(&i.item.id))
        .map(|i| {
            let mut i = i.clone();
            if i.item.parent_id.is_some_and(|p| !scope.contains(&p)) {
                i.item.parent_id = None;
            }
            i
        })
        .collect();

    let pool = &app.db.pool;
    let since = app.now() - RECENT;
    let mut incidents = Vec::new();
    for id in sql::touching(pool, sql::Listed::Incidents, page.id, &touching, since, MAX_ROWS).await? {
        if let Some(row) = nsql::by_id::<IncidentRow, _>(pool, page.id, id).await? {
            incidents.push(row);
        }
    }
    let mut windows = Vec::new();
    for id in sql::touching(pool, sql::Listed::Maintenances, page.id, &touching, since, MAX_ROWS).await? {
        if let Some(row) = nsql::by_id::<MaintenanceRow, _>(pool, page.id, id).await? {
            windows.push(row);
        }
    }

    // Page-wide rows (no component named) weigh on every view, as they do on the page.
    let incident_ids: Vec<i64> = incidents.iter().map(|r| r.id).collect();
    let named: HashSet<i64> =
        nsql::items_of(pool, Kind::Incident, &incident_ids, false).await?.iter().map(|i| i.notice_id).collect();
    let window_ids: Vec<i64> = windows.iter().map(|r| r.id).collect();
    let named_windows: HashSet<i64> =
        nsql::items_of(pool, Kind::Maintenance, &window_ids, false).await?.iter().map(|i| i.notice_id).collect();
    let statuses = &whole.statuses;
    let mut overall =
        statuses.iter().find(|s| !s.reserved).map(|s| s.key.clone()).unwrap_or_else(|| "operational".into());
    let mut consider = |key: &str| {
        if rank(key, statuses) > rank(&overall, statuses) {
            overall = key.to_string();
        }
    };
    for i in items.iter().filter(|i| i.item.parent_id.is_none() && i.item.visible) {
        consider(&i.status);
    }
    for r in incidents.iter().filter(|r| r.resolved_at.is_none() && !named.contains(&r.id)) {
        consider(&r.status);
    }
    for w in windows.iter().filter(|w| !named_windows.contains(&w.id)) {
        if State::of(w.started_at, w.completed_at, w.cancelled_at) == State::InProgress {
            consider(MAINTENANCE);
        }
    }

    let (active_incidents, recent_incidents) = incidents.into_iter().partition(|r| r.resolved_at.is_none());
    let mut active_maintenances = Vec::new();
    let mut upcoming_maintenances = Vec::new();
    let mut recent_maintenances = Vec::new();
    for w in windows {
        match State::of(w.started_at, w.completed_at, w.cancelled_at) {
            State::InProgress => active_maintenances.push(w),
            State::Scheduled => upcoming_maintenances.push(w),
            _ => recent_maintenances.push(w),
        }
    }
    upcoming_maintenances.sort_by_key(|w| (w.starts_at, w.id));
    active_maintenances.sort_by_key(|w| (w.starts_at, w.id));
    Ok(ViewData {
        status: PageStatus { overall, items, statuses: whole.statuses.clone() },
        active_incidents,
        recent_incidents,
        active_maintenances,
        upcoming_maintenances,
        recent_maintenances,
        warnings,
    })
}
