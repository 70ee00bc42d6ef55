//! A page's vocabulary: status definitions and lifecycle stages, with the defaults every page
//! starts with.

use super::event;
use crate::app::App;
use crate::domain::types;
use crate::service::audit::{self, Actor};
use crate::service::error::{Error, Result};
use crate::store::hierarchy::{self as sql, StageRow, StatusRow};
use crate::store::pages::PageRow;
use crate::store::Tx;

/// The default status vocabulary: (key, name, severity, color, downtime weight ‰). `maintenance`
/// is reserved: shown during maintenance, never an incident's status.
pub const DEFAULT_STATUSES: &[(&str, &str, i64, &str, i64)] = &[
    ("operational", "Operational", 0, "#16a34a", 0),
    ("degraded", "Degraded performance", 1, "#ca8a04", 0),
    ("partial_outage", "Partial outage", 2, "#ea580c", 300),
    ("major_outage", "Major outage", 3, "#dc2626", 1000),
];
pub const MAINTENANCE: &str = "maintenance";
/// Most status definitions of a page (the reserved `maintenance` aside).
pub const MAX_STATUSES: usize = 20;
/// Most lifecycle stages of one kind.
pub const MAX_STAGES: usize = 20;
pub const DEFAULT_INCIDENT_STAGES: &[(&str, &str)] = &[
    ("investigating", "Investigating"),
    ("identified", "Identified"),
    ("monitoring", "Monitoring"),
    ("resolved", "Resolved"),
];
pub const DEFAULT_MAINTENANCE_STAGES: &[(&str, &str)] = &[
    ("scheduled", "Scheduled"),
    ("in_progress", "In progress"),
    ("completed", "Completed"),
    ("cancelled", "Cancelled"),
];

fn maintenance_row() -> StatusRow {
    StatusRow {
        id: 0,
        key: MAINTENANCE.into(),
        name: "Under maintenance".into(),
        severity: 0,
        color: "#2563eb".into(),
        downtime_permille: 0,
        reserved: true,
    }
}

/// Seeds a new page's statuses and stages (inside its creating transaction).
pub async fn seed_defaults(tx: &mut Tx, page_id: i64) -> Result<()> {
    let mut defs: Vec<StatusRow> = DEFAULT_STATUSES
        .iter()
        .map(|(k, n, s, c, w)| StatusRow {
            id: 0,
            key: (*k).into(),
            name: (*n).into(),
            severity: *s,
            color: (*c).into(),
            downtime_permille: *w,
            reserved: false,
        })
        .collect();
    defs.push(maintenance_row());
    sql::replace_statuses(tx, page_id, &defs).await?;
    let owned = |s: &[(&str, &str)]| s.iter().map(|(k, n)| (k.to_string(), n.to_string())).collect::<Vec<_>>();
    sql::replace_stages(tx, page_id, "incident", &owned(DEFAULT_INCIDENT_STAGES)).await?;
    sql::replace_stages(tx, page_id, "maintenance", &owned(DEFAULT_MAINTENANCE_STAGES)).await?;
    Ok(())
}

// ---- statuses and stages ----------------------------------------------------------------------

pub async fn statuses(app: &App, page: &PageRow) -> Result<Vec<StatusRow>> {
    Ok(sql::statuses(&app.db.pool, page.id).await?)
}

/// A status definition as a caller orders it (least to most severe).
pub struct StatusInput {
    pub key: String,
    pub name: String,
    pub color: String,
    pub downtime_weight: f64,
}

