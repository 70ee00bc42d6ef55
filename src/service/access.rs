//! Who is calling (a principal) and what they may do on a page or an org (a grant).

use crate::app::App;
use crate::auth::policy::{self, Access, OrgRole, PageRole, Permission, RoleKey};
use crate::auth::token::PlainToken;
use crate::clock::{DAY, HOUR};
use crate::service::audit::{self, Actor, Event};
use crate::service::error::{Error, Result};
use crate::store;
use crate::store::pages::PageRow;

/// Session idle timeout.
pub const SESSION_IDLE: i64 = 12 * HOUR;
/// Session absolute lifetime.
pub const SESSION_ABSOLUTE: i64 = 7 * DAY;

/// An authenticated caller.
#[derive(Debug, Clone)]
pub enum Principal {
    ApiToken(TokenPrincipal),
    Session(SessionPrincipal),
}

/// An API token that passed every check.
#[derive(Debug, Clone)]
pub struct TokenPrincipal {
    pub id: i64,
    pub name: String,
    pub org_id: i64,
    /// `None` for org tokens.
    pub page_id: Option<i64>,
    pub permission: Permission,
    pub role: RoleKey,
    pub expires_at: Option<i64>,
    /// Authenticated by the previous secret during a rotation's grace period: it keeps working,
    /// but can no longer manage credentials or people (a leaked old secret cannot rotate the
    /// token away from its owner).
    pub via_previous: bool,
}

impl TokenPrincipal {
    /// Caps a grant for a secret that is on its way out.
    fn cap(&self, grant: Access) -> Access {
        if self.via_previous {
            grant.min(Access::Configure)
        } else {
            grant
        }
    }
}

/// A live magic session (an emailed link exchanged by a reader): one page, one address.
#[derive(Debug, Clone)]
pub struct MagicPrincipal {
    pub token_id: i64,
    pub page_id: i64,
    pub email: String,
}

/// A signed-in user's live session.
#[derive(Debug, Clone)]
pub struct SessionPrincipal {
    pub session_id: i64,
    pub user_id: i64,
    pub email: String,
    pub name: String,
}

impl Principal {
    /// The principal as the audit log names it.
    pub fn actor(&self, ip: &str) -> Actor {
        match self {
            Principal::ApiToken(t) => Actor { kind: "api_token", id: Some(t.id), name: t.name.clone(), ip: ip.into() },
            Principal::Session(s) => {
                Actor { kind: "session", id: Some(s.user_id), name: s.email.clone(), ip: ip.into() }
            }
        }
    }
}

/// Why a credential was refused: recorded in the audit log, never shown to the caller.
#[derive(Debug, Clone, Copy)]
pub enum Refusal {
    Malformed,
    Unknown,
    Revoked,
    Expired,
    WrongPage,
    WrongKind,
}

impl Refusal {
    fn as_str(self) -> &'static str {
        match self {
            Refusal::Malformed => "malformed",
            Refusal::Unknown => "unknown",
            Refusal::Revoked => "revoked",
            Refusal::Expired => "expired",
            Refusal::WrongPage => "wrong_page",
            Refusal::WrongKind => "wrong_kind",
        }
    }
}

/// Records a refused credential (asynchronously) and returns the uniform 401.
/// Every refusal also counts against the client's credential-failure budget (the magic tier):
/// past it, the front door turns the client away before looking anything up.
pub fn refuse(app: &App, why: Refusal, carrier: &str, page: Option<&PageRow>, ip: &str) -> Error {
    app.rate.check(crate::limits::Tier::Magic, &auth_failure_key(ip), app.now());
    let actor = Actor { kind: "anonymous", id: None, name: String::new(), ip: ip.to_string() };
    audit::enqueue(
        &app.audit,
        &actor,
        Event {
            org_id: page.map(|p| p.org_id),
            page_id: page.map(|p| p.id),
            action: "auth.failed",
            target_kind: carrier,
            target_id: None,
            detail: serde_json::json!({ "reason": why.as_str() }),
        },
        app.now(),
    );
    Error::Unauthorized
}

/// The rate-limit key of a client's failed authentications (an IPv6 client by its /64).
pub fn auth_failure_key(ip: &str) -> String {
    format!("authfail:{}", crate::domain::host::client_bucket(ip))
}

/// Authenticates a bearer token for a request that resolved to `page` (or to no page).
pub async fn authenticate_token(app: &App, raw: &str, page: Option<&PageRow>, ip: &str) -> Result<TokenPrincipal> {
    let token = PlainToken::parse_kind(raw, crate::auth::token::TokenKind::Api)
        .map_err(|_| refuse(app, Refusal::Malformed, "bearer", page, ip))?;
    let now = app.now();
    let (row, via_previous) = store::api_tokens::api_token_by_hash(&app.db.pool, &token.hash().to_hex(), now)
        .await?
        .ok_or_else(|| refuse(app, Refusal::Unknown, "bearer", page, ip))?;
    if row.revoked_at.is_some() {
        return Err(refuse(app, Refusal::Revoked, "bearer", page, ip));
    }
    if row.expires_at.is_some_and(|e| e <= now) {
        return Err(refuse(app, Refusal::Expired, "bearer", page, ip));
    }
    let fits = match (page, row.page_id) {
        (Some(p), Some(tp)) => p.id == tp,
        (Some(p), None) => p.org_id == row.org_id,
        (None, _) => true,
    };
    if !fits {
        return Err(refuse(app, Refusal::WrongPage, "bearer", page, ip));
    }
    let (Some(permission), Some(role)) = (Permission::parse(&row.permission), RoleKey::parse(&row.role_key)) else {
        return Err(Error::Internal(format!("token {} has an unknown permission or role", row.id)));
    };
    if app.should_touch(0, row.id, row.last_used_at) {
        store::api_tokens::touch_api_token(&app.db.pool, row.id, now, ip).await?;
    }
    Ok(TokenPrincipal {
        id: row.id,
        name: row.name,
        org_id: row.org_id,
        page_id: row.page_id,
        permission,
        role,
        expires_at: row.expires_at,
        via_previous,
    })
}

