//! SQL for readers' feeds and their component scope (co-managers: `store::co_managers`).

use super::co_managers::{Managed, ManagedRow};
use super::{Flag, Result};
use sqlx::any::AnyArguments;
use sqlx::{Any, Arguments, Executor};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FeedRow {
    pub id: i64,
    pub page_id: i64,
    pub name: String,
    pub short_code: String,
    pub capability_hash: Option<String>,
    pub owner_email: String,
    #[sqlx(try_from = "Flag")]
    pub all_components: bool,
    #[sqlx(try_from = "Flag")]
    pub incidents: bool,
    #[sqlx(try_from = "Flag")]
    pub maintenances: bool,
    pub max_items: i64,
    pub max_age_days: Option<i64>,
    pub format: String,
    pub cache_version: i64,
    pub fetch_count: i64,
    pub last_fetched_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// The custom view the feed follows (its scope is the view's).
    pub view_id: Option<i64>,
}

const COLS: &str = "id, page_id, name, short_code, capability_hash, owner_email, all_components, incidents, \
    maintenances, max_items, max_age_days, format, cache_version, fetch_count, last_fetched_at, created_at, \
    updated_at, view_id";

impl ManagedRow for FeedRow {
    const OF: Managed = Managed::Feed;
    const COLS: &'static str = COLS;
}

/// Makes a feed follow a view (set once, at creation).
pub async fn set_view<'c, E: Executor<'c, Database = Any>>(e: E, id: i64, view_id: i64) -> Result<()> {
    sqlx::query("UPDATE reader_feeds SET view_id = $2 WHERE id = $1").bind(id).bind(view_id).execute(e).await?;
    Ok(())
}

/// The settings a reader chooses.
#[derive(Debug, Clone)]
pub struct Settings {
    pub name: String,
    pub all_components: bool,
    pub incidents: bool,
    pub maintenances: bool,
    pub max_items: i64,
    pub max_age_days: Option<i64>,
    pub format: String,
}

/// The settings as `$2` to `$8` after `key` (`$1`: the page of a new feed, or the feed updated),
/// and `now` as `$9`.
fn settings_args<'q>(key: i64, s: &'q Settings, now: i64) -> Result<AnyArguments<'q>> {
    super::args(|a| {
        a.add(key)?;
        a.add(&s.name)?;
        a.add(s.all_components as i64)?;
        a.add(s.incidents as i64)?;
        a.add(s.maintenances as i64)?;
        a.add(s.max_items)?;
        a.add(s.max_age_days)?;
        a.add(&s.format)?;
        a.add(now)
    })
}

pub async fn insert<'c, E: Executor<'c, Database = Any>>(
    e: E,
    page_id: i64,
    owner_email: &str,
    short_code: &str,
    capability_hash: Option<&str>,
    s: &Settings,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar_with(
        "INSERT INTO reader_feeds (page_id, name, all_components, incidents, maintenances, max_items, max_age_days, \
         format, created_at, updated_at, short_code, capability_hash, owner_email, cache_version, fetch_count) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11, $12, 0, 0) RETURNING id",
        settings_args(page_id, s, now)?,
    )
    .bind(short_code)
    .bind(capability_hash)
    .bind(owner_email)
    .fetch_one(e)
    .await?)
}

pub async fn update<'c, E: Executor<'c, Database = Any>>(e: E, id: i64, s: &Settings, now: i64) -> Result<()> {
    sqlx::query_with(
        "UPDATE reader_feeds SET name = $2, all_components = $3, incidents = $4, maintenances = $5, max_items = $6, \
         max_age_days = $7, format = $8, updated_at = $9 WHERE id = $1",
        settings_args(id, s, now)?,
    )
    .execute(e)
    .await?;
    Ok(())
}

pub async fn by_id<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64, id: i64) -> Result<Option<FeedRow>> {
    Ok(sqlx::query_as(&format!("SELECT {COLS} FROM reader_feeds WHERE page_id = $1 AND id = $2"))
        .bind(page_id)
        .bind(id)
        .fetch_optional(e)
        .await?)
}

pub async fn by_short_code<'c, E: Executor<'c, Database = Any>>(
    e: E,
    page_id: i64,
    code: &str,
) -> Result<Option<FeedRow>> {
    Ok(sqlx::query_as(&format!("SELECT {COLS} FROM reader_feeds WHERE page_id = $1 AND short_code = $2"))
        .bind(page_id)
        .bind(code)
        .fetch_optional(e)
        .await?)
}

