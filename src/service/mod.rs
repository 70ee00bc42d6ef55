//! Use cases: one transaction each, with their audit entries. Knows nothing of HTTP.

pub mod access;
pub mod audit;
pub mod credentials;
pub mod directory;
pub mod error;
pub mod org;
pub mod readers;
pub mod status;

pub use error::{Error, Result};
