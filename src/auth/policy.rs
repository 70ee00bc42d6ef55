//! The permission model, pure: who may do what on a page or an org.
//!
//! Effective access of an API token = its permission ∩ its role. A session carries no permission
//! axis: its access is the user's role on the page (org admins are page admins everywhere).

use serde::{Deserialize, Serialize};

/// An access level: what a request needs, or what a grant allows, from least to most sensitive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Nothing at all: the scope is visible (no 404) but every action is refused (403).
    Nothing,
    /// Safe reads of page or org data.
    Read,
    /// Operational content: incidents, maintenances, subscribers, views, feeds.
    Operate,
    /// Configuration: settings, hierarchy, statuses, lifecycles, domains, pages.
    Configure,
    /// Credentials and people: API tokens, members, roles, audit log (reads too).
    ManageAccess,
}

/// Token permission: which actions the token was minted for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    Read,
    Write,
    Admin,
}

/// A role on one page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageRole {
    PageViewer,
    PageManager,
    PageAdmin,
}

/// A role in an organization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgRole {
    OrgMember,
    OrgAdmin,
}

/// The role a token was minted with: a page role for page tokens, an org role for org tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RoleKey {
    Page(PageRole),
    Org(OrgRole),
}

impl Permission {
    /// The most sensitive action this permission allows.
    pub fn ceiling(self) -> Access {
        match self {
            Permission::Read => Access::Read,
            Permission::Write => Access::Operate,
            Permission::Admin => Access::ManageAccess,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Read => "read",
            Permission::Write => "write",
            Permission::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Permission::Read, Permission::Write, Permission::Admin].into_iter().find(|p| p.as_str() == s)
    }
}

impl PageRole {
    /// The most sensitive action this role allows on its page.
    pub fn ceiling(self) -> Access {
        match self {
            PageRole::PageViewer => Access::Read,
            PageRole::PageManager => Access::Operate,
            PageRole::PageAdmin => Access::ManageAccess,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PageRole::PageViewer => "page_viewer",
            PageRole::PageManager => "page_manager",
            PageRole::PageAdmin => "page_admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [PageRole::PageViewer, PageRole::PageManager, PageRole::PageAdmin].into_iter().find(|r| r.as_str() == s)
    }
}

impl OrgRole {
    pub fn as_str(self) -> &'static str {
        match self {
            OrgRole::OrgMember => "org_member",
            OrgRole::OrgAdmin => "org_admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [OrgRole::OrgMember, OrgRole::OrgAdmin].into_iter().find(|r| r.as_str() == s)
    }

    /// The page role an org role implies on every page of the org (org tokens; org admins).
    pub fn page_role(self) -> PageRole {
        match self {
            OrgRole::OrgMember => PageRole::PageViewer,
            OrgRole::OrgAdmin => PageRole::PageAdmin,
        }
    }

    /// The most sensitive org-level action: members may read the org, admins manage it.
    pub fn org_ceiling(self) -> Access {
        match self {
            OrgRole::OrgMember => Access::Read,
            OrgRole::OrgAdmin => Access::ManageAccess,
        }
    }
}

impl RoleKey {
    pub fn as_str(self) -> &'static str {
        match self {
            RoleKey::Page(r) => r.as_str(),
            RoleKey::Org(r) => r.as_str(),
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        PageRole::parse(s).map(RoleKey::Page).or_else(|| OrgRole::parse(s).map(RoleKey::Org))
    }
}

/// The access a principal has on one scope (a page or an org): the highest action it may take.
/// `None` means no access at all (the scope is invisible: 404).
pub type Grant = Option<Access>;

/// Access of a token: permission ∩ role.
pub fn token_grant(permission: Permission, role_ceiling: Access) -> Access {
    permission.ceiling().min(role_ceiling)
}

/// Whether a grant allows an action.
pub fn allows(grant: Grant, wanted: Access) -> bool {
    matches!(grant, Some(g) if g >= wanted && g > Access::Nothing)
}

/// The outcome of a requirement check: allowed, forbidden (403) or invisible (404).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Forbid,
    Hide,
}

/// The one requirement check every handler runs first.
pub fn decide(grant: Grant, wanted: Access) -> Decision {
    match grant {
        None => Decision::Hide,
        Some(_) if allows(grant, wanted) => Decision::Allow,
        Some(_) => Decision::Forbid,
    }
}

/// Whether a holder whose grant is `holder` may mint a token worth `minted`
/// (a token can never create a token with more access than its own).
pub fn may_mint(holder: Access, minted: Access) -> bool {
    holder == Access::ManageAccess && minted <= holder
}

#[cfg(test)]
mod tests {
    use super::*;
    use Access::*;

    #[test]
    fn token_access_is_permission_intersected_with_role() {
        let cases = [
            (Permission::Read, PageRole::PageAdmin, Read),
            (Permission::Write, PageRole::PageViewer, Read),
            (Permission::Write, PageRole::PageManager, Operate),
            (Permission::Write, PageRole::PageAdmin, Operate),
            (Permission::Admin, PageRole::PageManager, Operate),
            (Permission::Admin, PageRole::PageAdmin, ManageAccess),
            (Permission::Admin, PageRole::PageViewer, Read),
        ];
        for (p, r, want) in cases {
            assert_eq!(token_grant(p, r.ceiling()), want, "{p:?} ∩ {r:?}");
        }
    }

    #[test]
    fn grants_allow_everything_up_to_their_ceiling() {
        assert!(allows(Some(Operate), Read));
        assert!(allows(Some(Operate), Operate));
        assert!(!allows(Some(Operate), Configure));
        assert!(!allows(Some(Configure), ManageAccess));
        assert!(!allows(None, Read));
        assert!(!allows(Some(Nothing), Read));
    }

    #[test]
    fn decisions_hide_invisible_scopes_and_forbid_visible_ones() {
        assert_eq!(decide(None, Read), Decision::Hide);
        assert_eq!(decide(Some(Nothing), Read), Decision::Forbid);
        assert_eq!(decide(Some(Read), Operate), Decision::Forbid);
        assert_eq!(decide(Some(ManageAccess), ManageAccess), Decision::Allow);
    }

    #[test]
    fn role_keys_parse_both_families() {
        assert_eq!(RoleKey::parse("page_manager"), Some(RoleKey::Page(PageRole::PageManager)));
        assert_eq!(RoleKey::parse("org_admin"), Some(RoleKey::Org(OrgRole::OrgAdmin)));
        assert_eq!(RoleKey::parse("admin"), None);
        assert_eq!(OrgRole::OrgMember.page_role(), PageRole::PageViewer);
    }

    #[test]
    fn only_access_managers_mint_and_never_above_themselves() {
        assert!(may_mint(ManageAccess, Operate));
        assert!(may_mint(ManageAccess, ManageAccess));
        assert!(!may_mint(Operate, Read));
    }
}
