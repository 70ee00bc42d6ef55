//! SQL for fan-out: events waiting to be fanned out, the subscribers who may receive them, and
//! the one-click unsubscribe tokens mailed with each message.

use super::Result;
use sqlx::{Any, Executor, Row};

/// An event not yet fanned out.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PendingEvent {
    pub id: i64,
    pub page_id: i64,
    pub kind: String,
    pub subject_kind: String,
    pub subject_id: i64,
}

/// The oldest events not yet fanned out and not held by a worker at `now`, in id order.
pub async fn pending_events<'c, E: Executor<'c, Database = Any>>(
    e: E,
    now: i64,
    limit: i64,
) -> Result<Vec<PendingEvent>> {
    Ok(sqlx::query_as(
        "SELECT id, page_id, kind, subject_kind, subject_id FROM events \
         WHERE fanned_out_at IS NULL AND fan_out_lease <= $1 ORDER BY id LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(e)
    .await?)
}

/// Takes an event for fan-out until `lease_until`: false when it is done or another worker holds it.
pub async fn lease_event<'c, E: Executor<'c, Database = Any>>(
    e: E,
    id: i64,
    now: i64,
    lease_until: i64,
) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE events SET fan_out_lease = $3 WHERE id = $1 AND fanned_out_at IS NULL AND fan_out_lease <= $2",
    )
    .bind(id)
    .bind(now)
    .bind(lease_until)
    .execute(e)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Extends the lease of an event this worker is fanning out.
pub async fn renew_event<'c, E: Executor<'c, Database = Any>>(e: E, id: i64, lease_until: i64) -> Result<()> {
    sqlx::query("UPDATE events SET fan_out_lease = $2 WHERE id = $1 AND fanned_out_at IS NULL")
        .bind(id)
        .bind(lease_until)
        .execute(e)
        .await?;
    Ok(())
}

/// Marks an event fanned out: every message it causes is queued.
pub async fn finish_event<'c, E: Executor<'c, Database = Any>>(e: E, id: i64, now: i64) -> Result<()> {
    sqlx::query("UPDATE events SET fanned_out_at = $2 WHERE id = $1 AND fanned_out_at IS NULL")
        .bind(id)
        .bind(now)
        .execute(e)
        .await?;
    Ok(())
}

/// A subscriber who may receive mail about a kind of subject, with the component scope.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub id: i64,
    pub email: String,
    /// `email`, or `webhook` (then `webhook_url` is where the call goes).
    pub channel: String,
    pub webhook_url: Option<String>,
    pub all_components: bool,
    pub items: Vec<i64>,
}

/// Confirmed, deliverable subscribers (email and webhook) of a page who want this kind of subject
/// (`incident` or `maintenance`), in id order.
pub async fn recipients(tx: &mut sqlx::AnyConnection, page_id: i64, subject_kind: &str) -> Result<Vec<Recipient>> {
    // The toggle column comes from a closed set, never from input.
    let toggle = if subject_kind == "maintenance" { "maintenances" } else { "incidents" };
    let rows = sqlx::query(&format!(
        "SELECT id, email, channel, webhook_url, all_components FROM subscribers WHERE page_id = $1 \
         AND state = 'active' AND hygiene = 'ok' AND email IS NOT NULL AND {toggle} = 1 \
         AND (channel = 'email' OR (channel = 'webhook' AND webhook_url IS NOT NULL)) ORDER BY id"
    ))
    .bind(page_id)
    .fetch_all(&mut *tx)
    .await?;
    let mut out: Vec<Recipient> = rows
        .iter()
        .map(|r| Recipient {
            id: r.get("id"),
            email: r.get("email"),
            channel: r.get("channel"),
            webhook_url: super::opt_str(r, "webhook_url"),
            all_components: r.get::<i64, _>("all_components") != 0,
            items: Vec::new(),
        })
        .collect();
    let scope = sqlx::query(
        "SELECT s.subscriber_id, s.item_id FROM subscriber_items s JOIN subscribers b ON b.id = s.subscriber_id \
         WHERE b.page_id = $1",
    )
    .bind(page_id)
    .fetch_all(&mut *tx)
    .await?;
    let index: std::collections::HashMap<i64, usize> = out.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
    for r in &scope {
        let (sub, item): (i64, i64) = (r.get(0), r.get(1));
        if let Some(&i) = index.get(&sub) {
            out[i].items.push(item);
        }
    }
    Ok(out)
}

/// Stores the hashes of many mailed unsubscribe tokens: (subscriber id, SHA-256 hex).
pub async fn insert_unsubscribe_tokens(
    tx: &mut sqlx::AnyConnection,
    page_id: i64,
    tokens: &[(i64, String)],
    now: i64,
    expires_at: i64,
) -> Result<()> {
    for chunk in tokens.chunks(400) {
        let values: Vec<String> =
            (0..chunk.len()).map(|i| format!("($1, ${}, ${}, $2, $3)", i * 2 + 4, i * 2 + 5)).collect();
        let sql = format!(
            "INSERT INTO unsubscribe_tokens (page_id, subscriber_id, token_hash, created_at, expires_at) VALUES {}",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(page_id).bind(now).bind(expires_at);
        for (sub, hash) in chunk {
            q = q.bind(*sub).bind(hash);
        }
        q.execute(&mut *tx).await?;
    }
    Ok(())
}

/// Of `ids`, the subscribers that may still be notified (active, hygiene `ok`): fan-out checks
/// again in each chunk's transaction, so an address that left while an event was being fanned out
/// gets nothing. On PostgreSQL the rows are locked against deletion until the transaction ends;
/// SQLite's writer lock does that already.
pub async fn still_deliverable(
    tx: &mut sqlx::AnyConnection,
    engine: super::Engine,
    ids: &[i64],
) -> Result<std::collections::HashSet<i64>> {
    let lock = if engine == super::Engine::Postgres { " FOR SHARE" } else { "" };
    let rows = sqlx::query(&format!(
        "SELECT id FROM subscribers WHERE id IN ({}) AND state = 'active' AND hygiene = 'ok'{lock}",
        super::id_list(ids)
    ))
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows.iter().map(|r| r.get::<i64, _>(0)).collect())
}

/// (page id, subscriber id, expires at) of an unsubscribe token.
pub async fn unsubscribe_token<'c, E: Executor<'c, Database = Any>>(
    e: E,
    hash: &str,
) -> Result<Option<(i64, i64, i64)>> {
    let r = sqlx::query("SELECT page_id, subscriber_id, expires_at FROM unsubscribe_tokens WHERE token_hash = $1")
        .bind(hash)
        .fetch_optional(e)
        .await?;
    Ok(r.map(|r| (r.get(0), r.get(1), r.get(2))))
}
