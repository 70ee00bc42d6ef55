//! Credentials: API tokens, sessions and private pages' viewer grants (what `access` turns into
//! principals).

pub mod sessions;
pub mod tokens;
pub mod viewer;
