//! StatiBeat: self-hostable, multi-tenant status pages.
//!
//! Layers: `http` (routing, extractors, responses) → `service` (use cases, authorisation,
//! transactions) → `store` (SQL on SQLite and PostgreSQL). `auth` and `domain` are pure.

pub mod app;
pub mod auth;
pub mod changes;
pub mod cli;
pub mod clock;
pub mod config;
pub mod delivery;
pub mod dns;
pub mod domain;
pub mod http;
pub mod jobs;
pub mod limits;
pub mod service;
pub mod store;