/// Replaces the status vocabulary: the first is the healthy baseline; `maintenance` is kept.
/// A status still used by an unresolved incident cannot be removed.
pub async fn replace_statuses(
    app: &App,
    actor: &Actor,
    page: &PageRow,
    input: Vec<StatusInput>,
) -> Result<Vec<StatusRow>> {
    if input.len() > MAX_STATUSES {
        return Err(Error::limit(Some("statuses"), format!("a page has at most {MAX_STATUSES} statuses")));
    }
    if input.len() < 2 {
        return Err(Error::field(
            "statuses",
            format!("give 2 to {MAX_STATUSES} statuses, from the healthy baseline to the most severe"),
        ));
    }
    let mut defs = Vec::new();
    for (i, s) in input.iter().enumerate() {
        let field = format!("statuses[{i}]");
        check_key(&s.key).map_err(|m| Error::field(&field, m))?;
        if s.key == MAINTENANCE {
            return Err(Error::field(&field, "'maintenance' is reserved"));
        }
        if defs.iter().any(|d: &StatusRow| d.key == s.key) {
            return Err(Error::field(&field, format!("key '{}' appears twice", s.key)));
        }
        let name = types::name(&s.name, 100).map_err(|e| Error::field(&field, e.0))?;
        check_color(&s.color).map_err(|m| Error::field(&field, m))?;
        if !(0.0..=1.0).contains(&s.downtime_weight) || (i == 0 && s.downtime_weight > 0.0) {
            return Err(Error::field(&field, "downtime_weight must be 0 to 1 (0 for the baseline)"));
        }
        defs.push(StatusRow {
            id: 0,
            key: s.key.clone(),
            name,
            severity: i as i64,
            color: s.color.clone(),
            downtime_permille: (s.downtime_weight * 1000.0).round() as i64,
            reserved: false,
        });
    }
    let keep = statuses(app, page).await?.into_iter().find(|s| s.reserved).unwrap_or_else(maintenance_row);
    defs.push(keep);
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let used = crate::store::incidents::statuses_in_use(&mut *tx, page.id).await?;
    if let Some(gone) = used.iter().find(|k| !defs.iter().any(|d| &d.key == *k)) {
        return Err(Error::Conflict {
            code: "status_in_use",
            message: format!("status '{gone}' is used by an unresolved incident"),
        });
    }
    sql::replace_statuses(&mut tx, page.id, &defs).await?;
    audit::record(
        &mut tx,
        actor,
        event(
            page,
            "statuses.replaced",
            "page",
            Some(page.id),
            serde_json::json!({"keys": defs.iter().map(|d| &d.key).collect::<Vec<_>>()}),
        ),
        now,
    )
    .await?;
    tx.commit().await?;
    statuses(app, page).await
}

pub async fn stages(app: &App, page: &PageRow, kind: &str) -> Result<Vec<StageRow>> {
    Ok(sql::stages(&app.db.pool, page.id, kind).await?)
}

/// Replaces the ordered stages of `incident` (first on create, last on resolve; at least 2) or
/// `maintenance` (scheduled, in progress, …, completed, cancelled; at least 4).
pub async fn replace_stages(
    app: &App,
    actor: &Actor,
    page: &PageRow,
    kind: &str,
    input: Vec<(String, String)>,
) -> Result<Vec<StageRow>> {
    let min = if kind == "incident" { 2 } else { 4 };
    if input.len() > MAX_STAGES {
        return Err(Error::limit(Some("stages"), format!("a lifecycle has at most {MAX_STAGES} stages")));
    }
    if input.len() < min {
        return Err(Error::field("stages", format!("give {min} to {MAX_STAGES} stages, in order")));
    }
    let mut seen = Vec::new();
    for (i, (key, name)) in input.iter().enumerate() {
        let field = format!("stages[{i}]");
        check_key(key).map_err(|m| Error::field(&field, m))?;
        if seen.contains(key) {
            return Err(Error::field(&field, format!("key '{key}' appears twice")));
        }
        types::name(name, 100).map_err(|e| Error::field(&field, e.0))?;
        seen.push(key.clone());
    }
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let used = if kind == "incident" {
        crate::store::incidents::stages_in_use(&mut *tx, page.id).await?
    } else {
        crate::store::maintenances::stages_in_use(&mut *tx, page.id).await?
    };
    if let Some(gone) = used.iter().find(|k| !seen.contains(k)) {
        return Err(Error::Conflict { code: "stage_in_use", message: format!("stage '{gone}' is in use") });
    }
    sql::replace_stages(&mut tx, page.id, kind, &input).await?;
    audit::record(
        &mut tx,
        actor,
        event(page, "lifecycle.replaced", "page", Some(page.id), serde_json::json!({"kind": kind, "keys": seen})),
        now,
    )
    .await?;
    tx.commit().await?;
    stages(app, page, kind).await
}

fn check_key(k: &str) -> std::result::Result<(), String> {
    let ok =
        !k.is_empty() && k.len() <= 50 && k.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err("key must be 1-50 characters of a-z, 0-9 and '_'".into())
    }
}

fn check_color(c: &str) -> std::result::Result<(), String> {
    let b = c.as_bytes();
    if b.len() == 7 && b[0] == b'#' && b[1..].iter().all(u8::is_ascii_hexdigit) {
        Ok(())
    } else {
        Err("color must be a hex color like #dc2626".into())
    }
}
