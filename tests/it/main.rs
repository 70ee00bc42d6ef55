//! One integration-test binary: every scenario runs on SQLite and on PostgreSQL.

mod harness;
mod process;
mod smoke;
