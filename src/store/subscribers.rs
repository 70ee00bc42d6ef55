//! SQL for subscribers, their component scope, magic tokens and the outbox.

use super::{Flag, Result};
use sqlx::{Any, Executor, Row};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SubscriberRow {
    pub id: i64,
    pub page_id: i64,
    pub channel: String,
    pub email: Option<String>,
    pub webhook_url: Option<String>,
    pub state: String,
    pub hygiene: String,
    #[sqlx(try_from = "Flag")]
    pub incidents: bool,
    #[sqlx(try_from = "Flag")]
    pub maintenances: bool,
    #[sqlx(try_from = "Flag")]
    pub all_components: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub confirmed_at: Option<i64>,
    pub unsubscribed_at: Option<i64>,
}

const COLS: &str =
    "id, page_id, channel, email, webhook_url, state, hygiene, incidents, maintenances, all_components, \
    created_at, updated_at, confirmed_at, unsubscribed_at";

/// Sets how a subscriber is notified: `email`, or `webhook` to `webhook_url`. A new URL clears
/// the signing secret (a new one is issued with it).
pub async fn set_channel<'c, E: Executor<'c, Database = Any>>(
    e: E,
    id: i64,
    channel: &str,
    webhook_url: Option<&str>,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE subscribers SET channel = $2, \
         webhook_secret = CASE WHEN webhook_url IS NULL OR $3 IS NULL OR webhook_url <> $3 THEN NULL \
           ELSE webhook_secret END, \
         webhook_url = $3, updated_at = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(channel)
    .bind(webhook_url)
    .bind(now)
    .execute(e)
    .await?;
    Ok(())
}

/// Stores a new webhook signing secret.
pub async fn set_webhook_secret<'c, E: Executor<'c, Database = Any>>(e: E, id: i64, secret: &str) -> Result<()> {
    sqlx::query("UPDATE subscribers SET webhook_secret = $2 WHERE id = $1").bind(id).bind(secret).execute(e).await?;
    Ok(())
}

/// Whether a webhook subscriber has a signing secret.
pub async fn has_webhook_secret<'c, E: Executor<'c, Database = Any>>(e: E, id: i64) -> Result<bool> {
    let secret: Option<Option<String>> =
        sqlx::query_scalar("SELECT webhook_secret FROM subscribers WHERE id = $1").bind(id).fetch_optional(e).await?;
    Ok(secret.flatten().is_some())
}

/// The subscriber (of any address) that already posts to this URL on the page.
pub async fn by_webhook_url<'c, E: Executor<'c, Database = Any>>(
    e: E,
    page_id: i64,
    url: &str,
) -> Result<Option<SubscriberRow>> {
    Ok(sqlx::query_as(&format!("SELECT {COLS} FROM subscribers WHERE page_id = $1 AND webhook_url = $2"))
        .bind(page_id)
        .bind(url)
        .fetch_optional(e)
        .await?)
}

/// What a subscriber wants to hear about.
pub struct Preferences {
    pub incidents: bool,
    pub maintenances: bool,
    pub all_components: bool,
}

pub async fn by_email<'c, E: Executor<'c, Database = Any>>(
    e: E,
    page_id: i64,
    email: &str,
) -> Result<Option<SubscriberRow>> {
    Ok(sqlx::query_as(&format!("SELECT {COLS} FROM subscribers WHERE page_id = $1 AND email = $2"))
        .bind(page_id)
        .bind(email)
        .fetch_optional(e)
        .await?)
}

pub async fn by_id<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64, id: i64) -> Result<Option<SubscriberRow>> {
    Ok(sqlx::query_as(&format!("SELECT {COLS} FROM subscribers WHERE page_id = $1 AND id = $2"))
        .bind(page_id)
        .bind(id)
        .fetch_optional(e)
        .await?)
}

