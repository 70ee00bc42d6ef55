//! SQL for the `users` table (people who can sign in).

use super::Result;
use sqlx::{Any, Executor};

/// A person who can sign in.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub created_at: i64,
    pub password_changed_at: i64,
}

const COLS: &str = "id, email, name, password_hash, created_at, password_changed_at";

pub async fn insert_user<'c, E: Executor<'c, Database = Any>>(
    e: E,
    email: &str,
    name: &str,
    password_hash: &str,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO users (email, name, password_hash, created_at, password_changed_at) \
         VALUES ($1, $2, $3, $4, $4) RETURNING id",
    )
    .bind(email)
    .bind(name)
    .bind(password_hash)
    .bind(now)
    .fetch_one(e)
    .await?)
}

pub async fn user_by_email<'c, E: Executor<'c, Database = Any>>(e: E, email: &str) -> Result<Option<UserRow>> {
    Ok(sqlx::query_as(&format!("SELECT {COLS} FROM users WHERE email = $1")).bind(email).fetch_optional(e).await?)
}

pub async fn user_by_id<'c, E: Executor<'c, Database = Any>>(e: E, id: i64) -> Result<Option<UserRow>> {
    Ok(sqlx::query_as(&format!("SELECT {COLS} FROM users WHERE id = $1")).bind(id).fetch_optional(e).await?)
}

pub async fn set_password<'c, E: Executor<'c, Database = Any>>(e: E, user_id: i64, hash: &str, now: i64) -> Result<()> {
    sqlx::query("UPDATE users SET password_hash = $2, password_changed_at = $3 WHERE id = $1")
        .bind(user_id)
        .bind(hash)
        .bind(now)
        .execute(e)
        .await?;
    Ok(())
}
