//! API token lifecycle: create, list, get, revoke, delete, rotate, stats, audit trail.

use crate::app::App;
use crate::auth::policy::{self, Access, Permission, RoleKey};
use crate::auth::token::{PlainToken, TokenKind};
use crate::clock::{DAY, SECOND};
use crate::domain::types;
use crate::service::audit::{self, Actor, Event};
use crate::service::error::{Error, Result};
use crate::store;
use crate::store::api_tokens::{ApiTokenRow, NewApiToken};
use crate::store::audit::{self as audit_sql, AuditFilter, AuditRow};

/// Longest lifetime a token may be given.
pub const MAX_LIFETIME: i64 = 366 * DAY;
/// Longest grace period for the old secret after a rotation.
pub const MAX_GRACE: i64 = 7 * DAY;

/// Where a token lives: one page, or the whole org.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenScope {
    Page { org_id: i64, page_id: i64 },
    Org { org_id: i64 },
}

impl TokenScope {
    fn org_id(self) -> i64 {
        match self {
            TokenScope::Page { org_id, .. } | TokenScope::Org { org_id } => org_id,
        }
    }

    fn page_id(self) -> Option<i64> {
        match self {
            TokenScope::Page { page_id, .. } => Some(page_id),
            TokenScope::Org { .. } => None,
        }
    }
}

/// Who mints a token: their access on the scope, and (for a token) when they expire.
#[derive(Debug, Clone, Copy)]
pub struct Holder {
    pub grant: Access,
    pub expires_at: Option<i64>,
}

/// What a caller asks for when creating a token.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub name: String,
    pub description: String,
    pub notes: String,
    pub permission: String,
    pub role_key: String,
    pub terraform_managed: bool,
    pub expires_at: Option<String>,
}

/// A token's lifecycle state, derived from its row and the clock.
pub fn state(row: &ApiTokenRow, now: i64) -> &'static str {
    if row.revoked_at.is_some() {
        "revoked"
    } else if row.expires_at.is_some_and(|e| e <= now) {
        "expired"
    } else {
        "active"
    }
}

/// The access a token would carry, and checks that the role fits the scope.
fn minted_access(scope: TokenScope, permission: Permission, role: RoleKey) -> Result<Access> {
    match (scope, role) {
        (TokenScope::Page { .. }, RoleKey::Page(r)) => Ok(policy::token_grant(permission, r.ceiling())),
        (TokenScope::Org { .. }, RoleKey::Org(r)) => Ok(policy::token_grant(permission, r.org_ceiling())),
        (TokenScope::Page { .. }, RoleKey::Org(_)) => {
            Err(Error::field("role_key", "page tokens take page_viewer, page_manager or page_admin"))
        }
        (TokenScope::Org { .. }, RoleKey::Page(_)) => {
            Err(Error::field("role_key", "org tokens take org_member or org_admin"))
        }
    }
}

/// Creates a token; returns the row and the secret, shown exactly once.
pub async fn create(
    app: &App,
    actor: &Actor,
    holder: Holder,
    scope: TokenScope,
    input: NewToken,
) -> Result<(ApiTokenRow, PlainToken)> {
    let name = types::name(&input.name, 100).map_err(Error::invalid("name"))?;
    let description = types::text(&input.description, 1000).map_err(Error::invalid("description"))?;
    let notes = types::text(&input.notes, 4000).map_err(Error::invalid("notes"))?;
    let permission = Permission::parse(&input.permission)
        .ok_or_else(|| Error::field("permission", "must be read, write or admin"))?;
    let role = RoleKey::parse(&input.role_key).ok_or_else(|| {
        Error::field("role_key", "must be page_viewer, page_manager, page_admin, org_member or org_admin")
    })?;
    let minted = minted_access(scope, permission, role)?;
    if !policy::may_mint(holder.grant, minted) {
        return Err(Error::Forbidden("a token cannot create a token with more access than its own".into()));
    }
    let now = app.now();
    let requested = match input.expires_at.as_deref() {
        None => None,
        Some(s) => {
            let t = crate::clock::parse_rfc3339(s)
                .ok_or_else(|| Error::field("expires_at", "must be an RFC 3339 timestamp"))?;
            if t <= now {
                return Err(Error::field("expires_at", "must be in the future"));
            }
            if t > now + MAX_LIFETIME {
                return Err(Error::field("expires_at", "must be at most one year ahead"));
            }
            Some(t)
        }
    };
    // A token never outlives the token that minted it; left out, it expires with its minter.
    let expires_at = match (requested, holder.expires_at) {
        (Some(t), Some(h)) if t > h => {
            return Err(Error::field("expires_at", "must not be later than the expiry of the token creating it"))
        }
        (None, Some(h)) => Some(h),
        (t, _) => t,
    };
    let secret = app.new_token(TokenKind::Api);
    let mut tx = app.db.begin().await?;
    let id = store::api_tokens::insert_api_token(
        &mut *tx,
        &NewApiToken {
            org_id: scope.org_id(),
            page_id: scope.page_id(),
            name: &name,
            description: &description,
            notes: &notes,
            permission: permission.as_str(),
            role_key: role.as_str(),
            terraform_managed: input.terraform_managed,
            token_hash: &secret.hash().to_hex(),
            token_hint: &secret.hint(),
            created_by_kind: actor.kind,
            created_by_id: actor.id,
            expires_at,
        },
        now,
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        event(
            scope,
            "token.created",
            id,
            serde_json::json!({"name": name, "permission": permission.as_str(), "role_key": role.as_str()}),
        ),
        now,
    )
    .await?;
    tx.commit().await?;
    let row = store::api_tokens::api_token_by_id(&app.db.pool, id).await?.ok_or(Error::NotFound("token"))?;
    Ok((row, secret))
}

