//! SQL for the `outbox` table (and its `outbox_attempts`): queueing messages, claiming due rows
//! under a lease, then recording the outcome.
//!
//! A claim is one conditional `UPDATE ... RETURNING`: a row is taken only while it is pending,
//! due and not leased, and taking it moves `locked_until` forward. On PostgreSQL a second worker
//! racing for the same row waits for the first's row lock, re-checks the condition and skips it;
//! SQLite serialises writers. Either way each row has one owner until its lease runs out.

use super::{Flag, Result};
use sqlx::{Any, Executor};

// ---- queueing ---------------------------------------------------------------------------------

/// A message waiting in (or sent from) the outbox.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub page_id: Option<i64>,
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub state: String,
    pub attempts: i64,
    /// The last failure in full (for operators; tenants see its class, `domain::delivery`).
    pub last_error: String,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

/// A message to queue.
pub struct NewMessage<'a> {
    pub dedupe_key: &'a str,
    pub recipient: &'a str,
    pub subject: &'a str,
    pub body_text: &'a str,
    pub body_html: &'a str,
    pub headers: &'a str,
}

/// Queues an email about a page (or, with `None`, about an org: an invitation); a message with the
/// same de-duplication key is never queued twice.
pub async fn enqueue_mail<'c, E: Executor<'c, Database = Any>>(
    e: E,
    page_id: Option<i64>,
    m: &NewMessage<'_>,
    now: i64,
) -> Result<bool> {
    let r = sqlx::query(
        "INSERT INTO outbox (page_id, channel, dedupe_key, recipient, subject, body_text, body_html, headers, state, \
         attempts, next_attempt_at, last_error, created_at, subscriber_id) \
         VALUES ($1, 'email', $2, $3, $4, $5, $6, $7, 'pending', 0, $8, '', $8, NULL) ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(page_id)
    .bind(m.dedupe_key)
    .bind(m.recipient)
    .bind(m.subject)
    .bind(m.body_text)
    .bind(m.body_html)
    .bind(m.headers)
    .bind(now)
    .execute(e)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// A message to queue, owned (for [`enqueue_many`]).
#[derive(Debug, Clone)]
pub struct Queued {
    pub channel: &'static str,
    pub subscriber_id: Option<i64>,
    pub dedupe_key: String,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub headers: String,
}

/// Rows per multi-row INSERT: 10 parameters each stays far below SQLite's and PostgreSQL's limits.
const INSERT_CHUNK: usize = 200;

/// Queues many messages with multi-row INSERTs; keys already queued are skipped. Returns the
/// subscriber of every message queued now.
pub async fn enqueue_many(
    tx: &mut sqlx::AnyConnection,
    page_id: i64,
    rows: &[Queued],
    now: i64,
) -> Result<Vec<Option<i64>>> {
    let mut queued = Vec::new();
    for chunk in rows.chunks(INSERT_CHUNK) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let p = |k: usize| format!("${}", i * 9 + k + 2);
                format!(
                    "($1, {}, {}, {}, {}, {}, {}, {}, 'pending', 0, {}, '', {}, {})",
                    p(0),
                    p(1),
                    p(2),
                    p(3),
                    p(4),
                    p(5),
                    p(6),
                    p(7),
                    p(7),
                    p(8)
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO outbox (page_id, channel, dedupe_key, recipient, subject, body_text, body_html, headers, \
             state, attempts, next_attempt_at, last_error, created_at, subscriber_id) VALUES {} \
             ON CONFLICT (dedupe_key) DO NOTHING RETURNING subscriber_id",
            values.join(", ")
        );
        let mut q = sqlx::query_scalar(&sql).bind(page_id);
        for m in chunk {
            q = q
                .bind(m.channel)
                .bind(&m.dedupe_key)
                .bind(&m.recipient)
                .bind(&m.subject)
                .bind(&m.body_text)
                .bind(&m.body_html)
                .bind(&m.headers)
                .bind(now)
                .bind(m.subscriber_id);
        }
        let subscribers: Vec<Option<i64>> = q.fetch_all(&mut *tx).await?;
        queued.extend(subscribers);
    }
    Ok(queued)
}

/// The newest messages first (for `statibeat mail list` and tests).
pub async fn recent<'c, E: Executor<'c, Database = Any>>(e: E, limit: i64) -> Result<Vec<OutboxRow>> {
    Ok(sqlx::query_as(
        "SELECT id, page_id, channel, recipient, subject, body_text, state, attempts, last_error, created_at, sent_at \
         FROM outbox ORDER BY id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(e)
    .await?)
}

/// Drops the notifications still waiting for a subscriber (it unsubscribed or stopped being
/// deliverable): they are not sent. Rows a delivery worker holds right now are left to it (they
/// may still go out; a webhook call checks its subscriber first), so this never waits on, or
/// deadlocks with, a worker.
pub async fn drop_pending_notifications<'c, E: Executor<'c, Database = Any>>(
    e: E,
    subscriber_id: i64,
    now: i64,
) -> Result<()> {
    sqlx::query("DELETE FROM outbox WHERE subscriber_id = $1 AND state = 'pending' AND locked_until <= $2")
        .bind(subscriber_id)
        .bind(now)
        .execute(e)
        .await?;
    Ok(())
}

/// Drops mail still waiting in the outbox for an address of a page.
pub async fn drop_pending_mail<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64, email: &str) -> Result<()> {
    sqlx::query("DELETE FROM outbox WHERE page_id = $1 AND recipient = $2 AND state = 'pending'")
        .bind(page_id)
        .bind(email)
        .execute(e)
        .await?;
    Ok(())
}

// ---- delivery ---------------------------------------------------------------------------------

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
    Ok(sqlx::query_as(
        "SELECT webhook_url, webhook_secret FROM subscribers WHERE id = $1 AND state = 'active' AND hygiene = 'ok' \
         AND channel = 'webhook' AND webhook_url IS NOT NULL AND webhook_secret IS NOT NULL",
    )
    .bind(subscriber_id)
    .fetch_optional(e)
    .await?)
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
    #[sqlx(rename = "attempted_at")]
    pub at: i64,
    pub status_code: Option<i64>,
    pub error: String,
    pub duration_ms: i64,
    /// Whether this attempt ended the message (column `final`, a keyword in Rust).
    #[sqlx(rename = "final", try_from = "Flag")]
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
