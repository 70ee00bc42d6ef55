//! Adapters that carry messages out of the process: SMTP for mail, HTTP for webhooks.

pub mod message;
pub mod smtp;
pub mod smtp_url;
pub mod tls;
pub mod webhook;
