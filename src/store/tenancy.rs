//! SQL for orgs, users, memberships, pages and custom domains.

use super::{opt_i64, opt_str, Result};
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

/// An organization (tenant).
#[derive(Debug, Clone)]
pub struct OrgRow {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub created_at: i64,
}

/// A person who can sign in.
#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub created_at: i64,
    pub password_changed_at: i64,
}

/// A status page.
#[derive(Debug, Clone)]
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

/// A custom domain and its DNS challenge.
#[derive(Debug, Clone)]
pub struct DomainRow {
    pub id: i64,
    pub page_id: i64,
    pub domain: String,
    pub challenge_value: String,
    pub created_at: i64,
    pub verified_at: Option<i64>,
    pub last_checked_at: Option<i64>,
}

/// A membership (org or page) joined with the user it names.
#[derive(Debug, Clone)]
pub struct MemberRow {
    pub user_id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
    pub created_at: i64,
}

fn org(r: &AnyRow) -> OrgRow {
    OrgRow { id: r.get("id"), name: r.get("name"), slug: r.get("slug"), created_at: r.get("created_at") }
}

fn user(r: &AnyRow) -> UserRow {
    UserRow {
        id: r.get("id"),
        email: r.get("email"),
        name: r.get("name"),
        password_hash: r.get("password_hash"),
        created_at: r.get("created_at"),
        password_changed_at: r.get("password_changed_at"),
    }
}

pub(crate) const PAGE_COLS: &str =
    "id, org_id, name, internal_key, url_prefix, visibility, viewer_password_hash, settings, created_at, deleted_at";

pub(crate) fn page(r: &AnyRow) -> PageRow {
    PageRow {
        id: r.get("id"),
        org_id: r.get("org_id"),
        name: r.get("name"),
        internal_key: r.get("internal_key"),
        url_prefix: r.get("url_prefix"),
        visibility: r.get("visibility"),
        viewer_password_hash: opt_str(r, "viewer_password_hash"),
        settings: r.get("settings"),
        created_at: r.get("created_at"),
        deleted_at: opt_i64(r, "deleted_at"),
    }
}

fn domain(r: &AnyRow) -> DomainRow {
    DomainRow {
        id: r.get("id"),
        page_id: r.get("page_id"),
        domain: r.get("domain"),
        challenge_value: r.get("challenge_value"),
        created_at: r.get("created_at"),
        verified_at: opt_i64(r, "verified_at"),
        last_checked_at: opt_i64(r, "last_checked_at"),
    }
}

fn member(r: &AnyRow) -> MemberRow {
    MemberRow {
        user_id: r.get("user_id"),
        email: r.get("email"),
        name: r.get("name"),
        role: r.get("role"),
        created_at: r.get("created_at"),
    }
}

// ---- orgs -------------------------------------------------------------------------------------

pub async fn insert_org<'c, E: Executor<'c, Database = Any>>(e: E, name: &str, slug: &str, now: i64) -> Result<i64> {
    let r = sqlx::query("INSERT INTO orgs (name, slug, created_at) VALUES ($1, $2, $3) RETURNING id")
        .bind(name)
        .bind(slug)
        .bind(now)
        .fetch_one(e)
        .await?;
    Ok(r.get(0))
}

pub async fn org_by_id<'c, E: Executor<'c, Database = Any>>(e: E, id: i64) -> Result<Option<OrgRow>> {
    let r = sqlx::query("SELECT id, name, slug, created_at FROM orgs WHERE id = $1").bind(id).fetch_optional(e).await?;
    Ok(r.as_ref().map(org))
}

pub async fn org_by_slug<'c, E: Executor<'c, Database = Any>>(e: E, slug: &str) -> Result<Option<OrgRow>> {
    let r =
        sqlx::query("SELECT id, name, slug, created_at FROM orgs WHERE slug = $1").bind(slug).fetch_optional(e).await?;
    Ok(r.as_ref().map(org))
}

pub async fn count_orgs<'c, E: Executor<'c, Database = Any>>(e: E) -> Result<i64> {
    Ok(sqlx::query("SELECT COUNT(*) FROM orgs").fetch_one(e).await?.get(0))
}

