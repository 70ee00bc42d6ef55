//! SQL for the `magic_tokens` table: the emailed single-use links (and the sessions they open) of
//! subscribers and of custom views. Only SHA-256 hashes (hex) of secrets are stored.

use super::Result;
use sqlx::{Any, Executor};

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
    Ok(sqlx::query_scalar(
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
    .await?)
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

// ---- view tokens ---------------------------------------------------------------------------------

/// A magic token bound to a view (`view_link` or `view_session`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ViewTokenRow {
    pub id: i64,
    pub page_id: i64,
    pub view_id: Option<i64>,
    pub kind: String,
    pub email: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

/// A view-bound magic token to store (its hash only).
pub struct NewViewToken<'a> {
    pub page_id: i64,
    pub view_id: i64,
    pub kind: &'a str,
    pub hash: &'a str,
    pub email: &'a str,
    pub expires_at: i64,
}

pub async fn insert_token<'c, E: Executor<'c, Database = Any>>(e: E, t: &NewViewToken<'_>, now: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO magic_tokens (page_id, kind, token_hash, email, created_at, expires_at, view_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(t.page_id)
    .bind(t.kind)
    .bind(t.hash)
    .bind(t.email)
    .bind(now)
    .bind(t.expires_at)
    .bind(t.view_id)
    .fetch_one(e)
    .await?)
}

pub async fn token_by_hash<'c, E: Executor<'c, Database = Any>>(e: E, hash: &str) -> Result<Option<ViewTokenRow>> {
    Ok(sqlx::query_as(
        "SELECT id, page_id, view_id, kind, email, expires_at, used_at FROM magic_tokens WHERE token_hash = $1",
    )
    .bind(hash)
    .fetch_optional(e)
    .await?)
}

/// Ends the view's outstanding tokens of `kind`, of one address or (`None`) of everyone.
pub async fn revoke_tokens<'c, E: Executor<'c, Database = Any>>(
    e: E,
    view_id: i64,
    kind: &str,
    email: Option<&str>,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE magic_tokens SET expires_at = $3 WHERE view_id = $1 AND kind = $2 AND expires_at > $3 \
         AND ($4 = '' OR email = $4)",
    )
    .bind(view_id)
    .bind(kind)
    .bind(now)
    .bind(email.unwrap_or(""))
    .execute(e)
    .await?;
    Ok(())
}
