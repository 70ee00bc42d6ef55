//! One integration-test binary: every scenario runs on SQLite and on PostgreSQL.

mod abuse;
mod admin_subscribers;
mod admin_web;
mod auth_matrix;
mod conventions;
mod cross_tenant;
mod delivery;
mod dns_server;
mod domains;
mod feeds;
mod harness;
mod hosts;
mod mail_end_to_end;
mod maintenances;
mod notifications;
mod private_pages;
mod process;
mod reader_feeds;
mod sessions;
mod smoke;
mod smtp_sink;
mod status_model;
mod subscribers;
mod token_lifecycle;
mod views;
mod webhooks;
