//! Orgs, pages and their custom domains, as admins and (for pages) readers see them.

use crate::clock::rfc3339;
use crate::service::org::domains;
use crate::service::org::pages::{SiteSettings, TRASH_RETENTION};
use crate::store::domains::DomainRow;
use crate::store::orgs::OrgRow;
use crate::store::pages::PageRow;
use serde::Serialize;

/// The caller's org, with the access the caller holds in it.
#[derive(Serialize)]
pub struct OrgJson {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub created_at: String,
    /// The caller's grant on the org, in lower case.
    pub your_access: String,
}

impl OrgJson {
    pub fn of(o: &OrgRow, your_access: String) -> OrgJson {
        OrgJson { id: o.id, name: o.name.clone(), slug: o.slug.clone(), created_at: rfc3339(o.created_at), your_access }
    }
}

/// A page as org admins see it: compact in lists, with the detail in `?view=full`, the trash and
/// single reads.
#[derive(Serialize)]
pub struct PageAdminJson {
    pub id: i64,
    pub name: String,
    pub url_prefix: String,
    pub visibility: String,
    pub deleted_at: Option<String>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub full: Option<PageAdminDetail>,
}

#[derive(Serialize)]
pub struct PageAdminDetail {
    pub org_id: i64,
    pub internal_key: String,
    pub has_viewer_password: bool,
    /// The verified custom domain, if any.
    pub custom_domain: Option<String>,
    /// The canonical public URL.
    pub url: String,
    pub created_at: String,
    /// Until when a trashed page can be restored (null for a live page).
    pub restore_until: Option<String>,
}

impl PageAdminJson {
    /// `canonical`: the page's public URL and verified custom domain, for the full form.
    pub fn of(p: &PageRow, canonical: Option<(String, Option<String>)>) -> PageAdminJson {
        PageAdminJson {
            id: p.id,
            name: p.name.clone(),
            url_prefix: p.url_prefix.clone(),
            visibility: p.visibility.clone(),
            deleted_at: p.deleted_at.map(rfc3339),
            full: canonical.map(|(url, custom_domain)| PageAdminDetail {
                org_id: p.org_id,
                internal_key: p.internal_key.clone(),
                has_viewer_password: p.viewer_password_hash.is_some(),
                custom_domain,
                url,
                created_at: rfc3339(p.created_at),
                restore_until: p.deleted_at.map(|d| rfc3339(d + TRASH_RETENTION)),
            }),
        }
    }
}

/// A page as anyone who may read it sees it.
#[derive(Serialize)]
pub struct PagePublicJson {
    pub id: i64,
    pub name: String,
    pub url_prefix: String,
    pub visibility: String,
    pub custom_domain: Option<String>,
    /// The canonical public URL: the verified custom domain, else the prefix host.
    pub url: String,
    /// The page under the platform's own host: `<base>/status/<prefix>`.
    pub status_path_url: String,
    pub title: String,
    pub time_zone: String,
    pub locale: String,
}

/// The public settings of the page a host serves.
#[derive(Serialize)]
pub struct PublicSettings {
    pub name: String,
    pub url_prefix: String,
    pub visibility: String,
    pub site: SiteSettings,
}

/// The answer of the viewer gate: `public` (no password needed) or `granted`.
#[derive(Serialize)]
pub struct ViewerAccess {
    pub access: &'static str,
}

/// A page's custom domain and the DNS record that proves it.
#[derive(Serialize)]
pub struct DomainJson {
    pub domain: String,
    /// `verified` or `pending`.
    pub status: &'static str,
    pub challenge: Challenge,
    pub created_at: String,
    pub verified_at: Option<String>,
    pub last_checked_at: Option<String>,
}

/// The TXT record to publish.
#[derive(Serialize)]
pub struct Challenge {
    pub r#type: &'static str,
    pub name: String,
    pub value: String,
}

impl DomainJson {
    pub fn of(d: &DomainRow) -> DomainJson {
        DomainJson {
            domain: d.domain.clone(),
            status: if d.verified_at.is_some() { "verified" } else { "pending" },
            challenge: Challenge {
                r#type: "TXT",
                name: domains::challenge_name(&d.domain),
                value: d.challenge_value.clone(),
            },
            created_at: rfc3339(d.created_at),
            verified_at: d.verified_at.map(rfc3339),
            last_checked_at: d.last_checked_at.map(rfc3339),
        }
    }
}
