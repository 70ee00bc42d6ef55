//! People: org members (org roles) and page members (page roles).

use crate::app::App;
use crate::service::audit::{self, Actor};
use crate::service::error::{Error, Result};

use crate::domain::types::Email;
use crate::store;
use crate::store::invitations::InvitationRow;
use crate::store::members::MemberRow;

/// What adding someone did: a member of the org joined the page at once, or an invitation went out.
pub enum Added {
    Member(MemberRow),
    Invited(InvitationRow),
}

pub use crate::service::org::member_scope::Scope;

/// Members of the scope in user-id order after `after`.
pub async fn list(app: &App, scope: Scope<'_>, after: i64, limit: i64) -> Result<Vec<MemberRow>> {
    Ok(match scope {
        Scope::Org(org_id) => {
            store::members::list(&app.db.pool, store::members::Group::Org(org_id), after, limit).await?
        }
        Scope::Page(p) => store::members::list(&app.db.pool, store::members::Group::Page(p.id), after, limit).await?,
    })
}

async fn find(app: &App, scope: Scope<'_>, user_id: i64) -> Result<MemberRow> {
    // Lists are keyset-paginated on user id: the one row after `user_id - 1` is this user's.
    let after = user_id.checked_sub(1).ok_or(Error::NotFound("member"))?;
    let rows = list(app, scope, after, 1).await?;
    rows.into_iter().find(|m| m.user_id == user_id).ok_or(Error::NotFound("member"))
}

/// Adds someone by email. A member of the org joins a page at once (they already belong to the
/// org); anyone else, with or without an account, gets an emailed invitation, and the answer does
/// not say which. Someone who already holds a role in the scope keeps it (change it with PATCH).
pub async fn add(app: &App, actor: &Actor, scope: Scope<'_>, email: &str, role: &str) -> Result<Added> {
    let email = Email::parse(email).map_err(Error::invalid("email"))?;
    scope.check_role(role)?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    store::limits::lock(&mut *tx, store::limits::Locked::Org(scope.org_id())).await?;
    let user = store::users::user_by_email(&mut *tx, email.as_str()).await?;
    // The same queries whether or not the address has an account (no timing difference).
    let user_id = user.as_ref().map_or(-1, |u| u.id);
    let org_member =
        store::members::role(&mut *tx, store::members::Group::Org(scope.org_id()), user_id).await?.is_some();
    let user_id = match (scope, user) {
        (Scope::Page(p), Some(u)) if org_member => {
            if store::members::role(&mut *tx, store::members::Group::Page(p.id), u.id).await?.is_some() {
                return Err(already_member());
            }
            store::members::upsert(&mut *tx, store::members::Group::Page(p.id), u.id, role, now).await?;
            u.id
        }
        (Scope::Org(_), Some(_)) if org_member => return Err(already_member()),
        _ => {
            let invitation =
                crate::service::org::invitations::issue(&mut tx, app, actor, scope, &email, role, now).await?;
            tx.commit().await?;
            return Ok(Added::Invited(invitation));
        }
    };
    let detail = serde_json::json!({"email": email.as_str(), "role": role});
    audit::record(&mut tx, actor, scope.event("member.added", Some(user_id), detail), now).await?;
    tx.commit().await?;
    Ok(Added::Member(find(app, scope, user_id).await?))
}

fn already_member() -> Error {
    Error::Conflict { code: "already_member", message: "already a member here: change their role with PATCH".into() }
}

/// Changes a member's role; an org must keep at least one org admin.
pub async fn change_role(app: &App, actor: &Actor, scope: Scope<'_>, user_id: i64, role: &str) -> Result<MemberRow> {
    scope.check_role(role)?;
    let current = find(app, scope, user_id).await?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    match scope {
        Scope::Org(org_id) => {
            store::limits::lock(&mut *tx, store::limits::Locked::Org(org_id)).await?;
            if current.role == "org_admin"
                && role != "org_admin"
                && store::members::count_org_admins(&mut *tx, org_id).await? <= 1
            {
                return Err(Error::Conflict {
                    code: "last_org_admin",
                    message: "an org needs at least one org_admin".into(),
                });
            }
            store::members::upsert(&mut *tx, store::members::Group::Org(org_id), user_id, role, now).await?;
        }
        Scope::Page(p) => {
            store::members::upsert(&mut *tx, store::members::Group::Page(p.id), user_id, role, now).await?
        }
    }
    audit::record(
        &mut tx,
        actor,
        scope.event("member.role_changed", Some(user_id), serde_json::json!({"from": current.role, "to": role})),
        now,
    )
    .await?;
    tx.commit().await?;
    find(app, scope, user_id).await
}

/// Removes a member; leaving an org also ends the user's page roles in it.
pub async fn remove(app: &App, actor: &Actor, scope: Scope<'_>, user_id: i64) -> Result<()> {
    let current = find(app, scope, user_id).await?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    match scope {
        Scope::Org(org_id) => {
            store::limits::lock(&mut *tx, store::limits::Locked::Org(org_id)).await?;
            if current.role == "org_admin" && store::members::count_org_admins(&mut *tx, org_id).await? <= 1 {
                return Err(Error::Conflict {
                    code: "last_org_admin",
                    message: "an org needs at least one org_admin".into(),
                });
            }
            store::members::delete_page_members_in_org(&mut *tx, org_id, user_id).await?;
            store::members::delete(&mut *tx, store::members::Group::Org(org_id), user_id).await?;
        }
        Scope::Page(p) => {
            store::members::delete(&mut *tx, store::members::Group::Page(p.id), user_id).await?;
        }
    }
    audit::record(
        &mut tx,
        actor,
        scope.event("member.removed", Some(user_id), serde_json::json!({"email": current.email})),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
