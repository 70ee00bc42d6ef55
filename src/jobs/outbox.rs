//! The outbox worker: sends due email over SMTP and calls webhooks, with retries and exponential
//! backoff.
//!
//! Delivery is at-least-once: a batch is claimed under a short lease (see `store::outbox`) that a
//! side task keeps renewing while the batch is worked on, each message is marked the moment it is
//! accepted, and a worker that dies leaves its lease to run out ([`LEASE`]) so another pass takes
//! the rows again. A crash between a relay's acceptance and the mark sends that message again: at
//! most one per lane, because every lane marks before it sends the next. The `Message-ID` and the
//! `webhook-id` stay the same across attempts, so receivers can tell.
//!
//! Mail goes out over [`SMTP_LANES`] connections in parallel, each carrying many transactions;
//! webhook calls over [`WEBHOOK_LANES`]. Acceptances are recorded by one [`Marker`] per pass that
//! writes whatever the lanes handed it since its last write in one statement (group commit), and
//! a lane waits for its mark before the next send.

use crate::app::App;
use crate::clock::{Millis, SECOND};
use crate::delivery::message::{self, Message};
use crate::delivery::smtp::{Connection, SmtpError, SmtpTarget};
use crate::delivery::tls::TlsClient;
use crate::delivery::webhook::{self, WebhookError};
use crate::domain::delivery::FailureClass;
use crate::service::readers::outbox::{self as deliveries, FailedAttempt};
use crate::service::{Error, Result};
use crate::store::outbox::Claimed;
use std::time::{Duration, Instant};

/// How often a server looks for due messages.
pub const INTERVAL: Duration = Duration::from_secs(2);
/// Rows claimed per query; a pass keeps claiming while rows come back.
const BATCH: i64 = 256;
pub use crate::service::readers::outbox::LEASE;
/// How often the lease of the batch being worked on is renewed (well inside [`LEASE`]).
const RENEW_EVERY: Duration = Duration::from_secs(10);
/// Parallel SMTP connections per worker (and so the most messages a crash can send twice).
pub const SMTP_LANES: usize = 8;
/// Parallel webhook calls per worker.
pub const WEBHOOK_LANES: usize = 8;
/// Attempts before a message is given up on.
pub const MAX_ATTEMPTS: i64 = 8;
/// The wait after the first failed attempt; it doubles with each further failure.
pub const FIRST_BACKOFF: Millis = 30 * SECOND;
const USER_AGENT: &str = concat!("StatiBeat-Webhooks/", env!("CARGO_PKG_VERSION"));

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub sent: usize,
    /// Failed this time, scheduled again.
    pub retried: usize,
    /// Failed for good (a 5xx, a 410, a refused target, or the last attempt).
    pub failed: usize,
}

impl std::ops::AddAssign for DeliveryReport {
    fn add_assign(&mut self, o: DeliveryReport) {
        self.sent += o.sent;
        self.retried += o.retried;
        self.failed += o.failed;
    }
}

/// The wait before attempt `attempts + 1`, after `attempts` failures: 30 s, 1 min, 2 min, ...
pub fn backoff(attempts: i64) -> Millis {
    FIRST_BACKOFF << (attempts - 1).clamp(0, 20)
}

/// A failed attempt, classified.
struct Failure {
    status: Option<u16>,
    /// What tenants are told (stored with the attempt, written to the audit log).
    class: FailureClass,
    /// The full story (resolved addresses, relay replies): the server log and the operator's
    /// `statibeat mail list` only.
    message: String,
    /// Worth another attempt (if any are left).
    transient: bool,
    /// The hygiene state the subscriber moves to when this failure is final.
    hygiene: Option<&'static str>,
}

impl Failure {
    fn from_smtp(e: SmtpError) -> Failure {
        let message = e.to_string();
        let failure = |class, transient, hygiene| Failure { status: None, class, message, transient, hygiene };
        match e {
            SmtpError::Transient(_) => failure(FailureClass::MailDeferred, true, None),
            SmtpError::Permanent(_) => failure(FailureClass::MailRefused, false, None),
            // The address does not exist or takes no mail: a hard bounce.
            SmtpError::RecipientRejected(_) => failure(FailureClass::MailRecipientRejected, false, Some("bounced")),
        }
    }

    fn from_webhook(e: WebhookError) -> Failure {
        let (status, class, message) = (e.status(), e.class(), e.to_string());
        let failure = |transient, hygiene| Failure { status, class, message, transient, hygiene };
        match e {
            // A host that never resolved to an allowed address, by the last attempt, needs a
            // person to look (it may point inside the network); whether it resolved at all is
            // not told apart (decision 0010).
            WebhookError::Transient { class: FailureClass::AddressNotAllowed, .. } => {
                failure(true, Some("quarantined"))
            }
            // An endpoint that keeps failing is as dead as a bounced address.
            WebhookError::Transient { .. } => failure(true, Some("bounced")),
            // 410 Gone says so; a target the SSRF guard refuses needs a person to look.
            WebhookError::Permanent { status: Some(_), .. } => failure(false, Some("bounced")),
            WebhookError::Permanent { status: None, .. } => failure(false, Some("quarantined")),
        }
    }
}

