//! SQL for invitations: the emailed, single-use links through which people join an org or page.

use super::Result;
use sqlx::{Any, Executor};

/// An invitation, pending or ended. The token itself is never stored, only its SHA-256.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InvitationRow {
    pub id: i64,
    pub org_id: i64,
    /// The page whose role it grants; `None` for an org role.
    pub page_id: Option<i64>,
    pub email: String,
    pub role: String,
    pub invited_by: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub accepted_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl InvitationRow {
    /// `pending`, `accepted`, `revoked` or `expired` at `now`.
    pub fn status(&self, now: i64) -> &'static str {
        match (self.accepted_at, self.revoked_at) {
            (Some(_), _) => "accepted",
            (None, Some(_)) => "revoked",
            (None, None) if self.expires_at <= now => "expired",
            (None, None) => "pending",
        }
    }
}

const COLS: &str = "id, org_id, page_id, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at";

/// A new invitation.
pub struct NewInvitation<'a> {
    pub org_id: i64,
    pub page_id: Option<i64>,
    pub email: &'a str,
    pub role: &'a str,
    pub token_hash: &'a str,
    pub invited_by: &'a str,
    pub expires_at: i64,
}

pub async fn insert<'c, E: Executor<'c, Database = Any>>(
    e: E,
    n: &NewInvitation<'_>,
    now: i64,
) -> Result<InvitationRow> {
    Ok(sqlx::query_as(&format!(
        "INSERT INTO invitations (org_id, page_id, email, role, token_hash, invited_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {COLS}"
    ))
    .bind(n.org_id)
    .bind(n.page_id)
    .bind(n.email)
    .bind(n.role)
    .bind(n.token_hash)
    .bind(n.invited_by)
    .bind(now)
    .bind(n.expires_at)
    .fetch_one(e)
    .await?)
}

/// Ends every pending invitation of `email` to the same org and page (a new one replaces them);
/// returns their ids.
pub async fn revoke_pending_for<'c, E: Executor<'c, Database = Any>>(
    e: E,
    org_id: i64,
    page_id: Option<i64>,
    email: &str,
    now: i64,
) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "UPDATE invitations SET revoked_at = $4 WHERE org_id = $1 AND email = $3 \
         AND ((page_id IS NULL AND $2 IS NULL) OR page_id = $2) AND accepted_at IS NULL AND revoked_at IS NULL \
         RETURNING id",
    )
    .bind(org_id)
    .bind(page_id)
    .bind(email)
    .bind(now)
    .fetch_all(e)
    .await?)
}

/// Takes the not yet sent mail of these invitations out of the outbox: a withdrawn link is
/// neither delivered nor kept.
pub async fn drop_unsent_mail<'c, E: Executor<'c, Database = Any>>(e: E, ids: &[i64], now: i64) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let keys: Vec<String> = ids.iter().map(|id| format!("'invitation:{id}'")).collect();
    sqlx::query(&format!(
        "DELETE FROM outbox WHERE dedupe_key IN ({}) AND state = 'pending' AND locked_until <= $1",
        keys.join(", ")
    ))
    .bind(now)
    .execute(e)
    .await?;
    Ok(())
}

/// How many invitations the org made since `since` (all of them, or with `email` to one
/// address), and when the oldest of those was made.
pub async fn count_made_since<'c, E: Executor<'c, Database = Any>>(
    e: E,
    org_id: i64,
    email: Option<&str>,
    since: i64,
) -> Result<(i64, Option<i64>)> {
    Ok(sqlx::query_as(
        "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM invitations \
         WHERE org_id = $1 AND created_at > $2 AND ($3 IS NULL OR email = $3)",
    )
    .bind(org_id)
    .bind(since)
    .bind(email)
    .fetch_one(e)
    .await?)
}

/// Invitations of the org still waiting for an answer at `now`.
pub async fn count_pending<'c, E: Executor<'c, Database = Any>>(e: E, org_id: i64, now: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM invitations WHERE org_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL \
         AND expires_at > $2",
    )
    .bind(org_id)
    .bind(now)
    .fetch_one(e)
    .await?)
}

/// The org's invitations (all of them, or one page's with `page_id`), newest first, below `before`.
pub async fn list<'c, E: Executor<'c, Database = Any>>(
    e: E,
    org_id: i64,
    page_id: Option<i64>,
    before: i64,
    limit: i64,
) -> Result<Vec<InvitationRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLS} FROM invitations WHERE org_id = $1 AND ($2 IS NULL OR page_id = $2) AND id < $3 \
         ORDER BY id DESC LIMIT $4"
    ))
    .bind(org_id)
    .bind(page_id)
    .bind(before)
    .bind(limit)
    .fetch_all(e)
    .await?)
}

pub async fn by_id<'c, E: Executor<'c, Database = Any>>(e: E, org_id: i64, id: i64) -> Result<Option<InvitationRow>> {
    Ok(sqlx::query_as(&format!("SELECT {COLS} FROM invitations WHERE org_id = $1 AND id = $2"))
        .bind(org_id)
        .bind(id)
        .fetch_optional(e)
        .await?)
}

pub async fn by_hash<'c, E: Executor<'c, Database = Any>>(e: E, token_hash: &str) -> Result<Option<InvitationRow>> {
    Ok(sqlx::query_as(&format!("SELECT {COLS} FROM invitations WHERE token_hash = $1"))
        .bind(token_hash)
        .fetch_optional(e)
        .await?)
}

/// Revokes one pending invitation; false when it had already ended.
pub async fn revoke<'c, E: Executor<'c, Database = Any>>(e: E, id: i64, now: i64) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE invitations SET revoked_at = $2 WHERE id = $1 AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(id)
    .bind(now)
    .execute(e)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Claims a pending, unexpired invitation for acceptance: exactly one caller wins.
pub async fn claim<'c, E: Executor<'c, Database = Any>>(e: E, id: i64, now: i64) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE invitations SET accepted_at = $2 \
         WHERE id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2",
    )
    .bind(id)
    .bind(now)
    .execute(e)
    .await?;
    Ok(r.rows_affected() == 1)
}