/// Authenticates a session cookie value.
pub async fn authenticate_session(app: &App, raw: &str, page: Option<&PageRow>, ip: &str) -> Result<SessionPrincipal> {
    let token = PlainToken::parse_kind(raw, crate::auth::token::TokenKind::Session)
        .map_err(|_| refuse(app, Refusal::Malformed, "session", page, ip))?;
    let now = app.now();
    let s = store::sessions::session_by_hash(&app.db.pool, &token.hash().to_hex())
        .await?
        .ok_or_else(|| refuse(app, Refusal::Unknown, "session", page, ip))?;
    if s.revoked_at.is_some() {
        return Err(refuse(app, Refusal::Revoked, "session", page, ip));
    }
    if s.expires_at <= now || s.last_seen_at + SESSION_IDLE <= now {
        return Err(refuse(app, Refusal::Expired, "session", page, ip));
    }
    let user = store::users::user_by_id(&app.db.pool, s.user_id).await?.ok_or(Error::Unauthorized)?;
    if app.should_touch(1, s.id, Some(s.last_seen_at)) {
        store::sessions::touch_session(&app.db.pool, s.id, now).await?;
    }
    Ok(SessionPrincipal { session_id: s.id, user_id: user.id, email: user.email, name: user.name })
}

/// The highest action `principal` may take on `page`; `None` = the page is invisible to it.
pub async fn page_grant(app: &App, principal: &Principal, page: &PageRow) -> Result<Option<Access>> {
    Ok(match principal {
        Principal::ApiToken(t) => {
            let role_ceiling = match (t.page_id, t.role) {
                (Some(pid), RoleKey::Page(r)) if pid == page.id => Some(r.ceiling()),
                (None, RoleKey::Org(r)) if t.org_id == page.org_id => Some(r.page_role().ceiling()),
                _ => None,
            };
            role_ceiling.map(|c| t.cap(policy::token_grant(t.permission, c)))
        }
        Principal::Session(s) => {
            let org_role =
                store::members::role(&app.db.pool, store::members::Group::Org(page.org_id), s.user_id).await?;
            match org_role.as_deref().and_then(OrgRole::parse) {
                Some(OrgRole::OrgAdmin) => Some(Access::ManageAccess),
                Some(OrgRole::OrgMember) => {
                    store::members::role(&app.db.pool, store::members::Group::Page(page.id), s.user_id)
                        .await?
                        .as_deref()
                        .and_then(PageRole::parse)
                        .map(PageRole::ceiling)
                }
                None => None,
            }
        }
    })
}

/// Which of an org's pages a principal is shown in org-level lists and lookups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageScope {
    /// Every page: org admins, and org tokens (whose role reaches every page of the org).
    Every,
    /// Only the pages this user holds a page role on: an org member's other pages answer 404
    /// to them, so listing them would leak what the 404 hides.
    MemberOf(i64),
}

/// The pages `principal` may see in `org_id`; the same rule as [`page_grant`], as a filter.
pub async fn page_scope(app: &App, principal: &Principal, org_id: i64) -> Result<PageScope> {
    Ok(match principal {
        Principal::ApiToken(_) => PageScope::Every,
        Principal::Session(s) => scope_for_org_role(
            store::members::role(&app.db.pool, store::members::Group::Org(org_id), s.user_id).await?.as_deref(),
            s.user_id,
        ),
    })
}

/// A session's page scope from its org role (`org_admin` sees every page).
pub fn scope_for_org_role(org_role: Option<&str>, user_id: i64) -> PageScope {
    match org_role.and_then(OrgRole::parse) {
        Some(OrgRole::OrgAdmin) => PageScope::Every,
        _ => PageScope::MemberOf(user_id),
    }
}

/// The highest org-level action `principal` may take on `org_id`; `None` = invisible.
pub async fn org_grant(app: &App, principal: &Principal, org_id: i64) -> Result<Option<Access>> {
    Ok(match principal {
        Principal::ApiToken(t) if t.org_id != org_id => None,
        Principal::ApiToken(t) => match t.role {
            RoleKey::Org(r) => Some(t.cap(policy::token_grant(t.permission, r.org_ceiling()))),
            // Page tokens are valid in their org but carry no org-level access.
            RoleKey::Page(_) => Some(Access::Nothing),
        },
        Principal::Session(s) => store::members::role(&app.db.pool, store::members::Group::Org(org_id), s.user_id)
            .await?
            .as_deref()
            .and_then(OrgRole::parse)
            .map(OrgRole::org_ceiling),
    })
}
