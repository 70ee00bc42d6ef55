//! `/api/v1/org/...`: the org, its pages (with trash and restore), members and audit log.

use crate::app::App;
use crate::auth::policy::Access;
use crate::http::api::members::{AddMemberBody, RoleBody};
use crate::http::api::public::canonical_url;
use crate::http::extract::error::{ApiError, ApiResult};
use crate::http::extract::json::StrictJson;
use crate::http::extract::list::{envelope, ListQuery};
use crate::http::extract::principal::Caller;
use crate::http::presenters::pages::{OrgJson, PageAdminJson};
use crate::http::presenters::people::{AuditEntry, MemberJson};
use crate::http::presenters::status_model::Listed;
use crate::service::org::members::{self, Scope};
use crate::service::org::pages::{self, NewPageInput};
use crate::service::{access, directory};
use crate::store::audit::AuditFilter;
use crate::store::pages::PageRow;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;

fn parse_id(raw: &str) -> ApiResult<i64> {
    raw.parse::<i64>().map_err(|_| ApiError::not_found())
}

/// A page as org admins see it; `full` adds its detail (and looks up its canonical URL).
pub async fn page_admin_json(app: &App, p: &PageRow, full: bool) -> ApiResult<PageAdminJson> {
    let canonical = if full { Some(canonical_url(app, p).await?) } else { None };
    Ok(PageAdminJson::of(p, canonical))
}

pub async fn get_org(State(app): State<App>, caller: Caller) -> ApiResult<Json<OrgJson>> {
    let (org_id, grant) = caller.org(&app, Access::Read).await?;
    let org = directory::org(&app, org_id).await?.ok_or_else(ApiError::not_found)?;
    Ok(Json(OrgJson::of(&org, format!("{grant:?}").to_lowercase())))
}

async fn list_pages_in(
    app: &App,
    caller: &Caller,
    q: &ListQuery,
    trashed: bool,
) -> ApiResult<Json<Listed<PageAdminJson>>> {
    let (org_id, _) = caller.org(app, Access::Read).await?;
    let scope = access::page_scope(app, &caller.principal, org_id).await?;
    let rows = directory::pages_of_org(app, org_id, scope, trashed, q.cursor.unwrap_or(0), q.limit + 1).await?;
    let (rows, next) = crate::http::extract::list::page_of(rows, q.limit, |p| p.id);
    let mut views = Vec::new();
    for p in &rows {
        views.push(page_admin_json(app, p, q.full || trashed).await?);
    }
    Ok(Json(Listed { data: views, next_cursor: next }))
}

pub async fn list_pages(
    State(app): State<App>,
    caller: Caller,
    q: ListQuery,
) -> ApiResult<Json<Listed<PageAdminJson>>> {
    list_pages_in(&app, &caller, &q, false).await
}

pub async fn list_trash(
    State(app): State<App>,
    caller: Caller,
    q: ListQuery,
) -> ApiResult<Json<Listed<PageAdminJson>>> {
    list_pages_in(&app, &caller, &q, true).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePageBody {
    name: String,
    url_prefix: String,
    internal_key: Option<String>,
    visibility: Option<String>,
    viewer_password: Option<String>,
}

pub async fn create_page(
    State(app): State<App>,
    caller: Caller,
    StrictJson(b): StrictJson<CreatePageBody>,
) -> ApiResult<impl IntoResponse> {
    let (org_id, _) = caller.org(&app, Access::Configure).await?;
    let input = NewPageInput {
        name: b.name,
        url_prefix: b.url_prefix,
        internal_key: b.internal_key,
        visibility: b.visibility,
        viewer_password: b.viewer_password,
    };
    let page = pages::create(&app, &caller.actor(), org_id, input).await?;
    Ok((StatusCode::CREATED, Json(page_admin_json(&app, &page, true).await?)))
}

pub async fn get_page(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<PageAdminJson>> {
    let (org_id, _) = caller.org(&app, Access::Read).await?;
    let page = pages::get_in_org(&app, org_id, parse_id(&id)?).await?;
    // An org member's pages without a role on them do not exist for them, here as on the page.
    if access::page_grant(&app, &caller.principal, &page).await?.is_none() {
        return Err(ApiError::not_found());
    }
    Ok(Json(page_admin_json(&app, &page, true).await?))
}

pub async fn trash_page(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<PageAdminJson>> {
    let (org_id, _) = caller.org(&app, Access::Configure).await?;
    let page = pages::trash(&app, &caller.actor(), org_id, parse_id(&id)?).await?;
    Ok(Json(page_admin_json(&app, &page, true).await?))
}

pub async fn restore_page(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<PageAdminJson>> {
    let (org_id, _) = caller.org(&app, Access::Configure).await?;
    let page = pages::restore(&app, &caller.actor(), org_id, parse_id(&id)?).await?;
    Ok(Json(page_admin_json(&app, &page, true).await?))
}

pub async fn list_org_members(
    State(app): State<App>,
    caller: Caller,
    q: ListQuery,
) -> ApiResult<Json<Listed<MemberJson>>> {
    let (org_id, _) = caller.org(&app, Access::ManageAccess).await?;
    let rows = members::list(&app, Scope::Org(org_id), q.cursor.unwrap_or(0), q.limit + 1).await?;
    Ok(Json(envelope(rows, q.limit, |m| m.user_id, MemberJson::of)))
}

pub async fn add_org_member(
    State(app): State<App>,
    caller: Caller,
    StrictJson(b): StrictJson<AddMemberBody>,
) -> ApiResult<impl IntoResponse> {
    let (org_id, _) = caller.org(&app, Access::ManageAccess).await?;
    let added = members::add(&app, &caller.actor(), Scope::Org(org_id), &b.email, &b.role).await?;
    Ok(crate::http::api::invitations::added_answer(&app, added))
}

pub async fn change_org_member(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    StrictJson(b): StrictJson<RoleBody>,
) -> ApiResult<Json<MemberJson>> {
    let (org_id, _) = caller.org(&app, Access::ManageAccess).await?;
    let m = members::change_role(&app, &caller.actor(), Scope::Org(org_id), parse_id(&id)?, &b.role).await?;
    Ok(Json(MemberJson::of(&m)))
}

pub async fn remove_org_member(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let (org_id, _) = caller.org(&app, Access::ManageAccess).await?;
    members::remove(&app, &caller.actor(), Scope::Org(org_id), parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn org_audit_log(
    State(app): State<App>,
    caller: Caller,
    q: ListQuery,
) -> ApiResult<Json<Listed<AuditEntry>>> {
    let (org_id, _) = caller.org(&app, Access::ManageAccess).await?;
    let f =
        AuditFilter { org_id, page_id: None, target: None, before: q.cursor.unwrap_or(i64::MAX), limit: q.limit + 1 };
    let rows = directory::audit_entries(&app, &f).await?;
    Ok(Json(envelope(rows, q.limit, |r| r.id, AuditEntry::of)))
}
