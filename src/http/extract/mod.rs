//! From a request to typed input and back to an error answer: the caller (`principal`), the
//! session cookie, JSON bodies, list queries, and the one error envelope.

pub mod cookies;
pub mod error;
pub mod json;
pub mod list;
pub mod principal;