/// Sends everything due at `app.now()`: webhooks always, mail only with an SMTP URL (without one,
/// mail stays in the outbox, readable with `statibeat mail list`).
pub async fn deliver_due(app: &App) -> Result<DeliveryReport> {
    let target = match app.config.smtp_url.as_deref() {
        Some(url) => Some(SmtpTarget::parse(url).map_err(Error::Internal)?),
        None => None,
    };
    let mut report = DeliveryReport::default();
    loop {
        let batch = deliveries::claim_due(app, BATCH, target.is_some()).await?;
        if batch.is_empty() {
            return Ok(report);
        }
        let ids: Vec<i64> = batch.iter().map(|r| r.id).collect();
        let renewer = {
            let app = app.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(RENEW_EVERY).await;
                    if let Err(e) = deliveries::renew(&app, &ids).await {
                        tracing::warn!(error = ?e, "renewing the outbox lease failed");
                    }
                }
            })
        };
        let (mail, hooks): (Vec<Claimed>, Vec<Claimed>) = batch.into_iter().partition(|r| r.channel == "email");
        let (marker, marking) = Marker::start(app.clone());
        let mut lanes = tokio::task::JoinSet::new();
        if let Some(target) = &target {
            for lane in deal(mail, SMTP_LANES) {
                lanes.spawn(mail_lane(app.clone(), marker.clone(), target.clone(), lane));
            }
        }
        for lane in deal(hooks, WEBHOOK_LANES) {
            lanes.spawn(webhook_lane(app.clone(), marker.clone(), lane));
        }
        drop(marker);
        let mut first_error = None;
        // Every lane is waited for, even one that failed or panicked, so the renewer below is
        // always stopped (a renewer left running would hold the unfinished rows forever).
        while let Some(done) = lanes.join_next().await {
            match done {
                Ok(Ok(r)) => report += r,
                Ok(Err(e)) => first_error = first_error.or(Some(e)),
                Err(e) => first_error = first_error.or(Some(Error::Internal(format!("delivery lane: {e}")))),
            }
        }
        renewer.abort();
        let _ = marking.await;
        if let Some(e) = first_error {
            return Err(e);
        }
    }
}

/// Group commit of acceptances (see the module doc).
type Ack = tokio::sync::oneshot::Sender<std::result::Result<(), String>>;

#[derive(Clone)]
struct Marker {
    tx: tokio::sync::mpsc::Sender<(i64, bool, Ack)>,
}

impl Marker {
    fn start(app: App) -> (Marker, tokio::task::JoinHandle<()>) {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<(i64, bool, Ack)>(SMTP_LANES + WEBHOOK_LANES);
        let task = tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut group = vec![first];
                while let Ok(more) = rx.try_recv() {
                    group.push(more);
                }
                let ids: Vec<i64> = group.iter().map(|g| g.0).collect();
                let blank: Vec<i64> = group.iter().filter(|g| g.1).map(|g| g.0).collect();
                let r = deliveries::mark_sent(&app, &ids, &blank).await.map_err(|e| format!("{e:?}"));
                for (_, _, ack) in group {
                    let _ = ack.send(r.clone());
                }
            }
        });
        (Marker { tx }, task)
    }

    /// Records one accepted message; returns once it is written.
    async fn mark(&self, row: &Claimed) -> Result<()> {
        let (ack, done) = tokio::sync::oneshot::channel();
        let blank = deliveries::carries_credential(row);
        self.tx.send((row.id, blank, ack)).await.map_err(|_| Error::Internal("outbox marker stopped".into()))?;
        done.await.map_err(|_| Error::Internal("outbox marker stopped".into()))?.map_err(Error::Internal)
    }
}

/// Deals rows round-robin into at most `n` non-empty lanes, keeping their order within a lane.
fn deal(rows: Vec<Claimed>, n: usize) -> Vec<Vec<Claimed>> {
    let mut lanes: Vec<Vec<Claimed>> = (0..n.min(rows.len())).map(|_| Vec::new()).collect();
    let count = lanes.len();
    for (i, row) in rows.into_iter().enumerate() {
        lanes[i % count].push(row);
    }
    lanes
}

