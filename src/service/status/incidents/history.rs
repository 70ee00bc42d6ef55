//! An incident's history: post-incident reports and backfilled past incidents.

use super::{affected, subject, time, visibility, IncidentInput, Vocabulary};
use crate::app::App;
use crate::clock::parse_rfc3339;
use crate::domain::types;
use crate::service::audit::Actor;
use crate::service::error::{Error, Result};
use crate::service::status::notices::{request_hash, retried};
use crate::store::incidents::{self as sql, IncidentFields, IncidentRow};
use crate::store::notices::{self as nsql, Kind, NewUpdate};
use crate::store::pages::PageRow;

/// One step of a backfilled timeline.
#[derive(Debug, Clone)]
pub struct BackfillUpdate {
    pub message: String,
    pub stage: Option<String>,
    pub status: Option<String>,
    pub created_at: String,
}

/// Post-incident report actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportAction {
    Draft,
    Publish,
    Unpublish,
}

/// Writes the report draft, or publishes / unpublishes it (publishing needs a resolved incident
/// and a non-empty report).
pub async fn report(
    app: &App,
    actor: &Actor,
    page: &PageRow,
    id: i64,
    action: ReportAction,
    body: Option<&str>,
) -> Result<IncidentRow> {
    let cur = super::get(app, page, id).await?;
    let now = app.now();
    let (text, state, published) = match action {
        ReportAction::Draft => {
            // Revising a published report takes it back to draft: unreviewed text never goes
            // public by itself; publishing again makes the revision public.
            let b = types::text(body.unwrap_or_default(), 100_000).map_err(Error::invalid("body"))?;
            (b, "draft", None)
        }
        ReportAction::Publish => {
            if cur.resolved_at.is_none() {
                return Err(Error::Conflict {
                    code: "incident_open",
                    message: "a report is published once the incident is resolved".into(),
                });
            }
            if cur.report_body.trim().is_empty() {
                return Err(Error::Conflict {
                    code: "report_empty",
                    message: "write the report before publishing it".into(),
                });
            }
            (cur.report_body.clone(), "published", Some(now))
        }
        ReportAction::Unpublish => {
            (cur.report_body.clone(), if cur.report_body.is_empty() { "none" } else { "draft" }, None)
        }
    };
    let mut tx = app.db.begin().await?;
    if !sql::set_report(&mut *tx, id, cur.version, &text, state, published, now).await? {
        return Err(super::lifecycle::changed());
    }
    subject(page, id).audit(&mut tx, actor, "incident.report", serde_json::json!({"state": state}), now).await?;
    tx.commit().await?;
    super::get(app, page, id).await
}

/// Recreates a past incident with explicit times and ordered updates; never notifies anyone.
pub async fn backfill(
    app: &App,
    actor: &Actor,
    page: &PageRow,
    mut input: IncidentInput,
    resolved_at: Option<String>,
    resolution_message: String,
    updates: Vec<BackfillUpdate>,
) -> Result<(IncidentRow, bool)> {
    let hash = request_hash(&input.request_json);
    if let Some(done) = retried(app, page, input.external_id.as_deref(), &hash).await? {
        return Ok(done);
    }
    let vocab = Vocabulary::load(app, page).await?;
    let now = app.now();
    let started_at = time("started_at", input.started_at.as_deref())?
        .ok_or_else(|| Error::field("started_at", "is required for a backfill"))?;
    let resolved = time("resolved_at", resolved_at.as_deref())?;
    if started_at > now || resolved.is_some_and(|r| r < started_at || r > now) {
        return Err(Error::field("resolved_at", "times must be in the past, with started_at ≤ resolved_at"));
    }
    let acknowledged_at = time("acknowledged_at", input.acknowledged_at.as_deref())?;
    if acknowledged_at.is_some_and(|a| a < started_at || resolved.is_some_and(|r| a > r)) {
        return Err(Error::field("acknowledged_at", "must be between started_at and resolved_at"));
    }
    let title = types::name(&input.title, 300).map_err(Error::invalid("title"))?;
    types::text(&input.impact, 2_000).map_err(Error::invalid("impact"))?;
    types::text(&input.affected_items_freetext, 2_000).map_err(Error::invalid("affected_items_freetext"))?;
    types::text(&resolution_message, 20_000).map_err(Error::invalid("resolution_message"))?;
    let description = types::text(&input.description, 20_000).map_err(Error::invalid("description"))?;
    let status = match &input.status {
        Some(s) => vocab.status(s, "status")?,
        None => vocab.default_status(),
    };
    let items = affected(app, page, &vocab, &input.affected_items, &status).await?;
    // The timeline: each update's time within [started_at, resolved_at], in order, stages forward.
    let mut timeline = Vec::new();
    let mut last_time = started_at;
    let mut stage_pos = 0usize;
    for (i, u) in updates.iter().enumerate() {
        let field = format!("updates[{i}]");
        let at = parse_rfc3339(&u.created_at)
            .ok_or_else(|| Error::field(&field, "created_at must be an RFC 3339 timestamp"))?;
        if at < last_time || at > resolved.unwrap_or(now) {
            return Err(Error::field(&field, "updates must be in time order, between started_at and resolved_at"));
        }
        let stage = match &u.stage {
            Some(s) => {
                let pos = vocab.stage_position(s, &format!("{field}.stage"))?;
                if pos < stage_pos {
                    return Err(Error::field(&field, "stages only move forward"));
                }
                stage_pos = pos;
                s.clone()
            }
            None => vocab.stages[stage_pos].key.clone(),
        };
        let st = match &u.status {
            Some(s) => vocab.status(s, &format!("{field}.status"))?,
            None => status.clone(),
        };
        let message = types::name(&u.message, 20_000).map_err(|e| Error::field(&field, e.0))?;
        timeline.push((at, message, stage, st));
        last_time = at;
    }
    if updates.len() > 200 {
        return Err(Error::field("updates", "at most 200 updates"));
    }
    let stage = if resolved.is_some() { vocab.last_stage().to_string() } else { vocab.stages[stage_pos].key.clone() };
    let vis = visibility(input.visibility.as_deref())?;
    input.notify = false;
    let fields = IncidentFields {
        external_id: input.external_id.as_deref(),
        request_hash: &hash,
        title: &title,
        description: &description,
        status: &status,
        stage: &stage,
        impact: &input.impact,
        affected_items_freetext: &input.affected_items_freetext,
        visibility: vis,
        started_at,
        acknowledged_at,
        resolved_at: resolved,
        resolution_message: &resolution_message,
    };
    let mut tx = app.db.begin().await?;
    let id = match super::insert(app, &mut tx, page, &fields, &items, resolved, now).await? {
        Ok(id) => id,
        Err(existing) => return Ok(existing),
    };
    for (at, message, stage, st) in &timeline {
        let update = NewUpdate { message, stage, statuses: Some((st, "{}")), notify: false, created_at: *at };
        nsql::insert_update(&mut *tx, Kind::Incident, id, &update).await?;
    }
    if let Some(r) = resolved {
        let text = if resolution_message.is_empty() {
            "This incident has been resolved."
        } else {
            resolution_message.as_str()
        };
        let update = NewUpdate {
            message: text,
            stage: vocab.last_stage(),
            statuses: Some((&status, "{}")),
            notify: false,
            created_at: r,
        };
        nsql::insert_update(&mut *tx, Kind::Incident, id, &update).await?;
    }
    subject(page, id).audit(&mut tx, actor, "incident.backfilled", serde_json::json!({"title": title}), now).await?;
    tx.commit().await?;
    Ok((super::get(app, page, id).await?, true))
}