pub async fn insert_email<'c, E: Executor<'c, Database = Any>>(
    e: E,
    page_id: i64,
    email: &str,
    p: &Preferences,
    now: i64,
) -> Result<i64> {
    let r = sqlx::query(
        "INSERT INTO subscribers (page_id, channel, email, state, hygiene, incidents, maintenances, all_components, \
         created_at, updated_at) VALUES ($1, 'email', $2, 'unconfirmed', 'ok', $3, $4, $5, $6, $6) RETURNING id",
    )
    .bind(page_id)
    .bind(email)
    .bind(p.incidents as i64)
    .bind(p.maintenances as i64)
    .bind(p.all_components as i64)
    .bind(now)
    .fetch_one(e)
    .await?;
    Ok(r.get(0))
}

pub async fn set_preferences<'c, E: Executor<'c, Database = Any>>(
    e: E,
    id: i64,
    p: &Preferences,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE subscribers SET incidents = $2, maintenances = $3, all_components = $4, updated_at = $5 WHERE id = $1",
    )
    .bind(id)
    .bind(p.incidents as i64)
    .bind(p.maintenances as i64)
    .bind(p.all_components as i64)
    .bind(now)
    .execute(e)
    .await?;
    Ok(())
}

/// Moves a subscriber's lifecycle state; `confirmed_at` / `unsubscribed_at` follow.
pub async fn set_state<'c, E: Executor<'c, Database = Any>>(e: E, id: i64, state: &str, now: i64) -> Result<()> {
    sqlx::query(
        "UPDATE subscribers SET state = $2, updated_at = $3, \
         confirmed_at = CASE WHEN $2 = 'active' THEN COALESCE(confirmed_at, $3) ELSE confirmed_at END, \
         unsubscribed_at = CASE WHEN $2 = 'unsubscribed' THEN $3 ELSE NULL END WHERE id = $1",
    )
    .bind(id)
    .bind(state)
    .bind(now)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn items<'c, E: Executor<'c, Database = Any>>(e: E, subscriber_id: i64) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT h.identifier FROM subscriber_items s JOIN hierarchy_items h ON h.id = s.item_id \
         WHERE s.subscriber_id = $1 ORDER BY h.display_order, h.id",
    )
    .bind(subscriber_id)
    .fetch_all(e)
    .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

