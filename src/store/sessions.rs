//! SQL for the `sessions` table (web sign-ins). Only SHA-256 hashes (hex) of secrets are stored.

use super::Result;
use sqlx::{Any, Executor};

/// A web session as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub id: i64,
    pub user_id: i64,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

pub async fn insert_session<'c, E: Executor<'c, Database = Any>>(
    e: E,
    user_id: i64,
    hash: &str,
    now: i64,
    expires_at: i64,
    ip: &str,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO sessions (user_id, token_hash, created_at, last_seen_at, expires_at, ip) \
         VALUES ($1, $2, $3, $3, $4, $5) RETURNING id",
    )
    .bind(user_id)
    .bind(hash)
    .bind(now)
    .bind(expires_at)
    .bind(ip)
    .fetch_one(e)
    .await?)
}

pub async fn session_by_hash<'c, E: Executor<'c, Database = Any>>(e: E, hash: &str) -> Result<Option<SessionRow>> {
    Ok(sqlx::query_as(
        "SELECT id, user_id, created_at, last_seen_at, expires_at, revoked_at FROM sessions WHERE token_hash = $1",
    )
    .bind(hash)
    .fetch_optional(e)
    .await?)
}

pub async fn touch_session<'c, E: Executor<'c, Database = Any>>(e: E, id: i64, now: i64) -> Result<()> {
    sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id = $1").bind(id).bind(now).execute(e).await?;
    Ok(())
}

pub async fn revoke_session<'c, E: Executor<'c, Database = Any>>(e: E, id: i64, now: i64) -> Result<()> {
    sqlx::query("UPDATE sessions SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(e)
        .await?;
    Ok(())
}

/// Revokes every live session of a user (password change, removal).
pub async fn revoke_user_sessions<'c, E: Executor<'c, Database = Any>>(e: E, user_id: i64, now: i64) -> Result<u64> {
    let r = sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
        .bind(user_id)
        .bind(now)
        .execute(e)
        .await?;
    Ok(r.rows_affected())
}
