//! Domain types and rules, free of HTTP and SQL. Constructors are the only validation.

pub mod delivery;
pub mod host;
pub mod html;
pub mod maintenance;
pub mod scope;
pub mod status;
pub mod types;
pub mod views;
