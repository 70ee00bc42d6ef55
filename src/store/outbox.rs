//! SQL for delivering the outbox: claiming due rows under a lease, then recording the outcome.
//!
//! A claim is one conditional `UPDATE ... RETURNING`: a row is taken only while it is pending,
//! due and not leased, and taking it moves `locked_until` forward. On PostgreSQL a second worker
//! racing for the same row waits for the first's row lock, re-checks the condition and skips it;
//! SQLite serialises writers. Either way each row has one owner until its lease runs out.

use super::Result;
use sqlx::{Any, Executor, Row};

/// A claimed message (an email, or a webhook call), everything needed to send it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub id: i64,
    /// The page the message is about; none for mail about an org (an invitation).
    pub page_id: Option<i64>,
    /// `email` or `webhook`.
    pub channel: String,
    /// The subscriber notified, for notifications (none for link mail).
    pub subscriber_id: Option<i64>,
    pub dedupe_key: String,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    /// A JSON object of extra header names to values.
    pub headers: String,
    pub attempts: i64,
    pub created_at: i64,
}

/// Leases up to `limit` pending messages due at `now` until `lease_until`; rows another worker
/// holds are skipped. Without `with_email` only webhook calls are taken (no SMTP relay set).
pub async fn claim_due<'c, E: Executor<'c, Database = Any>>(
    e: E,
    now: i64,
    lease_until: i64,
    limit: i64,
    with_email: bool,
) -> Result<Vec<Claimed>> {
    // A closed set of two filters, never input.
    let channels = if with_email { "channel IN ('email', 'webhook')" } else { "channel = 'webhook'" };
    let mut out: Vec<Claimed> = sqlx::query_as(&format!(
        "UPDATE outbox SET locked_until = $2 \
         WHERE id IN (SELECT id FROM outbox WHERE {channels} AND state = 'pending' \
           AND next_attempt_at <= $1 AND locked_until <= $1 ORDER BY next_attempt_at, id LIMIT $3) \
         AND state = 'pending' AND next_attempt_at <= $1 AND locked_until <= $1 \
         RETURNING id, page_id, channel, subscriber_id, dedupe_key, recipient, subject, body_text, body_html, \
           headers, attempts, created_at"
    ))
    .bind(now)
    .bind(lease_until)
    .bind(limit)
    .fetch_all(e)
    .await?;
    out.sort_by_key(|c| c.id);
    Ok(out)
}

/// Extends the lease of rows still being worked on.
pub async fn renew<'c, E: Executor<'c, Database = Any>>(e: E, ids: &[i64], lease_until: i64) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let list = super::id_list(ids);
    sqlx::query(&format!("UPDATE outbox SET locked_until = $1 WHERE state = 'pending' AND id IN ({list})"))
        .bind(lease_until)
        .execute(e)
        .await?;
    Ok(())
}

/// The current URL and signing secret of a webhook subscriber that may still receive calls.
pub async fn webhook_target<'c, E: Executor<'c, Database = Any>>(
    e: E,
    subscriber_id: i64,
) -> Result<Option<(String, String)>> {
    let r = sqlx::query(
        "SELECT webhook_url, webhook_secret FROM subscribers WHERE id = $1 AND state = 'active' AND hygiene = 'ok' \
         AND channel = 'webhook' AND webhook_url IS NOT NULL AND webhook_secret IS NOT NULL",
    )
    .bind(subscriber_id)
    .fetch_optional(e)
    .await?;
    Ok(r.map(|r| (r.get(0), r.get(1))))
}

/// One failed attempt, for the delivery record.
pub struct Attempt<'a> {
    pub outbox_id: i64,
    pub at: i64,
    pub status_code: Option<i64>,
    pub error: &'a str,
    pub duration_ms: i64,
    /// No further attempt will be made.
    pub last: bool,
}

pub async fn record_attempt<'c, E: Executor<'c, Database = Any>>(e: E, a: &Attempt<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO outbox_attempts (outbox_id, attempted_at, status_code, error, duration_ms, final) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(a.outbox_id)
    .bind(a.at)
    .bind(a.status_code)
    .bind(a.error)
    .bind(a.duration_ms)
    .bind(a.last as i64)
    .execute(e)
    .await?;
    Ok(())
}

