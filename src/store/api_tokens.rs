//! SQL for the `api_tokens` table. Only SHA-256 hashes (hex) of secrets are stored.

use super::{Flag, Result};
use sqlx::{Any, Executor};

/// An API token as stored (no secret).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiTokenRow {
    pub id: i64,
    pub org_id: i64,
    pub page_id: Option<i64>,
    pub name: String,
    pub description: String,
    pub notes: String,
    pub permission: String,
    pub role_key: String,
    #[sqlx(try_from = "Flag")]
    pub terraform_managed: bool,
    pub token_hint: String,
    pub previous_valid_until: Option<i64>,
    pub created_by_kind: String,
    pub created_by_id: Option<i64>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub rotated_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub last_used_ip: Option<String>,
}

const TOKEN_COLS: &str = "id, org_id, page_id, name, description, notes, permission, role_key, terraform_managed, \
    token_hint, previous_valid_until, created_by_kind, created_by_id, created_at, expires_at, revoked_at, rotated_at, \
    last_used_at, last_used_ip";

/// A token found by hash, and whether the previous secret matched.
#[derive(sqlx::FromRow)]
struct ByHash {
    #[sqlx(flatten)]
    token: ApiTokenRow,
    #[sqlx(try_from = "Flag")]
    via_previous: bool,
}

/// Fields of a new token.
pub struct NewApiToken<'a> {
    pub org_id: i64,
    pub page_id: Option<i64>,
    pub name: &'a str,
    pub description: &'a str,
    pub notes: &'a str,
    pub permission: &'a str,
    pub role_key: &'a str,
    pub terraform_managed: bool,
    pub token_hash: &'a str,
    pub token_hint: &'a str,
    pub created_by_kind: &'a str,
    pub created_by_id: Option<i64>,
    pub expires_at: Option<i64>,
}

pub async fn insert_api_token<'c, E: Executor<'c, Database = Any>>(e: E, t: &NewApiToken<'_>, now: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO api_tokens (org_id, page_id, name, description, notes, permission, role_key, terraform_managed, \
         token_hash, token_hint, created_by_kind, created_by_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
    )
    .bind(t.org_id)
    .bind(t.page_id)
    .bind(t.name)
    .bind(t.description)
    .bind(t.notes)
    .bind(t.permission)
    .bind(t.role_key)
    .bind(t.terraform_managed as i64)
    .bind(t.token_hash)
    .bind(t.token_hint)
    .bind(t.created_by_kind)
    .bind(t.created_by_id)
    .bind(now)
    .bind(t.expires_at)
    .fetch_one(e)
    .await?)
}

/// Looks a presented token up by hash: the current secret, or the previous one within its grace
/// (then the flag is true). Revocation and expiry are decided by the caller from the row, so every
/// refusal looks the same.
pub async fn api_token_by_hash<'c, E: Executor<'c, Database = Any>>(
    e: E,
    hash: &str,
    now: i64,
) -> Result<Option<(ApiTokenRow, bool)>> {
    let r: Option<ByHash> = sqlx::query_as(&format!(
        "SELECT {TOKEN_COLS}, 0 AS via_previous FROM api_tokens WHERE token_hash = $1 \
         UNION ALL SELECT {TOKEN_COLS}, 1 AS via_previous FROM api_tokens \
         WHERE previous_hash = $1 AND previous_valid_until > $2 \
         LIMIT 1"
    ))
    .bind(hash)
    .bind(now)
    .fetch_optional(e)
    .await?;
    Ok(r.map(|r| (r.token, r.via_previous)))
}

pub async fn api_token_by_id<'c, E: Executor<'c, Database = Any>>(e: E, id: i64) -> Result<Option<ApiTokenRow>> {
    Ok(sqlx::query_as(&format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE id = $1")).bind(id).fetch_optional(e).await?)
}

/// Tokens of a page (`Some(page)`) or org-level tokens of an org (`None`).
pub async fn api_tokens_in_scope<'c, E: Executor<'c, Database = Any>>(
    e: E,
    org_id: i64,
    page_id: Option<i64>,
    after: i64,
    limit: i64,
) -> Result<Vec<ApiTokenRow>> {
    let cond = if page_id.is_some() { "page_id = $2" } else { "page_id IS NULL AND $2 = 0" };
    Ok(sqlx::query_as(&format!(
        "SELECT {TOKEN_COLS} FROM api_tokens WHERE org_id = $1 AND {cond} AND id > $3 ORDER BY id LIMIT $4"
    ))
    .bind(org_id)
    .bind(page_id.unwrap_or(0))
    .bind(after)
    .bind(limit)
    .fetch_all(e)
    .await?)
}

pub async fn revoke_api_token<'c, E: Executor<'c, Database = Any>>(e: E, id: i64, now: i64) -> Result<()> {
    sqlx::query(
        "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $2), previous_valid_until = NULL WHERE id = $1",
    )
    .bind(id)
    .bind(now)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn delete_api_token<'c, E: Executor<'c, Database = Any>>(e: E, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM api_tokens WHERE id = $1").bind(id).execute(e).await?;
    Ok(())
}

/// Swaps in a new secret if the token is still live and unchanged since `seen_rotated_at` was
/// read; the old secret stays valid until `previous_valid_until` (may be `now`). False when a
/// concurrent rotation or revocation won.
pub async fn rotate_api_token<'c, E: Executor<'c, Database = Any>>(
    e: E,
    id: i64,
    seen_rotated_at: Option<i64>,
    new_hash: &str,
    new_hint: &str,
    previous_valid_until: i64,
    now: i64,
) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE api_tokens SET previous_hash = token_hash, previous_valid_until = $4, token_hash = $2, \
         token_hint = $3, rotated_at = $5 WHERE id = $1 AND revoked_at IS NULL AND COALESCE(rotated_at, -1) = $6",
    )
    .bind(id)
    .bind(new_hash)
    .bind(new_hint)
    .bind(previous_valid_until)
    .bind(now)
    .bind(seen_rotated_at.unwrap_or(-1))
    .execute(e)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Records use; callers throttle to once a minute per token.
pub async fn touch_api_token<'c, E: Executor<'c, Database = Any>>(e: E, id: i64, now: i64, ip: &str) -> Result<()> {
    sqlx::query("UPDATE api_tokens SET last_used_at = $2, last_used_ip = $3 WHERE id = $1")
        .bind(id)
        .bind(now)
        .bind(ip)
        .execute(e)
        .await?;
    Ok(())
}

/// Counts of tokens in a scope by state: (total, active, revoked, expired).
pub async fn api_token_stats<'c, E: Executor<'c, Database = Any>>(
    e: E,
    org_id: i64,
    page_id: Option<i64>,
    now: i64,
) -> Result<(i64, i64, i64, i64)> {
    let cond = if page_id.is_some() { "page_id = $2" } else { "page_id IS NULL AND $2 = 0" };
    Ok(sqlx::query_as(&format!(
        "SELECT COUNT(*), \
         COALESCE(SUM(CASE WHEN revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $3) THEN 1 ELSE 0 END), 0), \
         COALESCE(SUM(CASE WHEN revoked_at IS NOT NULL THEN 1 ELSE 0 END), 0), \
         COALESCE(SUM(CASE WHEN revoked_at IS NULL AND expires_at IS NOT NULL AND expires_at <= $3 THEN 1 ELSE 0 END), 0) \
         FROM api_tokens WHERE org_id = $1 AND {cond}"
    ))
    .bind(org_id)
    .bind(page_id.unwrap_or(0))
    .bind(now)
    .fetch_one(e)
    .await?)
}
