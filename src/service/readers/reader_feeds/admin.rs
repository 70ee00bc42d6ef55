//! Administration of a page's reader feeds (`/api/v1/admin/feeds`): list, statistics, one feed,
//! delete, invalidate. Feeds hold owners' and co-managers' addresses (personal data), so like
//! subscribers every route needs operate (decision 0007).

use super::{with_details, Feed};
use crate::app::App;
use crate::service::audit::{self, Actor, Event};
use crate::service::error::{Error, Result};
use crate::store::pages::PageRow;
use crate::store::reader_feeds as sql;
use std::collections::BTreeMap;

pub async fn list(app: &App, page: &PageRow, before: i64, limit: i64) -> Result<Vec<Feed>> {
    let rows = sql::list(&app.db.pool, page.id, before, limit).await?;
    with_details(app, rows).await
}

pub async fn get(app: &App, page: &PageRow, id: i64) -> Result<Feed> {
    let row = sql::by_id(&app.db.pool, page.id, id).await?.ok_or(Error::NotFound("feed"))?;
    Ok(with_details(app, vec![row]).await?.remove(0))
}

/// Feed numbers of a page.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Stats {
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
    pub last_fetched_at: Option<i64>,
}

pub async fn stats(app: &App, page: &PageRow) -> Result<Stats> {
    let mut s = Stats::default();
    for k in ["incidents", "maintenances", "both"] {
        s.by_content_type.insert(k.into(), 0);
    }
    for k in super::FORMATS {
        s.by_format.insert(k.to_string(), 0);
    }
    for f in sql::all_of_page(&app.db.pool, page.id).await? {
        s.total += 1;
        let kind = match (f.incidents, f.maintenances) {
            (true, true) => "both",
            (true, false) => "incidents",
            _ => "maintenances",
        };
        *s.by_content_type.entry(kind.into()).or_default() += 1;
        *s.by_format.entry(f.format.clone()).or_default() += 1;
        s.with_capability += f.capability_hash.is_some() as i64;
        s.fetch_count += f.fetch_count;
        s.fetched += f.last_fetched_at.is_some() as i64;
        s.last_fetched_at = s.last_fetched_at.max(f.last_fetched_at);
    }
    Ok(s)
}

fn event(page: &PageRow, action: &'static str, id: i64) -> Event<'static> {
    Event {
        org_id: Some(page.org_id),
        page_id: Some(page.id),
        action,
        target_kind: "reader_feed",
        target_id: Some(id),
        detail: serde_json::json!({}),
    }
}

/// Deletes a feed: its scope and co-managers go with it and its paths are gone at once.
pub async fn delete(app: &App, actor: &Actor, page: &PageRow, id: i64) -> Result<()> {
    let now = app.now();
    let mut tx = app.db.begin().await?;
    if !sql::delete(&mut *tx, page.id, id).await? {
        return Err(Error::NotFound("feed"));
    }
    audit::record(&mut tx, actor, event(page, "reader_feed.deleted", id), now).await?;
    tx.commit().await?;
    Ok(())
}

/// Invalidates a feed's cached copies: its ETag changes, so every client and cache refetches.
pub async fn invalidate(app: &App, actor: &Actor, page: &PageRow, id: i64) -> Result<Feed> {
    let now = app.now();
    let mut tx = app.db.begin().await?;
    sql::by_id(&mut *tx, page.id, id).await?.ok_or(Error::NotFound("feed"))?;
    sql::bump_cache_version(&mut *tx, id).await?;
    audit::record(&mut tx, actor, event(page, "reader_feed.cache_invalidated", id), now).await?;
    tx.commit().await?;
    get(app, page, id).await
}