/// Moves a subscriber whose address or endpoint failed for good to a hygiene state (only from
/// `ok`: an admin's choice is never overwritten).
pub async fn set_hygiene_after_failure<'c, E: Executor<'c, Database = Any>>(
    e: E,
    subscriber_id: i64,
    hygiene: &str,
    now: i64,
) -> Result<bool> {
    let r = sqlx::query("UPDATE subscribers SET hygiene = $2, updated_at = $3 WHERE id = $1 AND hygiene = 'ok'")
        .bind(subscriber_id)
        .bind(hygiene)
        .bind(now)
        .execute(e)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Records many delivered messages at once; `blank` (a subset of `ids`) drops their bodies.
pub async fn mark_sent_many<'c, E: Executor<'c, Database = Any>>(
    e: E,
    ids: &[i64],
    blank: &[i64],
    now: i64,
) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let (all, blank) = (super::id_list(ids), super::id_list(blank));
    sqlx::query(&format!(
        "UPDATE outbox SET state = 'sent', sent_at = $1, attempts = attempts + 1, last_error = '', locked_until = 0, \
         body_text = CASE WHEN id IN ({blank}) THEN '' ELSE body_text END, \
         body_html = CASE WHEN id IN ({blank}) THEN '' ELSE body_html END \
         WHERE id IN ({all})"
    ))
    .bind(now)
    .execute(e)
    .await?;
    Ok(())
}

/// Records a failed attempt: pending again at `next_attempt_at`, or `failed` for good when
/// `next_attempt_at` is `None` (then a mail that carries a credential, `blank_if_final`, loses its
/// bodies: the link will never be delivered). False when the row is no longer pending (it was
/// dropped because its subscriber left meanwhile): then there is nothing to record.
pub async fn mark_attempt_failed<'c, E: Executor<'c, Database = Any>>(
    e: E,
    id: i64,
    next_attempt_at: Option<i64>,
    error: &str,
    blank_if_final: bool,
) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE outbox SET attempts = attempts + 1, last_error = $2, locked_until = 0, \
         state = CASE WHEN $3 = 1 THEN 'pending' ELSE 'failed' END, \
         next_attempt_at = CASE WHEN $3 = 1 THEN $4 ELSE next_attempt_at END, \
         body_text = CASE WHEN $3 = 0 AND $5 = 1 THEN '' ELSE body_text END, \
         body_html = CASE WHEN $3 = 0 AND $5 = 1 THEN '' ELSE body_html END \
         WHERE id = $1 AND state = 'pending'",
    )
    .bind(id)
    .bind(error)
    .bind(next_attempt_at.is_some() as i64)
    .bind(next_attempt_at.unwrap_or(0))
    .bind(blank_if_final as i64)
    .execute(e)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// One notification sent (or being sent) to a subscriber, for the admin's delivery log.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Delivery {
    pub id: i64,
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub state: String,
    pub attempts: i64,
    pub last_error: String,
    pub created_at: i64,
    pub next_attempt_at: i64,
    pub sent_at: Option<i64>,
}

/// A subscriber's notifications, newest first, below `before` (an outbox id).
pub async fn deliveries_of<'c, E: Executor<'c, Database = Any>>(
    e: E,
    subscriber_id: i64,
    before: i64,
    limit: i64,
) -> Result<Vec<Delivery>> {
    Ok(sqlx::query_as(
        "SELECT id, channel, recipient, subject, state, attempts, last_error, created_at, next_attempt_at, sent_at \
         FROM outbox WHERE subscriber_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
    )
    .bind(subscriber_id)
    .bind(before)
    .bind(limit)
    .fetch_all(e)
    .await?)
}

/// A recorded failed attempt.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttemptRow {
    pub outbox_id: i64,
    pub at: i64,
    pub status_code: Option<i64>,
    pub error: String,
    pub duration_ms: i64,
    pub last: bool,
}

/// The failed attempts of the given outbox rows, oldest first.
pub async fn attempts_of<'c, E: Executor<'c, Database = Any>>(e: E, outbox_ids: &[i64]) -> Result<Vec<AttemptRow>> {
    if outbox_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_as(&format!(
        "SELECT outbox_id, attempted_at, status_code, error, duration_ms, final FROM outbox_attempts \
         WHERE outbox_id IN ({}) ORDER BY id",
        super::id_list(outbox_ids)
    ))
    .fetch_all(e)
    .await?)
}
