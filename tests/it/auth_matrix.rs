//! The auth matrix: every route of the route table × every kind of credential, each answer
//! compared with the status an independent oracle derives from SPEC §2 and §2.1.
//!
//! The oracle below is written from the spec, not from `statibeat::auth::policy`: if the two
//! disagree, the test reports the difference instead of repeating the code's own opinion.

use crate::both;
use crate::harness::*;
use axum::http::Method;
use serde_json::{json, Value};
use sqlx::Row;
use statibeat::auth::policy::Access;
use statibeat::auth::token::TokenKind;
use statibeat::clock::rfc3339;
use statibeat::http::routes::Limit;
use statibeat::service::audit::Actor;
use statibeat::service::credentials::tokens::{self as token_service, NewToken, TokenScope};
use statibeat::service::org::{domains, pages};
use statibeat::service::status::hierarchy::{self as hierarchy_service, ItemInput, ItemRef};
use statibeat::service::status::incidents::{self as incident_service, AffectedInput, IncidentInput, ReportAction};
use statibeat::service::status::maintenances::{self as maintenance_service, MaintenanceInput, Move, Transition};
use statibeat::store;
use statibeat::store::invitations as invitations_sql;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};

// ---- the oracle (SPEC §2, §2.1) ----------------------------------------------------------------

/// Access levels, least to most sensitive: `read` < `operate` < `configure` < `manage_access`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Read,
    Operate,
    Configure,
    ManageAccess,
}

/// A token permission's ceiling: `read` safe methods only, `write` adds operational content,
/// `admin` adds configuration and (with `page_admin`) credentials and people.
fn permission_ceiling(permission: &str) -> Level {
    match permission {
        "read" => Level::Read,
        "write" => Level::Operate,
        "admin" => Level::ManageAccess,
        other => panic!("no such permission {other}"),
    }
}

/// A page role's ceiling: viewers read, managers operate, admins do everything on the page.
fn page_role_ceiling(role: &str) -> Level {
    match role {
        "page_viewer" => Level::Read,
        "page_manager" => Level::Operate,
        "page_admin" => Level::ManageAccess,
        other => panic!("no such page role {other}"),
    }
}

/// An org role at org level: members read the org, admins manage it.
fn org_role_ceiling(role: &str) -> Level {
    match role {
        "org_member" => Level::Read,
        "org_admin" => Level::ManageAccess,
        other => panic!("no such org role {other}"),
    }
}

/// The page role an org role carries on every page of its org.
fn org_role_on_pages(role: &str) -> &'static str {
    match role {
        "org_member" => "page_viewer",
        "org_admin" => "page_admin",
        other => panic!("no such org role {other}"),
    }
}

/// Someone whose session the matrix uses; all of them are people of org A unless said otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Person {
    /// `org_member` with `page_viewer` on page P.
    PageViewer,
    /// `org_member` with `page_manager` on page P.
    PageManager,
    /// `org_member` with `page_admin` on page P.
    PageAdmin,
    /// `org_admin` of org A (a page admin everywhere in it).
    OrgAdmin,
    /// `org_member` of org A with no role on any page.
    OrgMemberWithoutPageRole,
    /// `org_admin` of org B.
    OtherOrgAdmin,
}

/// Every kind of credential the matrix sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cred {
    Nothing,
    /// A token of page P.
    PageToken(&'static str, &'static str),
    /// An `admin`/`page_admin` token of page Q, a sibling of P in the same org.
    SiblingPageToken,
    /// A token of org A.
    OrgToken(&'static str, &'static str),
    ExpiredToken,
    RevokedToken,
    /// Well formed, right checksum, never issued.
    UnknownToken,
    MalformedToken,
    /// A real token with its last character changed.
    BadChecksumToken,
    /// `Authorization: Basic ...`.
    NotBearerScheme,
    /// A same-origin browser session.
    Session(Person),
    /// The org admin's session cookie, sent some other way than a same-origin browser request.
    OrgAdminSessionSent(Sending),
    /// A session that was logged out.
    LoggedOutSession,
    /// `?access_token=<a valid admin token>` and no header.
    TokenInQuery,
    /// `?note=<a valid admin token>`: a token-shaped value under an innocent name.
    TokenShapedQueryValue,
}

const CREDS: &[Cred] = &[
    Cred::Nothing,
    Cred::PageToken("read", "page_viewer"),
    Cred::PageToken("read", "page_manager"),
    Cred::PageToken("read", "page_admin"),
    Cred::PageToken("write", "page_viewer"),
    Cred::PageToken("write", "page_manager"),
    Cred::PageToken("write", "page_admin"),
    Cred::PageToken("admin", "page_viewer"),
    Cred::PageToken("admin", "page_manager"),
    Cred::PageToken("admin", "page_admin"),
    Cred::SiblingPageToken,
    Cred::OrgToken("admin", "org_admin"),
    Cred::OrgToken("admin", "org_member"),
    Cred::OrgToken("write", "org_admin"),
    Cred::OrgToken("write", "org_member"),
    Cred::OrgToken("read", "org_admin"),
    Cred::ExpiredToken,
    Cred::RevokedToken,
    Cred::UnknownToken,
    Cred::MalformedToken,
    Cred::BadChecksumToken,
    Cred::NotBearerScheme,
    Cred::Session(Person::PageViewer),
    Cred::Session(Person::PageManager),
    Cred::Session(Person::PageAdmin),
    Cred::Session(Person::OrgAdmin),
    Cred::Session(Person::OrgMemberWithoutPageRole),
    Cred::Session(Person::OtherOrgAdmin),
    Cred::OrgAdminSessionSent(Sending::CrossSite),
    Cred::OrgAdminSessionSent(Sending::WithCsrfHeader),
    Cred::OrgAdminSessionSent(Sending::WithoutOriginInfo),
    Cred::LoggedOutSession,
    Cred::TokenInQuery,
    Cred::TokenShapedQueryValue,
];

/// How a session cookie travels (SPEC §2.2 CSRF: an unsafe cookie request must come from the
/// same origin, or carry the session's CSRF token).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sending {
    /// `Sec-Fetch-Site: same-origin`, as a browser on our own page sends it.
    SameOrigin,
    /// `Sec-Fetch-Site: cross-site`.
    CrossSite,
    /// No fetch metadata, but the session's `X-CSRF-Token` (a client that is not a browser).
    WithCsrfHeader,
    /// Neither fetch metadata, nor `Origin`, nor the CSRF token.
    WithoutOriginInfo,
}

/// Who a credential turns out to be, once it is authenticated.
#[derive(Clone, Copy, Debug)]
enum Who {
    PageToken {
        own_page: bool,
        permission: &'static str,
        role: &'static str,
    },
    OrgToken {
        permission: &'static str,
        role: &'static str,
    },
    /// `org_role` in org A (None: not in org A); `page_role` on page P.
    Session {
        org_role: Option<&'static str>,
        page_role: Option<&'static str>,
        same_origin_proven: bool,
    },
}

/// `None`: the credential is refused before any authorisation (no or invalid credential: 401).
fn who(cred: Cred) -> Option<Who> {
    let member =
        |page_role| Who::Session { org_role: Some("org_member"), page_role: Some(page_role), same_origin_proven: true };
    Some(match cred {
        Cred::PageToken(permission, role) => Who::PageToken { own_page: true, permission, role },
        Cred::SiblingPageToken => Who::PageToken { own_page: false, permission: "admin", role: "page_admin" },
        Cred::OrgToken(permission, role) => Who::OrgToken { permission, role },
        Cred::Session(Person::PageViewer) => member("page_viewer"),
        Cred::Session(Person::PageManager) => member("page_manager"),
        Cred::Session(Person::PageAdmin) => member("page_admin"),
        Cred::Session(Person::OrgAdmin) => {
            Who::Session { org_role: Some("org_admin"), page_role: None, same_origin_proven: true }
        }
        Cred::Session(Person::OrgMemberWithoutPageRole) => {
            Who::Session { org_role: Some("org_member"), page_role: None, same_origin_proven: true }
        }
        Cred::Session(Person::OtherOrgAdmin) => {
            Who::Session { org_role: None, page_role: None, same_origin_proven: true }
        }
        Cred::OrgAdminSessionSent(how) => Who::Session {
            org_role: Some("org_admin"),
            page_role: None,
            same_origin_proven: matches!(how, Sending::SameOrigin | Sending::WithCsrfHeader),
        },
        Cred::Nothing
        | Cred::ExpiredToken
        | Cred::RevokedToken
        | Cred::UnknownToken
        | Cred::MalformedToken
        | Cred::BadChecksumToken
        | Cred::NotBearerScheme
        | Cred::LoggedOutSession => return None,
        Cred::TokenInQuery | Cred::TokenShapedQueryValue => unreachable!("refused at the front door"),
    })
}

/// What a route is about, and so how it is authorised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    /// Page administration and the page context: a level on the page the request resolves to.
    Page(Level),
    /// Org routes: a level on the org.
    Org(Level),
    /// Routes about the signed-in person (me, logout, password): sessions only.
    Person,
    /// `/api/v1/context` on the admin host: any valid credential, no page.
    AnyCredential,
    /// Anonymous routes on a public page, login, operations: credentials are ignored.
    Public,
}

/// How a request addresses its page or org.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Via {
    /// Page P's own host, `alpha.status.test`.
    PageHost,
    /// `/status/alpha/...` on the base domain.
    StatusPath,
    /// `/api/v1/orgs/{org}/pages/{page}/...` (page routes) or `/api/v1/orgs/{org}/...` (org
    /// routes) on the admin host.
    Numeric,
    /// The admin host, path as is.
    AdminHost,
}