pub async fn set_items(tx: &mut sqlx::AnyConnection, subscriber_id: i64, items: &[i64]) -> Result<()> {
    sqlx::query("DELETE FROM subscriber_items WHERE subscriber_id = $1").bind(subscriber_id).execute(&mut *tx).await?;
    for item in items {
        sqlx::query("INSERT INTO subscriber_items (subscriber_id, item_id) VALUES ($1, $2)")
            .bind(subscriber_id)
            .bind(item)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

// ---- magic tokens -----------------------------------------------------------------------------

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MagicRow {
    pub id: i64,
    pub page_id: i64,
    pub kind: String,
    pub email: String,
    pub expires_at: i64,
    pub idle_until: Option<i64>,
    pub used_at: Option<i64>,
}

/// A magic token to store (its hash only).
pub struct NewMagic<'a> {
    pub page_id: i64,
    pub kind: &'a str,
    pub hash: &'a str,
    pub email: &'a str,
    pub expires_at: i64,
    pub idle_until: Option<i64>,
}

pub async fn insert_magic<'c, E: Executor<'c, Database = Any>>(e: E, m: &NewMagic<'_>, now: i64) -> Result<i64> {
    let r = sqlx::query(
        "INSERT INTO magic_tokens (page_id, kind, token_hash, email, created_at, expires_at, idle_until) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(m.page_id)
    .bind(m.kind)
    .bind(m.hash)
    .bind(m.email)
    .bind(now)
    .bind(m.expires_at)
    .bind(m.idle_until)
    .fetch_one(e)
    .await?;
    Ok(r.get(0))
}

pub async fn magic_by_hash<'c, E: Executor<'c, Database = Any>>(e: E, hash: &str) -> Result<Option<MagicRow>> {
    Ok(sqlx::query_as(
        "SELECT id, page_id, kind, email, expires_at, idle_until, used_at FROM magic_tokens WHERE token_hash = $1",
    )
    .bind(hash)
    .fetch_optional(e)
    .await?)
}

/// Marks a link token used, once: false when it was already used (a second exchange loses).
pub async fn consume_magic<'c, E: Executor<'c, Database = Any>>(e: E, id: i64, now: i64) -> Result<bool> {
    let r = sqlx::query("UPDATE magic_tokens SET used_at = $2 WHERE id = $1 AND used_at IS NULL")
        .bind(id)
        .bind(now)
        .execute(e)
        .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn touch_magic<'c, E: Executor<'c, Database = Any>>(e: E, id: i64, idle_until: i64) -> Result<()> {
    sqlx::query("UPDATE magic_tokens SET idle_until = $2 WHERE id = $1").bind(id).bind(idle_until).execute(e).await?;
    Ok(())
}

/// Ends every outstanding magic token of an address on a page (unsubscribe, a newer link).
pub async fn revoke_magic<'c, E: Executor<'c, Database = Any>>(
    e: E,
    page_id: i64,
    email: &str,
    kind: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE magic_tokens SET expires_at = $4 WHERE page_id = $1 AND email = $2 AND kind = $3 AND expires_at > $4",
    )
    .bind(page_id)
    .bind(email)
    .bind(kind)
    .bind(now)
    .execute(e)
    .await?;
    Ok(())
}

// ---- outbox -----------------------------------------------------------------------------------

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

// ---- administration ---------------------------------------------------------------------------

/// Filters of the admin list; every value is already validated.
#[derive(Debug, Clone, Default)]
pub struct AdminFilter {
    /// Case-insensitive substring of the address.
    pub q: Option<String>,
    pub state: Option<String>,
    pub hygiene: Option<String>,
}

/// `LIKE` pattern matching `s` anywhere, with `\` escaping the wildcards.
fn contains_pattern(s: &str) -> String {
    let mut p = String::from("%");
    for c in s.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// One page of a page's subscribers, newest first, with ids below `before`.
pub async fn list_admin<'c, E: Executor<'c, Database = Any>>(
    e: E,
    page_id: i64,
    f: &AdminFilter,
    before: i64,
    limit: i64,
) -> Result<Vec<SubscriberRow>> {
    let mut sql = format!("SELECT {COLS} FROM subscribers WHERE page_id = $1 AND id < $2");
    let mut n = 2;
    let mut next = |clause: &str| {
        n += 1;
        clause.replace('?', &format!("${n}"))
    };
    if f.q.is_some() {
        sql.push_str(&next(" AND LOWER(COALESCE(email, '')) LIKE ? ESCAPE '\\'"));
    }
    if f.state.is_some() {
        sql.push_str(&next(" AND state = ?"));
    }
    if f.hygiene.is_some() {
        sql.push_str(&next(" AND hygiene = ?"));
    }
    sql.push_str(&next(" ORDER BY id DESC LIMIT ?"));
    let mut query = sqlx::query_as(&sql).bind(page_id).bind(before);
    if let Some(q) = &f.q {
        query = query.bind(contains_pattern(q));
    }
    if let Some(s) = &f.state {
        query = query.bind(s.clone());
    }
    if let Some(h) = &f.hygiene {
        query = query.bind(h.clone());
    }
    Ok(query.bind(limit).fetch_all(e).await?)
}

/// Every email subscriber of a page, oldest first (export; webhook subscriptions are not exported).
pub async fn all_of_page<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64) -> Result<Vec<SubscriberRow>> {
    Ok(sqlx::query_as(&format!("SELECT {COLS} FROM subscribers WHERE page_id = $1 AND channel = 'email' ORDER BY id"))
        .bind(page_id)
        .fetch_all(e)
        .await?)
}

/// (subscriber id, component identifier) of a page's scoped subscribers, in display order.
pub async fn items_of_page<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64) -> Result<Vec<(i64, String)>> {
    let rows = sqlx::query(
        "SELECT s.subscriber_id, h.identifier FROM subscriber_items s JOIN hierarchy_items h ON h.id = s.item_id \
         JOIN subscribers sub ON sub.id = s.subscriber_id WHERE sub.page_id = $1 \
         ORDER BY h.display_order, h.id",
    )
    .bind(page_id)
    .fetch_all(e)
    .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Number of subscribers of a page by (state, hygiene).
pub async fn counts<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64) -> Result<Vec<(String, String, i64)>> {
    let rows =
        sqlx::query("SELECT state, hygiene, COUNT(*) AS n FROM subscribers WHERE page_id = $1 GROUP BY state, hygiene")
            .bind(page_id)
            .fetch_all(e)
            .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
}

/// Hard-deletes a subscriber (its scope and unsubscribe links go with it); false when absent.
pub async fn delete<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64, id: i64) -> Result<bool> {
    let r =
        sqlx::query("DELETE FROM subscribers WHERE page_id = $1 AND id = $2").bind(page_id).bind(id).execute(e).await?;
    Ok(r.rows_affected() == 1)
}

