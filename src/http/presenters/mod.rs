//! Presenters: every JSON answer as a `Serialize` type, so its shape is stated (and a schema can
//! be derived from it). A list's compact form is the type itself; its `?view=full` form adds the
//! fields of an optional, flattened part.
//!
//! One file per resource family. A handler builds its answer from service results through
//! these types only; `json!` is left for free-form documents the caller stored (audit details,
//! settings), which travel as `serde_json::Value` fields of a typed answer.

pub mod invitations;
pub mod notices;
pub mod pages;
pub mod people;
pub mod reader_feeds;
pub mod readers;
pub mod sessions;
pub mod status_model;
pub mod status_public;
pub mod subscribers;
pub mod views;
