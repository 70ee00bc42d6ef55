//! The one error type of the service layer; `http::error` turns it into responses.

use crate::domain::types::Invalid;
use crate::store::StoreError;

/// What went wrong in a use case, in terms a caller can act on.
#[derive(Debug)]
pub enum Error {
    /// Input failed a rule (400). `field` names the offending field when there is one.
    Invalid { field: Option<String>, message: String },
    /// A bounded collection is full, or a request asks for more than a bound allows (400,
    /// `limit_reached`); nothing was written. `field` names the offending field when there is one.
    LimitReached { field: Option<String>, message: String },
    /// No credential, or one that is not valid here (401).
    Unauthorized,
    /// A valid credential without the needed access (403).
    Forbidden(String),
    /// Not found, or not visible to this caller (404).
    NotFound(&'static str),
    /// The request conflicts with existing state (409).
    Conflict { code: &'static str, message: String },
    /// Too many attempts; retry after this many seconds (429).
    TooMany { retry_after: u64 },
    /// A dependency outside us (DNS, SMTP) did not answer; worth retrying (503).
    Unavailable(String),
    /// A dependency failed; the detail is logged, never shown (500).
    Internal(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A validation error on a named field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Error::Invalid { field: Some(field.to_string()), message: format!("{field}: {}", message.into()) }
    }

    /// A bound was reached (400 `limit_reached`); the message says which bound and its number.
    pub fn limit(field: Option<&str>, message: impl Into<String>) -> Self {
        let message = message.into();
        Error::LimitReached {
            message: match field {
                Some(f) => format!("{f}: {message}"),
                None => message,
            },
            field: field.map(str::to_string),
        }
    }

    /// Maps a domain parse failure to a field error.
    pub fn invalid(field: &str) -> impl FnOnce(Invalid) -> Error + '_ {
        move |e| Error::field(field, e.0)
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => {
                tracing::debug!(constraint = %what, "unique violation");
                Error::Conflict { code: "conflict", message: "already exists".into() }
            }
            StoreError::Other(e) => Error::Internal(e.to_string()),
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        StoreError::from(e).into()
    }
}
