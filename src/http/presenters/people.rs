//! Credentials and people: API tokens, audit entries, members.

use crate::clock::rfc3339;
use crate::service::credentials::tokens;
use crate::store::api_tokens::ApiTokenRow;
use crate::store::audit::AuditRow;
use crate::store::members::MemberRow;
use serde::Serialize;
use serde_json::Value;

/// An API token as lists and reads show it: never the secret, only its last four characters.
#[derive(Serialize)]
pub struct TokenJson {
    pub id: i64,
    pub name: String,
    pub permission: String,
    pub role_key: String,
    /// `active`, `revoked` or `expired`.
    pub state: &'static str,
    pub token_hint: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub full: Option<TokenDetail>,
}

/// What `?view=full` (and every single-token answer) adds.
#[derive(Serialize)]
pub struct TokenDetail {
    pub description: String,
    pub notes: String,
    pub terraform_managed: bool,
    /// `page` or `org`.
    pub scope: &'static str,
    pub org_id: i64,
    pub page_id: Option<i64>,
    pub created_at: String,
    pub created_by: Creator,
    pub revoked_at: Option<String>,
    pub rotated_at: Option<String>,
    /// Until when the secret replaced by the last rotation still works (null once it does not).
    pub previous_secret_valid_until: Option<String>,
    pub last_used_ip: Option<String>,
}

#[derive(Serialize)]
pub struct Creator {
    pub kind: String,
    pub id: Option<i64>,
}

/// A token just created or rotated: its secret, shown this once.
#[derive(Serialize)]
pub struct TokenWithSecret {
    #[serde(flatten)]
    pub view: TokenJson,
    /// The secret, shown this once.
    pub token: String,
}

impl TokenJson {
    pub fn of(t: &ApiTokenRow, now: i64, full: bool) -> TokenJson {
        TokenJson {
            id: t.id,
            name: t.name.clone(),
            permission: t.permission.clone(),
            role_key: t.role_key.clone(),
            state: tokens::state(t, now),
            token_hint: format!("sbt_…{}", t.token_hint),
            expires_at: t.expires_at.map(rfc3339),
            last_used_at: t.last_used_at.map(rfc3339),
            full: full.then(|| TokenDetail {
                description: t.description.clone(),
                notes: t.notes.clone(),
                terraform_managed: t.terraform_managed,
                scope: if t.page_id.is_some() { "page" } else { "org" },
                org_id: t.org_id,
                page_id: t.page_id,
                created_at: rfc3339(t.created_at),
                created_by: Creator { kind: t.created_by_kind.clone(), id: t.created_by_id },
                revoked_at: t.revoked_at.map(rfc3339),
                rotated_at: t.rotated_at.map(rfc3339),
                previous_secret_valid_until: t.previous_valid_until.filter(|v| *v > now).map(rfc3339),
                last_used_ip: t.last_used_ip.clone(),
            }),
        }
    }
}

/// Counts of a scope's tokens by state.
#[derive(Serialize)]
pub struct TokenStats {
    pub total: i64,
    pub active: i64,
    pub revoked: i64,
    pub expired: i64,
}

/// An audit entry.
#[derive(Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub actor: Actor,
    pub action: String,
    pub target: Target,
    pub page_id: Option<i64>,
    pub ip: String,
    /// What the entry records beyond who, what and when (never a secret).
    pub detail: Value,
}

#[derive(Serialize)]
pub struct Actor {
    pub kind: String,
    pub id: Option<i64>,
    pub name: String,
}

#[derive(Serialize)]
pub struct Target {
    pub kind: String,
    pub id: Option<i64>,
}

impl AuditEntry {
    pub fn of(r: &AuditRow) -> AuditEntry {
        AuditEntry {
            id: r.id,
            at: rfc3339(r.at),
            actor: Actor { kind: r.actor_kind.clone(), id: r.actor_id, name: r.actor_name.clone() },
            action: r.action.clone(),
            target: Target { kind: r.target_kind.clone(), id: r.target_id },
            page_id: r.page_id,
            ip: r.ip.clone(),
            detail: serde_json::from_str::<Value>(&r.detail).unwrap_or(Value::Null),
        }
    }
}

/// A member of an org or page.
#[derive(Serialize)]
pub struct MemberJson {
    pub user_id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
    pub since: String,
}

impl MemberJson {
    pub fn of(m: &MemberRow) -> MemberJson {
        MemberJson {
            user_id: m.user_id,
            email: m.email.clone(),
            name: m.name.clone(),
            role: m.role.clone(),
            since: rfc3339(m.created_at),
        }
    }
}
