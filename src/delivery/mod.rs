//! Adapters that carry messages out of the process: SMTP for mail, HTTP for webhooks.

pub mod message;
pub mod smtp;
pub mod tls;
pub mod webhook;
