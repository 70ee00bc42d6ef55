//! What the service needs to enforce bounds under concurrency: an org's or page's row lock, and
//! counts read inside the same transaction.

use super::Result;
use sqlx::{Any, Executor};

/// A row whose lock serialises checks: a page for its bounds, an org for "the last org admin".
#[derive(Debug, Clone, Copy)]
pub enum Locked {
    Org(i64),
    Page(i64),
}

/// Takes the row lock for the rest of the transaction. On PostgreSQL two transactions that both
/// check-then-write under this lock run one after the other, so a bound cannot be overshot nor
/// the last admin removed twice; SQLite write transactions (`BEGIN IMMEDIATE`) are already serial.
pub async fn lock<'c, E: Executor<'c, Database = Any>>(e: E, row: Locked) -> Result<()> {
    let (sql, id) = match row {
        Locked::Org(id) => ("UPDATE orgs SET slug = slug WHERE id = $1", id),
        Locked::Page(id) => ("UPDATE pages SET name = name WHERE id = $1", id),
    };
    sqlx::query(sql).bind(id).execute(e).await?;
    Ok(())
}

/// Counts the rows of one of the page-scoped tables this module knows (never caller input).
pub async fn count_on_page<'c, E: Executor<'c, Database = Any>>(e: E, table: Counted, page_id: i64) -> Result<i64> {
    let sql = format!("SELECT COUNT(*) FROM {} WHERE page_id = $1", table.name());
    Ok(sqlx::query_scalar(&sql).bind(page_id).fetch_one(e).await?)
}

/// Tables whose rows per page are bounded.
#[derive(Debug, Clone, Copy)]
pub enum Counted {
    Components,
    Views,
    Feeds,
}

impl Counted {
    fn name(self) -> &'static str {
        match self {
            Counted::Components => "hierarchy_items",
            Counted::Views => "custom_views",
            Counted::Feeds => "reader_feeds",
        }
    }
}
