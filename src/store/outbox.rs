//! SQL for delivering the outbox: claiming due rows under a lease, then recording the outcome.
//!
//! A claim is one conditional `UPDATE ... RETURNING`: a row is taken only while it is pending,
//! due and not leased, and taking it moves `locked_until` forward. On PostgreSQL a second worker
//! racing for the same row waits for the first's row lock, re-checks the condition and skips it;
//! SQLite serialises writers. Either way each row has one owner until its lease runs out.

use super::Result;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

/// A claimed email, everything needed to build and send it.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
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

fn claimed(r: &AnyRow) -> Claimed {
    Claimed {
        id: r.get("id"),
        dedupe_key: r.get("dedupe_key"),
        recipient: r.get("recipient"),
        subject: r.get("subject"),
        body_text: r.get("body_text"),
        body_html: r.get("body_html"),
        headers: r.get("headers"),
        attempts: r.get("attempts"),
        created_at: r.get("created_at"),
    }
}

/// Leases up to `limit` pending emails due at `now` until `lease_until`; rows another worker
/// holds are skipped.
pub async fn claim_due<'c, E: Executor<'c, Database = Any>>(
    e: E,
    now: i64,
    lease_until: i64,
    limit: i64,
) -> Result<Vec<Claimed>> {
    let rows = sqlx::query(
        "UPDATE outbox SET locked_until = $2 \
         WHERE id IN (SELECT id FROM outbox WHERE channel = 'email' AND state = 'pending' \
           AND next_attempt_at <= $1 AND locked_until <= $1 ORDER BY next_attempt_at, id LIMIT $3) \
         AND state = 'pending' AND next_attempt_at <= $1 AND locked_until <= $1 \
         RETURNING id, dedupe_key, recipient, subject, body_text, body_html, headers, attempts, created_at",
    )
    .bind(now)
    .bind(lease_until)
    .bind(limit)
    .fetch_all(e)
    .await?;
    let mut out: Vec<Claimed> = rows.iter().map(claimed).collect();
    out.sort_by_key(|c| c.id);
    Ok(out)
}

/// Records a delivered message; `blank_body` drops its bodies (credential-bearing mail), keeping
/// recipient, subject and state for the record.
pub async fn mark_sent<'c, E: Executor<'c, Database = Any>>(e: E, id: i64, now: i64, blank_body: bool) -> Result<()> {
    sqlx::query(
        "UPDATE outbox SET state = 'sent', sent_at = $2, attempts = attempts + 1, last_error = '', locked_until = 0, \
         body_text = CASE WHEN $3 = 1 THEN '' ELSE body_text END, \
         body_html = CASE WHEN $3 = 1 THEN '' ELSE body_html END \
         WHERE id = $1",
    )
    .bind(id)
    .bind(now)
    .bind(blank_body as i64)
    .execute(e)
    .await?;
    Ok(())
}

/// Records a failed attempt: pending again at `next_attempt_at`, or `failed` for good when
/// `next_attempt_at` is `None`.
pub async fn mark_attempt_failed<'c, E: Executor<'c, Database = Any>>(
    e: E,
    id: i64,
    next_attempt_at: Option<i64>,
    error: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE outbox SET attempts = attempts + 1, last_error = $2, locked_until = 0, \
         state = CASE WHEN $3 = 1 THEN 'pending' ELSE 'failed' END, \
         next_attempt_at = CASE WHEN $3 = 1 THEN $4 ELSE next_attempt_at END \
         WHERE id = $1",
    )
    .bind(id)
    .bind(error)
    .bind(next_attempt_at.is_some() as i64)
    .bind(next_attempt_at.unwrap_or(0))
    .execute(e)
    .await?;
    Ok(())
}