// ---- users ------------------------------------------------------------------------------------

pub async fn insert_user<'c, E: Executor<'c, Database = Any>>(
    e: E,
    email: &str,
    name: &str,
    password_hash: &str,
    now: i64,
) -> Result<i64> {
    let r = sqlx::query(
        "INSERT INTO users (email, name, password_hash, created_at, password_changed_at) \
         VALUES ($1, $2, $3, $4, $4) RETURNING id",
    )
    .bind(email)
    .bind(name)
    .bind(password_hash)
    .bind(now)
    .fetch_one(e)
    .await?;
    Ok(r.get(0))
}

const USER_COLS: &str = "id, email, name, password_hash, created_at, password_changed_at";

pub async fn user_by_email<'c, E: Executor<'c, Database = Any>>(e: E, email: &str) -> Result<Option<UserRow>> {
    let r =
        sqlx::query(&format!("SELECT {USER_COLS} FROM users WHERE email = $1")).bind(email).fetch_optional(e).await?;
    Ok(r.as_ref().map(user))
}

pub async fn user_by_id<'c, E: Executor<'c, Database = Any>>(e: E, id: i64) -> Result<Option<UserRow>> {
    let r = sqlx::query(&format!("SELECT {USER_COLS} FROM users WHERE id = $1")).bind(id).fetch_optional(e).await?;
    Ok(r.as_ref().map(user))
}

// ---- memberships ------------------------------------------------------------------------------

