//! SQL for the `custom_domains` table: a page's custom domain and its DNS challenge.

use super::Result;
use sqlx::{Any, Executor};

/// A custom domain and its DNS challenge.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DomainRow {
    pub id: i64,
    pub page_id: i64,
    pub domain: String,
    pub challenge_value: String,
    pub created_at: i64,
    pub verified_at: Option<i64>,
    pub last_checked_at: Option<i64>,
}

const COLS: &str = "id, page_id, domain, challenge_value, created_at, verified_at, last_checked_at";

pub async fn domain_of_page<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64) -> Result<Option<DomainRow>> {
    Ok(sqlx::query_as(&format!("SELECT {COLS} FROM custom_domains WHERE page_id = $1"))
        .bind(page_id)
        .fetch_optional(e)
        .await?)
}

/// The verified claim on a domain, if any page holds one.
pub async fn verified_domain<'c, E: Executor<'c, Database = Any>>(e: E, name: &str) -> Result<Option<DomainRow>> {
    Ok(sqlx::query_as(&format!("SELECT {COLS} FROM custom_domains WHERE domain = $1 AND verified_at IS NOT NULL"))
        .bind(name)
        .fetch_optional(e)
        .await?)
}

pub async fn insert_domain<'c, E: Executor<'c, Database = Any>>(
    e: E,
    page_id: i64,
    name: &str,
    challenge: &str,
    now: i64,
) -> Result<()> {
    sqlx::query("INSERT INTO custom_domains (page_id, domain, challenge_value, created_at) VALUES ($1, $2, $3, $4)")
        .bind(page_id)
        .bind(name)
        .bind(challenge)
        .bind(now)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn delete_domain<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64) -> Result<bool> {
    let r = sqlx::query("DELETE FROM custom_domains WHERE page_id = $1").bind(page_id).execute(e).await?;
    Ok(r.rows_affected() > 0)
}

/// Records a check of exactly this claim (same row, domain and challenge); false when the page's
/// claim changed meanwhile, so a slow lookup can never verify a different domain.
pub async fn mark_domain_checked<'c, E: Executor<'c, Database = Any>>(
    e: E,
    claim: &DomainRow,
    verified_at: Option<i64>,
    now: i64,
) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE custom_domains SET verified_at = COALESCE($4, verified_at), last_checked_at = $5 \
         WHERE id = $1 AND domain = $2 AND challenge_value = $3",
    )
    .bind(claim.id)
    .bind(&claim.domain)
    .bind(&claim.challenge_value)
    .bind(verified_at)
    .bind(now)
    .execute(e)
    .await?;
    Ok(r.rows_affected() == 1)
}
