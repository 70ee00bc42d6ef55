//! SQL for the audit log: who did what, when, from where. Never a secret.

use super::Result;
use sqlx::{Any, Executor};

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
