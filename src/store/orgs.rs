//! SQL for the `orgs` table (tenants).

use super::Result;
use sqlx::{Any, Executor};

/// An organization (tenant).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrgRow {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub created_at: i64,
}

pub async fn insert_org<'c, E: Executor<'c, Database = Any>>(e: E, name: &str, slug: &str, now: i64) -> Result<i64> {
    Ok(sqlx::query_scalar("INSERT INTO orgs (name, slug, created_at) VALUES ($1, $2, $3) RETURNING id")
        .bind(name)
        .bind(slug)
        .bind(now)
        .fetch_one(e)
        .await?)
}

pub async fn org_by_id<'c, E: Executor<'c, Database = Any>>(e: E, id: i64) -> Result<Option<OrgRow>> {
    Ok(sqlx::query_as("SELECT id, name, slug, created_at FROM orgs WHERE id = $1").bind(id).fetch_optional(e).await?)
}

pub async fn org_by_slug<'c, E: Executor<'c, Database = Any>>(e: E, slug: &str) -> Result<Option<OrgRow>> {
    Ok(sqlx::query_as("SELECT id, name, slug, created_at FROM orgs WHERE slug = $1")
        .bind(slug)
        .fetch_optional(e)
        .await?)
}

pub async fn count_orgs<'c, E: Executor<'c, Database = Any>>(e: E) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM orgs").fetch_one(e).await?)
}
