//! Storage: one SQL code path over SQLite and PostgreSQL through sqlx's `Any` driver.
//!
//! Queries use `$n` placeholders (both engines accept them), epoch-millisecond `BIGINT` times and
//! 0/1 integers for booleans, so the same statement runs on both. Migrations are written once in
//! `migrations/`; the one DDL difference (identity columns) is translated by [`dialect`].

pub mod api_tokens;
pub mod audit;
pub mod co_managers;
pub mod domains;
pub mod events;
pub mod hierarchy;
pub mod incidents;
pub mod invitations;
pub mod limits;
pub mod magic_tokens;
pub mod maintenance_claims;
pub mod maintenances;
pub mod members;
pub mod notices;
pub mod orgs;
pub mod outbox;
pub mod pages;
pub mod reader_feeds;
pub mod sessions;
pub mod subscribers;
pub mod users;
pub mod viewer_grants;
pub mod views;

use sqlx::any::{AnyArguments, AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Executor, Transaction};
use std::str::FromStr;
use std::time::Duration;

/// Which SQL engine a database URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// Errors from the store, already stripped of SQL detail for callers.
#[derive(Debug)]
pub enum StoreError {
    /// A unique constraint was violated (the name of the constraint or column, when known).
    Conflict(String),
    /// Anything else: logged, then shown as a 500 without detail.
    Other(sqlx::Error),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Conflict(c) => write!(f, "conflict on {c}"),
            StoreError::Other(e) => write!(f, "database error: {e}"),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            if db.is_unique_violation() {
                return StoreError::Conflict(db.constraint().unwrap_or(db.message()).to_string());
            }
        }
        StoreError::Other(e)
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A write transaction. On SQLite it starts with `BEGIN IMMEDIATE`, so two writers queue on the
/// busy timeout instead of failing with a lock upgrade error.
pub type Tx = Transaction<'static, Any>;

/// The database handle shared by every service.
#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub engine: Engine,
}

/// The advisory-lock key instances take while migrating a PostgreSQL database.
const MIGRATION_LOCK: i64 = 0x5157_a7be;

/// Ids written into a statement as `1,2,3` (`IN (...)` lists of any length in one statement;
/// integers we produced, never text from a request). An empty list is `-1`, which no row has.
pub fn id_list(ids: &[i64]) -> String {
    if ids.is_empty() {
        return "-1".into();
    }
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// `(id, text)` rows of a query over an id list (`sql` gets the list to put in `IN (...)`); no
/// query at all for no ids. For the one-to-many lists of views and feeds (components, managers).
pub async fn id_text_pairs<'c, E: Executor<'c, Database = Any>>(
    e: E,
    ids: &[i64],
    sql: impl FnOnce(&str) -> String,
) -> Result<Vec<(i64, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_as(&sql(&id_list(ids))).fetch_all(e).await?)
}

/// Arguments that `add` binds in order, for the binds two statements share (an insert and an
/// update of the same fields); an encoding failure is a store error.
pub(crate) fn args<'q>(
    add: impl FnOnce(&mut AnyArguments<'q>) -> std::result::Result<(), sqlx::error::BoxDynError>,
) -> Result<AnyArguments<'q>> {
    let mut a = AnyArguments::default();
    add(&mut a).map_err(sqlx::Error::Encode)?;
    Ok(a)
}

/// Every migration, written once in the SQL both engines share (`migrations/`); the one dialect
/// difference, identity columns, is translated for PostgreSQL by [`dialect`]. A change SQLite can
/// only make by rebuilding a table carries PostgreSQL's own statement (`<name>.postgres.sql`).
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/0001_foundation.sql")),
    (2, include_str!("../../migrations/0002_status_model.sql")),
    (3, include_str!("../../migrations/0003_maintenance_schedule.sql")),
    (4, include_str!("../../migrations/0004_incident_version.sql")),
    (5, include_str!("../../migrations/0005_subscribers.sql")),
    (6, include_str!("../../migrations/0006_outbox_delivery.sql")),
    (7, include_str!("../../migrations/0007_fanout.sql")),
    (8, include_str!("../../migrations/0008_webhooks.sql")),
    (9, include_str!("../../migrations/0009_views.sql")),
    (10, include_str!("../../migrations/0010_reader_feeds.sql")),
    (11, include_str!("../../migrations/0011_view_feeds.sql")),
    (12, include_str!("../../migrations/0012_fan_out_lease.sql")),
    (13, include_str!("../../migrations/0013_invitations.sql")),
    (14, include_str!("../../migrations/0014_outbox_mail_without_page.sql")),
    (15, include_str!("../../migrations/0015_co_managers_one_shape.sql")),
];

/// PostgreSQL's own statements for the migrations SQLite makes by rebuilding a table.
const POSTGRES_OVERRIDES: &[(i64, &str)] =
    &[(14, include_str!("../../migrations/0014_outbox_mail_without_page.postgres.sql"))];

