//! Delivery use cases on the outbox: claiming due messages under a lease, recording acceptances,
//! and recording a failed attempt with what follows from it (a retry, or a final failure that
//! moves the subscriber to a hygiene state, drops their queued notifications and is audited).
//! `jobs::outbox` is the loop that sends; it reaches the data only through these.

use crate::app::App;
use crate::clock::{Millis, SECOND};
use crate::domain::delivery::FailureClass;
use crate::service::audit::{self, Actor, Event};
use crate::service::error::Result;
use crate::store::outbox::{self as sql, Attempt, Claimed};

/// How long a claim holds a row without renewal; the sender renews it while it works, so only a
/// dead worker's rows wait this long.
pub const LEASE: Millis = 30 * SECOND;

/// Mail whose body holds a credential (a magic link, an invitation, or a notification's one-click
/// unsubscribe link): blanked once sent or failed for good, so the token does not stay at rest.
pub fn carries_credential(row: &Claimed) -> bool {
    row.channel == "email" && ["magic-link:", "invitation:", "event:"].iter().any(|p| row.dedupe_key.starts_with(p))
}

/// Claims up to `limit` due messages (mail only `with_mail`) under a fresh lease.
pub async fn claim_due(app: &App, limit: i64, with_mail: bool) -> Result<Vec<Claimed>> {
    let now = app.now();
    Ok(sql::claim_due(&app.db.pool, now, now + LEASE, limit, with_mail).await?)
}

/// Extends the lease of rows still being worked on.
pub async fn renew(app: &App, ids: &[i64]) -> Result<()> {
    Ok(sql::renew(&app.db.pool, ids, app.now() + LEASE).await?)
}

/// Records accepted messages in one statement, blanking the bodies of those in `blank`.
pub async fn mark_sent(app: &App, ids: &[i64], blank: &[i64]) -> Result<()> {
    Ok(sql::mark_sent_many(&app.db.pool, ids, blank, app.now()).await?)
}

/// The newest messages of the outbox, for the operator's `statibeat mail list`.
pub async fn recent(app: &App, limit: i64) -> Result<Vec<crate::store::outbox::OutboxRow>> {
    Ok(crate::store::outbox::recent(&app.db.pool, limit).await?)
}

/// Where a webhook subscriber's notifications go now (URL and signing secret), if anywhere.
pub async fn webhook_target(app: &App, subscriber_id: i64) -> Result<Option<(String, String)>> {
    Ok(sql::webhook_target(&app.db.pool, subscriber_id).await?)
}

/// A failed attempt, as the sender classified it.
pub struct FailedAttempt<'a> {
    pub status: Option<u16>,
    /// What tenants are told (stored with the attempt and audited in these words).
    pub class: FailureClass,
    /// The full story for the operator (`statibeat mail list`); never shown to tenants.
    pub message: &'a str,
    /// The next attempt's time, or `None` when this failure is final.
    pub retry_at: Option<Millis>,
    /// The hygiene state the subscriber moves to when the failure is final.
    pub hygiene: Option<&'static str>,
    pub duration_ms: i64,
}

/// Records a failed attempt in one transaction. False when the row was dropped meanwhile (its
/// subscriber left): then nothing is recorded.
pub async fn record_failure(app: &App, row: &Claimed, f: &FailedAttempt<'_>) -> Result<bool> {
    let now = app.now();
    let mut tx = app.db.begin().await?;
    // Lock order: the subscriber first, then outbox rows, so two lanes failing for the same
    // subscriber at once wait for each other instead of deadlocking.
    let hygiene_changed = match (f.retry_at, f.hygiene, row.subscriber_id) {
        (None, Some(hygiene), Some(sub)) => sql::set_hygiene_after_failure(&mut *tx, sub, hygiene, now).await?,
        _ => false,
    };
    if !sql::mark_attempt_failed(&mut *tx, row.id, f.retry_at, f.message, carries_credential(row)).await? {
        return Ok(false);
    }
    let attempt = Attempt {
        outbox_id: row.id,
        at: now,
        status_code: f.status.map(i64::from),
        error: f.class.code(),
        duration_ms: f.duration_ms,
        last: f.retry_at.is_none(),
    };
    sql::record_attempt(&mut *tx, &attempt).await?;
    if let (true, Some(hygiene), Some(sub)) = (hygiene_changed, f.hygiene, row.subscriber_id) {
        crate::store::outbox::drop_pending_notifications(&mut *tx, sub, now).await?;
        // Filed under the page's org, so the tenant's audit log shows it (in generic words).
        let org_id = match row.page_id {
            Some(page) => crate::store::pages::page_by_id(&mut *tx, page).await?.map(|p| p.org_id),
            None => None,
        };
        let actor = Actor { kind: "system", id: None, name: "delivery".into(), ip: String::new() };
        let event = Event {
            org_id,
            page_id: row.page_id,
            action: "subscriber.hygiene_changed",
            target_kind: "subscriber",
            target_id: Some(sub),
            detail: serde_json::json!({
                "hygiene": hygiene, "channel": row.channel,
                "reason": f.class.describe(f.status.map(i64::from)), "failure": f.class.code(),
            }),
        };
        audit::record(&mut tx, &actor, event, now).await?;
    }
    tx.commit().await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(channel: &str, key: &str) -> Claimed {
        Claimed {
            id: 1,
            page_id: None,
            channel: channel.into(),
            subscriber_id: None,
            dedupe_key: key.into(),
            recipient: String::new(),
            subject: String::new(),
            body_text: String::new(),
            body_html: String::new(),
            headers: String::new(),
            attempts: 0,
            created_at: 0,
        }
    }

    #[test]
    fn mail_with_a_link_in_it_is_not_kept() {
        for key in ["magic-link:3", "invitation:3", "event:3:subscriber:4"] {
            assert!(carries_credential(&row("email", key)), "{key}");
        }
        assert!(!carries_credential(&row("email", "other:1")));
        assert!(!carries_credential(&row("webhook", "event:3:subscriber:4")), "a webhook body holds no link");
    }
}
