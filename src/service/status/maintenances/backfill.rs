//! Backfill: records a past window with explicit times and its updates. Never notifies anyone.

use super::{
    affected, insert, instant, post, request_hash, retried, stages, subject, texts, window, zone, MaintenanceInput,
};
use crate::app::App;
use crate::domain::maintenance as rules;
use crate::domain::types;
use crate::service::audit::Actor;
use crate::service::error::{Error, Result};
use crate::store::maintenances::{Lifecycle, MaintenanceFields, MaintenanceRow};
use crate::store::notices::{self as nsql, Kind};
use crate::store::pages::PageRow;

/// One update of a backfilled window's timeline.
#[derive(Debug, Clone)]
pub struct BackfillUpdate {
    pub message: String,
    /// An in-progress stage (default: the one before, starting with "in progress").
    pub stage: Option<String>,
    /// RFC 3339, or a local date-time in the window's zone; within the window, in order.
    pub created_at: String,
}

/// Records a completed past window: the preset start update at its start, the given updates, the
/// preset completion update at its end. Retry-safe by `external_id` like a create.
pub async fn backfill(
    app: &App,
    actor: &Actor,
    page: &PageRow,
    input: MaintenanceInput,
    updates: Vec<BackfillUpdate>,
) -> Result<(MaintenanceRow, bool)> {
    let hash = request_hash(&input.request_json);
    if let Some(done) = retried(app, page, input.external_id.as_deref(), &hash).await? {
        return Ok(done);
    }
    let t = texts(&input.title, &input.description, &input.impact, &input.affected_items_freetext)?;
    let zone = zone(page, input.time_zone.as_deref())?;
    let starts_at = instant(&zone, "starts_at", &input.starts_at)?;
    let ends_at = instant(&zone, "ends_at", &input.ends_at)?;
    window(starts_at, ends_at)?;
    let now = app.now();
    if ends_at > now {
        return Err(Error::field(
            "ends_at",
            "a backfilled window lies in the past; schedule future windows with POST /api/v1/admin/maintenances",
        ));
    }
    let items = affected(app, page, &input.affected_items).await?;
    let stages = stages(app, page).await?;
    if updates.len() > 200 {
        return Err(Error::field("updates", "at most 200 updates"));
    }
    let mut timeline = Vec::new();
    let (mut last, mut pos) = (starts_at, 1usize);
    for (i, u) in updates.iter().enumerate() {
        let field = format!("updates[{i}]");
        let at = instant(&zone, &format!("{field}.created_at"), &u.created_at)?;
        if at < last || at > ends_at {
            return Err(Error::field(&field, "updates must be in time order, between starts_at and ends_at"));
        }
        if let Some(s) = &u.stage {
            pos = stages.for_backfill(pos, s).map_err(Error::invalid(&format!("{field}.stage")))?;
        }
        let message = types::name(&u.message, 20_000).map_err(Error::invalid(&format!("{field}.message")))?;
        timeline.push((at, message, stages.at(pos).to_string()));
        last = at;
    }
    let fields = MaintenanceFields {
        title: &t.title,
        description: &t.description,
        impact: &t.impact,
        affected_items_freetext: &t.freetext,
        starts_at,
        ends_at,
        time_zone: zone.name(),
        auto_start: input.auto_start,
        auto_complete: input.auto_complete,
        reminder_minutes: 0,
        notify: false,
    };
    let life = Lifecycle {
        stage: stages.completed(),
        started_at: Some(starts_at),
        completed_at: Some(ends_at),
        reminded_at: None,
    };
    let mut tx = app.db.begin().await?;
    let id = match insert(app, &mut tx, page, (input.external_id.as_deref(), &hash), &fields, &life, now).await? {
        Ok(id) => id,
        Err(existing) => return Ok(existing),
    };
    nsql::set_items(&mut tx, Kind::Maintenance, id, &items).await?;
    post(&mut tx, id, rules::START_MESSAGE, stages.in_progress(), false, starts_at).await?;
    for (at, message, stage) in &timeline {
        post(&mut tx, id, message, stage, false, *at).await?;
    }
    post(&mut tx, id, rules::COMPLETE_MESSAGE, stages.completed(), false, ends_at).await?;
    subject(page, id)
        .audit(&mut tx, actor, "maintenance.backfilled", serde_json::json!({"title": t.title}), now)
        .await?;
    tx.commit().await?;
    Ok((super::get(app, page, id).await?, true))
}
