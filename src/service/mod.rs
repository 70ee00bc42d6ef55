//! Use cases: one transaction each, with their audit entries. Knows nothing of HTTP.

pub mod access;
pub mod audit;
pub mod bootstrap;
pub mod co_managers;
pub mod directory;
pub mod domains;
pub mod error;
pub mod hierarchy;
pub mod incidents;
pub mod invitations;
pub mod maintenances;
pub mod member_scope;
pub mod members;
pub mod notices;
pub mod notify;
pub mod outbox;
pub mod pages;
pub mod reader_feeds;
pub mod sessions;
pub mod status;
pub mod subscribers;
pub mod tokens;
pub mod viewer;
pub mod views;

pub use error::{Error, Result};
