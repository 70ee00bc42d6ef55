//! Password hashing with Argon2id at the OWASP baseline (m = 19 MiB, t = 2, p = 1).
//!
//! Hashing runs on the blocking pool behind a semaphore, so a login flood cannot starve the
//! runtime that serves public pages.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::{Arc, OnceLock};
use tokio::sync::Semaphore;

/// Longest password accepted, to bound hashing cost.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 params");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn permits() -> &'static Arc<Semaphore> {
    static P: OnceLock<Arc<Semaphore>> = OnceLock::new();
    P.get_or_init(|| Arc::new(Semaphore::new(2)))
}

/// A PHC string for a dummy password, verified against when a user does not exist so that
/// "unknown user" and "wrong password" take the same time.
fn dummy_hash() -> &'static str {
    static D: OnceLock<String> = OnceLock::new();
    D.get_or_init(|| hash_blocking("not-a-real-password-at-all"))
}

fn hash_blocking(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashing cannot fail with valid params")
        .to_string()
}

fn verify_blocking(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => argon2().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// Hashes a password into a PHC string.
pub async fn hash(password: String) -> String {
    let _permit = permits().clone().acquire_owned().await.expect("semaphore never closed");
    tokio::task::spawn_blocking(move || hash_blocking(&password)).await.expect("hashing task does not panic")
}

/// Verifies `password` against `phc`, or against a dummy hash when there is no user.
pub async fn verify(password: String, phc: Option<String>) -> bool {
    let _permit = permits().clone().acquire_owned().await.expect("semaphore never closed");
    tokio::task::spawn_blocking(move || match phc {
        Some(phc) => verify_blocking(&password, &phc),
        None => {
            let _ = verify_blocking(&password, dummy_hash());
            false
        }
    })
    .await
    .expect("verify task does not panic")
}

/// Warms the dummy hash so the first unknown-user login is not slower than the rest.
pub fn warm_up() {
    let _ = dummy_hash();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_differ() {
        let a = hash("correct horse".into()).await;
        let b = hash("correct horse".into()).await;
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b, "salted");
        assert!(verify("correct horse".into(), Some(a.clone())).await);
        assert!(!verify("Correct horse".into(), Some(a)).await);
        assert!(!verify("anything".into(), None).await);
    }
}
