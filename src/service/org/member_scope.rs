//! Which membership list a change applies to (an org's, or a page's), shared by members and
//! invitations.

use crate::auth::policy::{OrgRole, PageRole};
use crate::service::audit::Event;
use crate::service::error::{Error, Result};
use crate::store::pages::PageRow;

/// Which membership list a change applies to.
#[derive(Clone, Copy)]
pub enum Scope<'a> {
    Org(i64),
    Page(&'a PageRow),
}

impl Scope<'_> {
    pub fn org_id(&self) -> i64 {
        match self {
            Scope::Org(id) => *id,
            Scope::Page(p) => p.org_id,
        }
    }
    pub fn page_id(&self) -> Option<i64> {
        match self {
            Scope::Org(_) => None,
            Scope::Page(p) => Some(p.id),
        }
    }
    pub fn check_role(&self, role: &str) -> Result<()> {
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
    pub fn event<'a>(&self, action: &'a str, user_id: Option<i64>, detail: serde_json::Value) -> Event<'a> {
        Event {
            org_id: Some(self.org_id()),
            page_id: self.page_id(),
            action,
            target_kind: "user",
            target_id: user_id,
            detail,
        }
    }
}
