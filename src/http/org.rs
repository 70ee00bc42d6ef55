//! `/api/v1/org/...`: the org, its pages (with trash and restore), members and audit log.

use super::error::{ApiError, ApiResult};
use super::json::StrictJson;
use super::list::{envelope, ListQuery};
use super::members::{AddMemberBody, RoleBody};
use super::presenters::people::{AuditEntry, MemberView};
use super::principal::Caller;
use super::public::canonical_url;
use crate::app::App;
use crate::auth::policy::Action;
use crate::clock::rfc3339;
use crate::service::members::{self, Scope};
use crate::service::pages::{self, NewPageInput, TRASH_RETENTION};
use crate::service::{access, directory};
use crate::store::audit::AuditFilter;
use crate::store::pages::PageRow;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

fn parse_id(raw: &str) -> ApiResult<i64> {
    raw.parse::<i64>().map_err(|_| ApiError::not_found())
}

/// A page as org admins see it.
pub async fn page_admin_view(app: &App, p: &PageRow, full: bool) -> ApiResult<Value> {
    let mut v = json!({
        "id": p.id,
        "name": p.name,
        "url_prefix": p.url_prefix,
        "visibility": p.visibility,
        "deleted_at": p.deleted_at.map(rfc3339),
    });
    if full {
        let (url, domain) = canonical_url(app, p).await?;
        let m = v.as_object_mut().expect("object");
        m.insert("org_id".into(), json!(p.org_id));
        m.insert("internal_key".into(), json!(p.internal_key));
        m.insert("has_viewer_password".into(), json!(p.viewer_password_hash.is_some()));
        m.insert("custom_domain".into(), json!(domain));
        m.insert("url".into(), json!(url));
        m.insert("created_at".into(), json!(rfc3339(p.created_at)));
        m.insert("restore_until".into(), json!(p.deleted_at.map(|d| rfc3339(d + TRASH_RETENTION))));
    }
    Ok(v)
}

pub async fn get_org(State(app): State<App>, caller: Caller) -> ApiResult<Json<Value>> {
    let (org_id, grant) = caller.org(&app, Action::Read).await?;
    let org = directory::org(&app, org_id).await?.ok_or_else(ApiError::not_found)?;
    Ok(Json(json!({
        "id": org.id, "name": org.name, "slug": org.slug, "created_at": rfc3339(org.created_at),
        "your_access": format!("{grant:?}").to_lowercase(),
    })))
}

async fn list_pages_in(app: &App, caller: &Caller, q: &ListQuery, trashed: bool) -> ApiResult<Json<Value>> {
    let (org_id, _) = caller.org(app, Action::Read).await?;
    let scope = access::page_scope(app, &caller.principal, org_id).await?;
    let rows = directory::pages_of_org(app, org_id, scope, trashed, q.cursor.unwrap_or(0), q.limit + 1).await?;
    let (rows, next) = super::list::page_of(rows, q.limit, |p| p.id);
    let mut views = Vec::new();
    for p in &rows {
        views.push(page_admin_view(app, p, q.full || trashed).await?);
    }
    Ok(Json(json!({"data": views, "next_cursor": next})))
}

pub async fn list_pages(State(app): State<App>, caller: Caller, q: ListQuery) -> ApiResult<Json<Value>> {
    list_pages_in(&app, &caller, &q, false).await
}

pub async fn list_trash(State(app): State<App>, caller: Caller, q: ListQuery) -> ApiResult<Json<Value>> {
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
    let (org_id, _) = caller.org(&app, Action::Configure).await?;
    let input = NewPageInput {
        name: b.name,
        url_prefix: b.url_prefix,
        internal_key: b.internal_key,
        visibility: b.visibility,
        viewer_password: b.viewer_password,
    };
    let page = pages::create(&app, &caller.actor(), org_id, input).await?;
    Ok((StatusCode::CREATED, Json(page_admin_view(&app, &page, true).await?)))
}

pub async fn get_page(State(app): State<App>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let (org_id, _) = caller.org(&app, Action::Read).await?;
    let page = pages::get_in_org(&app, org_id, parse_id(&id)?).await?;
    // An org member's pages without a role on them do not exist for them, here as on the page.
    if access::page_grant(&app, &caller.principal, &page).await?.is_none() {
        return Err(ApiError::not_found());
    }
    Ok(Json(page_admin_view(&app, &page, true).await?))
}

pub async fn trash_page(State(app): State<App>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let (org_id, _) = caller.org(&app, Action::Configure).await?;
    let page = pages::trash(&app, &caller.actor(), org_id, parse_id(&id)?).await?;
    Ok(Json(page_admin_view(&app, &page, true).await?))
}

pub async fn restore_page(State(app): State<App>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let (org_id, _) = caller.org(&app, Action::Configure).await?;
    let page = pages::restore(&app, &caller.actor(), org_id, parse_id(&id)?).await?;
    Ok(Json(page_admin_view(&app, &page, true).await?))
}

pub async fn list_org_members(State(app): State<App>, caller: Caller, q: ListQuery) -> ApiResult<Json<Value>> {
    let (org_id, _) = caller.org(&app, Action::ManageAccess).await?;
    let rows = members::list(&app, Scope::Org(org_id), q.cursor.unwrap_or(0), q.limit + 1).await?;
    Ok(Json(envelope(rows, q.limit, |m| m.user_id, MemberView::of)))
}

pub async fn add_org_member(
    State(app): State<App>,
    caller: Caller,
    StrictJson(b): StrictJson<AddMemberBody>,
) -> ApiResult<impl IntoResponse> {
    let (org_id, _) = caller.org(&app, Action::ManageAccess).await?;
    let added = members::add(&app, &caller.actor(), Scope::Org(org_id), &b.email, &b.role).await?;
    Ok(super::invitations::added_answer(&app, added))
}

pub async fn change_org_member(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    StrictJson(b): StrictJson<RoleBody>,
) -> ApiResult<Json<MemberView>> {
    let (org_id, _) = caller.org(&app, Action::ManageAccess).await?;
    let m = members::change_role(&app, &caller.actor(), Scope::Org(org_id), parse_id(&id)?, &b.role).await?;
    Ok(Json(MemberView::of(&m)))
}

pub async fn remove_org_member(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let (org_id, _) = caller.org(&app, Action::ManageAccess).await?;
    members::remove(&app, &caller.actor(), Scope::Org(org_id), parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn org_audit_log(State(app): State<App>, caller: Caller, q: ListQuery) -> ApiResult<Json<Value>> {
    let (org_id, _) = caller.org(&app, Action::ManageAccess).await?;
    let f =
        AuditFilter { org_id, page_id: None, target: None, before: q.cursor.unwrap_or(i64::MAX), limit: q.limit + 1 };
    let rows = directory::audit_entries(&app, &f).await?;
    Ok(Json(envelope(rows, q.limit, |r| r.id, AuditEntry::of)))
}
