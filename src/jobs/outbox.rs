//! The outbox worker: sends due email over SMTP, with retries and exponential backoff.
//!
//! Delivery is at-least-once: a row is claimed under a lease (see `store::outbox`), sent, then
//! marked. A crash between the relay's acceptance and the mark sends it again after the lease;
//! the `Message-ID` stays the same so receivers can tell.

use crate::app::App;
use crate::clock::{Millis, MINUTE, SECOND};
use crate::delivery::message::{self, Message};
use crate::delivery::smtp::{self, Envelope, SmtpError, SmtpTarget};
use crate::service::{Error, Result};
use crate::store::outbox::{self as sql, Claimed};
use std::time::Duration;

/// How often a server looks for due mail.
pub const INTERVAL: Duration = Duration::from_secs(2);
/// Rows claimed per query; a pass keeps claiming while rows come back.
const BATCH: i64 = 10;
/// How long a claim holds a row: longer than sending a whole batch can take with every message
/// hitting `smtp::SEND_TIMEOUT` (10 × 3 min), so a lease never runs out mid-pass.
const LEASE: Millis = 60 * MINUTE;
/// Attempts before a message is given up on.
pub const MAX_ATTEMPTS: i64 = 8;
/// The wait after the first failed attempt; it doubles with each further failure.
pub const FIRST_BACKOFF: Millis = 30 * SECOND;

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub sent: usize,
    /// Failed this time, scheduled again.
    pub retried: usize,
    /// Failed for good (a 5xx, or the last attempt).
    pub failed: usize,
}

/// The wait before attempt `attempts + 1`, after `attempts` failures: 30 s, 1 min, 2 min, ...
pub fn backoff(attempts: i64) -> Millis {
    FIRST_BACKOFF << (attempts - 1).clamp(0, 20)
}

/// Mail whose body holds a credential (a magic link, or a notification's one-click unsubscribe
/// link): blanked once sent, so the token does not stay at rest.
fn carries_credential(dedupe_key: &str) -> bool {
    dedupe_key.starts_with("magic-link:") || dedupe_key.starts_with("event:")
}

/// Sends everything due at `app.now()`. Without an SMTP URL nothing is sent: mail stays in the
/// outbox, readable with `statibeat mail list`.
pub async fn deliver_due(app: &App) -> Result<DeliveryReport> {
    let mut report = DeliveryReport::default();
    let Some(url) = app.config.smtp_url.as_deref() else {
        return Ok(report);
    };
    let target = SmtpTarget::parse(url).map_err(Error::Internal)?;
    loop {
        let now = app.now();
        let batch = sql::claim_due(&app.db.pool, now, now + LEASE, BATCH).await?;
        if batch.is_empty() {
            return Ok(report);
        }
        for row in &batch {
            deliver_one(app, &target, row, &mut report).await?;
        }
    }
}

async fn deliver_one(app: &App, target: &SmtpTarget, row: &Claimed, report: &mut DeliveryReport) -> Result<()> {
    let now = app.now();
    let from = app.config.mail_from.as_str();
    let data = message::build(&Message {
        from,
        to: &row.recipient,
        subject: &row.subject,
        text: &row.body_text,
        html: &row.body_html,
        headers_json: &row.headers,
        outbox_id: row.id,
        created_at: row.created_at,
        now,
    });
    let from_addr = message::address_of(from);
    let envelope = Envelope { helo: message::domain_of(from_addr), from: from_addr, to: &row.recipient, data: &data };
    match smtp::send(target, &envelope).await {
        Ok(()) => {
            sql::mark_sent(&app.db.pool, row.id, app.now(), carries_credential(&row.dedupe_key)).await?;
            report.sent += 1;
        }
        Err(e) => {
            let attempts = row.attempts + 1;
            let retry = match &e {
                SmtpError::Transient(_) if attempts < MAX_ATTEMPTS => Some(app.now() + backoff(attempts)),
                _ => None,
            };
            tracing::warn!(outbox = row.id, attempts, error = %e, retry = retry.is_some(), "mail not delivered");
            sql::mark_attempt_failed(&app.db.pool, row.id, retry, &e.to_string()).await?;
            match retry {
                Some(_) => report.retried += 1,
                None => report.failed += 1,
            }
        }
    }
    Ok(())
}

/// Runs a pass every [`INTERVAL`]; errors are logged and the next pass tries again.
pub fn start(app: App) {
    if app.config.smtp_url.is_none() {
        tracing::info!("no SMTP URL configured: mail stays in the outbox (statibeat mail list)");
        return;
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match deliver_due(&app).await {
                Ok(r) if r != DeliveryReport::default() => {
                    tracing::info!(sent = r.sent, retried = r.retried, failed = r.failed, "outbox pass")
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = ?e, "outbox pass failed"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_thirty_seconds() {
        let waits: Vec<_> = (1..=4).map(backoff).collect();
        assert_eq!(waits, vec![30 * SECOND, MINUTE, 2 * MINUTE, 4 * MINUTE]);
        assert!(carries_credential("magic-link:3"));
        assert!(carries_credential("event:3:subscriber:4"));
        assert!(!carries_credential("other:1"));
    }
}
