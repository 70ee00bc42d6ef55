//! People: org members (org roles) and page members (page roles).

use super::audit::{self, Actor, Event};
use super::error::{Error, Result};
use crate::app::App;
use crate::auth::password;
use crate::auth::policy::{OrgRole, PageRole};
use crate::domain::types::{self, Email};
use crate::store::tenancy::{self, MemberRow, PageRow};

/// How a member is added: an existing account by email, or a new account.
pub enum AddMember {
    Existing { email: String, role: String },
    New { email: String, name: String, password: String, role: String },
}

/// Which membership list a change applies to.
#[derive(Clone, Copy)]
pub enum Scope<'a> {
    Org(i64),
    Page(&'a PageRow),
}

impl Scope<'_> {
    fn org_id(&self) -> i64 {
        match self {
            Scope::Org(id) => *id,
            Scope::Page(p) => p.org_id,
        }
    }
    fn page_id(&self) -> Option<i64> {
        match self {
            Scope::Org(_) => None,
            Scope::Page(p) => Some(p.id),
        }
    }
    fn check_role(&self, role: &str) -> Result<()> {
        let ok = match self {
            Scope::Org(_) => OrgRole::parse(role).is_some(),
            Scope::Page(_) => PageRole::parse(role).is_some(),
        };
        if ok {
            Ok(())
        } else {
            Err(Error::field(
                "role",
                match self {
                    Scope::Org(_) => "must be org_member or org_admin",
                    Scope::Page(_) => "must be page_viewer, page_manager or page_admin",
                },
            ))
        }
    }
    fn event<'a>(&self, action: &'a str, user_id: i64, detail: serde_json::Value) -> Event<'a> {
        Event {
            org_id: Some(self.org_id()),
            page_id: self.page_id(),
            action,
            target_kind: "user",
            target_id: Some(user_id),
            detail,
        }
    }
}

/// Members of the scope in user-id order after `after`.
pub async fn list(app: &App, scope: Scope<'_>, after: i64, limit: i64) -> Result<Vec<MemberRow>> {
    Ok(match scope {
        Scope::Org(org_id) => tenancy::org_members(&app.db.pool, org_id, after, limit).await?,
        Scope::Page(p) => tenancy::page_members(&app.db.pool, p.id, after, limit).await?,
    })
}

async fn find(app: &App, scope: Scope<'_>, user_id: i64) -> Result<MemberRow> {
    // Lists are keyset-paginated on user id: the one row after `user_id - 1` is this user's.
    let after = user_id.checked_sub(1).ok_or(Error::NotFound("member"))?;
    let rows = list(app, scope, after, 1).await?;
    rows.into_iter().find(|m| m.user_id == user_id).ok_or(Error::NotFound("member"))
}

/// Adds a member; a page member is also made an org member if not one yet.
pub async fn add(app: &App, actor: &Actor, scope: Scope<'_>, req: AddMember) -> Result<MemberRow> {
    let now = app.now();
    let (email, role) = match &req {
        AddMember::Existing { email, role } | AddMember::New { email, role, .. } => (email, role),
    };
    let email = Email::parse(email).map_err(Error::invalid("email"))?;
    scope.check_role(role)?;
    let new_user = match &req {
        AddMember::New { name, password: pw, .. } => {
            let name = types::name(name, 200).map_err(Error::invalid("name"))?;
            super::sessions::check_new_password(pw)
                .map_err(|_| Error::field("password", "must be 8 to 1024 characters"))?;
            Some((name, password::hash(pw.clone()).await))
        }
        AddMember::Existing { .. } => None,
    };
    let mut tx = app.db.begin().await?;
    let user_id = match new_user {
        Some((name, hash)) => {
            tenancy::insert_user(&mut *tx, email.as_str(), &name, &hash, now).await.map_err(|e| match e {
                crate::store::StoreError::Conflict(_) => Error::Conflict {
                    code: "user_exists",
                    message: "a user with this email exists; add them as an existing user".into(),
                },
                e => e.into(),
            })?
        }
        None => tenancy::user_by_email(&mut *tx, email.as_str()).await?.ok_or(Error::NotFound("user"))?.id,
    };
    match scope {
        Scope::Org(org_id) => tenancy::upsert_org_member(&mut *tx, org_id, user_id, role, now).await?,
        Scope::Page(p) => {
            if tenancy::org_role(&mut *tx, p.org_id, user_id).await?.is_none() {
                tenancy::upsert_org_member(&mut *tx, p.org_id, user_id, OrgRole::OrgMember.as_str(), now).await?;
            }
            tenancy::upsert_page_member(&mut *tx, p.id, user_id, role, now).await?;
        }
    }
    audit::record(
        &mut tx,
        actor,
        scope.event("member.added", user_id, serde_json::json!({"email": email.as_str(), "role": role})),
        now,
    )
    .await?;
    tx.commit().await?;
    find(app, scope, user_id).await
}

/// Changes a member's role; an org must keep at least one org admin.
pub async fn change_role(app: &App, actor: &Actor, scope: Scope<'_>, user_id: i64, role: &str) -> Result<MemberRow> {
    scope.check_role(role)?;
    let current = find(app, scope, user_id).await?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    match scope {
        Scope::Org(org_id) => {
            tenancy::lock_org(&mut *tx, org_id).await?;
            if current.role == "org_admin"
                && role != "org_admin"
                && tenancy::count_org_admins(&mut *tx, org_id).await? <= 1
            {
                return Err(Error::Conflict {
                    code: "last_org_admin",
                    message: "an org needs at least one org_admin".into(),
                });
            }
            tenancy::upsert_org_member(&mut *tx, org_id, user_id, role, now).await?;
        }
        Scope::Page(p) => tenancy::upsert_page_member(&mut *tx, p.id, user_id, role, now).await?,
    }
    audit::record(
        &mut tx,
        actor,
        scope.event("member.role_changed", user_id, serde_json::json!({"from": current.role, "to": role})),
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
            tenancy::lock_org(&mut *tx, org_id).await?;
            if current.role == "org_admin" && tenancy::count_org_admins(&mut *tx, org_id).await? <= 1 {
                return Err(Error::Conflict {
                    code: "last_org_admin",
                    message: "an org needs at least one org_admin".into(),
                });
            }
            tenancy::delete_page_members_in_org(&mut *tx, org_id, user_id).await?;
            tenancy::delete_org_member(&mut *tx, org_id, user_id).await?;
        }
        Scope::Page(p) => {
            tenancy::delete_page_member(&mut *tx, p.id, user_id).await?;
        }
    }
    audit::record(
        &mut tx,
        actor,
        scope.event("member.removed", user_id, serde_json::json!({"email": current.email})),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
