//! SQL for the `subscribers` table, their component scope (`subscriber_items`), who of them an
//! event reaches, and the one-click `unsubscribe_tokens` mailed with each message.

use super::{Flag, Result};
use sqlx::{Any, Executor};

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
    Ok(sqlx::query_scalar(
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
    .await?)
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
    Ok(sqlx::query_scalar(
        "SELECT h.identifier FROM subscriber_items s JOIN hierarchy_items h ON h.id = s.item_id \
         WHERE s.subscriber_id = $1 ORDER BY h.display_order, h.id",
    )
    .bind(subscriber_id)
    .fetch_all(e)
    .await?)
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
    Ok(sqlx::query_as(
        "SELECT s.subscriber_id, h.identifier FROM subscriber_items s JOIN hierarchy_items h ON h.id = s.item_id \
         JOIN subscribers sub ON sub.id = s.subscriber_id WHERE sub.page_id = $1 \
         ORDER BY h.display_order, h.id",
    )
    .bind(page_id)
    .fetch_all(e)
    .await?)
}

/// Number of subscribers of a page by (state, hygiene).
pub async fn counts<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64) -> Result<Vec<(String, String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT state, hygiene, COUNT(*) AS n FROM subscribers WHERE page_id = $1 GROUP BY state, hygiene",
    )
    .bind(page_id)
    .fetch_all(e)
    .await?)
}

/// Hard-deletes a subscriber (its scope and unsubscribe links go with it); false when absent.
pub async fn delete<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64, id: i64) -> Result<bool> {
    let r =
        sqlx::query("DELETE FROM subscribers WHERE page_id = $1 AND id = $2").bind(page_id).bind(id).execute(e).await?;
    Ok(r.rows_affected() == 1)
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
    Ok(sqlx::query_scalar(&format!("SELECT id FROM subscribers WHERE page_id = $1 AND id IN ({list})"))
        .bind(page_id)
        .fetch_all(e)
        .await?)
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
    Ok(sqlx::query_scalar(
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
    .await?)
}

// ---- fan-out ----------------------------------------------------------------------------------

/// A subscriber who may receive mail about a kind of subject, with the component scope.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Recipient {
    pub id: i64,
    pub email: String,
    /// `email`, or `webhook` (then `webhook_url` is where the call goes).
    pub channel: String,
    pub webhook_url: Option<String>,
    #[sqlx(try_from = "Flag")]
    pub all_components: bool,
    /// Filled from `subscriber_items` after the rows are read.
    #[sqlx(skip)]
    pub items: Vec<i64>,
}

/// Confirmed, deliverable subscribers (email and webhook) of a page who want this kind of subject
/// (`incident` or `maintenance`), in id order.
pub async fn recipients(tx: &mut sqlx::AnyConnection, page_id: i64, subject_kind: &str) -> Result<Vec<Recipient>> {
    // The toggle column comes from a closed set, never from input.
    let toggle = if subject_kind == "maintenance" { "maintenances" } else { "incidents" };
    let mut out: Vec<Recipient> = sqlx::query_as(&format!(
        "SELECT id, email, channel, webhook_url, all_components FROM subscribers WHERE page_id = $1 \
         AND state = 'active' AND hygiene = 'ok' AND email IS NOT NULL AND {toggle} = 1 \
         AND (channel = 'email' OR (channel = 'webhook' AND webhook_url IS NOT NULL)) ORDER BY id"
    ))
    .bind(page_id)
    .fetch_all(&mut *tx)
    .await?;
    let scope: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT s.subscriber_id, s.item_id FROM subscriber_items s JOIN subscribers b ON b.id = s.subscriber_id \
         WHERE b.page_id = $1",
    )
    .bind(page_id)
    .fetch_all(&mut *tx)
    .await?;
    let index: std::collections::HashMap<i64, usize> = out.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
    for (sub, item) in scope {
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
    Ok(sqlx::query_scalar(&format!(
        "SELECT id FROM subscribers WHERE id IN ({}) AND state = 'active' AND hygiene = 'ok'{lock}",
        super::id_list(ids)
    ))
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect())
}

/// (page id, subscriber id, expires at) of an unsubscribe token.
pub async fn unsubscribe_token<'c, E: Executor<'c, Database = Any>>(
    e: E,
    hash: &str,
) -> Result<Option<(i64, i64, i64)>> {
    Ok(sqlx::query_as("SELECT page_id, subscriber_id, expires_at FROM unsubscribe_tokens WHERE token_hash = $1")
        .bind(hash)
        .fetch_optional(e)
        .await?)
}