fn is_safe(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The status SPEC §2/§2.1 promise for `cred` calling `route` through `via`.
fn expected(cred: Cred, route: &Route, via: Via) -> u16 {
    // "Never in a query string": 400, whatever the route.
    if matches!(cred, Cred::TokenInQuery | Cred::TokenShapedQueryValue) {
        return 400;
    }
    if route.family == Family::Public {
        return route.ok;
    }
    let Some(who) = who(cred) else { return 401 };
    // Does the request resolve to page P? (Org routes on a page host or status path do.)
    let resolves_to_page = match route.family {
        Family::Page(_) => true,
        Family::Org(_) => via != Via::Numeric,
        _ => false,
    };
    // A page token works only on its own page; on any other page it is 401.
    if let Who::PageToken { own_page: false, .. } = who {
        if resolves_to_page {
            return 401;
        }
    }
    // A cookie-authenticated unsafe request not proven same-origin is refused (CSRF): 403.
    if let Who::Session { same_origin_proven: false, .. } = who {
        if !is_safe(&route.method) {
            return 403;
        }
    }
    if route.page_must_be_visible {
        if let Who::Session { org_role: Some("org_member"), page_role: None, .. } = who {
            return 404;
        }
    }
    // The access the credential has on the scope; None = the scope is invisible to it (404).
    let grant: Option<Level> = match (route.family, who) {
        (Family::Person, Who::Session { .. }) => return route.ok,
        (Family::Person, _) => return 403,
        (Family::AnyCredential, _) => return route.ok,
        (Family::Page(_), Who::PageToken { permission, role, .. }) => {
            Some(permission_ceiling(permission).min(page_role_ceiling(role)))
        }
        (Family::Page(_), Who::OrgToken { permission, role }) => {
            Some(permission_ceiling(permission).min(page_role_ceiling(org_role_on_pages(role))))
        }
        (Family::Page(_), Who::Session { org_role: Some("org_admin"), .. }) => Some(Level::ManageAccess),
        (Family::Page(_), Who::Session { org_role: Some(_), page_role: Some(role), .. }) => {
            Some(page_role_ceiling(role))
        }
        (Family::Page(_), Who::Session { .. }) => None,
        // Page tokens are valid in their org but carry no org-level access.
        (Family::Org(_), Who::PageToken { .. }) => return 403,
        (Family::Org(_), Who::OrgToken { permission, role }) => {
            Some(permission_ceiling(permission).min(org_role_ceiling(role)))
        }
        (Family::Org(_), Who::Session { org_role: Some(role), .. }) => Some(org_role_ceiling(role)),
        (Family::Org(_), Who::Session { org_role: None, .. }) => None,
        (Family::Public, _) => unreachable!(),
    };
    let need = match route.family {
        Family::Page(l) | Family::Org(l) => l,
        _ => unreachable!(),
    };
    match grant {
        None => 404,
        Some(g) if g >= need => route.ok,
        Some(_) => 403,
    }
}

// ---- the routes --------------------------------------------------------------------------------

/// What a mutating request acts on; made fresh for every request so that earlier allowed calls
/// never change what later ones should see.
#[derive(Clone, Copy, Debug)]
enum Target {
    Nothing,
    /// A long-lived token of page P that nobody changes (reads).
    SharedPageToken,
    SharedOrgToken,
    /// Page P itself.
    ThePage,
    FreshPageToken,
    FreshOrgToken,
    /// A user who belongs to nothing yet.
    FreshUser,
    /// A pending invitation to page P (a page role).
    FreshPageInvitation,
    /// A pending invitation to org A (an org role).
    FreshOrgInvitation,
    /// An `org_member` of A with `page_manager` on P.
    FreshPageMember,
    /// An `org_member` of A.
    FreshOrgMember,
    FreshPage,
    FreshTrashedPage,
    /// Just a unique string (page names, domains, prefixes).
    FreshName,
    /// Page P with a custom domain attached (pending verification).
    DomainAttached,
    /// Page P with a verified custom domain (verification then needs no DNS).
    DomainVerified,
    /// A long-lived top-level component of page P that nobody changes (reads); `text` is its
    /// identifier.
    SharedItem,
    /// A long-lived open public incident of page P that nobody changes (reads); `text` is its
    /// external id.
    SharedIncident,
    /// A new top-level component without children; `text` is its identifier.
    FreshItem,
    /// `id` is a hierarchy depth with no level on page P (nor items at it).
    AbsentLevel,
    /// `id` is a hierarchy depth whose level exists on page P with no items at it; `text` is a
    /// unique string.
    PresentLevel,
    /// A new open, unacknowledged public incident without a report; `text` is its external id.
    FreshIncident,
    /// A new resolved incident.
    FreshResolvedIncident,
    /// A new resolved incident with a draft post-incident report.
    FreshDraftReport,
    /// A new resolved incident with a published post-incident report.
    FreshPublishedReport,
    /// A long-lived scheduled maintenance window of page P that nobody changes (reads); `text` is
    /// its external id.
    SharedMaintenance,
    /// A new scheduled (not yet started) window, starting a day ahead; `text` is its external id.
    FreshMaintenance,
    /// A new window started by hand, in progress.
    FreshStartedMaintenance,
    /// A long-lived active subscriber of page P that nobody changes (reads).
    SharedSubscriber,
    /// A new active subscriber of page P with hygiene `ok`; `text` is its address.
    FreshSubscriber,
    /// A long-lived reader feed of page P that nobody changes (reads).
    SharedFeed,
    /// A new reader feed of page P.
    FreshFeed,
    /// A long-lived custom view of page P that nobody changes (reads).
    SharedView,
    /// A new custom view of page P.
    FreshView,
}

/// The hierarchy depth the level-creating row frees before every request.
const ABSENT_DEPTH: i64 = 9;
/// The hierarchy depth the level-changing rows (re)create before every request.
const PRESENT_DEPTH: i64 = 8;

/// What `prepare` made: an id for the path and a unique text for the body.
#[derive(Clone, Debug, Default)]
struct Fixture {
    id: i64,
    text: String,
}

struct Route {
    method: Method,
    /// The path exactly as the route table spells it.
    pattern: &'static str,
    /// A fixed query string (without credentials).
    query: Option<&'static str>,
    family: Family,
    /// The status of a successful call.
    ok: u16,
    vias: &'static [Via],
    target: Target,
    body: Option<fn(&Fixture) -> Value>,
    /// One-value SQL that must read the same before and after a refused request.
    snapshot: Option<&'static str>,
    /// Logout and password change end sessions: give them a throwaway one.
    consumes_session: bool,
    /// An org route about one page: besides the org level, the page must be one the caller can
    /// open (SPEC §2: an org member without a role on it gets 404, as on the page itself).
    page_must_be_visible: bool,
}

const PAGE_VIAS: &[Via] = &[Via::PageHost, Via::StatusPath, Via::Numeric];
const ORG_VIAS: &[Via] = &[Via::PageHost, Via::StatusPath, Via::Numeric];
const ADMIN_ONLY: &[Via] = &[Via::AdminHost];

fn route(method: Method, pattern: &'static str, family: Family, ok: u16) -> Route {
    let vias = match family {
        Family::Page(_) => PAGE_VIAS,
        Family::Org(_) => ORG_VIAS,
        _ => ADMIN_ONLY,
    };
    Route {
        method,
        pattern,
        query: None,
        family,
        ok,
        vias,
        target: Target::Nothing,
        body: None,
        snapshot: None,
        consumes_session: false,
        page_must_be_visible: false,
    }
}

impl Route {
    fn on(mut self, t: Target) -> Self {
        self.target = t;
        self
    }
    fn body(mut self, f: fn(&Fixture) -> Value) -> Self {
        self.body = Some(f);
        self
    }
    fn unchanged_if_refused(mut self, sql: &'static str) -> Self {
        self.snapshot = Some(sql);
        self
    }
    fn via(mut self, v: &'static [Via]) -> Self {
        self.vias = v;
        self
    }
    fn query(mut self, q: &'static str) -> Self {
        self.query = Some(q);
        self
    }
    fn only_pages_they_can_open(mut self) -> Self {
        self.page_must_be_visible = true;
        self
    }
    fn consumes_session(mut self) -> Self {
        self.consumes_session = true;
        self
    }
}

const TOKEN_ROW: &str =
    "SELECT COALESCE(CAST(revoked_at AS TEXT), 'live') || ' ' || token_hash FROM api_tokens WHERE id = {id}";
const ALL_TOKENS: &str = "SELECT CAST(COUNT(*) AS TEXT) FROM api_tokens";
const PAGE_ROLE: &str = "SELECT role FROM page_members WHERE page_id = {page} AND user_id = {id}";
const ORG_ROLE: &str = "SELECT role FROM org_members WHERE org_id = {org} AND user_id = {id}";
/// Invitations to a user's address plus the user's memberships: a refused add changes neither.
const INVITED_OR_MEMBER: &str = "SELECT CAST((SELECT COUNT(*) FROM invitations WHERE email = '{text}') \
     + (SELECT COUNT(*) FROM org_members WHERE user_id = {id}) \
     + (SELECT COUNT(*) FROM page_members WHERE user_id = {id}) AS TEXT)";
const INVITATION_ROW: &str = "SELECT COALESCE(CAST(revoked_at AS TEXT), 'pending') FROM invitations WHERE id = {id}";
const PAGE_DELETED: &str = "SELECT COALESCE(CAST(deleted_at AS TEXT), 'live') FROM pages WHERE id = {id}";
const DOMAIN: &str = "SELECT domain FROM custom_domains WHERE page_id = {page}";
const LEVEL_AT: &str = "SELECT singular || '/' || plural FROM hierarchy_levels WHERE page_id = {page} AND depth = {id}";
const ITEM_ROW: &str = "SELECT name || ' ' || identifier || ' ' || description || ' ' || CAST(depth AS TEXT) \
     FROM hierarchy_items WHERE id = {id}";
const ITEM_NAMED: &str =
    "SELECT CAST(COUNT(*) AS TEXT) FROM hierarchy_items WHERE page_id = {page} AND identifier = '{text}'";
const INCIDENT_NAMED: &str =
    "SELECT CAST(COUNT(*) AS TEXT) FROM incidents WHERE page_id = {page} AND external_id = '{text}'";
/// Everything a write on an incident can change (its fields, timeline and report).
const INCIDENT_ROW: &str = "SELECT title || ' ' || status || ' ' || stage || ' ' || visibility || ' ' \
     || COALESCE(CAST(acknowledged_at AS TEXT), 'unacknowledged') || ' ' \
     || COALESCE(CAST(resolved_at AS TEXT), 'open') || ' ' || resolution_message || ' ' \
     || report_state || ' ' || report_body || ' ' \
     || (SELECT CAST(COUNT(*) AS TEXT) FROM incident_updates u WHERE u.incident_id = incidents.id) \
     FROM incidents WHERE id = {id}";
const MAINTENANCE_NAMED: &str =
    "SELECT CAST(COUNT(*) AS TEXT) FROM maintenances WHERE page_id = {page} AND external_id = '{text}'";
/// Everything a write on a maintenance window can change (its fields, schedule, state, items and
/// timeline).
const MAINTENANCE_ROW: &str = "SELECT title || ' ' || description || ' ' || impact || ' ' || stage || ' ' \
     || CAST(starts_at AS TEXT) || ' ' || CAST(ends_at AS TEXT) || ' ' || time_zone || ' ' \
     || COALESCE(CAST(started_at AS TEXT), 'unstarted') || ' ' \
     || COALESCE(CAST(completed_at AS TEXT), 'uncompleted') || ' ' \
     || COALESCE(CAST(cancelled_at AS TEXT), 'uncancelled') || ' ' || CAST(updated_at AS TEXT) || ' ' \
     || (SELECT CAST(COUNT(*) AS TEXT) FROM maintenance_updates u WHERE u.maintenance_id = maintenances.id) || ' ' \
     || (SELECT CAST(COUNT(*) AS TEXT) FROM maintenance_items i WHERE i.maintenance_id = maintenances.id) \
     FROM maintenances WHERE id = {id}";
/// Everything an admin write on a subscriber can change (existence, state, hygiene).
const SUBSCRIBER_ROW: &str = "SELECT CAST(COUNT(*) AS TEXT) || ' ' || COALESCE(MAX(state), '-') || ' ' \
     || COALESCE(MAX(hygiene), '-') FROM subscribers WHERE id = {id}";
const SUBSCRIBER_NAMED: &str =
    "SELECT CAST(COUNT(*) AS TEXT) FROM subscribers WHERE page_id = {page} AND email = '{text}@import.example'";
/// Everything an admin write on a reader feed can change (existence, cache version).
const FEED_ROW: &str = "SELECT CAST(COUNT(*) AS TEXT) || ' ' || COALESCE(CAST(MAX(cache_version) AS TEXT), '-') \
     FROM reader_feeds WHERE id = {id}";
/// Whether a custom view still exists.
const VIEW_ROW: &str = "SELECT CAST(COUNT(*) AS TEXT) FROM custom_views WHERE id = {id}";
const STATUS_NAME: &str = "SELECT name FROM status_definitions WHERE page_id = {page} AND key = 'major_outage'";
const STAGE_NAME: &str =
    "SELECT name FROM lifecycle_stages WHERE page_id = {page} AND kind = 'incident' AND key = 'monitoring'";
const PASSWORD: &str = "correct horse battery";

/// The rows of one incident's routes under `$base` (`.../{id}` or `.../external/{external_id}`):
/// reading needs read; changing it, its timeline and its report is operational content (operate).
/// Each write gets a fresh incident in the state the call needs, so allowed calls succeed and
/// never change what later calls see.
macro_rules! incident_rows {
    ($base:literal) => {{
        use Family::*;
        use Level::*;
        use Target::*;
        vec![
            route(Method::GET, $base, Page(Read), 200).on(SharedIncident),
            route(Method::PATCH, $base, Page(Operate), 200)
                .on(FreshIncident)
                .body(|f| json!({"title": format!("Renamed by the matrix {}", f.text), "status": "major_outage"}))
                .unchanged_if_refused(INCIDENT_ROW),
            route(Method::DELETE, $base, Page(Operate), 204).on(FreshIncident).unchanged_if_refused(INCIDENT_ROW),
            route(Method::POST, concat!($base, "/updates"), Page(Operate), 201)
                .on(FreshIncident)
                .body(|f| json!({"message": format!("Update {}", f.text), "stage": "identified", "notify": false}))
                .unchanged_if_refused(INCIDENT_ROW),
            route(Method::POST, concat!($base, "/acknowledge"), Page(Operate), 200)
                .on(FreshIncident)
                .unchanged_if_refused(INCIDENT_ROW),
            route(Method::POST, concat!($base, "/resolve"), Page(Operate), 200)
                .on(FreshIncident)
                .body(|f| json!({"resolution_message": format!("Fixed {}", f.text), "notify": false}))
                .unchanged_if_refused(INCIDENT_ROW),
            route(Method::POST, concat!($base, "/reopen"), Page(Operate), 200)
                .on(FreshResolvedIncident)
                .body(|_| json!({"message": "It is back", "notify": false}))
                .unchanged_if_refused(INCIDENT_ROW),
            route(Method::PUT, concat!($base, "/report"), Page(Operate), 200)
                .on(FreshIncident)
                .body(|f| json!({"body": format!("What happened {}", f.text)}))
                .unchanged_if_refused(INCIDENT_ROW),
            route(Method::POST, concat!($base, "/report/publish"), Page(Operate), 200)
                .on(FreshDraftReport)
                .unchanged_if_refused(INCIDENT_ROW),
            route(Method::POST, concat!($base, "/report/unpublish"), Page(Operate), 200)
                .on(FreshPublishedReport)
                .unchanged_if_refused(INCIDENT_ROW),
        ]
    }};
}

/// The rows of one maintenance window's routes under `$base` (`.../{id}` or
/// `.../external/{external_id}`): reading needs read; editing, deleting and moving it along its
/// lifecycle is operational content (operate). Each write gets a fresh window in the state the
/// call needs (the harness's clock stands at T0 + 2 min; fresh windows run from T0 + 1 day for
/// 2 hours): start, cancel, extend, edit, update and delete a scheduled one; complete one in
/// progress (completing a window that has not started is a 409).
macro_rules! maintenance_rows {
    ($base:literal) => {{
        use Family::*;
        use Level::*;
        use Target::*;
        vec![
            route(Method::GET, $base, Page(Read), 200).on(SharedMaintenance),
            route(Method::PATCH, $base, Page(Operate), 200)
                .on(FreshMaintenance)
                .body(|f| {
                    json!({
                        "title": format!("Renamed by the matrix {}", f.text),
                        "starts_at": "2026-12-01T13:00:00Z",
                        "notify": false,
                    })
                })
                .unchanged_if_refused(MAINTENANCE_ROW),
            route(Method::DELETE, $base, Page(Operate), 204).on(FreshMaintenance).unchanged_if_refused(MAINTENANCE_ROW),
            route(Method::POST, concat!($base, "/updates"), Page(Operate), 201)
                .on(FreshMaintenance)
                .body(|f| json!({"message": format!("Update {}", f.text), "notify": false}))
                .unchanged_if_refused(MAINTENANCE_ROW),
            route(Method::POST, concat!($base, "/start"), Page(Operate), 200)
                .on(FreshMaintenance)
                .unchanged_if_refused(MAINTENANCE_ROW),
            route(Method::POST, concat!($base, "/complete"), Page(Operate), 200)
                .on(FreshStartedMaintenance)
                .body(|f| json!({"message": format!("Done {}", f.text), "notify": false}))
                .unchanged_if_refused(MAINTENANCE_ROW),
            route(Method::POST, concat!($base, "/extend"), Page(Operate), 200)
                .on(FreshMaintenance)
                .body(|_| json!({"ends_at": "2026-12-02T12:00:00Z", "notify": false}))
                .unchanged_if_refused(MAINTENANCE_ROW),
            route(Method::POST, concat!($base, "/cancel"), Page(Operate), 200)
                .on(FreshMaintenance)
                .body(|f| json!({"message": format!("Called off {}", f.text), "notify": false}))
                .unchanged_if_refused(MAINTENANCE_ROW),
        ]
    }};
}

/// Every route of the route table (`statibeat::http::table`), with what it needs (SPEC §2.1):
/// credentials and people (tokens, members, audit log) need manage_access; settings, domain,
/// hierarchy, statuses and lifecycles writes (and incident and maintenance backfill) need
/// configure; incidents and maintenance windows, their timelines and reports need operate; reads
/// need read. Org: reads need read, page lifecycle needs configure, members, tokens and audit log
/// need manage_access. The page's public status routes ignore credentials.
fn routes() -> Vec<Route> {
    use Family::*;
    use Level::*;
    use Target::*;
    let (get, post, put, patch, delete) = (Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE);
    let mut rows = vec![
        // Sessions and the automation context.
        route(post.clone(), "/api/v1/auth/login", Public, 200)
            .body(|_| json!({"email": "login@people.example.com", "password": PASSWORD})),
        route(post.clone(), "/api/v1/auth/logout", Person, 204)
            .consumes_session()
            .unchanged_if_refused("SELECT CAST(COUNT(*) AS TEXT) FROM sessions WHERE revoked_at IS NULL"),
        route(get.clone(), "/api/v1/auth/me", Person, 200),
        route(post.clone(), "/api/v1/auth/password", Person, 200)
            .consumes_session()
            .body(|_| json!({"current_password": PASSWORD, "new_password": PASSWORD}))
            .unchanged_if_refused("SELECT CAST(COUNT(*) AS TEXT) FROM sessions"),
        route(get.clone(), "/api/v1/context", Page(Read), 200),
        route(get.clone(), "/api/v1/context", AnyCredential, 200),
        // Anonymous page-host reads (page P is public).
        route(get.clone(), "/api/v1/settings", Public, 200).via(PAGE_VIAS),
        route(get.clone(), "/api/v1/pages/public/current-host", Public, 200).via(PAGE_VIAS),
        route(get.clone(), "/api/v1/pages/public/{url_prefix}", Public, 200).via(&[
            Via::PageHost,
            Via::StatusPath,
            Via::Numeric,
            Via::AdminHost,
        ]),
        route(post.clone(), "/api/v1/viewer-access", Public, 200)
            .via(PAGE_VIAS)
            .body(|_| json!({"password": "not the password"})),
        // Public status of the page (page P is public: credentials are ignored).
        route(get.clone(), "/api/v1/summary", Public, 200).via(PAGE_VIAS),
        route(get.clone(), "/api/v1/components", Public, 200).via(PAGE_VIAS),
        route(get.clone(), "/api/v1/incidents", Public, 200).via(PAGE_VIAS),
        route(get.clone(), "/api/v1/incidents/{id}", Public, 200).via(PAGE_VIAS).on(SharedIncident),
        route(get.clone(), "/api/v1/uptime", Public, 200).via(PAGE_VIAS),
        route(get.clone(), "/api/v1/maintenances", Public, 200).via(PAGE_VIAS),
        route(get.clone(), "/api/v1/maintenances", Public, 200).via(PAGE_VIAS).query("status=upcoming&view=full"),
        route(get.clone(), "/api/v1/maintenances/{id}", Public, 200).via(PAGE_VIAS).on(SharedMaintenance),
        // The status model: hierarchy, statuses and lifecycles are configuration (reads need
        // read); incidents are operational content, except backfill, which rebuilds history
        // (configuration).
        route(get.clone(), "/api/v1/admin/hierarchy/levels", Page(Read), 200),
        route(post.clone(), "/api/v1/admin/hierarchy/levels", Page(Configure), 201)
            .on(AbsentLevel)
            .body(|f| json!({"depth": f.id, "singular": "Tier", "plural": "Tiers"}))
            .unchanged_if_refused(LEVEL_AT),
        route(patch.clone(), "/api/v1/admin/hierarchy/levels/{depth}", Page(Configure), 200)
            .on(PresentLevel)
            .body(|f| json!({"singular": format!("Tier {}", f.text)}))
            .unchanged_if_refused(LEVEL_AT),
        route(delete.clone(), "/api/v1/admin/hierarchy/levels/{depth}", Page(Configure), 204)
            .on(PresentLevel)
            .unchanged_if_refused(LEVEL_AT),
        route(get.clone(), "/api/v1/admin/hierarchy/items", Page(Read), 200),
        route(post.clone(), "/api/v1/admin/hierarchy/items", Page(Configure), 201)
            .on(FreshName)
            .body(|f| json!({"name": "Made by the matrix", "identifier": f.text}))
            .unchanged_if_refused(ITEM_NAMED),
        route(get.clone(), "/api/v1/admin/hierarchy/items/{id}", Page(Read), 200).on(SharedItem),
        route(patch.clone(), "/api/v1/admin/hierarchy/items/{id}", Page(Configure), 200)
            .on(FreshItem)
            .body(|f| json!({"description": format!("Changed by the matrix {}", f.text)}))
            .unchanged_if_refused(ITEM_ROW),
        route(delete.clone(), "/api/v1/admin/hierarchy/items/{id}", Page(Configure), 204)
            .on(FreshItem)
            .unchanged_if_refused(ITEM_ROW),
        route(get.clone(), "/api/v1/admin/hierarchy/items/external/{identifier}", Page(Read), 200).on(SharedItem),
        route(patch.clone(), "/api/v1/admin/hierarchy/items/external/{identifier}", Page(Configure), 200)
            .on(FreshItem)
            .body(|f| json!({"description": format!("Changed by the matrix {}", f.text)}))
            .unchanged_if_refused(ITEM_ROW),
        route(delete.clone(), "/api/v1/admin/hierarchy/items/external/{identifier}", Page(Configure), 204)
            .on(FreshItem)
            .unchanged_if_refused(ITEM_ROW),
        route(get.clone(), "/api/v1/admin/statuses", Page(Read), 200),
        route(put.clone(), "/api/v1/admin/statuses", Page(Configure), 200)
            .on(FreshName)
            .body(|f| {
                json!({"statuses": [
                    {"key": "operational", "name": "Operational", "color": "#16a34a"},
                    {"key": "degraded", "name": "Degraded performance", "color": "#ca8a04"},
                    {"key": "partial_outage", "name": "Partial outage", "color": "#ea580c",
                     "downtime_weight": 0.3},
                    {"key": "major_outage", "name": format!("Major outage {}", f.text), "color": "#dc2626",
                     "downtime_weight": 1.0},
                ]})
            })
            .unchanged_if_refused(STATUS_NAME),
        route(get.clone(), "/api/v1/admin/lifecycles/{kind}", Page(Read), 200),
        route(put.clone(), "/api/v1/admin/lifecycles/{kind}", Page(Configure), 200)
            .on(FreshName)
            .body(|f| {
                json!({"stages": [
                    {"key": "investigating", "name": "Investigating"},
                    {"key": "identified", "name": "Identified"},
                    {"key": "monitoring", "name": format!("Monitoring {}", f.text)},
                    {"key": "resolved", "name": "Resolved"},
                ]})
            })
            .unchanged_if_refused(STAGE_NAME),
        route(get.clone(), "/api/v1/admin/incidents", Page(Read), 200),
        route(post.clone(), "/api/v1/admin/incidents", Page(Operate), 201)
            .on(FreshName)
            .body(|f| json!({"title": "Made by the matrix", "external_id": f.text, "notify": false}))
            .unchanged_if_refused(INCIDENT_NAMED),
        route(post.clone(), "/api/v1/admin/incidents/backfill", Page(Configure), 201)
            .on(FreshName)
            .body(|f| {
                json!({
                    "title": "Backfilled by the matrix",
                    "external_id": f.text,
                    "started_at": "2026-11-01T10:00:00Z",
                    "resolved_at": "2026-11-01T11:00:00Z",
                    "updates": [{"message": "Looking", "created_at": "2026-11-01T10:30:00Z"}],
                })
            })
            .unchanged_if_refused(INCIDENT_NAMED),
    ];
    // Every incident route, by id and by external id, on a fresh incident in the state it needs.
    rows.extend(incident_rows!("/api/v1/admin/incidents/{id}"));
    rows.extend(incident_rows!("/api/v1/admin/incidents/external/{external_id}"));
    // Maintenance windows: scheduling is operational content; backfill rebuilds history
    // (configuration), like incident backfill.
    rows.extend(vec![
        route(get.clone(), "/api/v1/admin/maintenances", Page(Read), 200),
        route(post.clone(), "/api/v1/admin/maintenances", Page(Operate), 201)
            .on(FreshName)
            .body(|f| {
                json!({
                    "title": "Scheduled by the matrix",
                    "external_id": f.text,
                    "starts_at": "2026-12-10T10:00:00Z",
                    "ends_at": "2026-12-10T12:00:00Z",
                    "time_zone": "UTC",
                    "notify": false,
                })
            })
            .unchanged_if_refused(MAINTENANCE_NAMED),
        route(post.clone(), "/api/v1/admin/maintenances/backfill", Page(Configure), 201)
            .on(FreshName)
            .body(|f| {
                json!({
                    "title": "Backfilled by the matrix",
                    "external_id": f.text,
                    "starts_at": "2026-11-01T10:00:00Z",
                    "ends_at": "2026-11-01T12:00:00Z",
                    "time_zone": "UTC",
                    "updates": [{"message": "Halfway", "created_at": "2026-11-01T11:00:00Z"}],
                })
            })
            .unchanged_if_refused(MAINTENANCE_NAMED),
    ]);
    rows.extend(maintenance_rows!("/api/v1/admin/maintenances/{id}"));
    rows.extend(maintenance_rows!("/api/v1/admin/maintenances/external/{external_id}"));
    // Subscribers are personal data: reading them is operational access too (operate), like
    // deleting, bulk hygiene, export and import.
    rows.extend(vec![
        route(get.clone(), "/api/v1/admin/subscribers", Page(Operate), 200),
        route(get.clone(), "/api/v1/admin/subscribers", Page(Operate), 200)
            .query("view=full&q=shared&state=active&hygiene=ok"),
        route(get.clone(), "/api/v1/admin/subscribers/counts", Page(Operate), 200),
        route(get.clone(), "/api/v1/admin/subscribers/export", Page(Operate), 200),
        route(get.clone(), "/api/v1/admin/subscribers/{id}", Page(Operate), 200).on(SharedSubscriber),
        route(get.clone(), "/api/v1/admin/subscribers/{id}/deliveries", Page(Operate), 200).on(SharedSubscriber),
        route(delete.clone(), "/api/v1/admin/subscribers/{id}", Page(Operate), 204)
            .on(FreshSubscriber)
            .unchanged_if_refused(SUBSCRIBER_ROW),
        route(post.clone(), "/api/v1/admin/subscribers/hygiene", Page(Operate), 200)
            .on(FreshSubscriber)
            .body(|f| json!({"ids": [f.id], "hygiene": "suppressed"}))
            .unchanged_if_refused(SUBSCRIBER_ROW),
        route(post.clone(), "/api/v1/admin/subscribers/import", Page(Operate), 200)
            .on(FreshName)
            .body(|f| {
                json!({
                    "csv": format!("email,state,hygiene,incidents,maintenances,components,created_at,confirmed_at\n\
                                    {}@import.example,active,ok,true,true,,,\n", f.text),
                    "consent": "none",
                })
            })
            .unchanged_if_refused(SUBSCRIBER_NAMED),
    ]);
    // Readers' feeds hold their owners' addresses (personal data): like subscribers, operate.
    rows.extend(vec![
        route(get.clone(), "/api/v1/admin/feeds", Page(Operate), 200),
        route(get.clone(), "/api/v1/admin/feeds", Page(Operate), 200).query("view=full&limit=5"),
        route(get.clone(), "/api/v1/admin/feeds/stats", Page(Operate), 200),
        route(get.clone(), "/api/v1/admin/feeds/{id}", Page(Operate), 200).on(SharedFeed),
        route(delete.clone(), "/api/v1/admin/feeds/{id}", Page(Operate), 204)
            .on(FreshFeed)
            .unchanged_if_refused(FEED_ROW),
        route(post.clone(), "/api/v1/admin/feeds/{id}/invalidate", Page(Operate), 200)
            .on(FreshFeed)
            .unchanged_if_refused(FEED_ROW),
    ]);
    // Custom views name their owners and co-managers (personal data): operate, like subscribers.
    rows.extend(vec![
        route(get.clone(), "/api/v1/admin/views", Page(Operate), 200),
        route(get.clone(), "/api/v1/admin/views", Page(Operate), 200).query("view=full&access_mode=public"),
        route(get.clone(), "/api/v1/admin/views/stats", Page(Operate), 200),
        route(get.clone(), "/api/v1/admin/views/{id}", Page(Operate), 200).on(SharedView),
        route(delete.clone(), "/api/v1/admin/views/{id}", Page(Operate), 204)
            .on(FreshView)
            .unchanged_if_refused(VIEW_ROW),
    ]);
    rows.extend(vec![
        // Page administration.
        route(get.clone(), "/api/v1/admin/api-tokens", Page(ManageAccess), 200),
        route(post.clone(), "/api/v1/admin/api-tokens", Page(ManageAccess), 201)
            .body(|_| json!({"name": "made-by-the-matrix", "permission": "read", "role_key": "page_viewer"}))
            .unchanged_if_refused(ALL_TOKENS),
        route(get.clone(), "/api/v1/admin/api-tokens/stats", Page(ManageAccess), 200),
        route(get.clone(), "/api/v1/admin/api-tokens/{id}", Page(ManageAccess), 200).on(SharedPageToken),
        route(delete.clone(), "/api/v1/admin/api-tokens/{id}", Page(ManageAccess), 204)
            .on(FreshPageToken)
            .unchanged_if_refused(TOKEN_ROW),
        route(post.clone(), "/api/v1/admin/api-tokens/{id}/revoke", Page(ManageAccess), 200)
            .on(FreshPageToken)
            .unchanged_if_refused(TOKEN_ROW),
        route(post.clone(), "/api/v1/admin/api-tokens/{id}/rotate", Page(ManageAccess), 200)
            .on(FreshPageToken)
            .unchanged_if_refused(TOKEN_ROW),
        route(get.clone(), "/api/v1/admin/api-tokens/{id}/audit-log", Page(ManageAccess), 200).on(SharedPageToken),
        route(get.clone(), "/api/v1/admin/members", Page(ManageAccess), 200),
        // Someone outside the org is invited (202), never added: the snapshot counts both.
        route(post.clone(), "/api/v1/admin/members", Page(ManageAccess), 202)
            .on(FreshUser)
            .body(|f| json!({"email": f.text, "role": "page_viewer"}))
            .unchanged_if_refused(INVITED_OR_MEMBER),
        route(get.clone(), "/api/v1/admin/invitations", Page(ManageAccess), 200),
        route(delete.clone(), "/api/v1/admin/invitations/{id}", Page(ManageAccess), 200)
            .on(FreshPageInvitation)
            .unchanged_if_refused(INVITATION_ROW),
        route(patch.clone(), "/api/v1/admin/members/{user_id}", Page(ManageAccess), 200)
            .on(FreshPageMember)
            .body(|_| json!({"role": "page_viewer"}))
            .unchanged_if_refused(PAGE_ROLE),
        route(delete.clone(), "/api/v1/admin/members/{user_id}", Page(ManageAccess), 204)
            .on(FreshPageMember)
            .unchanged_if_refused(PAGE_ROLE),
        route(get.clone(), "/api/v1/admin/page-settings", Page(Read), 200),
        route(patch.clone(), "/api/v1/admin/page-settings", Page(Configure), 200)
            .on(FreshName)
            .body(|f| json!({"name": format!("Page renamed {}", f.text)}))
            .unchanged_if_refused("SELECT name FROM pages WHERE id = {page}"),
        route(get.clone(), "/api/v1/admin/site-settings", Page(Read), 200),
        route(put.clone(), "/api/v1/admin/site-settings", Page(Configure), 200)
            .on(FreshName)
            .body(|f| json!({"title": format!("Title {}", f.text)}))
            .unchanged_if_refused("SELECT settings FROM pages WHERE id = {page}"),
        route(get.clone(), "/api/v1/admin/domain", Page(Read), 200).on(DomainAttached),
        route(put.clone(), "/api/v1/admin/domain", Page(Configure), 200)
            .on(FreshName)
            .body(|f| json!({"domain": format!("{}.alpha-corp.example", f.text)}))
            .unchanged_if_refused(DOMAIN),
        route(delete.clone(), "/api/v1/admin/domain", Page(Configure), 204)
            .on(DomainAttached)
            .unchanged_if_refused(DOMAIN),
        route(post.clone(), "/api/v1/admin/domain/verify", Page(Configure), 200).on(DomainVerified),
        route(get.clone(), "/api/v1/admin/audit-log", Page(ManageAccess), 200),
        // The org.
        route(get.clone(), "/api/v1/org", Org(Read), 200),
        route(get.clone(), "/api/v1/org/pages", Org(Read), 200),
        route(post.clone(), "/api/v1/org/pages", Org(Configure), 201)
            .on(FreshName)
            .body(|f| json!({"name": "Made by the matrix", "url_prefix": f.text}))
            .unchanged_if_refused("SELECT CAST(COUNT(*) AS TEXT) FROM pages"),
        route(get.clone(), "/api/v1/org/pages/trash", Org(Read), 200),
        route(get.clone(), "/api/v1/org/pages/{id}", Org(Read), 200).on(ThePage).only_pages_they_can_open(),
        route(delete.clone(), "/api/v1/org/pages/{id}", Org(Configure), 200)
            .on(FreshPage)
            .unchanged_if_refused(PAGE_DELETED),
        route(post.clone(), "/api/v1/org/pages/{id}/restore", Org(Configure), 200)
            .on(FreshTrashedPage)
            .unchanged_if_refused(PAGE_DELETED),
        route(get.clone(), "/api/v1/org/members", Org(ManageAccess), 200),
        route(post.clone(), "/api/v1/org/members", Org(ManageAccess), 202)
            .on(FreshUser)
            .body(|f| json!({"email": f.text, "role": "org_member"}))
            .unchanged_if_refused(INVITED_OR_MEMBER),
        route(get.clone(), "/api/v1/org/invitations", Org(ManageAccess), 200),
        route(delete.clone(), "/api/v1/org/invitations/{id}", Org(ManageAccess), 200)
            .on(FreshOrgInvitation)
            .unchanged_if_refused(INVITATION_ROW),
        route(patch.clone(), "/api/v1/org/members/{user_id}", Org(ManageAccess), 200)
            .on(FreshOrgMember)
            .body(|_| json!({"role": "org_admin"}))
            .unchanged_if_refused(ORG_ROLE),
        route(delete.clone(), "/api/v1/org/members/{user_id}", Org(ManageAccess), 204)
            .on(FreshOrgMember)
            .unchanged_if_refused(ORG_ROLE),
        route(get.clone(), "/api/v1/org/api-tokens", Org(ManageAccess), 200),
        route(post.clone(), "/api/v1/org/api-tokens", Org(ManageAccess), 201)
            .body(|_| json!({"name": "made-by-the-matrix", "permission": "read", "role_key": "org_member"}))
            .unchanged_if_refused(ALL_TOKENS),
        route(get.clone(), "/api/v1/org/api-tokens/stats", Org(ManageAccess), 200),
        route(get.clone(), "/api/v1/org/api-tokens/{id}", Org(ManageAccess), 200).on(SharedOrgToken),
        route(delete.clone(), "/api/v1/org/api-tokens/{id}", Org(ManageAccess), 204)
            .on(FreshOrgToken)
            .unchanged_if_refused(TOKEN_ROW),
        route(post.clone(), "/api/v1/org/api-tokens/{id}/revoke", Org(ManageAccess), 200)
            .on(FreshOrgToken)
            .unchanged_if_refused(TOKEN_ROW),
        route(post.clone(), "/api/v1/org/api-tokens/{id}/rotate", Org(ManageAccess), 200)
            .on(FreshOrgToken)
            .unchanged_if_refused(TOKEN_ROW),
        route(get.clone(), "/api/v1/org/api-tokens/{id}/audit-log", Org(ManageAccess), 200).on(SharedOrgToken),
        route(get.clone(), "/api/v1/org/audit-log", Org(ManageAccess), 200),
        // Operations and pages for people.
        route(get.clone(), "/healthz", Public, 200),
        route(get.clone(), "/readyz", Public, 200),
        route(get.clone(), "/internal/domain-check", Public, 200).query("domain=status.quebec.example"),
        route(get.clone(), "/", Public, 200).via(&[Via::PageHost, Via::StatusPath]),
        route(get.clone(), "/static/gate.js", Public, 200).via(&[Via::PageHost, Via::StatusPath]),
        route(get.clone(), "/assets/{file}", Public, 200).via(&[Via::PageHost, Via::StatusPath]),
        route(get, "/incidents/{id}", Public, 200).via(&[Via::PageHost, Via::StatusPath]).on(SharedIncident),
    ]);
    rows
}

/// `(METHOD, path)` of every route in the table the router is built from, so that a new route
/// without a row in this matrix fails the test.
fn route_table() -> BTreeSet<(String, String)> {
    let table = statibeat::http::table();
    table.iter().flat_map(|r| r.methods.iter().map(|m| (m.to_string(), r.path.to_string()))).collect()
}

/// The rate family each route declares agrees with how it is authorised: a route that takes a
/// credential spends that credential's budget (and a client that keeps failing to authenticate
/// is turned away before it), and an anonymous one never does.
#[test]
fn credentialed_routes_are_in_the_authenticated_rate_family() {
    let table = statibeat::http::table();
    for row in routes() {
        let limit = table.iter().find(|r| r.path == row.pattern).map(|r| r.limit);
        let credentialed = row.family != Family::Public;
        assert_eq!(
            limit == Some(Limit::Authenticated),
            credentialed,
            "{} {} is {:?} and declares {limit:?}",
            row.method,
            row.pattern,
            row.family
        );
    }
}

// ---- the world the matrix runs in ----------------------------------------------------------------

/// Org A with public page P (`alpha`) and sibling page Q (`quebec`); org B with page `bravo`;
/// one credential of every kind.
struct World {
    t: TestApp,
    a: Tenant,
    page_q: i64,
    b: Tenant,
    seq: AtomicU64,
    shared_page_token: i64,
    shared_org_token: i64,
    /// (id, identifier) of a component and (id, external id) of an open public incident of
    /// page P that no row changes.
    shared_item: (i64, String),
    shared_incident: (i64, String),
    /// (id, external id) of a scheduled maintenance window of page P that no row changes.
    shared_maintenance: (i64, String),
    /// Id of an active subscriber of page P that no row changes.
    shared_subscriber: i64,
    shared_feed: i64,
    /// Id of a custom view of page P that no row changes.
    shared_view: i64,
    carriers: Vec<(Cred, Carrier)>,
}

/// How a credential travels.
#[derive(Clone, Debug)]
enum Carrier {
    Nothing,
    Authorization(String),
    Cookie { cookie: String, csrf: String, sending: Sending },
    Query(String),
}

impl World {
    async fn build(engine: Engine) -> World {
        let t = TestApp::new(engine).await;
        let a = t.tenant("alpha").await;
        let b = t.tenant("bravo").await;
        let q = pages::create(
            &t.app,
            &Actor::system("test"),
            a.org_id,
            pages::NewPageInput {
                name: "Page quebec".into(),
                url_prefix: "quebec".into(),
                internal_key: None,
                visibility: None,
                viewer_password: None,
            },
        )
        .await
        .unwrap();
        let claim = domains::set(&t.app, &Actor::system("test"), &q, "status.quebec.example").await.unwrap();
        store::domains::mark_domain_checked(&t.app.db.pool, &claim, Some(T0), T0).await.unwrap();
        statibeat::service::org::bootstrap::create_user(&t.app, "login@people.example.com", "Login", PASSWORD)
            .await
            .unwrap();
        let mut w = World {
            t,
            a,
            page_q: q.id,
            b,
            seq: AtomicU64::new(0),
            shared_page_token: 0,
            shared_org_token: 0,
            shared_item: (0, String::new()),
            shared_incident: (0, String::new()),
            shared_maintenance: (0, String::new()),
            shared_subscriber: 0,
            shared_feed: 0,
            shared_view: 0,
            carriers: Vec::new(),
        };
        // Page P's hierarchy: one level (top-level components sit there) and a shared component
        // and incident for the reading rows.
        let page = w.page_p().await;
        hierarchy_service::create_level(&w.t.app, &Actor::system("test"), &page, 1, "Service", "Services")
            .await
            .unwrap();
        w.shared_item = w.fresh_item().await;
        w.shared_incident = w.fresh_incident().await;
        w.shared_maintenance = w.fresh_maintenance().await;
        w.shared_subscriber = w.fresh_subscriber().await.0;
        w.shared_feed = w.fresh_feed().await;
        w.shared_view = w.fresh_view().await;
        w.shared_page_token = w.mint(w.page_scope(), "read", "page_viewer", None).await.0;
        w.shared_org_token = w.mint(w.org_scope(), "read", "org_member", None).await.0;
        let (_, expiring) = w.mint(w.page_scope(), "admin", "page_admin", Some(rfc3339(w.t.app.now() + 60_000))).await;
        let (revoked_id, revoked) = w.mint(w.page_scope(), "admin", "page_admin", None).await;
        token_service::revoke(&w.t.app, &Actor::system("test"), w.page_scope(), revoked_id).await.unwrap();
        let (_, admin_token) = w.mint(w.page_scope(), "admin", "page_admin", None).await;
        let mut carriers = Vec::new();
        for &cred in CREDS {
            let carrier = match cred {
                Cred::Nothing => Carrier::Nothing,
                Cred::PageToken(p, r) => {
                    Carrier::Authorization(format!("Bearer {}", w.mint(w.page_scope(), p, r, None).await.1))
                }
                Cred::SiblingPageToken => {
                    let scope = TokenScope::Page { org_id: w.a.org_id, page_id: w.page_q };
                    Carrier::Authorization(format!("Bearer {}", w.mint(scope, "admin", "page_admin", None).await.1))
                }
                Cred::OrgToken(p, r) => {
                    Carrier::Authorization(format!("Bearer {}", w.mint(w.org_scope(), p, r, None).await.1))
                }
                Cred::ExpiredToken => Carrier::Authorization(format!("Bearer {expiring}")),
                Cred::RevokedToken => Carrier::Authorization(format!("Bearer {revoked}")),
                Cred::UnknownToken => {
                    Carrier::Authorization(format!("Bearer {}", w.t.app.new_token(TokenKind::Api).expose()))
                }
                Cred::MalformedToken => Carrier::Authorization("Bearer sbt_not-a-token".into()),
                Cred::BadChecksumToken => {
                    let mut s = admin_token.clone();
                    let last = s.pop().unwrap();
                    s.push(if last == 'A' { 'B' } else { 'A' });
                    Carrier::Authorization(format!("Bearer {s}"))
                }
                Cred::NotBearerScheme => Carrier::Authorization(format!("Basic {admin_token}")),
                Cred::Session(p) => w.cookie(p, Sending::SameOrigin).await,
                Cred::OrgAdminSessionSent(how) => w.cookie(Person::OrgAdmin, how).await,
                Cred::LoggedOutSession => {
                    let carrier = w.cookie(Person::OrgAdmin, Sending::SameOrigin).await;
                    let Carrier::Cookie { cookie, .. } = &carrier else { unreachable!() };
                    let r = w.t.send(Req::post(ADMIN, "/api/v1/auth/logout").session(cookie)).await;
                    assert_eq!(r.status.as_u16(), 204, "logout: {}", r.text);
                    carrier
                }
                Cred::TokenInQuery => Carrier::Query(format!("access_token={admin_token}")),
                Cred::TokenShapedQueryValue => Carrier::Query(format!("note={admin_token}")),
            };
            carriers.push((cred, carrier));
        }
        w.carriers = carriers;
        // The expiring token is past its expiry from here on.
        w.t.clock.advance(120_000);
        w
    }

    fn page_scope(&self) -> TokenScope {
        TokenScope::Page { org_id: self.a.org_id, page_id: self.a.page_id }
    }

    fn org_scope(&self) -> TokenScope {
        TokenScope::Org { org_id: self.a.org_id }
    }

    fn next(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::SeqCst)
    }

    async fn mint(&self, scope: TokenScope, permission: &str, role: &str, expires_at: Option<String>) -> (i64, String) {
        let (row, secret) = token_service::create(
            &self.t.app,
            &Actor::system("test"),
            token_service::Holder { grant: Access::ManageAccess, expires_at: None },
            scope,
            NewToken {
                name: format!("{permission}-{role}"),
                description: String::new(),
                notes: String::new(),
                permission: permission.into(),
                role_key: role.into(),
                terraform_managed: false,
                expires_at,
            },
        )
        .await
        .unwrap();
        (row.id, secret.expose().to_string())
    }

    /// A new signed-in user with this person's roles, and how their cookie will travel.
    async fn cookie(&self, p: Person, sending: Sending) -> Carrier {
        let (org, page) = (self.a.org_id, self.a.page_id);
        let (cookie, csrf) = match p {
            Person::PageViewer => self.t.member(org, Some((page, "page_viewer")), "org_member").await,
            Person::PageManager => self.t.member(org, Some((page, "page_manager")), "org_member").await,
            Person::PageAdmin => self.t.member(org, Some((page, "page_admin")), "org_member").await,
            Person::OrgAdmin => self.t.member(org, None, "org_admin").await,
            Person::OrgMemberWithoutPageRole => self.t.member(org, None, "org_member").await,
            Person::OtherOrgAdmin => self.t.member(self.b.org_id, None, "org_admin").await,
        };
        Carrier::Cookie { cookie, csrf, sending }
    }

    /// A user who cannot sign in (the matrix never needs them to) and belongs to nothing.
    async fn bare_user(&self) -> (i64, String) {
        let email = format!("bystander{}@people.example.com", self.next());
        let id = store::users::insert_user(
            &self.t.app.db.pool,
            &email,
            "Bystander",
            "not-a-password-hash",
            self.t.app.now(),
        )
        .await
        .unwrap();
        (id, email)
    }

    /// A pending invitation of org A (to page P with `page`), made in the store.
    async fn invitation(&self, page: Option<i64>, role: &str) -> i64 {
        let n = self.next();
        let (email, hash) = (format!("invitee{n}@people.example.com"), format!("{n:064}"));
        let new = invitations_sql::NewInvitation {
            org_id: self.a.org_id,
            page_id: page,
            email: &email,
            role,
            token_hash: &hash,
            invited_by: "matrix",
            expires_at: self.t.app.now() + 86_400_000,
        };
        invitations_sql::insert(&self.t.app.db.pool, &new, self.t.app.now()).await.unwrap().id
    }

    async fn page_p(&self) -> store::pages::PageRow {
        store::pages::page_by_id(&self.t.app.db.pool, self.a.page_id).await.unwrap().unwrap()
    }

    async fn fresh_page(&self) -> i64 {
        let prefix = format!("fresh{}", self.next());
        let input = pages::NewPageInput {
            name: "Fresh".into(),
            url_prefix: prefix,
            internal_key: None,
            visibility: None,
            viewer_password: None,
        };
        pages::create(&self.t.app, &Actor::system("test"), self.a.org_id, input).await.unwrap().id
    }

    /// A new top-level component of page P: (id, identifier).
    async fn fresh_item(&self) -> (i64, String) {
        let identifier = format!("item{}", self.next());
        let input = ItemInput {
            name: Some(format!("Component {identifier}")),
            identifier: Some(identifier.clone()),
            ..Default::default()
        };
        let item = hierarchy_service::create_item(&self.t.app, &Actor::system("test"), &self.page_p().await, input)
            .await
            .unwrap();
        (item.id, identifier)
    }

    /// A new open public incident of page P affecting the shared component: (id, external id).
    async fn fresh_incident(&self) -> (i64, String) {
        let external_id = format!("incident-{}", self.next());
        let input = IncidentInput {
            external_id: Some(external_id.clone()),
            title: format!("Incident {external_id}"),
            status: Some("degraded".into()),
            affected_items: vec![AffectedInput { item: ItemRef::Id(self.shared_item.0), status: None }],
            notify: false,
            request_json: external_id.clone(),
            ..Default::default()
        };
        let (row, created) =
            incident_service::create(&self.t.app, &Actor::system("test"), &self.page_p().await, input).await.unwrap();
        assert!(created);
        (row.id, external_id)
    }

    /// A new scheduled window of page P affecting the shared component, from T0 + 1 day for two
    /// hours, silent: (id, external id).
    async fn fresh_maintenance(&self) -> (i64, String) {
        let external_id = format!("maintenance-{}", self.next());
        let input = MaintenanceInput {
            external_id: Some(external_id.clone()),
            title: format!("Maintenance {external_id}"),
            description: String::new(),
            impact: String::new(),
            affected_items: vec![ItemRef::Id(self.shared_item.0)],
            affected_items_freetext: String::new(),
            starts_at: rfc3339(T0 + 24 * 3_600_000),
            ends_at: rfc3339(T0 + 26 * 3_600_000),
            time_zone: Some("UTC".into()),
            auto_start: true,
            auto_complete: true,
            reminder_minutes: 0,
            notify: false,
            request_json: external_id.clone(),
        };
        let (row, created) =
            maintenance_service::create(&self.t.app, &Actor::system("test"), &self.page_p().await, input)
                .await
                .unwrap();
        assert!(created);
        (row.id, external_id)
    }

    /// A new active subscriber of page P (hygiene `ok`): (id, address).
    async fn fresh_subscriber(&self) -> (i64, String) {
        use statibeat::store::subscribers as subs;
        let email = format!("shared-reader{}@example.org", self.next());
        let prefs = subs::Preferences { incidents: true, maintenances: true, all_components: true };
        let pool = &self.t.app.db.pool;
        let id = subs::insert_email(pool, self.a.page_id, &email, &prefs, self.t.app.now()).await.unwrap();
        subs::set_state(pool, id, "active", self.t.app.now()).await.unwrap();
        (id, email)
    }

    /// A new reader feed of page P (whole page, both content types).
    async fn fresh_feed(&self) -> i64 {
        use statibeat::store::reader_feeds as feeds;
        let n = self.next();
        let settings = feeds::Settings {
            name: format!("Matrix feed {n}"),
            all_components: true,
            incidents: true,
            maintenances: true,
            max_items: 50,
            max_age_days: None,
            format: "atom".into(),
        };
        let (pool, now) = (&self.t.app.db.pool, self.t.app.now());
        let email = format!("feed-owner{n}@example.org");
        feeds::insert(pool, self.a.page_id, &email, &format!("matrixfeed{n}"), None, &settings, now).await.unwrap()
    }

    /// A new public custom view of page P selecting the shared component: its id.
    async fn fresh_view(&self) -> i64 {
        use statibeat::store::views as views_sql;
        let n = self.next();
        let fields = views_sql::ViewFields {
            alias: None,
            name: "A view",
            description: "",
            access_mode: "public",
            allowed_domains: &[],
            allowed_emails: &[],
        };
        let pool = &self.t.app.db.pool;
        let code = format!("Matrix{n:04}");
        let id = views_sql::insert(pool, self.a.page_id, &code, "owner@example.org", &fields, self.t.app.now())
            .await
            .unwrap();
        let mut conn = pool.acquire().await.unwrap();
        views_sql::set_components(&mut conn, id, std::slice::from_ref(&self.shared_item.1)).await.unwrap();
        id
    }

    async fn prepare(&self, target: Target) -> Fixture {
        let pool = &self.t.app.db.pool;
        let now = self.t.app.now();
        let id = |id| Fixture { id, text: String::new() };
        match target {
            Target::Nothing => Fixture::default(),
            Target::SharedPageToken => id(self.shared_page_token),
            Target::SharedOrgToken => id(self.shared_org_token),
            Target::ThePage => id(self.a.page_id),
            Target::FreshPageToken => id(self.mint(self.page_scope(), "read", "page_viewer", None).await.0),
            Target::FreshOrgToken => id(self.mint(self.org_scope(), "read", "org_member", None).await.0),
            Target::FreshUser => {
                let (id, email) = self.bare_user().await;
                Fixture { id, text: email }
            }
            Target::FreshPageInvitation => id(self.invitation(Some(self.a.page_id), "page_viewer").await),
            Target::FreshOrgInvitation => id(self.invitation(None, "org_member").await),
            Target::FreshPageMember => {
                let (user, _) = self.bare_user().await;
                store::members::upsert(pool, store::members::Group::Org(self.a.org_id), user, "org_member", now)
                    .await
                    .unwrap();
                store::members::upsert(pool, store::members::Group::Page(self.a.page_id), user, "page_manager", now)
                    .await
                    .unwrap();
                id(user)
            }
            Target::FreshOrgMember => {
                let (user, _) = self.bare_user().await;
                store::members::upsert(pool, store::members::Group::Org(self.a.org_id), user, "org_member", now)
                    .await
                    .unwrap();
                id(user)
            }
            Target::FreshPage => id(self.fresh_page().await),
            Target::FreshTrashedPage => {
                let page = self.fresh_page().await;
                pages::trash(&self.t.app, &Actor::system("test"), self.a.org_id, page).await.unwrap();
                id(page)
            }
            Target::FreshName => Fixture { id: 0, text: format!("fresh{}", self.next()) },
            Target::DomainAttached | Target::DomainVerified => {
                let claim = domains::set(
                    &self.t.app,
                    &Actor::system("test"),
                    &self.page_p().await,
                    "status.alpha-corp.example",
                )
                .await
                .unwrap();
                if matches!(target, Target::DomainVerified) {
                    store::domains::mark_domain_checked(pool, &claim, Some(now), now).await.unwrap();
                }
                Fixture::default()
            }
            Target::SharedItem => Fixture { id: self.shared_item.0, text: self.shared_item.1.clone() },
            Target::SharedIncident => Fixture { id: self.shared_incident.0, text: self.shared_incident.1.clone() },
            Target::FreshItem => {
                let (id, text) = self.fresh_item().await;
                Fixture { id, text }
            }
            Target::AbsentLevel | Target::PresentLevel => {
                let (app, actor, page) = (&self.t.app, Actor::system("test"), self.page_p().await);
                let depth = if matches!(target, Target::AbsentLevel) { ABSENT_DEPTH } else { PRESENT_DEPTH };
                let exists = hierarchy_service::level(app, &page, depth).await.is_ok();
                match target {
                    Target::AbsentLevel if exists => {
                        hierarchy_service::delete_level(app, &actor, &page, depth).await.unwrap()
                    }
                    Target::PresentLevel if !exists => {
                        hierarchy_service::create_level(app, &actor, &page, depth, "Tier", "Tiers")
                            .await
                            .map(drop)
                            .unwrap()
                    }
                    _ => {}
                }
                Fixture { id: depth, text: format!("fresh{}", self.next()) }
            }
            Target::FreshIncident
            | Target::FreshResolvedIncident
            | Target::FreshDraftReport
            | Target::FreshPublishedReport => {
                let (id, text) = self.fresh_incident().await;
                let (app, actor, page) = (&self.t.app, Actor::system("test"), self.page_p().await);
                if !matches!(target, Target::FreshIncident) {
                    incident_service::resolve(app, &actor, &page, id, "", false).await.unwrap();
                }
                if matches!(target, Target::FreshDraftReport | Target::FreshPublishedReport) {
                    let body = Some("What happened");
                    incident_service::report(app, &actor, &page, id, ReportAction::Draft, body).await.unwrap();
                }
                if matches!(target, Target::FreshPublishedReport) {
                    incident_service::report(app, &actor, &page, id, ReportAction::Publish, None).await.unwrap();
                }
                Fixture { id, text }
            }
            Target::SharedMaintenance => {
                Fixture { id: self.shared_maintenance.0, text: self.shared_maintenance.1.clone() }
            }
            Target::FreshMaintenance | Target::FreshStartedMaintenance => {
                let (id, text) = self.fresh_maintenance().await;
                if matches!(target, Target::FreshStartedMaintenance) {
                    let (app, actor, page) = (&self.t.app, Actor::system("test"), self.page_p().await);
                    maintenance_service::transition(app, &actor, &page, id, Move::Start, Transition::default())
                        .await
                        .unwrap();
                }
                Fixture { id, text }
            }
            Target::SharedSubscriber => id(self.shared_subscriber),
            Target::SharedFeed => id(self.shared_feed),
            Target::FreshFeed => id(self.fresh_feed().await),
            Target::SharedView => id(self.shared_view),
            Target::FreshView => id(self.fresh_view().await),
            Target::FreshSubscriber => {
                let (id, text) = self.fresh_subscriber().await;
                Fixture { id, text }
            }
        }
    }

    /// The credential to send: the shared one, or a throwaway session for routes that end it.
    async fn carrier(&self, cred: Cred, route: &Route) -> Carrier {
        if route.consumes_session {
            match cred {
                Cred::Session(p) => return self.cookie(p, Sending::SameOrigin).await,
                Cred::OrgAdminSessionSent(how) => return self.cookie(Person::OrgAdmin, how).await,
                _ => {}
            }
        }
        self.carriers.iter().find(|(c, _)| *c == cred).unwrap().1.clone()
    }

    /// Host and path of `route` called through `via`.
    fn address(&self, route: &Route, via: Via, f: &Fixture) -> (String, String) {
        let path = route
            .pattern
            .replace("{id}", &f.id.to_string())
            .replace("{user_id}", &f.id.to_string())
            .replace("{depth}", &f.id.to_string())
            .replace("{identifier}", &f.text)
            .replace("{external_id}", &f.text)
            .replace("{kind}", "incident")
            .replace("{url_prefix}", "alpha")
            .replace("{file}", statibeat::http::site::assets::STYLESHEET.path.trim_start_matches("/assets/"));
        let (host, path) = match via {
            Via::PageHost => (self.a.host.clone(), path),
            Via::StatusPath => (BASE.to_string(), format!("/status/{}{}", self.a.prefix, path)),
            Via::AdminHost => (ADMIN.to_string(), path),
            Via::Numeric => match path.strip_prefix("/api/v1/org") {
                Some(rest) if matches!(route.family, Family::Org(_)) => {
                    (ADMIN.to_string(), format!("/api/v1/orgs/{}{rest}", self.a.org_id))
                }
                _ => {
                    let rest = path.strip_prefix("/api/v1").expect("an API path");
                    (ADMIN.to_string(), format!("/api/v1/orgs/{}/pages/{}{rest}", self.a.org_id, self.a.page_id))
                }
            },
        };
        match route.query {
            Some(q) => (host, format!("{path}?{q}")),
            None => (host, path),
        }
    }

    async fn snapshot(&self, route: &Route, f: &Fixture) -> Option<Option<String>> {
        let sql = route
            .snapshot?
            .replace("{id}", &f.id.to_string())
            .replace("{page}", &self.a.page_id.to_string())
            .replace("{org}", &self.a.org_id.to_string())
            .replace("{text}", &f.text);
        let row = sqlx::query(&sql).fetch_optional(&self.t.app.db.pool).await.unwrap();
        Some(row.map(|r| r.get::<String, _>(0)))
    }
}