/// The SQL of migration `version` for `engine`.
fn migration_sql(engine: Engine, version: i64, portable: &str) -> std::borrow::Cow<'_, str> {
    let own = POSTGRES_OVERRIDES.iter().find(|(v, _)| *v == version).map(|(_, sql)| *sql);
    match (engine, own) {
        (Engine::Postgres, Some(sql)) => sql.into(),
        _ => dialect(engine, portable),
    }
}

/// A migration's DDL for `engine`: SQLite's `INTEGER PRIMARY KEY AUTOINCREMENT` becomes a
/// PostgreSQL identity column; everything else is portable as written.
pub fn dialect(engine: Engine, sql: &str) -> std::borrow::Cow<'_, str> {
    match engine {
        Engine::Sqlite => sql.into(),
        Engine::Postgres => sql
            .replace("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")
            .into(),
    }
}

impl Db {
    /// Connects (creating a SQLite file if missing) without migrating.
    pub async fn connect(url: &str) -> Result<Db> {
        sqlx::any::install_default_drivers();
        let engine = if url.starts_with("sqlite:") { Engine::Sqlite } else { Engine::Postgres };
        let url = match engine {
            Engine::Sqlite if !url.contains('?') && !url.contains(":memory:") => format!("{url}?mode=rwc"),
            _ => url.to_string(),
        };
        let opts = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(if engine == Engine::Sqlite { 8 } else { 10 })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if engine == Engine::Sqlite {
                        // WAL lets readers proceed during writes; FULL makes every commit durable
                        // before it is acknowledged.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(opts)
            .await?;
        Ok(Db { pool, engine })
    }

    /// Applies every migration not yet recorded, each in its own transaction, on one connection.
    /// On PostgreSQL an advisory lock makes instances starting together take turns.
    pub async fn migrate(&self) -> Result<Vec<i64>> {
        self.migrate_up_to(i64::MAX).await
    }

    /// [`Db::migrate`], stopping after migration `last` (tests of a migration over existing rows).
    pub async fn migrate_up_to(&self, last: i64) -> Result<Vec<i64>> {
        use sqlx::Connection;
        let mut conn = self.pool.acquire().await?;
        if self.engine == Engine::Postgres {
            sqlx::query("SELECT pg_advisory_lock($1)").bind(MIGRATION_LOCK).execute(&mut *conn).await?;
        }
        let result = async {
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
            )
            .await?;
            let begin = match self.engine {
                Engine::Sqlite => "BEGIN IMMEDIATE",
                Engine::Postgres => "BEGIN",
            };
            let mut applied = Vec::new();
            for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v <= last) {
                // Checked inside the write transaction: another process may have applied it while
                // this one waited for the lock.
                let mut tx = conn.begin_with(begin).await?;
                let done = sqlx::query("SELECT version FROM schema_migrations WHERE version = $1")
                    .bind(*version)
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_some();
                if done {
                    tx.commit().await?;
                    continue;
                }
                let sql = migration_sql(self.engine, *version, sql);
                sqlx::raw_sql(&sql).execute(&mut *tx).await?;
                sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
                    .bind(*version)
                    .bind(jiff::Timestamp::now().as_millisecond())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                applied.push(*version);
            }
            Ok::<_, StoreError>(applied)
        }
        .await;
        if self.engine == Engine::Postgres {
            sqlx::query("SELECT pg_advisory_unlock($1)").bind(MIGRATION_LOCK).execute(&mut *conn).await?;
        }
        result
    }

    /// Starts a write transaction.
    pub async fn begin(&self) -> Result<Tx> {
        let stmt = match self.engine {
            Engine::Sqlite => "BEGIN IMMEDIATE",
            Engine::Postgres => "BEGIN",
        };
        Ok(self.pool.begin_with(stmt).await?)
    }

    /// True when the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").fetch_one(&self.pool).await.is_ok()
    }
}

/// A 0/1 integer column read into a `bool` field: booleans are integers on both engines, and
/// sqlx's `Any` decodes `bool` only from a real boolean. Used as `#[sqlx(try_from = "Flag")]`.
#[derive(sqlx::Type)]
#[sqlx(transparent)]
pub struct Flag(i64);

impl From<Flag> for bool {
    fn from(f: Flag) -> bool {
        f.0 != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_translate_only_identity_columns_for_postgres() {
        let ddl = "CREATE TABLE t (\n    id INTEGER PRIMARY KEY AUTOINCREMENT,\n    n BIGINT NOT NULL\n);";
        assert_eq!(dialect(Engine::Sqlite, ddl), ddl);
        let pg = dialect(Engine::Postgres, ddl);
        assert!(pg.contains("id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"), "{pg}");
        assert!(pg.contains("n BIGINT NOT NULL"));
        for (_, sql) in MIGRATIONS {
            assert!(!dialect(Engine::Postgres, sql).contains("AUTOINCREMENT"));
        }
    }
}
