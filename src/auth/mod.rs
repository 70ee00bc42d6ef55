//! Credentials and the permission model, free of HTTP and SQL.

pub mod digest;
pub mod guessing;
pub mod password;
pub mod policy;
pub mod token;