fn request(route: &Route, host: &str, path: &str, carrier: &Carrier, f: &Fixture) -> Req {
    let path = match carrier {
        Carrier::Query(q) if path.contains('?') => format!("{path}&{q}"),
        Carrier::Query(q) => format!("{path}?{q}"),
        _ => path.to_string(),
    };
    let mut req = Req::new(route.method.clone(), host, &path);
    req = match carrier {
        Carrier::Nothing | Carrier::Query(_) => req,
        Carrier::Authorization(v) => req.header("authorization", v),
        Carrier::Cookie { cookie, sending: Sending::SameOrigin, .. } => req.session(cookie),
        Carrier::Cookie { cookie, sending: Sending::CrossSite, .. } => {
            req.header("cookie", cookie).header("sec-fetch-site", "cross-site")
        }
        Carrier::Cookie { cookie, csrf, sending: Sending::WithCsrfHeader } => {
            req.header("cookie", cookie).header("x-csrf-token", csrf)
        }
        Carrier::Cookie { cookie, sending: Sending::WithoutOriginInfo, .. } => req.header("cookie", cookie),
    };
    match route.body {
        Some(b) => req.json(b(f)),
        None => req,
    }
}

// ---- the test ------------------------------------------------------------------------------------

async fn every_route_answers_every_credential_as_the_spec_says(engine: Engine) {
    let routes = routes();
    let mut covered: BTreeSet<(String, String)> =
        routes.iter().map(|r| (r.method.to_string(), r.pattern.to_string())).collect();
    // The HTML web-app family (form posts, redirects) has its own matrix in admin_web.rs.
    covered.extend(crate::admin_web::WEB_ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())));
    // The reader routes (subscribe, magic tokens) have their own matrix in subscribers.rs.
    covered.extend(crate::subscribers::READER_ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())));
    covered.extend(crate::reader_feeds::READER_ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())));
    covered.extend(crate::views::READER_ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())));
    // The invitee routes (an `sbi_` link token) have their own matrix in invitations.rs.
    covered.extend(crate::invitations::INVITEE_ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())));
    let table = route_table();
    assert!(table.len() >= 50, "the route table lists only {} routes", table.len());
    let missing: Vec<_> = table.difference(&covered).collect();
    assert!(missing.is_empty(), "routes without a row in the auth matrix: {missing:?}");
    let unknown: Vec<_> = covered.difference(&table).collect();
    assert!(unknown.is_empty(), "matrix rows for routes that do not exist: {unknown:?}");

    let w = World::build(engine).await;
    let mut mismatches = Vec::new();
    let mut unauthorised_2xx = 0;
    let mut sent = 0;
    for route in &routes {
        for &via in route.vias {
            for &cred in CREDS {
                let fixture = w.prepare(route.target).await;
                let carrier = w.carrier(cred, route).await;
                let (host, path) = w.address(route, via, &fixture);
                let before = w.snapshot(route, &fixture).await;
                let r = w.t.send(request(route, &host, &path, &carrier, &fixture)).await;
                sent += 1;
                let got = r.status.as_u16();
                let want = expected(cred, route, via);
                let what = format!("{} {host}{path} [{via:?}] as {cred:?}", route.method);
                let body: String = r.text.chars().take(160).collect();
                if got != want {
                    mismatches.push(format!("{what}: expected {want}, got {got}: {body}"));
                }
                let allowed = (200..300).contains(&want);
                if (200..300).contains(&got) && !allowed {
                    unauthorised_2xx += 1;
                }
                if !allowed && w.snapshot(route, &fixture).await != before {
                    let after = w.snapshot(route, &fixture).await;
                    mismatches.push(format!(
                        "{what}: should be refused ({want}), got {got} and changed state ({before:?} -> {after:?})"
                    ));
                }
                if got == 401
                    && route.family != Family::Public
                    && !r.header("www-authenticate").is_some_and(|v| v.starts_with("Bearer"))
                {
                    mismatches.push(format!("{what}: 401 without WWW-Authenticate: Bearer"));
                }
            }
        }
    }
    let addressings: usize = routes.iter().map(|r| r.vias.len()).sum();
    eprintln!(
        "auth matrix: {} routes in the table, {} rows, {addressings} (row, way in) pairs × {} credential kinds = {sent} requests",
        table.len(),
        routes.len(),
        CREDS.len()
    );
    let report = mismatches.join("\n");
    assert_eq!(unauthorised_2xx, 0, "unauthorised 2xx answers (2xx where the spec says refuse):\n{report}");
    assert!(mismatches.is_empty(), "{} mismatches in {sent} requests:\n{report}", mismatches.len());
}
both!(every_route_answers_every_credential_as_the_spec_says);

