//! `/api/v1/admin/...` configuration of the page itself: page settings (identity and access),
//! site settings (branding), the custom domain, and the page's audit log.

use super::error::ApiResult;
use super::json::{nullable, StrictJson};
use super::list::{envelope, ListQuery};
use super::org::page_admin_view;
use super::presenters::people::AuditEntry;
use super::principal::Caller;
use crate::app::App;
use crate::auth::policy::Action;
use crate::clock::rfc3339;
use crate::service::directory;
use crate::service::domains;
use crate::service::pages::{self, PageSettingsPatch, SiteSettings};
use crate::store::audit::AuditFilter;
use crate::store::domains::DomainRow;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

pub async fn get_page_settings(State(app): State<App>, caller: Caller) -> ApiResult<Json<Value>> {
    let a = caller.page(&app, Action::Read).await?;
    Ok(Json(page_admin_view(&app, &a.page, true).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageSettingsBody {
    name: Option<String>,
    visibility: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    viewer_password: Option<Option<String>>,
}

pub async fn patch_page_settings(
    State(app): State<App>,
    caller: Caller,
    StrictJson(b): StrictJson<PageSettingsBody>,
) -> ApiResult<Json<Value>> {
    let a = caller.page(&app, Action::Configure).await?;
    let patch = PageSettingsPatch { name: b.name, visibility: b.visibility, viewer_password: b.viewer_password };
    let page = pages::update_page_settings(&app, &caller.actor(), &a.page, patch).await?;
    Ok(Json(page_admin_view(&app, &page, true).await?))
}

pub async fn get_site_settings(State(app): State<App>, caller: Caller) -> ApiResult<Json<SiteSettings>> {
    let a = caller.page(&app, Action::Read).await?;
    Ok(Json(pages::settings_of(&a.page)))
}

/// Replaces the site settings; fields left out take their defaults.
pub async fn put_site_settings(
    State(app): State<App>,
    caller: Caller,
    StrictJson(s): StrictJson<SiteSettings>,
) -> ApiResult<Json<SiteSettings>> {
    let a = caller.page(&app, Action::Configure).await?;
    let page = pages::update_site_settings(&app, &caller.actor(), &a.page, s).await?;
    Ok(Json(pages::settings_of(&page)))
}

fn domain_view(d: &DomainRow) -> Value {
    json!({
        "domain": d.domain,
        "status": if d.verified_at.is_some() { "verified" } else { "pending" },
        "challenge": {
            "type": "TXT",
            "name": domains::challenge_name(&d.domain),
            "value": d.challenge_value,
        },
        "created_at": rfc3339(d.created_at),
        "verified_at": d.verified_at.map(rfc3339),
        "last_checked_at": d.last_checked_at.map(rfc3339),
    })
}

pub async fn get_domain(State(app): State<App>, caller: Caller) -> ApiResult<Json<Value>> {
    let a = caller.page(&app, Action::Read).await?;
    Ok(Json(domain_view(&domains::get(&app, &a.page).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainBody {
    domain: String,
}

pub async fn put_domain(
    State(app): State<App>,
    caller: Caller,
    StrictJson(b): StrictJson<DomainBody>,
) -> ApiResult<Json<Value>> {
    let a = caller.page(&app, Action::Configure).await?;
    Ok(Json(domain_view(&domains::set(&app, &caller.actor(), &a.page, &b.domain).await?)))
}

pub async fn verify_domain(State(app): State<App>, caller: Caller) -> ApiResult<Json<Value>> {
    let a = caller.page(&app, Action::Configure).await?;
    Ok(Json(domain_view(&domains::verify(&app, &caller.actor(), &a.page).await?)))
}

pub async fn delete_domain(State(app): State<App>, caller: Caller) -> ApiResult<StatusCode> {
    let a = caller.page(&app, Action::Configure).await?;
    domains::remove(&app, &caller.actor(), &a.page).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn page_audit_log(State(app): State<App>, caller: Caller, q: ListQuery) -> ApiResult<Json<Value>> {
    let a = caller.page(&app, Action::ManageAccess).await?;
    let f = AuditFilter {
        org_id: a.page.org_id,
        page_id: Some(a.page.id),
        target: None,
        before: q.cursor.unwrap_or(i64::MAX),
        limit: q.limit + 1,
    };
    let rows = directory::audit_entries(&app, &f).await?;
    Ok(Json(envelope(rows, q.limit, |r| r.id, AuditEntry::of)))
}
