//! The maintenance scheduler: reminders, automatic starts and automatic completions.
//!
//! Every pass handles everything due at `app.now()`, so after downtime the first pass catches
//! up: a window whose start and end both passed meanwhile is started, then completed (two events,
//! in that order), and a reminder whose window has already started is never sent late. Each
//! transition is a conditional claim in its own transaction (see `service::maintenances`), so
//! several instances sharing one database may run passes at the same time: each transition
//! happens once.

use crate::app::App;
use crate::service::status::maintenances::{self, Due};
use crate::service::Result;
use std::time::Duration;

/// How often a server runs a pass.
pub const INTERVAL: Duration = Duration::from_secs(15);

/// Windows handled per query; a pass keeps querying while batches come back full.
const BATCH: i64 = 100;

/// What one pass did: the ids of the windows reminded, started and completed by this caller
/// (not those another instance handled), and how many failed (logged, retried next pass).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DueReport {
    pub reminded: Vec<i64>,
    pub started: Vec<i64>,
    pub completed: Vec<i64>,
    pub failed: usize,
}

/// Processes everything due at `app.now()`: reminders first (only for windows still ahead), then
/// starts, then completions, so a window that is entirely overdue starts before it completes.
pub async fn run_due(app: &App) -> Result<DueReport> {
    let now = app.now();
    let mut report = DueReport::default();
    for what in [Due::Reminder, Due::Start, Due::Completion] {
        let mut skip = Vec::new();
        loop {
            let rows = maintenances::due(app, what, now, BATCH + skip.len() as i64).await?;
            let fresh: Vec<_> = rows.iter().filter(|m| !skip.contains(&m.id)).collect();
            if fresh.is_empty() {
                break;
            }
            for m in &fresh {
                let done = match what {
                    Due::Reminder => maintenances::remind_due(app, m, now).await,
                    Due::Start => maintenances::start_due(app, m, now).await,
                    Due::Completion => maintenances::complete_due(app, m, now).await,
                };
                match done {
                    Ok(true) => match what {
                        Due::Reminder => report.reminded.push(m.id),
                        Due::Start => report.started.push(m.id),
                        Due::Completion => report.completed.push(m.id),
                    },
                    // Another instance (or a person) got there first.
                    Ok(false) => skip.push(m.id),
                    Err(e) => {
                        tracing::error!(maintenance = m.id, ?what, error = ?e, "maintenance transition failed");
                        report.failed += 1;
                        skip.push(m.id);
                    }
                }
            }
            if (rows.len() as i64) < BATCH + skip.len() as i64 {
                break;
            }
        }
    }
    Ok(report)
}

/// Runs a pass now and then every [`INTERVAL`].
pub fn start(app: App) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match run_due(&app).await {
                Ok(r) if r != DueReport::default() => tracing::info!(
                    reminded = r.reminded.len(),
                    started = r.started.len(),
                    completed = r.completed.len(),
                    failed = r.failed,
                    "maintenance scheduler pass"
                ),
                Ok(_) => {}
                Err(e) => tracing::error!(error = ?e, "maintenance scheduler pass failed"),
            }
        }
    });
}
