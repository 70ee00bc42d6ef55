//! Background work, calling the same services as handlers.

use crate::app::App;
use std::time::Duration;

/// Starts the periodic jobs: purging pages whose trash window has passed.
pub fn start(app: App) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match crate::service::pages::purge_expired(&app).await {
                Ok(ids) if !ids.is_empty() => tracing::info!(count = ids.len(), "purged trashed pages"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = ?e, "purging trashed pages failed"),
            }
        }
    });
}
