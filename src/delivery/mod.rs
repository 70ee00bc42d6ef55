//! Adapters that carry messages out of the process: SMTP today, webhooks later.

pub mod message;
pub mod smtp;
