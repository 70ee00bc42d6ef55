//! SQL for the `pages` table (status pages, live or trashed).

use super::Result;
use sqlx::{Any, Executor};

/// A status page.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PageRow {
    pub id: i64,
    pub org_id: i64,
    pub name: String,
    pub internal_key: String,
    pub url_prefix: String,
    pub visibility: String,
    pub viewer_password_hash: Option<String>,
    pub settings: String,
    pub created_at: i64,
    pub deleted_at: Option<i64>,
}

const COLS: &str =
    "id, org_id, name, internal_key, url_prefix, visibility, viewer_password_hash, settings, created_at, deleted_at";

pub struct NewPage<'a> {
    pub org_id: i64,
    pub name: &'a str,
    pub internal_key: &'a str,
    pub url_prefix: &'a str,
    pub visibility: &'a str,
    pub viewer_password_hash: Option<&'a str>,
    pub settings: &'a str,
}

pub async fn insert_page<'c, E: Executor<'c, Database = Any>>(e: E, p: &NewPage<'_>, now: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO pages (org_id, name, internal_key, url_prefix, visibility, viewer_password_hash, settings, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(p.org_id)
    .bind(p.name)
    .bind(p.internal_key)
    .bind(p.url_prefix)
    .bind(p.visibility)
    .bind(p.viewer_password_hash)
    .bind(p.settings)
    .bind(now)
    .fetch_one(e)
    .await?)
}

/// A live (not trashed) page by URL prefix.
pub async fn live_page_by_prefix<'c, E: Executor<'c, Database = Any>>(e: E, prefix: &str) -> Result<Option<PageRow>> {
    Ok(sqlx::query_as(&format!("SELECT {COLS} FROM pages WHERE url_prefix = $1 AND deleted_at IS NULL"))
        .bind(prefix)
        .fetch_optional(e)
        .await?)
}

/// A page by id, trashed or not.
pub async fn page_by_id<'c, E: Executor<'c, Database = Any>>(e: E, id: i64) -> Result<Option<PageRow>> {
    Ok(sqlx::query_as(&format!("SELECT {COLS} FROM pages WHERE id = $1")).bind(id).fetch_optional(e).await?)
}

/// A live page served on a verified custom domain.
pub async fn live_page_by_domain<'c, E: Executor<'c, Database = Any>>(e: E, domain: &str) -> Result<Option<PageRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLS} FROM pages WHERE deleted_at IS NULL AND id IN \
         (SELECT page_id FROM custom_domains WHERE domain = $1 AND verified_at IS NOT NULL)"
    ))
    .bind(domain)
    .fetch_optional(e)
    .await?)
}

/// Pages of an org, live or trashed, in id order after a cursor; with `member`, only those that
/// user holds a page role on.
pub async fn pages_of_org<'c, E: Executor<'c, Database = Any>>(
    e: E,
    org_id: i64,
    member: Option<i64>,
    trashed: bool,
    after: i64,
    limit: i64,
) -> Result<Vec<PageRow>> {
    let state = if trashed { "deleted_at IS NOT NULL" } else { "deleted_at IS NULL" };
    let member_cond =
        if member.is_some() { "id IN (SELECT page_id FROM page_members WHERE user_id = $4)" } else { "$4 = 0" };
    Ok(sqlx::query_as(&format!(
        "SELECT {COLS} FROM pages WHERE org_id = $1 AND {state} AND id > $2 AND {member_cond} ORDER BY id LIMIT $3"
    ))
    .bind(org_id)
    .bind(after)
    .bind(limit)
    .bind(member.unwrap_or(0))
    .fetch_all(e)
    .await?)
}

pub async fn set_page_deleted<'c, E: Executor<'c, Database = Any>>(
    e: E,
    id: i64,
    deleted_at: Option<i64>,
) -> Result<()> {
    sqlx::query("UPDATE pages SET deleted_at = $2 WHERE id = $1").bind(id).bind(deleted_at).execute(e).await?;
    Ok(())
}

/// Hard-deletes pages trashed before `cutoff`; returns their ids.
pub async fn purge_pages<'c, E: Executor<'c, Database = Any>>(e: E, cutoff: i64) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar("DELETE FROM pages WHERE deleted_at IS NOT NULL AND deleted_at < $1 RETURNING id")
        .bind(cutoff)
        .fetch_all(e)
        .await?)
}

/// A patch of a page's identity and access; `None` leaves a column as it is. Only the named
/// columns are written, so concurrent changes to other columns are never undone.
pub struct PageIdentityPatch<'a> {
    pub name: Option<&'a str>,
    pub visibility: Option<&'a str>,
    /// `Some(None)` clears the viewer password.
    pub viewer_password_hash: Option<Option<&'a str>>,
}

pub async fn patch_page_identity<'c, E: Executor<'c, Database = Any>>(
    e: E,
    id: i64,
    p: &PageIdentityPatch<'_>,
) -> Result<()> {
    sqlx::query(
        "UPDATE pages SET name = COALESCE($2, name), visibility = COALESCE($3, visibility), \
         viewer_password_hash = CASE WHEN $4 = 1 THEN $5 ELSE viewer_password_hash END WHERE id = $1",
    )
    .bind(id)
    .bind(p.name)
    .bind(p.visibility)
    .bind(p.viewer_password_hash.is_some() as i64)
    .bind(p.viewer_password_hash.flatten())
    .execute(e)
    .await?;
    Ok(())
}

pub async fn set_page_settings<'c, E: Executor<'c, Database = Any>>(e: E, id: i64, settings: &str) -> Result<()> {
    sqlx::query("UPDATE pages SET settings = $2 WHERE id = $1").bind(id).bind(settings).execute(e).await?;
    Ok(())
}

/// True when any page, live or trashed, holds this prefix (trashed pages keep theirs to be restorable).
pub async fn page_prefix_taken<'c, E: Executor<'c, Database = Any>>(e: E, prefix: &str) -> Result<bool> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM pages WHERE url_prefix = $1").bind(prefix).fetch_one(e).await?;
    Ok(n > 0)
}