pub async fn upsert_org_member<'c, E: Executor<'c, Database = Any>>(
    e: E,
    org_id: i64,
    user_id: i64,
    role: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO org_members (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role",
    )
    .bind(org_id)
    .bind(user_id)
    .bind(role)
    .bind(now)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn org_role<'c, E: Executor<'c, Database = Any>>(e: E, org_id: i64, user_id: i64) -> Result<Option<String>> {
    let r = sqlx::query("SELECT role FROM org_members WHERE org_id = $1 AND user_id = $2")
        .bind(org_id)
        .bind(user_id)
        .fetch_optional(e)
        .await?;
    Ok(r.map(|r| r.get(0)))
}

/// Every org a user belongs to, with the role.
pub async fn orgs_of_user<'c, E: Executor<'c, Database = Any>>(e: E, user_id: i64) -> Result<Vec<(OrgRow, String)>> {
    let rows = sqlx::query(
        "SELECT o.id, o.name, o.slug, o.created_at, m.role FROM orgs o \
         JOIN org_members m ON m.org_id = o.id WHERE m.user_id = $1 ORDER BY o.id",
    )
    .bind(user_id)
    .fetch_all(e)
    .await?;
    Ok(rows.iter().map(|r| (org(r), r.get("role"))).collect())
}

pub async fn org_members<'c, E: Executor<'c, Database = Any>>(
    e: E,
    org_id: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<MemberRow>> {
    let rows = sqlx::query(
        "SELECT m.user_id, u.email, u.name, m.role, m.created_at FROM org_members m \
         JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 AND m.user_id > $2 ORDER BY m.user_id LIMIT $3",
    )
    .bind(org_id)
    .bind(after)
    .bind(limit)
    .fetch_all(e)
    .await?;
    Ok(rows.iter().map(member).collect())
}

pub async fn delete_org_member<'c, E: Executor<'c, Database = Any>>(e: E, org_id: i64, user_id: i64) -> Result<bool> {
    let r = sqlx::query("DELETE FROM org_members WHERE org_id = $1 AND user_id = $2")
        .bind(org_id)
        .bind(user_id)
        .execute(e)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Takes the org's row lock for the rest of the transaction (PostgreSQL; SQLite write
/// transactions are already serial), so checks like "the last org admin" cannot race.
pub async fn lock_org<'c, E: Executor<'c, Database = Any>>(e: E, org_id: i64) -> Result<()> {
    sqlx::query("UPDATE orgs SET slug = slug WHERE id = $1").bind(org_id).execute(e).await?;
    Ok(())
}

pub async fn count_org_admins<'c, E: Executor<'c, Database = Any>>(e: E, org_id: i64) -> Result<i64> {
    Ok(sqlx::query("SELECT COUNT(*) FROM org_members WHERE org_id = $1 AND role = 'org_admin'")
        .bind(org_id)
        .fetch_one(e)
        .await?
        .get(0))
}

/// Removes a user's page memberships on every page of one org (when they leave the org).
pub async fn delete_page_members_in_org<'c, E: Executor<'c, Database = Any>>(
    e: E,
    org_id: i64,
    user_id: i64,
) -> Result<()> {
    sqlx::query("DELETE FROM page_members WHERE user_id = $1 AND page_id IN (SELECT id FROM pages WHERE org_id = $2)")
        .bind(user_id)
        .bind(org_id)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn upsert_page_member<'c, E: Executor<'c, Database = Any>>(
    e: E,
    page_id: i64,
    user_id: i64,
    role: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO page_members (page_id, user_id, role, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (page_id, user_id) DO UPDATE SET role = excluded.role",
    )
    .bind(page_id)
    .bind(user_id)
    .bind(role)
    .bind(now)
    .execute(e)
    .await?;
    Ok(())
}

pub async fn page_role<'c, E: Executor<'c, Database = Any>>(
    e: E,
    page_id: i64,
    user_id: i64,
) -> Result<Option<String>> {
    let r = sqlx::query("SELECT role FROM page_members WHERE page_id = $1 AND user_id = $2")
        .bind(page_id)
        .bind(user_id)
        .fetch_optional(e)
        .await?;
    Ok(r.map(|r| r.get(0)))
}

pub async fn page_members<'c, E: Executor<'c, Database = Any>>(
    e: E,
    page_id: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<MemberRow>> {
    let rows = sqlx::query(
        "SELECT m.user_id, u.email, u.name, m.role, m.created_at FROM page_members m \
         JOIN users u ON u.id = m.user_id WHERE m.page_id = $1 AND m.user_id > $2 ORDER BY m.user_id LIMIT $3",
    )
    .bind(page_id)
    .bind(after)
    .bind(limit)
    .fetch_all(e)
    .await?;
    Ok(rows.iter().map(member).collect())
}

pub async fn delete_page_member<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64, user_id: i64) -> Result<bool> {
    let r = sqlx::query("DELETE FROM page_members WHERE page_id = $1 AND user_id = $2")
        .bind(page_id)
        .bind(user_id)
        .execute(e)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Page roles of a user across all pages (for `/auth/me`).
pub async fn page_roles_of_user<'c, E: Executor<'c, Database = Any>>(
    e: E,
    user_id: i64,
) -> Result<Vec<(i64, i64, String)>> {
    let rows = sqlx::query(
        "SELECT p.org_id, m.page_id, m.role FROM page_members m JOIN pages p ON p.id = m.page_id \
         WHERE m.user_id = $1 AND p.deleted_at IS NULL ORDER BY m.page_id",
    )
    .bind(user_id)
    .fetch_all(e)
    .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
}

// ---- pages ------------------------------------------------------------------------------------

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
    let r = sqlx::query(
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
    .await?;
    Ok(r.get(0))
}

/// A live (not trashed) page by URL prefix.
pub async fn live_page_by_prefix<'c, E: Executor<'c, Database = Any>>(e: E, prefix: &str) -> Result<Option<PageRow>> {
    let r = sqlx::query(&format!("SELECT {PAGE_COLS} FROM pages WHERE url_prefix = $1 AND deleted_at IS NULL"))
        .bind(prefix)
        .fetch_optional(e)
        .await?;
    Ok(r.as_ref().map(page))
}

/// A page by id, trashed or not.
pub async fn page_by_id<'c, E: Executor<'c, Database = Any>>(e: E, id: i64) -> Result<Option<PageRow>> {
    let r = sqlx::query(&format!("SELECT {PAGE_COLS} FROM pages WHERE id = $1")).bind(id).fetch_optional(e).await?;
    Ok(r.as_ref().map(page))
}

/// A live page served on a verified custom domain.
pub async fn live_page_by_domain<'c, E: Executor<'c, Database = Any>>(e: E, domain: &str) -> Result<Option<PageRow>> {
    let cols = PAGE_COLS.split(", ").map(|c| format!("p.{c}")).collect::<Vec<_>>().join(", ");
    let r = sqlx::query(&format!(
        "SELECT {cols} FROM pages p JOIN custom_domains d ON d.page_id = p.id \
         WHERE d.domain = $1 AND d.verified_at IS NOT NULL AND p.deleted_at IS NULL"
    ))
    .bind(domain)
    .fetch_optional(e)
    .await?;
    Ok(r.as_ref().map(page))
}

/// Pages of an org, live or trashed, in id order after a cursor.
pub async fn pages_of_org<'c, E: Executor<'c, Database = Any>>(
    e: E,
    org_id: i64,
    trashed: bool,
    after: i64,
    limit: i64,
) -> Result<Vec<PageRow>> {
    let cond = if trashed { "deleted_at IS NOT NULL" } else { "deleted_at IS NULL" };
    let rows = sqlx::query(&format!(
        "SELECT {PAGE_COLS} FROM pages WHERE org_id = $1 AND {cond} AND id > $2 ORDER BY id LIMIT $3"
    ))
    .bind(org_id)
    .bind(after)
    .bind(limit)
    .fetch_all(e)
    .await?;
    Ok(rows.iter().map(page).collect())
}

/// Pages of an org that `user_id` holds a page role on, like [`pages_of_org`].
pub async fn pages_of_member<'c, E: Executor<'c, Database = Any>>(
    e: E,
    org_id: i64,
    user_id: i64,
    trashed: bool,
    after: i64,
    limit: i64,
) -> Result<Vec<PageRow>> {
    let cond = if trashed { "deleted_at IS NOT NULL" } else { "deleted_at IS NULL" };
    let rows = sqlx::query(&format!(
        "SELECT {PAGE_COLS} FROM pages WHERE org_id = $1 AND {cond} AND id > $2 \
         AND id IN (SELECT page_id FROM page_members WHERE user_id = $4) ORDER BY id LIMIT $3"
    ))
    .bind(org_id)
    .bind(after)
    .bind(limit)
    .bind(user_id)
    .fetch_all(e)
    .await?;
    Ok(rows.iter().map(page).collect())
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
    let rows = sqlx::query("DELETE FROM pages WHERE deleted_at IS NOT NULL AND deleted_at < $1 RETURNING id")
        .bind(cutoff)
        .fetch_all(e)
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
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

// ---- custom domains ---------------------------------------------------------------------------

const DOMAIN_COLS: &str = "id, page_id, domain, challenge_value, created_at, verified_at, last_checked_at";

pub async fn domain_of_page<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64) -> Result<Option<DomainRow>> {
    let r = sqlx::query(&format!("SELECT {DOMAIN_COLS} FROM custom_domains WHERE page_id = $1"))
        .bind(page_id)
        .fetch_optional(e)
        .await?;
    Ok(r.as_ref().map(domain))
}

/// The verified claim on a domain, if any page holds one.
pub async fn verified_domain<'c, E: Executor<'c, Database = Any>>(e: E, name: &str) -> Result<Option<DomainRow>> {
    let r =
        sqlx::query(&format!("SELECT {DOMAIN_COLS} FROM custom_domains WHERE domain = $1 AND verified_at IS NOT NULL"))
            .bind(name)
            .fetch_optional(e)
            .await?;
    Ok(r.as_ref().map(domain))
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

pub async fn set_password<'c, E: Executor<'c, Database = Any>>(e: E, user_id: i64, hash: &str, now: i64) -> Result<()> {
    sqlx::query("UPDATE users SET password_hash = $2, password_changed_at = $3 WHERE id = $1")
        .bind(user_id)
        .bind(hash)
        .bind(now)
        .execute(e)
        .await?;
    Ok(())
}

/// True when any page, live or trashed, holds this prefix (trashed pages keep theirs to be restorable).
pub async fn page_prefix_taken<'c, E: Executor<'c, Database = Any>>(e: E, prefix: &str) -> Result<bool> {
    let r = sqlx::query("SELECT COUNT(*) FROM pages WHERE url_prefix = $1").bind(prefix).fetch_one(e).await?;
    Ok(r.get::<i64, _>(0) > 0)
}
