//! Membership bodies and views, and `/api/v1/admin/members` (page roles).

use crate::app::App;
use crate::auth::policy::Access;
use crate::http::extract::error::{ApiError, ApiResult};
use crate::http::extract::json::StrictJson;
use crate::http::extract::list::{envelope, ListQuery};
use crate::http::extract::principal::Caller;
use crate::http::presenters::people::MemberJson;
use crate::http::presenters::status_model::Listed;
use crate::service::org::members::{self, Scope};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;

/// Adds someone by email with a role. There is no password here: people who are not yet members
/// of the org are invited and choose their own (`service::invitations`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddMemberBody {
    pub email: String,
    pub role: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    pub role: String,
}

fn parse_id(raw: &str) -> ApiResult<i64> {
    raw.parse::<i64>().map_err(|_| ApiError::not_found())
}

pub async fn list_page_members(
    State(app): State<App>,
    caller: Caller,
    q: ListQuery,
) -> ApiResult<Json<Listed<MemberJson>>> {
    let a = caller.page(&app, Access::ManageAccess).await?;
    let rows = members::list(&app, Scope::Page(&a.page), q.cursor.unwrap_or(0), q.limit + 1).await?;
    Ok(Json(envelope(rows, q.limit, |m| m.user_id, MemberJson::of)))
}

pub async fn add_page_member(
    State(app): State<App>,
    caller: Caller,
    StrictJson(b): StrictJson<AddMemberBody>,
) -> ApiResult<impl IntoResponse> {
    let a = caller.page(&app, Access::ManageAccess).await?;
    let added = members::add(&app, &caller.actor(), Scope::Page(&a.page), &b.email, &b.role).await?;
    Ok(crate::http::api::invitations::added_answer(&app, added))
}

pub async fn change_page_member(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
    StrictJson(b): StrictJson<RoleBody>,
) -> ApiResult<Json<MemberJson>> {
    let a = caller.page(&app, Access::ManageAccess).await?;
    let m = members::change_role(&app, &caller.actor(), Scope::Page(&a.page), parse_id(&id)?, &b.role).await?;
    Ok(Json(MemberJson::of(&m)))
}

pub async fn remove_page_member(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let a = caller.page(&app, Access::ManageAccess).await?;
    members::remove(&app, &caller.actor(), Scope::Page(&a.page), parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