/// One SMTP connection, reused for every message of the lane (and reopened after it breaks).
async fn mail_lane(app: App, marker: Marker, target: SmtpTarget, rows: Vec<Claimed>) -> Result<DeliveryReport> {
    let from = app.config.mail_from.clone();
    let from_addr = message::address_of(&from);
    let helo = message::domain_of(from_addr);
    let tls = TlsClient::load(app.config.tls_ca_file.as_deref()).map_err(Error::Internal)?;
    let mut report = DeliveryReport::default();
    let mut conn: Option<Connection> = None;
    for row in &rows {
        let started = Instant::now();
        let data = message::build(&Message {
            from: &from,
            to: &row.recipient,
            subject: &row.subject,
            text: &row.body_text,
            html: &row.body_html,
            headers_json: &row.headers,
            outbox_id: row.id,
            created_at: row.created_at,
            now: app.now(),
        });
        if conn.as_ref().is_some_and(|c| !c.is_usable()) {
            conn = None;
        }
        let sent = match conn.as_mut() {
            Some(c) => c.send(from_addr, &row.recipient, &data).await,
            None => match Connection::open(&target, helo, &tls).await {
                Ok(c) => conn.insert(c).send(from_addr, &row.recipient, &data).await,
                Err(e) => Err(e),
            },
        };
        settle(&app, &marker, row, sent.map_err(Failure::from_smtp), started, &mut report).await?;
    }
    if let Some(c) = conn {
        c.quit().await;
    }
    Ok(report)
}

async fn webhook_lane(app: App, marker: Marker, rows: Vec<Claimed>) -> Result<DeliveryReport> {
    let tls = TlsClient::load(app.config.tls_ca_file.as_deref()).map_err(Error::Internal)?;
    let mut report = DeliveryReport::default();
    for row in &rows {
        let started = Instant::now();
        let target = match row.subscriber_id {
            Some(id) => deliveries::webhook_target(&app, id).await?,
            None => None,
        };
        let outcome = match target {
            // Unsubscribed, deleted or no longer deliverable since the event: nobody to call.
            None => Err(Failure {
                status: None,
                class: FailureClass::NotSubscribed,
                message: "the subscriber no longer receives webhooks".into(),
                transient: false,
                hygiene: None,
            }),
            Some((url, secret)) => {
                let msg_id = format!("msg_{}", row.id);
                let req = webhook::Request {
                    url: &url,
                    msg_id: &msg_id,
                    timestamp: app.now().div_euclid(1000),
                    secret: &secret,
                    body: &row.body_text,
                    user_agent: USER_AGENT,
                };
                webhook::post(&req, app.config.webhook_allow_private, &tls)
                    .await
                    .map(|_| ())
                    .map_err(Failure::from_webhook)
            }
        };
        settle(&app, &marker, row, outcome, started, &mut report).await?;
    }
    Ok(report)
}

/// Records the outcome of one attempt: sent; or failed, with the attempt kept, a retry scheduled
/// or, for a final failure, the subscriber moved to a hygiene state.
async fn settle(
    app: &App,
    marker: &Marker,
    row: &Claimed,
    outcome: std::result::Result<(), Failure>,
    started: Instant,
    report: &mut DeliveryReport,
) -> Result<()> {
    let now = app.now();
    let f = match outcome {
        Ok(()) => {
            marker.mark(row).await?;
            report.sent += 1;
            return Ok(());
        }
        Err(f) => f,
    };
    let attempts = row.attempts + 1;
    let retry = (f.transient && attempts < MAX_ATTEMPTS).then(|| now + backoff(attempts));
    // The full message goes to the server log only; tenants get the class (see domain::delivery).
    tracing::warn!(outbox = row.id, channel = %row.channel, attempts, error = %f.message, failure = f.class.code(), retry = retry.is_some(), "not delivered");
    let attempt = FailedAttempt {
        status: f.status,
        class: f.class,
        message: &f.message,
        retry_at: retry,
        hygiene: f.hygiene,
        duration_ms: started.elapsed().as_millis() as i64,
    };
    if !deliveries::record_failure(app, row, &attempt).await? {
        // Dropped meanwhile (the subscriber unsubscribed, was suppressed or bounced elsewhere).
        return Ok(());
    }
    match retry {
        Some(_) => report.retried += 1,
        None => report.failed += 1,
    }
    Ok(())
}

/// Runs a pass every [`INTERVAL`]; errors are logged and the next pass tries again.
pub fn start(app: App) {
    if app.config.smtp_url.is_none() {
        tracing::info!("no SMTP URL configured: mail stays in the outbox (statibeat mail list); webhooks are sent");
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
    use crate::clock::MINUTE;

    #[test]
    fn backoff_doubles_from_thirty_seconds() {
        let waits: Vec<_> = (1..=4).map(backoff).collect();
        assert_eq!(waits, vec![30 * SECOND, MINUTE, 2 * MINUTE, 4 * MINUTE]);
    }
}