fn event(scope: TokenScope, action: &str, id: i64, detail: serde_json::Value) -> Event<'_> {
    Event {
        org_id: Some(scope.org_id()),
        page_id: scope.page_id(),
        action,
        target_kind: "api_token",
        target_id: Some(id),
        detail,
    }
}

/// A token of this scope, or 404 (tokens of other scopes do not exist from here).
pub async fn get(app: &App, scope: TokenScope, id: i64) -> Result<ApiTokenRow> {
    match store::api_tokens::api_token_by_id(&app.db.pool, id).await? {
        Some(t) if t.org_id == scope.org_id() && t.page_id == scope.page_id() => Ok(t),
        _ => Err(Error::NotFound("token")),
    }
}

/// Tokens of the scope in id order after `after`.
pub async fn list(app: &App, scope: TokenScope, after: i64, limit: i64) -> Result<Vec<ApiTokenRow>> {
    Ok(store::api_tokens::api_tokens_in_scope(&app.db.pool, scope.org_id(), scope.page_id(), after, limit).await?)
}

/// Revokes a token at once (idempotent).
pub async fn revoke(app: &App, actor: &Actor, scope: TokenScope, id: i64) -> Result<ApiTokenRow> {
    let t = get(app, scope, id).await?;
    let now = app.now();
    if t.revoked_at.is_none() {
        let mut tx = app.db.begin().await?;
        store::api_tokens::revoke_api_token(&mut *tx, id, now).await?;
        audit::record(&mut tx, actor, event(scope, "token.revoked", id, serde_json::json!({"name": t.name})), now)
            .await?;
        tx.commit().await?;
    }
    get(app, scope, id).await
}

/// Deletes a token and its secret for good.
pub async fn delete(app: &App, actor: &Actor, scope: TokenScope, id: i64) -> Result<()> {
    let t = get(app, scope, id).await?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    store::api_tokens::delete_api_token(&mut *tx, id).await?;
    audit::record(&mut tx, actor, event(scope, "token.deleted", id, serde_json::json!({"name": t.name})), now).await?;
    tx.commit().await?;
    Ok(())
}

/// Issues a new secret; the old one keeps working for `grace_seconds` (default 0).
pub async fn rotate(
    app: &App,
    actor: &Actor,
    scope: TokenScope,
    id: i64,
    grace_seconds: u64,
) -> Result<(ApiTokenRow, PlainToken)> {
    let grace = i64::try_from(grace_seconds).unwrap_or(i64::MAX).saturating_mul(SECOND);
    if grace > MAX_GRACE {
        return Err(Error::field("grace_seconds", "must be at most 604800 (7 days)"));
    }
    let t = get(app, scope, id).await?;
    let now = app.now();
    if state(&t, now) != "active" {
        return Err(Error::Conflict {
            code: "token_not_active",
            message: format!("a {} token cannot be rotated", state(&t, now)),
        });
    }
    let secret = app.new_token(TokenKind::Api);
    let mut tx = app.db.begin().await?;
    let swapped = store::api_tokens::rotate_api_token(
        &mut *tx,
        id,
        t.rotated_at,
        &secret.hash().to_hex(),
        &secret.hint(),
        now + grace,
        now,
    )
    .await?;
    if !swapped {
        return Err(Error::Conflict {
            code: "token_changed",
            message: "the token was rotated or revoked meanwhile; read it again".into(),
        });
    }
    audit::record(
        &mut tx,
        actor,
        event(scope, "token.rotated", id, serde_json::json!({"name": t.name, "grace_seconds": grace_seconds})),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok((get(app, scope, id).await?, secret))
}

/// Counts by state: total, active, revoked, expired.
pub async fn stats(app: &App, scope: TokenScope) -> Result<(i64, i64, i64, i64)> {
    Ok(store::api_tokens::api_token_stats(&app.db.pool, scope.org_id(), scope.page_id(), app.now()).await?)
}

/// The audit trail of one token, newest first.
pub async fn audit_trail(app: &App, scope: TokenScope, id: i64, before: i64, limit: i64) -> Result<Vec<AuditRow>> {
    get(app, scope, id).await?;
    Ok(audit_sql::list(
        &app.db.pool,
        &AuditFilter {
            org_id: scope.org_id(),
            page_id: scope.page_id(),
            target: Some(("api_token", id)),
            before,
            limit,
        },
    )
    .await?)
}
