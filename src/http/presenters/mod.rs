//! Presenters: every JSON answer as a `Serialize` type, so its shape is stated (and a schema can
//! be derived from it). A list's compact form is the type itself; its `?view=full` form adds the
//! fields of an optional, flattened part.
//!
//! Moved here so far: API tokens, audit entries, members, sign-in answers, the context, the status model's
//! vocabulary and components, and subscribers with their delivery log; the other answers are
//! still built with `json!` in their handlers (issue 9 continues).

pub mod notices;
pub mod people;
pub mod sessions;
pub mod status_model;
pub mod status_public;
pub mod subscribers;
