//! SQL for the membership tables `org_members` and `page_members`. Both have one shape,
//! `(<group key>, user_id, role, created_at)` with the pair as primary key, so one set of
//! statements serves both; which table a statement names comes from [`Group`], never a request.

use super::orgs::OrgRow;
use super::Result;
use sqlx::{Any, Executor};

/// What a membership is of: an org or a page, by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Org(i64),
    Page(i64),
}

impl Group {
    /// The membership table, its key column and the group's id.
    fn parts(self) -> (&'static str, &'static str, i64) {
        match self {
            Group::Org(id) => ("org_members", "org_id", id),
            Group::Page(id) => ("page_members", "page_id", id),
        }
    }
}

/// A membership joined with the user it names.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberRow {
    pub user_id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
    pub created_at: i64,
}

/// Adds a member, or changes the role of one.
pub async fn upsert<'c, E: Executor<'c, Database = Any>>(
    e: E,
    group: Group,
    user_id: i64,
    role: &str,
    now: i64,
) -> Result<()> {
    let (table, key, id) = group.parts();
    sqlx::query(&format!(
        "INSERT INTO {table} ({key}, user_id, role, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT ({key}, user_id) DO UPDATE SET role = excluded.role"
    ))
    .bind(id)
    .bind(user_id)
    .bind(role)
    .bind(now)
    .execute(e)
    .await?;
    Ok(())
}

/// The role a user holds in the group, if any.
pub async fn role<'c, E: Executor<'c, Database = Any>>(e: E, group: Group, user_id: i64) -> Result<Option<String>> {
    let (table, key, id) = group.parts();
    Ok(sqlx::query_scalar(&format!("SELECT role FROM {table} WHERE {key} = $1 AND user_id = $2"))
        .bind(id)
        .bind(user_id)
        .fetch_optional(e)
        .await?)
}

/// Members of the group in user id order after a cursor.
pub async fn list<'c, E: Executor<'c, Database = Any>>(
    e: E,
    group: Group,
    after: i64,
    limit: i64,
) -> Result<Vec<MemberRow>> {
    let (table, key, id) = group.parts();
    Ok(sqlx::query_as(&format!(
        "SELECT m.user_id, u.email, u.name, m.role, m.created_at FROM {table} m \
         JOIN users u ON u.id = m.user_id WHERE m.{key} = $1 AND m.user_id > $2 ORDER BY m.user_id LIMIT $3"
    ))
    .bind(id)
    .bind(after)
    .bind(limit)
    .fetch_all(e)
    .await?)
}

/// Removes a member; false when the user was none.
pub async fn delete<'c, E: Executor<'c, Database = Any>>(e: E, group: Group, user_id: i64) -> Result<bool> {
    let (table, key, id) = group.parts();
    let r = sqlx::query(&format!("DELETE FROM {table} WHERE {key} = $1 AND user_id = $2"))
        .bind(id)
        .bind(user_id)
        .execute(e)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// An org joined with the role a user holds in it.
#[derive(sqlx::FromRow)]
struct OrgRole {
    #[sqlx(flatten)]
    org: OrgRow,
    role: String,
}

/// Every org a user belongs to, with the role.
pub async fn orgs_of_user<'c, E: Executor<'c, Database = Any>>(e: E, user_id: i64) -> Result<Vec<(OrgRow, String)>> {
    let rows: Vec<OrgRole> = sqlx::query_as(
        "SELECT o.id, o.name, o.slug, o.created_at, m.role FROM orgs o \
         JOIN org_members m ON m.org_id = o.id WHERE m.user_id = $1 ORDER BY o.id",
    )
    .bind(user_id)
    .fetch_all(e)
    .await?;
    Ok(rows.into_iter().map(|r| (r.org, r.role)).collect())
}

pub async fn count_org_admins<'c, E: Executor<'c, Database = Any>>(e: E, org_id: i64) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM org_members WHERE org_id = $1 AND role = 'org_admin'")
        .bind(org_id)
        .fetch_one(e)
        .await?)
}

/// Removes a user's page memberships on every page of one org (when they leave the org).
pub async fn delete_page_members_in_org<'c, E: Executor<'c, Database = Any>>(
    e: E,
    org_id: i64,
    user_id: i64,
) -> Result<()> {
    sqlx::query("DELETE FROM page_members WHERE user_id = $1 AND page_id IN (SELECT id FROM pages WHERE org_id = $2)")
        .bind(user_id)
        .bind(org_id)
        .execute(e)
        .await?;
    Ok(())
}

/// Page roles of a user across all live pages: (org id, page id, role), for `/auth/me`.
pub async fn page_roles_of_user<'c, E: Executor<'c, Database = Any>>(
    e: E,
    user_id: i64,
) -> Result<Vec<(i64, i64, String)>> {
    Ok(sqlx::query_as(
        "SELECT p.org_id, m.page_id, m.role FROM page_members m JOIN pages p ON p.id = m.page_id \
         WHERE m.user_id = $1 AND p.deleted_at IS NULL ORDER BY m.page_id",
    )
    .bind(user_id)
    .fetch_all(e)
    .await?)
}
