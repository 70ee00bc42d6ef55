//! The JSON API, one file per resource; a handler states its access requirement, calls one
//! service and answers a presenter. `*_public` files are the anonymous reads of a page host.

pub mod auth;
pub mod co_managers;
pub mod hierarchy;
pub mod incidents;
pub mod invitations;
pub mod maintenances;
pub mod maintenances_public;
pub mod manage;
pub mod members;
pub mod notices;
pub mod ops;
pub mod org;
pub mod page_admin;
pub mod public;
pub mod reader_feeds;
pub mod reader_feeds_admin;
pub mod status;
pub mod subscribers;
pub mod tokens;
pub mod views;
pub mod views_public;