/// A feed by its capability hash, on any page (the caller checks the page).
pub async fn by_capability<'c, E: Executor<'c, Database = Any>>(e: E, hash: &str) -> Result<Option<FeedRow>> {
    Ok(sqlx::query_as(&format!("SELECT {COLS} FROM reader_feeds WHERE capability_hash = $1"))
        .bind(hash)
        .fetch_optional(e)
        .await?)
}

pub async fn count_owned<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64, email: &str) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM reader_feeds WHERE page_id = $1 AND owner_email = $2")
        .bind(page_id)
        .bind(email)
        .fetch_one(e)
        .await?)
}

/// Feeds of a page for the admin list, newest first, before the cursor id.
pub async fn list<'c, E: Executor<'c, Database = Any>>(
    e: E,
    page_id: i64,
    before: i64,
    limit: i64,
) -> Result<Vec<FeedRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLS} FROM reader_feeds WHERE page_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
    ))
    .bind(page_id)
    .bind(before)
    .bind(limit)
    .fetch_all(e)
    .await?)
}

/// Every feed of a page (for statistics; pages hold few).
pub async fn all_of_page<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64) -> Result<Vec<FeedRow>> {
    list(e, page_id, i64::MAX, 100_000).await
}

pub async fn delete<'c, E: Executor<'c, Database = Any>>(e: E, page_id: i64, id: i64) -> Result<bool> {
    let r = sqlx::query("DELETE FROM reader_feeds WHERE page_id = $1 AND id = $2")
        .bind(page_id)
        .bind(id)
        .execute(e)
        .await?;
    Ok(r.rows_affected() > 0)
}

pub async fn set_capability<'c, E: Executor<'c, Database = Any>>(e: E, id: i64, hash: &str, now: i64) -> Result<()> {
    sqlx::query("UPDATE reader_feeds SET capability_hash = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(hash)
        .bind(now)
        .execute(e)
        .await?;
    Ok(())
}

/// Bumps the version that is part of the feed's ETag.
pub async fn bump_cache_version<'c, E: Executor<'c, Database = Any>>(e: E, id: i64) -> Result<()> {
    sqlx::query("UPDATE reader_feeds SET cache_version = cache_version + 1 WHERE id = $1").bind(id).execute(e).await?;
    Ok(())
}

/// Counts a fetch, at most once per minute per feed (a conditional update, so concurrent
/// fetches and several instances do not each write).
pub async fn record_fetch<'c, E: Executor<'c, Database = Any>>(e: E, id: i64, now: i64) -> Result<()> {
    sqlx::query(
        "UPDATE reader_feeds SET fetch_count = fetch_count + 1, last_fetched_at = $2 \
         WHERE id = $1 AND (last_fetched_at IS NULL OR last_fetched_at <= $3)",
    )
    .bind(id)
    .bind(now)
    .bind(now - 60_000)
    .execute(e)
    .await?;
    Ok(())
}

// ---- scope ------------------------------------------------------------------------------------

pub async fn set_items(tx: &mut sqlx::AnyConnection, feed_id: i64, items: &[i64]) -> Result<()> {
    sqlx::query("DELETE FROM reader_feed_items WHERE feed_id = $1").bind(feed_id).execute(&mut *tx).await?;
    for item in items {
        sqlx::query("INSERT INTO reader_feed_items (feed_id, item_id) VALUES ($1, $2)")
            .bind(feed_id)
            .bind(item)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// The scope of the given feeds: (feed id, item id, item identifier).
pub async fn items_of<'c, E: Executor<'c, Database = Any>>(e: E, feed_ids: &[i64]) -> Result<Vec<(i64, i64, String)>> {
    if feed_ids.is_empty() {
        return Ok(Vec::new());
    }
    // Ids are integers we produced; inlining them keeps one statement for any number.
    let list = super::id_list(feed_ids);
    Ok(sqlx::query_as(&format!(
        "SELECT fi.feed_id, h.id, h.identifier FROM reader_feed_items fi JOIN hierarchy_items h ON h.id = fi.item_id \
         WHERE fi.feed_id IN ({list}) ORDER BY h.display_order, h.id"
    ))
    .fetch_all(e)
    .await?)
}
