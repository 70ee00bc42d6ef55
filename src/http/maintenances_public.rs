//! Maintenance windows as the public sees them.

use super::error::ApiResult;
use crate::app::App;
use crate::clock::rfc3339;
use crate::store::maintenances::{self as msql, Filter, MaintenanceRow};
use crate::store::tenancy::PageRow;
use serde_json::{json, Value};

/// Maintenance windows with their affected items, as the public sees them.
pub async fn views(app: &App, rows: &[MaintenanceRow]) -> ApiResult<Vec<Value>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let items = msql::items_of(&app.db.pool, &ids).await?;
    Ok(rows
        .iter()
        .map(|m| {
            json!({
                "id": m.id,
                "title": m.title,
                "description": m.description,
                "impact": m.impact,
                "stage": m.stage,
                "starts_at": rfc3339(m.starts_at),
                "ends_at": rfc3339(m.ends_at),
                "time_zone": m.time_zone,
                "started_at": m.started_at.map(rfc3339),
                "completed_at": m.completed_at.map(rfc3339),
                "cancelled_at": m.cancelled_at.map(rfc3339),
                "affected_items": items.iter().filter(|i| i.0 == m.id).map(|i| json!(i.2)).collect::<Vec<_>>(),
                "affected_items_freetext": m.affected_items_freetext,
            })
        })
        .collect())
}

/// The active and upcoming windows for the summary.
pub async fn summary_lists(app: &App, page: &PageRow) -> ApiResult<Value> {
    let active = msql::list(&app.db.pool, page.id, Filter::Active, 0, 50).await?;
    let upcoming = msql::list(&app.db.pool, page.id, Filter::Upcoming, 0, 50).await?;
    Ok(json!({"active": views(app, &active).await?, "upcoming": views(app, &upcoming).await?}))
}
