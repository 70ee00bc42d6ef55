//! `/api/v1/admin/...` configuration of the page itself: page settings (identity and access),
//! site settings (branding), the custom domain, and the page's audit log.

use crate::app::App;
use crate::auth::policy::Access;
use crate::http::api::org::page_admin_json;
use crate::http::extract::error::ApiResult;
use crate::http::extract::json::{nullable, StrictJson};
use crate::http::extract::list::{envelope, ListQuery};
use crate::http::extract::principal::Caller;
use crate::http::presenters::pages::{DomainJson, PageAdminJson};
use crate::http::presenters::people::AuditEntry;
use crate::http::presenters::status_model::Listed;
use crate::service::directory;
use crate::service::org::domains;
use crate::service::org::pages::{self, PageSettingsPatch, SiteSettings};
use crate::store::audit::AuditFilter;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

pub async fn get_page_settings(State(app): State<App>, caller: Caller) -> ApiResult<Json<PageAdminJson>> {
    let a = caller.page(&app, Access::Read).await?;
    Ok(Json(page_admin_json(&app, &a.page, true).await?))
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
) -> ApiResult<Json<PageAdminJson>> {
    let a = caller.page(&app, Access::Configure).await?;
    let patch = PageSettingsPatch { name: b.name, visibility: b.visibility, viewer_password: b.viewer_password };
    let page = pages::update_page_settings(&app, &caller.actor(), &a.page, patch).await?;
    Ok(Json(page_admin_json(&app, &page, true).await?))
}

pub async fn get_site_settings(State(app): State<App>, caller: Caller) -> ApiResult<Json<SiteSettings>> {
    let a = caller.page(&app, Access::Read).await?;
    Ok(Json(pages::settings_of(&a.page)))
}

/// Replaces the site settings; fields left out take their defaults.
pub async fn put_site_settings(
    State(app): State<App>,
    caller: Caller,
    StrictJson(s): StrictJson<SiteSettings>,
) -> ApiResult<Json<SiteSettings>> {
    let a = caller.page(&app, Access::Configure).await?;
    let page = pages::update_site_settings(&app, &caller.actor(), &a.page, s).await?;
    Ok(Json(pages::settings_of(&page)))
}

pub async fn get_domain(State(app): State<App>, caller: Caller) -> ApiResult<Json<DomainJson>> {
    let a = caller.page(&app, Access::Read).await?;
    Ok(Json(DomainJson::of(&domains::get(&app, &a.page).await?)))
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
) -> ApiResult<Json<DomainJson>> {
    let a = caller.page(&app, Access::Configure).await?;
    Ok(Json(DomainJson::of(&domains::set(&app, &caller.actor(), &a.page, &b.domain).await?)))
}

pub async fn verify_domain(State(app): State<App>, caller: Caller) -> ApiResult<Json<DomainJson>> {
    let a = caller.page(&app, Access::Configure).await?;
    Ok(Json(DomainJson::of(&domains::verify(&app, &caller.actor(), &a.page).await?)))
}

pub async fn delete_domain(State(app): State<App>, caller: Caller) -> ApiResult<StatusCode> {
    let a = caller.page(&app, Access::Configure).await?;
    domains::remove(&app, &caller.actor(), &a.page).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn page_audit_log(
    State(app): State<App>,
    caller: Caller,
    q: ListQuery,
) -> ApiResult<Json<Listed<AuditEntry>>> {
    let a = caller.page(&app, Access::ManageAccess).await?;
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
