//! Sign-in answers and the automation context.

use crate::service::access::SessionPrincipal;
use crate::store::orgs::OrgRow;
use serde::Serialize;

/// The signed-in person.
#[derive(Serialize)]
pub struct UserJson {
    pub id: i64,
    pub email: String,
    pub name: String,
}

impl UserJson {
    pub fn of(s: &SessionPrincipal) -> UserJson {
        UserJson { id: s.user_id, email: s.email.clone(), name: s.name.clone() }
    }
}

/// `POST /api/v1/auth/login`: the person, and the CSRF token non-browser clients send back.
#[derive(Serialize)]
pub struct SignedIn {
    pub user: UserJson,
    pub csrf_token: String,
}

/// `POST /api/v1/auth/password`: the new session's CSRF token (the cookie changed too).
#[derive(Serialize)]
pub struct PasswordChanged {
    pub csrf_token: String,
}

/// `GET /api/v1/auth/me`.
#[derive(Serialize)]
pub struct Me {
    pub user: UserJson,
    pub orgs: Vec<OrgMembership>,
    pub page_roles: Vec<PageRoleJson>,
    pub csrf_token: Option<String>,
}

#[derive(Serialize)]
pub struct OrgMembership {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub role: String,
}

impl OrgMembership {
    pub fn of((o, role): &(OrgRow, String)) -> OrgMembership {
        OrgMembership { id: o.id, name: o.name.clone(), slug: o.slug.clone(), role: role.clone() }
    }
}

#[derive(Serialize)]
pub struct PageRoleJson {
    pub org_id: i64,
    pub page_id: i64,
    pub role: String,
}

/// `GET /api/v1/context`: where the request resolved and what the caller may do there.
#[derive(Serialize)]
pub struct Context {
    pub org: Option<OrgRef>,
    pub page: Option<PageRef>,
    pub principal: PrincipalRef,
    /// A token's permission; null for a session.
    pub permission: Option<String>,
    /// A token's role, or a session's role on the page (null without one).
    pub role_key: Option<String>,
    pub capabilities: Vec<&'static str>,
}

#[derive(Serialize)]
pub struct OrgRef {
    pub id: i64,
    pub name: String,
    pub slug: String,
}

#[derive(Serialize)]
pub struct PageRef {
    pub id: i64,
    pub name: String,
    pub url_prefix: String,
    pub custom_domain: Option<String>,
}

/// Who is calling: `api_token` (id and name of the token) or `session` (the user's id and email).
#[derive(Serialize)]
pub struct PrincipalRef {
    pub kind: &'static str,
    pub id: i64,
    pub name: String,
}
