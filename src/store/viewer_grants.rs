//! SQL for the `viewer_grants` table: what a correct viewer password on a private page opens.
//! Only SHA-256 hashes (hex) of secrets are stored.

use super::Result;
use sqlx::{Any, Executor};

pub async fn insert_viewer_grant<'c, E: Executor<'c, Database = Any>>(
    e: E,
    page_id: i64,
    hash: &str,
    now: i64,
    expires_at: i64,
) -> Result<()> {
    sqlx::query("INSERT INTO viewer_grants (page_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(page_id)
        .bind(hash)
        .bind(now)
        .bind(expires_at)
        .execute(e)
        .await?;
    Ok(())
}

/// The page a live viewer grant opens.
pub async fn viewer_grant_page<'c, E: Executor<'c, Database = Any>>(e: E, hash: &str, now: i64) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar("SELECT page_id FROM viewer_grants WHERE token_hash = $1 AND expires_at > $2")
        .bind(hash)
        .bind(now)
        .fetch_optional(e)
        .await?)
}

/// Ends all viewer grants of a page (password changed or cleared).
pub async fn delete_viewer_grants<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64) -> Result<()> {
    sqlx::query("DELETE FROM viewer_grants WHERE page_id = $1").bind(page_id).execute(e).await?;
    Ok(())
}
