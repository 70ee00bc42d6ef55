//! SQL for the audit log: who did what, when, from where. Never a secret.

use super::{Db, Result};
use sqlx::{Any, Executor};
use tokio::sync::mpsc;

/// One audit entry.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub org_id: Option<i64>,
    pub page_id: Option<i64>,
    pub actor_kind: String,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub action: String,
    pub target_kind: String,
    pub target_id: Option<i64>,
    pub ip: String,
    pub detail: String,
}

pub async fn insert<'c, E: Executor<'c, Database = Any>>(e: E, a: &AuditRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, org_id, page_id, actor_kind, actor_id, actor_name, action, target_kind, target_id, ip, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(a.at)
    .bind(a.org_id)
    .bind(a.page_id)
    .bind(&a.actor_kind)
    .bind(a.actor_id)
    .bind(&a.actor_name)
    .bind(&a.action)
    .bind(&a.target_kind)
    .bind(a.target_id)
    .bind(&a.ip)
    .bind(&a.detail)
    .execute(e)
    .await?;
    Ok(())
}

/// Filter for listing audit entries; newest first, `before` is an id cursor.
pub struct AuditFilter<'a> {
    pub org_id: i64,
    /// `Some(page)` for one page; `None` for the whole org.
    pub page_id: Option<i64>,
    pub target: Option<(&'a str, i64)>,
    pub before: i64,
    pub limit: i64,
}

pub async fn list<'c, E: Executor<'c, Database = Any>>(e: E, f: &AuditFilter<'_>) -> Result<Vec<AuditRow>> {
    let mut sql = String::from(
        "SELECT id, at, org_id, page_id, actor_kind, actor_id, actor_name, action, target_kind, target_id, ip, detail \
         FROM audit_log WHERE org_id = $1 AND id < $2",
    );
    if f.page_id.is_some() {
        sql.push_str(" AND page_id = $3");
    } else {
        sql.push_str(" AND $3 = 0");
    }
    if f.target.is_some() {
        sql.push_str(" AND target_kind = $4 AND target_id = $5");
    } else {
        sql.push_str(" AND $4 = '' AND $5 = 0");
    }
    sql.push_str(" ORDER BY id DESC LIMIT $6");
    let (tk, tid) = f.target.unwrap_or(("", 0));
    Ok(sqlx::query_as(&sql)
        .bind(f.org_id)
        .bind(f.before)
        .bind(f.page_id.unwrap_or(0))
        .bind(tk)
        .bind(tid)
        .bind(f.limit)
        .fetch_all(e)
        .await?)
}

/// A bounded queue of audit rows written in batches by a background task (the rows of
/// authentication failures, which must never wait on the database).
#[derive(Clone)]
pub struct AuditQueue {
    tx: mpsc::Sender<AuditRow>,
    dropped: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl AuditQueue {
    /// Starts the writer task on the current runtime.
    pub fn start(db: Db) -> AuditQueue {
        let (tx, mut rx) = mpsc::channel::<AuditRow>(10_000);
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                while batch.len() < 500 {
                    match rx.try_recv() {
                        Ok(r) => batch.push(r),
                        Err(_) => break,
                    }
                }
                if let Err(e) = write_batch(&db, &batch).await {
                    tracing::error!(error = %e, lost = batch.len(), "audit batch not written");
                }
            }
        });
        AuditQueue { tx, dropped: Default::default() }
    }

    /// Queues a row; if the queue is full the row is dropped and that is logged.
    pub fn push(&self, row: AuditRow) {
        if self.tx.try_send(row).is_err() {
            // Under a flood of garbage credentials: say so once per thousand, not per request.
            let n = self.dropped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if n.is_multiple_of(1000) {
                tracing::warn!(dropped_total = n + 1, "audit queue full; authentication-failure events dropped");
            }
        }
    }
}

async fn write_batch(db: &Db, batch: &[AuditRow]) -> Result<()> {
    let mut tx = db.begin().await?;
    for r in batch {
        insert(&mut *tx, r).await?;
    }
    tx.commit().await?;
    Ok(())
}
