//! Read-only lookups the HTTP layer needs: which page a host or path names, an org and its pages,
//! a page's verified custom domain, a user's orgs and roles. No authorisation here: callers check
//! access first (or serve only public data).

use crate::app::App;
use crate::service::access::PageScope;
use crate::service::error::Result;
use crate::store;
use crate::store::audit::{self as audit_sql, AuditFilter, AuditRow};
use crate::store::orgs::OrgRow;
use crate::store::pages::PageRow;

/// A live page by its URL prefix.
pub async fn live_page_by_prefix(app: &App, prefix: &str) -> Result<Option<PageRow>> {
    Ok(store::pages::live_page_by_prefix(&app.db.pool, prefix).await?)
}

/// The live page served on a verified custom domain.
pub async fn live_page_by_domain(app: &App, domain: &str) -> Result<Option<PageRow>> {
    Ok(store::pages::live_page_by_domain(&app.db.pool, domain).await?)
}

/// A live page of `org_id` by id.
pub async fn live_page_in_org(app: &App, org_id: i64, page_id: i64) -> Result<Option<PageRow>> {
    Ok(store::pages::page_by_id(&app.db.pool, page_id).await?.filter(|p| p.org_id == org_id && p.deleted_at.is_none()))
}

/// An org by its slug (operators name orgs so on the command line).
pub async fn org_by_slug(app: &App, slug: &str) -> Result<Option<OrgRow>> {
    Ok(store::orgs::org_by_slug(&app.db.pool, slug).await?)
}

/// Whether the database answers (readiness).
pub async fn database_ready(app: &App) -> bool {
    app.db.ping().await
}

pub async fn org(app: &App, org_id: i64) -> Result<Option<OrgRow>> {
    Ok(store::orgs::org_by_id(&app.db.pool, org_id).await?)
}

/// Pages of an org (live or trashed) within `scope`, in id order after `after`.
pub async fn pages_of_org(
    app: &App,
    org_id: i64,
    scope: PageScope,
    trashed: bool,
    after: i64,
    limit: i64,
) -> Result<Vec<PageRow>> {
    Ok(match scope {
        PageScope::Every => store::pages::pages_of_org(&app.db.pool, org_id, None, trashed, after, limit).await?,
        PageScope::MemberOf(user_id) => {
            store::pages::pages_of_org(&app.db.pool, org_id, Some(user_id), trashed, after, limit).await?
        }
    })
}

/// The page's custom domain once verified.
pub async fn verified_domain_of(app: &App, page: &PageRow) -> Result<Option<String>> {
    Ok(store::domains::domain_of_page(&app.db.pool, page.id)
        .await?
        .filter(|d| d.verified_at.is_some())
        .map(|d| d.domain))
}

/// The orgs a user belongs to, with the role in each.
pub async fn orgs_of_user(app: &App, user_id: i64) -> Result<Vec<(OrgRow, String)>> {
    Ok(store::members::orgs_of_user(&app.db.pool, user_id).await?)
}

/// The page role a user acts with: `page_admin` for org admins, else their page membership.
pub async fn effective_page_role(app: &App, page: &PageRow, user_id: i64) -> Result<Option<String>> {
    if store::members::role(&app.db.pool, store::members::Group::Org(page.org_id), user_id).await?.as_deref()
        == Some("org_admin")
    {
        return Ok(Some("page_admin".to_string()));
    }
    Ok(store::members::role(&app.db.pool, store::members::Group::Page(page.id), user_id).await?)
}

/// Audit entries of an org, or of one page of it, newest first.
pub async fn audit_entries(app: &App, filter: &AuditFilter<'_>) -> Result<Vec<AuditRow>> {
    Ok(audit_sql::list(&app.db.pool, filter).await?)
}

/// The canonical public URL of a page, from stored data only (never a request's Host): its
/// verified custom domain, else its prefix host. Also returns the custom domain.
pub async fn canonical_page_url(app: &App, page: &PageRow) -> Result<(String, Option<String>)> {
    let domain = verified_domain_of(app, page).await?;
    let host = domain.clone().unwrap_or_else(|| format!("{}.{}", page.url_prefix, app.config.base_domain));
    Ok((app.config.origin_for(&host), domain))
}
