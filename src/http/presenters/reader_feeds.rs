//! Readers' feeds: as their owners and co-managers see them, and as page admins do.

use crate::clock::rfc3339;
use crate::http::site::feeds::reader::urls;
use crate::service::readers::reader_feeds::{admin, Feed};
use serde::Serialize;
use std::collections::BTreeMap;

/// A feed's addresses in both formats.
#[derive(Serialize)]
pub struct FeedUrls {
    pub atom: String,
    pub rss: String,
}

impl FeedUrls {
    /// `base`: the page's canonical URL; `code`: the short code or the capability.
    pub fn of(base: &str, code: &str) -> FeedUrls {
        let (atom, rss) = urls(base, code);
        FeedUrls { atom, rss }
    }
}

/// The component identifiers a feed follows; null for the whole page.
fn components(f: &Feed) -> Option<Vec<String>> {
    (!f.row.all_components).then(|| f.items.iter().map(|i| i.1.clone()).collect())
}

/// A feed as its owner and co-managers see it.
#[derive(Serialize)]
pub struct FeedJson {
    pub id: i64,
    pub name: String,
    pub short_code: String,
    pub owner_email: String,
    pub managers: Vec<String>,
    pub components: Option<Vec<String>>,
    pub content_types: Vec<&'static str>,
    pub max_items: i64,
    pub max_age_days: Option<i64>,
    /// `atom` or `rss`: the format of `url`.
    pub format: String,
    pub url: String,
    pub urls: FeedUrls,
    pub has_capability: bool,
    /// The custom view whose scope the feed follows.
    pub view_id: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
    /// The reader's part: `owner` or `manager`.
    pub role: &'static str,
}

impl FeedJson {
    /// `base`: the page's canonical URL; `me`: the reader's address.
    pub fn of(f: &Feed, base: &str, me: &str) -> FeedJson {
        let r = &f.row;
        let urls = FeedUrls::of(base, &r.short_code);
        FeedJson {
            id: r.id,
            name: r.name.clone(),
            short_code: r.short_code.clone(),
            owner_email: r.owner_email.clone(),
            managers: f.managers.clone(),
            components: components(f),
            content_types: f.content_types(),
            max_items: r.max_items,
            max_age_days: r.max_age_days,
            format: r.format.clone(),
            url: if r.format == "rss" { urls.rss.clone() } else { urls.atom.clone() },
            urls,
            has_capability: r.capability_hash.is_some(),
            view_id: r.view_id,
            created_at: rfc3339(r.created_at),
            updated_at: rfc3339(r.updated_at),
            role: if f.owned_by(me) { "owner" } else { "manager" },
        }
    }
}

/// A feed with its capability, shown this once (creation on a private page, reset).
#[derive(Serialize)]
pub struct FeedWithCapability {
    #[serde(flatten)]
    pub feed: FeedJson,
    pub capability: String,
    /// The feed's addresses under its capability.
    pub capability_urls: FeedUrls,
}

/// A feed as page admins see it: compact in lists, with the detail in `?view=full` and single
/// reads.
#[derive(Serialize)]
pub struct FeedAdminJson {
    pub id: i64,
    pub name: String,
    pub short_code: String,
    pub owner_email: String,
    pub content_types: Vec<&'static str>,
    pub format: String,
    pub has_capability: bool,
    pub fetch_count: i64,
    pub last_fetched_at: Option<String>,
    pub created_at: String,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub full: Option<FeedAdminDetail>,
}

#[derive(Serialize)]
pub struct FeedAdminDetail {
    pub managers: Vec<String>,
    pub components: Option<Vec<String>>,
    pub max_items: i64,
    pub max_age_days: Option<i64>,
    /// Bumped by every invalidation: part of the feed's ETag.
    pub cache_version: i64,
    pub urls: FeedUrls,
    pub updated_at: String,
}

impl FeedAdminJson {
    /// `base`: the page's canonical URL, for the full form.
    pub fn of(f: &Feed, base: Option<&str>) -> FeedAdminJson {
        let r = &f.row;
        FeedAdminJson {
            id: r.id,
            name: r.name.clone(),
            short_code: r.short_code.clone(),
            owner_email: r.owner_email.clone(),
            content_types: f.content_types(),
            format: r.format.clone(),
            has_capability: r.capability_hash.is_some(),
            fetch_count: r.fetch_count,
            last_fetched_at: r.last_fetched_at.map(rfc3339),
            created_at: rfc3339(r.created_at),
            full: base.map(|base| FeedAdminDetail {
                managers: f.managers.clone(),
                components: components(f),
                max_items: r.max_items,
                max_age_days: r.max_age_days,
                cache_version: r.cache_version,
                urls: FeedUrls::of(base, &r.short_code),
                updated_at: rfc3339(r.updated_at),
            }),
        }
    }
}

/// Feed numbers of a page.
#[derive(Serialize)]
pub struct FeedStats {
    pub total: i64,
    /// `incidents`, `maintenances`, `both`: what the feeds carry.
    pub by_content_type: BTreeMap<String, i64>,
    /// `atom`, `rss`: the format readers chose as their default.
    pub by_format: BTreeMap<String, i64>,
    /// Feeds with a capability path (`/feeds/sbf_…/…`).
    pub with_capability: i64,
    /// Fetches, counted at most once a minute per feed.
    pub fetch_count: i64,
    /// Feeds fetched at least once.
    pub fetched: i64,
    pub last_fetched_at: Option<String>,
}

impl FeedStats {
    pub fn of(s: admin::Stats) -> FeedStats {
        FeedStats {
            total: s.total,
            by_content_type: s.by_content_type,
            by_format: s.by_format,
            with_capability: s.with_capability,
            fetch_count: s.fetch_count,
            fetched: s.fetched,
            last_fetched_at: s.last_fetched_at.map(rfc3339),
        }
    }
}
