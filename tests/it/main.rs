//! One integration-test binary: every scenario runs on SQLite and on PostgreSQL.

mod admin_web;
mod harness;
mod process;
mod smoke;
