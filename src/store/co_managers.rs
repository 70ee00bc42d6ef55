//! SQL for the co-managers of custom views and readers' feeds. Both tables have one shape,
//! `(<resource key>, email, added_at)` with the pair as primary key (migration 15); they stay two
//! tables so that each keeps its foreign key and the cascade that takes a resource's co-managers
//! with it. Which tables a statement names comes from [`Managed`], never from a request.

use super::Result;
use sqlx::{Any, Executor};

/// What co-managers manage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Managed {
    View,
    Feed,
}

impl Managed {
    /// The resources' table.
    fn resources(self) -> &'static str {
        match self {
            Managed::View => "custom_views",
            Managed::Feed => "reader_feeds",
        }
    }

    /// The co-managers' table and its key column.
    fn table(self) -> (&'static str, &'static str) {
        match self {
            Managed::View => ("custom_view_managers", "view_id"),
            Managed::Feed => ("reader_feed_managers", "feed_id"),
        }
    }

    /// A condition on a row `r` of the resources' table: the address bound as `email` owns it or
    /// co-manages it.
    fn owned_or_managed_by(self, r: &str, email: &str) -> String {
        let (table, key) = self.table();
        format!("({r}.owner_email = {email} OR EXISTS (SELECT 1 FROM {table} m WHERE m.{key} = {r}.id AND m.email = {email}))")
    }
}

/// A resource row: views and feeds list what an address manages through [`managed_by`].
pub trait ManagedRow: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin {
    const OF: Managed;
    /// The columns the row is read from.
    const COLS: &'static str;
}

/// Resources of the page that `email` owns or co-manages, newest first, before the cursor id.
pub async fn managed_by<'c, E: Executor<'c, Database = Any>, T: ManagedRow>(
    e: E,
    page_id: i64,
    email: &str,
    before: i64,
    limit: i64,
) -> Result<Vec<T>> {
    let sql = format!(
        "SELECT {} FROM {} r WHERE r.page_id = $1 AND r.id < $3 AND {} ORDER BY r.id DESC LIMIT $4",
        T::COLS,
        T::OF.resources(),
        T::OF.owned_or_managed_by("r", "$2")
    );
    Ok(sqlx::query_as(&sql).bind(page_id).bind(email).bind(before).bind(limit).fetch_all(e).await?)
}

/// The owner of resource `id` of the page; `None` when the page has no such resource.
pub async fn owner<'c, E: Executor<'c, Database = Any>>(
    e: E,
    of: Managed,
    page_id: i64,
    id: i64,
) -> Result<Option<String>> {
    let sql = format!("SELECT owner_email FROM {} WHERE page_id = $1 AND id = $2", of.resources());
    Ok(sqlx::query_scalar(&sql).bind(page_id).bind(id).fetch_optional(e).await?)
}

/// The co-managers of the given resources: (resource id, email), in the order they were added.
pub async fn of_each<'c, E: Executor<'c, Database = Any>>(
    e: E,
    of: Managed,
    ids: &[i64],
) -> Result<Vec<(i64, String)>> {
    let (table, key) = of.table();
    super::id_text_pairs(e, ids, |list| {
        format!("SELECT {key}, email FROM {table} WHERE {key} IN ({list}) ORDER BY {key}, added_at, email")
    })
    .await
}

/// Whether `email` co-manages resource `id`.
pub async fn is_manager<'c, E: Executor<'c, Database = Any>>(e: E, of: Managed, id: i64, email: &str) -> Result<bool> {
    let (table, key) = of.table();
    let sql = format!("SELECT 1 FROM {table} WHERE {key} = $1 AND email = $2");
    Ok(sqlx::query(&sql).bind(id).bind(email).fetch_optional(e).await?.is_some())
}

/// Co-managers of resource `id` (counted under the page's lock before adding one).
pub async fn count<'c, E: Executor<'c, Database = Any>>(e: E, of: Managed, id: i64) -> Result<i64> {
    let (table, key) = of.table();
    let sql = format!("SELECT COUNT(*) FROM {table} WHERE {key} = $1");
    Ok(sqlx::query_scalar(&sql).bind(id).fetch_one(e).await?)
}

/// Adds a co-manager; false when the address already was one.
pub async fn add<'c, E: Executor<'c, Database = Any>>(
    e: E,
    of: Managed,
    id: i64,
    email: &str,
    now: i64,
) -> Result<bool> {
    let (table, key) = of.table();
    let sql = format!(
        "INSERT INTO {table} ({key}, email, added_at) VALUES ($1, $2, $3) ON CONFLICT ({key}, email) DO NOTHING"
    );
    let r = sqlx::query(&sql).bind(id).bind(email).bind(now).execute(e).await?;
    Ok(r.rows_affected() == 1)
}

/// Removes a co-manager; false when the address was none.
pub async fn remove<'c, E: Executor<'c, Database = Any>>(e: E, of: Managed, id: i64, email: &str) -> Result<bool> {
    let (table, key) = of.table();
    let sql = format!("DELETE FROM {table} WHERE {key} = $1 AND email = $2");
    let r = sqlx::query(&sql).bind(id).bind(email).execute(e).await?;
    Ok(r.rows_affected() == 1)
}

/// Marks resource `id` changed (`updated_at`): its co-managers are part of what it is.
pub async fn touch<'c, E: Executor<'c, Database = Any>>(e: E, of: Managed, id: i64, now: i64) -> Result<()> {
    let sql = format!("UPDATE {} SET updated_at = $2 WHERE id = $1", of.resources());
    sqlx::query(&sql).bind(id).bind(now).execute(e).await?;
    Ok(())
}

/// Whether `email` owns or co-manages any resource of this kind on the page.
pub async fn manages_any<'c, E: Executor<'c, Database = Any>>(
    e: E,
    of: Managed,
    page_id: i64,
    email: &str,
) -> Result<bool> {
    let sql = format!(
        "SELECT 1 FROM {} r WHERE r.page_id = $1 AND {} LIMIT 1",
        of.resources(),
        of.owned_or_managed_by("r", "$2")
    );
    Ok(sqlx::query(&sql).bind(page_id).bind(email).fetch_optional(e).await?.is_some())
}