/// The oracle itself, on a few hand-checked cells (so a slip in it cannot hide a slip in the code).
#[test]
fn the_oracle_agrees_with_hand_written_cells() {
    let all = routes();
    let find = |m: &str, p: &str| all.iter().find(|r| r.method.as_str() == m && r.pattern == p).unwrap();
    let tokens = find("GET", "/api/v1/admin/api-tokens");
    let put_site = find("PUT", "/api/v1/admin/site-settings");
    let read_site = find("GET", "/api/v1/admin/site-settings");
    let org_pages = find("POST", "/api/v1/org/pages");
    let list_org = find("GET", "/api/v1/org/pages");
    let me = find("GET", "/api/v1/auth/me");
    let settings = find("GET", "/api/v1/settings");
    let summary = find("GET", "/api/v1/summary");
    let public_incident = find("GET", "/api/v1/incidents/{id}");
    let levels = find("GET", "/api/v1/admin/hierarchy/levels");
    let create_item = find("POST", "/api/v1/admin/hierarchy/items");
    let put_statuses = find("PUT", "/api/v1/admin/statuses");
    let create_incident = find("POST", "/api/v1/admin/incidents");
    let backfill = find("POST", "/api/v1/admin/incidents/backfill");
    let resolve = find("POST", "/api/v1/admin/incidents/{id}/resolve");
    let delete_incident = find("DELETE", "/api/v1/admin/incidents/{id}");
    let ack_external = find("POST", "/api/v1/admin/incidents/external/{external_id}/acknowledge");
    let publish_external = find("POST", "/api/v1/admin/incidents/external/{external_id}/report/publish");
    let get_incident = find("GET", "/api/v1/admin/incidents/{id}");
    let public_maintenances = find("GET", "/api/v1/maintenances");
    let public_maintenance = find("GET", "/api/v1/maintenances/{id}");
    let list_maintenances = find("GET", "/api/v1/admin/maintenances");
    let schedule = find("POST", "/api/v1/admin/maintenances");
    let backfill_maintenance = find("POST", "/api/v1/admin/maintenances/backfill");
    let get_maintenance = find("GET", "/api/v1/admin/maintenances/{id}");
    let patch_maintenance = find("PATCH", "/api/v1/admin/maintenances/{id}");
    let delete_maintenance = find("DELETE", "/api/v1/admin/maintenances/{id}");
    let start_external = find("POST", "/api/v1/admin/maintenances/external/{external_id}/start");
    let complete = find("POST", "/api/v1/admin/maintenances/{id}/complete");
    let extend = find("POST", "/api/v1/admin/maintenances/{id}/extend");
    let cancel_external = find("POST", "/api/v1/admin/maintenances/external/{external_id}/cancel");
    let update_external = find("POST", "/api/v1/admin/maintenances/external/{external_id}/updates");
    let delete_external = find("DELETE", "/api/v1/admin/maintenances/external/{external_id}");
    let list_subscribers = find("GET", "/api/v1/admin/subscribers");
    let counts = find("GET", "/api/v1/admin/subscribers/counts");
    let export = find("GET", "/api/v1/admin/subscribers/export");
    let get_subscriber = find("GET", "/api/v1/admin/subscribers/{id}");
    let delete_subscriber = find("DELETE", "/api/v1/admin/subscribers/{id}");
    let hygiene = find("POST", "/api/v1/admin/subscribers/hygiene");
    let import = find("POST", "/api/v1/admin/subscribers/import");
    let list_views = find("GET", "/api/v1/admin/views");
    let view_stats = find("GET", "/api/v1/admin/views/stats");
    let get_view = find("GET", "/api/v1/admin/views/{id}");
    let delete_view = find("DELETE", "/api/v1/admin/views/{id}");
    let cells: &[(Cred, &Route, Via, u16)] = &[
        (Cred::Nothing, tokens, Via::PageHost, 401),
        (Cred::PageToken("admin", "page_admin"), tokens, Via::Numeric, 200),
        (Cred::PageToken("write", "page_admin"), tokens, Via::PageHost, 403),
        (Cred::PageToken("admin", "page_manager"), put_site, Via::PageHost, 403),
        (Cred::PageToken("admin", "page_admin"), put_site, Via::PageHost, 200),
        (Cred::PageToken("read", "page_viewer"), read_site, Via::PageHost, 200),
        (Cred::SiblingPageToken, read_site, Via::PageHost, 401),
        (Cred::OrgToken("admin", "org_member"), read_site, Via::PageHost, 200),
        (Cred::OrgToken("admin", "org_member"), put_site, Via::PageHost, 403),
        (Cred::OrgToken("write", "org_admin"), put_site, Via::PageHost, 403),
        (Cred::OrgToken("admin", "org_admin"), tokens, Via::PageHost, 200),
        (Cred::Session(Person::OrgMemberWithoutPageRole), read_site, Via::PageHost, 404),
        (Cred::Session(Person::OtherOrgAdmin), read_site, Via::Numeric, 404),
        (Cred::Session(Person::PageManager), put_site, Via::PageHost, 403),
        (Cred::Session(Person::PageAdmin), tokens, Via::PageHost, 200),
        (Cred::Session(Person::OrgMemberWithoutPageRole), list_org, Via::Numeric, 200),
        (Cred::Session(Person::PageAdmin), org_pages, Via::Numeric, 403),
        (Cred::Session(Person::OrgAdmin), org_pages, Via::Numeric, 201),
        (Cred::Session(Person::OtherOrgAdmin), list_org, Via::Numeric, 404),
        (Cred::PageToken("admin", "page_admin"), list_org, Via::PageHost, 403),
        (Cred::SiblingPageToken, list_org, Via::PageHost, 401),
        (Cred::SiblingPageToken, list_org, Via::Numeric, 403),
        (Cred::OrgToken("write", "org_admin"), org_pages, Via::Numeric, 403),
        (Cred::OrgAdminSessionSent(Sending::CrossSite), put_site, Via::PageHost, 403),
        (Cred::OrgAdminSessionSent(Sending::CrossSite), read_site, Via::PageHost, 200),
        (Cred::OrgAdminSessionSent(Sending::WithoutOriginInfo), put_site, Via::PageHost, 403),
        (Cred::OrgAdminSessionSent(Sending::WithCsrfHeader), put_site, Via::PageHost, 200),
        (Cred::PageToken("admin", "page_admin"), me, Via::AdminHost, 403),
        (Cred::Session(Person::OtherOrgAdmin), me, Via::AdminHost, 200),
        (Cred::ExpiredToken, settings, Via::PageHost, 200),
        (Cred::TokenInQuery, settings, Via::PageHost, 400),
        (Cred::ExpiredToken, summary, Via::PageHost, 200),
        (Cred::SiblingPageToken, summary, Via::Numeric, 200),
        (Cred::Session(Person::OtherOrgAdmin), public_incident, Via::StatusPath, 200),
        (Cred::TokenShapedQueryValue, public_incident, Via::Numeric, 400),
        (Cred::Session(Person::OrgMemberWithoutPageRole), levels, Via::PageHost, 404),
        (Cred::PageToken("read", "page_viewer"), levels, Via::Numeric, 200),
        (Cred::Session(Person::PageManager), create_item, Via::Numeric, 403),
        (Cred::PageToken("write", "page_admin"), create_item, Via::PageHost, 403),
        (Cred::PageToken("admin", "page_admin"), create_item, Via::PageHost, 201),
        (Cred::PageToken("admin", "page_manager"), put_statuses, Via::PageHost, 403),
        (Cred::OrgToken("admin", "org_admin"), put_statuses, Via::StatusPath, 200),
        (Cred::PageToken("read", "page_admin"), create_incident, Via::PageHost, 403),
        (Cred::PageToken("write", "page_manager"), create_incident, Via::PageHost, 201),
        (Cred::PageToken("write", "page_admin"), backfill, Via::PageHost, 403),
        (Cred::Session(Person::PageManager), backfill, Via::PageHost, 403),
        (Cred::Session(Person::PageAdmin), backfill, Via::Numeric, 201),
        (Cred::PageToken("write", "page_manager"), resolve, Via::PageHost, 200),
        (Cred::PageToken("admin", "page_viewer"), resolve, Via::PageHost, 403),
        (Cred::Session(Person::PageManager), delete_incident, Via::Numeric, 204),
        (Cred::OrgToken("admin", "org_member"), ack_external, Via::PageHost, 403),
        (Cred::OrgToken("write", "org_admin"), ack_external, Via::PageHost, 200),
        (Cred::OrgAdminSessionSent(Sending::CrossSite), publish_external, Via::PageHost, 403),
        (Cred::OrgAdminSessionSent(Sending::WithCsrfHeader), publish_external, Via::Numeric, 200),
        (Cred::SiblingPageToken, get_incident, Via::Numeric, 401),
        (Cred::Session(Person::OtherOrgAdmin), get_incident, Via::PageHost, 404),
        (Cred::ExpiredToken, public_maintenances, Via::PageHost, 200),
        (Cred::Session(Person::OrgMemberWithoutPageRole), public_maintenances, Via::Numeric, 200),
        (Cred::TokenInQuery, public_maintenances, Via::StatusPath, 400),
        (Cred::SiblingPageToken, public_maintenance, Via::PageHost, 200),
        (Cred::TokenShapedQueryValue, public_maintenance, Via::PageHost, 400),
        (Cred::Nothing, list_maintenances, Via::PageHost, 401),
        (Cred::PageToken("read", "page_viewer"), list_maintenances, Via::Numeric, 200),
        (Cred::PageToken("read", "page_admin"), schedule, Via::PageHost, 403),
        (Cred::PageToken("write", "page_manager"), schedule, Via::PageHost, 201),
        (Cred::OrgToken("write", "org_member"), schedule, Via::StatusPath, 403),
        (Cred::PageToken("write", "page_admin"), backfill_maintenance, Via::PageHost, 403),
        (Cred::Session(Person::PageManager), backfill_maintenance, Via::Numeric, 403),
        (Cred::PageToken("admin", "page_admin"), backfill_maintenance, Via::StatusPath, 201),
        (Cred::Session(Person::OrgAdmin), backfill_maintenance, Via::Numeric, 201),
        (Cred::Session(Person::PageViewer), get_maintenance, Via::Numeric, 200),
        (Cred::Session(Person::OtherOrgAdmin), get_maintenance, Via::PageHost, 404),
        (Cred::SiblingPageToken, get_maintenance, Via::PageHost, 401),
        (Cred::Session(Person::PageManager), patch_maintenance, Via::PageHost, 200),
        (Cred::Session(Person::PageViewer), patch_maintenance, Via::PageHost, 403),
        (Cred::OrgAdminSessionSent(Sending::WithCsrfHeader), delete_maintenance, Via::Numeric, 204),
        (Cred::OrgAdminSessionSent(Sending::CrossSite), delete_external, Via::PageHost, 403),
        (Cred::OrgToken("admin", "org_member"), start_external, Via::PageHost, 403),
        (Cred::OrgToken("write", "org_admin"), start_external, Via::PageHost, 200),
        (Cred::OrgToken("write", "org_admin"), complete, Via::StatusPath, 200),
        (Cred::PageToken("admin", "page_viewer"), complete, Via::PageHost, 403),
        (Cred::SiblingPageToken, extend, Via::Numeric, 401),
        (Cred::RevokedToken, extend, Via::PageHost, 401),
        (Cred::Session(Person::OrgMemberWithoutPageRole), cancel_external, Via::PageHost, 404),
        (Cred::PageToken("admin", "page_manager"), cancel_external, Via::PageHost, 200),
        (Cred::PageToken("admin", "page_viewer"), update_external, Via::PageHost, 403),
        (Cred::OrgAdminSessionSent(Sending::WithoutOriginInfo), update_external, Via::Numeric, 403),
        // Subscribers are personal data: even reading them needs operate.
        (Cred::PageToken("read", "page_admin"), list_subscribers, Via::PageHost, 403),
        (Cred::Session(Person::PageViewer), export, Via::Numeric, 403),
        (Cred::OrgToken("admin", "org_member"), counts, Via::PageHost, 403),
        (Cred::PageToken("write", "page_manager"), list_subscribers, Via::StatusPath, 200),
        (Cred::Session(Person::OrgMemberWithoutPageRole), counts, Via::PageHost, 404),
        (Cred::SiblingPageToken, get_subscriber, Via::PageHost, 401),
        (Cred::Session(Person::OtherOrgAdmin), get_subscriber, Via::Numeric, 404),
        (Cred::Session(Person::PageManager), delete_subscriber, Via::Numeric, 204),
        (Cred::PageToken("admin", "page_viewer"), delete_subscriber, Via::PageHost, 403),
        (Cred::OrgToken("write", "org_admin"), hygiene, Via::PageHost, 200),
        (Cred::OrgAdminSessionSent(Sending::CrossSite), hygiene, Via::PageHost, 403),
        (Cred::PageToken("write", "page_manager"), import, Via::PageHost, 200),
        (Cred::PageToken("read", "page_viewer"), import, Via::Numeric, 403),
        (Cred::OrgAdminSessionSent(Sending::CrossSite), export, Via::PageHost, 200),
        (Cred::TokenInQuery, export, Via::PageHost, 400),
        // Custom views name people: even reading them needs operate.
        (Cred::PageToken("read", "page_admin"), list_views, Via::PageHost, 403),
        (Cred::PageToken("write", "page_manager"), list_views, Via::Numeric, 200),
        (Cred::Session(Person::PageViewer), view_stats, Via::PageHost, 403),
        (Cred::Session(Person::OtherOrgAdmin), get_view, Via::Numeric, 404),
        (Cred::SiblingPageToken, get_view, Via::PageHost, 401),
        (Cred::Session(Person::PageManager), delete_view, Via::StatusPath, 204),
        (Cred::PageToken("admin", "page_viewer"), delete_view, Via::PageHost, 403),
        (Cred::OrgAdminSessionSent(Sending::CrossSite), delete_view, Via::PageHost, 403),
    ];
    for (cred, route, via, want) in cells {
        assert_eq!(expected(*cred, route, *via), *want, "{} {} [{via:?}] as {cred:?}", route.method, route.pattern);
    }
}