/// Drops mail still waiting in the outbox for an address of a page.
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

pub async fn drop_pending_mail<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64, email: &str) -> Result<()> {
    sqlx::query("DELETE FROM outbox WHERE page_id = $1 AND recipient = $2 AND state = 'pending'")
        .bind(page_id)
        .bind(email)
        .execute(e)
        .await?;
    Ok(())
}

/// Sets the hygiene of one subscriber of a page; false when it was absent or already so.
pub async fn set_hygiene<'c, E: Executor<'c, Database = Any>>(
    e: E,
    page_id: i64,
    id: i64,
    hygiene: &str,
    now: i64,
) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE subscribers SET hygiene = $3, updated_at = $4 WHERE page_id = $1 AND id = $2 AND hygiene <> $3",
    )
    .bind(page_id)
    .bind(id)
    .bind(hygiene)
    .bind(now)
    .execute(e)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Ids (of those given) that are subscribers of the page.
pub async fn existing_ids<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64, ids: &[i64]) -> Result<Vec<i64>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // The ids are integers: inlining them cannot inject anything.
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
    let rows = sqlx::query(&format!("SELECT id FROM subscribers WHERE page_id = $1 AND id IN ({list})"))
        .bind(page_id)
        .fetch_all(e)
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// An imported email subscriber, as the import decided it.
pub struct Imported<'a> {
    pub email: &'a str,
    pub state: &'a str,
    pub hygiene: &'a str,
    pub prefs: Preferences,
    pub created_at: i64,
    pub confirmed_at: Option<i64>,
    pub unsubscribed_at: Option<i64>,
}

pub async fn insert_imported<'c, E: Executor<'c, Database = Any>>(
    e: E,
    page_id: i64,
    s: &Imported<'_>,
    now: i64,
) -> Result<i64> {
    let r = sqlx::query(
        "INSERT INTO subscribers (page_id, channel, email, state, hygiene, incidents, maintenances, all_components, \
         created_at, updated_at, confirmed_at, unsubscribed_at) \
         VALUES ($1, 'email', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(page_id)
    .bind(s.email)
    .bind(s.state)
    .bind(s.hygiene)
    .bind(s.prefs.incidents as i64)
    .bind(s.prefs.maintenances as i64)
    .bind(s.prefs.all_components as i64)
    .bind(s.created_at)
    .bind(now)
    .bind(s.confirmed_at)
    .bind(s.unsubscribed_at)
    .fetch_one(e)
    .await?;
    Ok(r.get(0))
}
