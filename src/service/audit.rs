//! The audit log: lifecycle events are written in the same transaction as the change; failed
//! authentications go through a bounded queue to a background writer, so turning away garbage
//! credentials never waits on the database.

use crate::store::audit::{self as sql, AuditQueue, AuditRow};
use crate::store::Tx;

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

/// Queues an event for the background writer: recording an authentication failure never waits
/// on the database (a full queue drops the event, and says so in the log).
pub fn enqueue(queue: &AuditQueue, actor: &Actor, e: Event<'_>, now: i64) {
    queue.push(row(actor, e, now));
}
