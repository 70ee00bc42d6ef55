//! What runs around every request: the accept loop (`server`), the front door (`ctx`: host,
//! tenancy, rate limits, access log), the response policy (`headers`) and the caches the front
//! door serves from.

pub mod ctx;
pub mod headers;
pub mod server;
pub mod summary_cache;
