//! The audit log: lifecycle events are written in the same transaction as the change; failed
//! authentications go through a bounded queue to a background writer, so turning away garbage
//! credentials never waits on the database.

use crate::store::audit::{self as sql, AuditRow};
use crate::store::{Db, Tx};
use tokio::sync::mpsc;

/// Who did something, as the audit log records it (never a secret).
#[derive(Debug, Clone)]
pub struct Actor {
    /// `api_token`, `session`, `anonymous`, `system`, `cli`.
    pub kind: &'static str,
    pub id: Option<i64>,
    pub name: String,
    pub ip: String,
}

impl Actor {
    /// The actor for work done by the server itself or the command line.
    pub fn system(kind: &'static str) -> Actor {
        Actor { kind, id: None, name: kind.to_string(), ip: String::new() }
    }
}

/// One event to record.
pub struct Event<'a> {
    pub org_id: Option<i64>,
    pub page_id: Option<i64>,
    pub action: &'a str,
    pub target_kind: &'a str,
    pub target_id: Option<i64>,
    pub detail: serde_json::Value,
}

fn row(actor: &Actor, e: Event<'_>, now: i64) -> AuditRow {
    AuditRow {
        id: 0,
        at: now,
        org_id: e.org_id,
        page_id: e.page_id,
        actor_kind: actor.kind.to_string(),
        actor_id: actor.id,
        actor_name: actor.name.clone(),
        action: e.action.to_string(),
        target_kind: e.target_kind.to_string(),
        target_id: e.target_id,
        ip: actor.ip.clone(),
        detail: e.detail.to_string(),
    }
}

/// Records an event inside the caller's transaction.
pub async fn record(tx: &mut Tx, actor: &Actor, e: Event<'_>, now: i64) -> crate::store::Result<()> {
    sql::insert(&mut **tx, &row(actor, e, now)).await
}

/// A queue of audit rows written by a background task.
#[derive(Clone)]
pub struct AuditSink {
    tx: mpsc::Sender<AuditRow>,
    dropped: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl AuditSink {
    /// Starts the writer task on the current runtime.
    pub fn start(db: Db) -> AuditSink {
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
        AuditSink { tx, dropped: Default::default() }
    }

    /// Queues an event; if the queue is full the event is dropped and that is logged.
    pub fn enqueue(&self, actor: &Actor, e: Event<'_>, now: i64) {
        if self.tx.try_send(row(actor, e, now)).is_err() {
            // Under a flood of garbage credentials: say so once per thousand, not per request.
            let n = self.dropped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if n.is_multiple_of(1000) {
                tracing::warn!(dropped_total = n + 1, "audit queue full; authentication-failure events dropped");
            }
        }
    }
}

async fn write_batch(db: &Db, batch: &[AuditRow]) -> crate::store::Result<()> {
    let mut tx = db.begin().await?;
    for r in batch {
        sql::insert(&mut *tx, r).await?;
    }
    tx.commit().await?;
    Ok(())
}
