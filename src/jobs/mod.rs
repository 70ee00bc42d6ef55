//! Background work, calling the same services as handlers.

pub mod maintenances;
pub mod outbox;

pub use maintenances::{run_due, DueReport};
pub use outbox::{deliver_due, DeliveryReport};

use crate::app::App;
use std::time::Duration;

/// Starts the periodic jobs: the maintenance scheduler, fan-out of events to subscribers (every
/// 2 s), outbox delivery (when an SMTP URL is configured), and purging pages whose trash window
/// has passed.
pub fn start(app: App) {
    maintenances::start(app.clone());
    outbox::start(app.clone());
    let fan_out = app.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match crate::service::readers::notify::fan_out_due(&fan_out).await {
                Ok(n) if n > 0 => tracing::info!(count = n, "queued notification mails"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = ?e, "fanning out events failed"),
            }
        }
    });
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match crate::service::org::pages::purge_expired(&app).await {
                Ok(ids) if !ids.is_empty() => tracing::info!(count = ids.len(), "purged trashed pages"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = ?e, "purging trashed pages failed"),
            }
        }
    });
}
