//! Sign-in: login with throttling and no user enumeration, logout, password change, `me`.

use crate::app::App;
use crate::auth::password;
use crate::auth::token::{PlainToken, TokenKind};
use crate::domain::host::client_bucket;
use crate::domain::types::Email;
use crate::service::access::{SessionPrincipal, SESSION_ABSOLUTE};
use crate::service::audit::{self, Actor, Event};
use crate::service::error::{Error, Result};
use crate::store;
use crate::store::orgs::OrgRow;
use crate::store::users::UserRow;

/// The CSRF token of a session: derived from the session secret, so nothing extra is stored and
/// it changes with every new session.
pub fn csrf_token(session: &PlainToken) -> String {
    let h = crate::auth::digest::sha256_hex(format!("csrf:{}", session.expose()).as_bytes());
    h[..32].to_string()
}

/// Checks credentials and opens a new session (a new id at every login).
pub async fn login(app: &App, email: &str, password_in: &str, ip: &str) -> Result<(SessionPrincipal, PlainToken)> {
    let now = app.now();
    let account = format!("login:{}", email.trim().to_ascii_lowercase());
    let address = format!("login-ip:{}", client_bucket(ip));
    let actor = Actor { kind: "anonymous", id: None, name: String::new(), ip: ip.to_string() };
    if let Err(retry_after) = app.login_throttle.attempt(&account, &address, now) {
        // A throttled attempt is an authentication failure too (SPEC §2): record it.
        login_failed(app, &actor, now, "throttled");
        return Err(Error::TooMany { retry_after });
    }
    // An account made before the mailbox rules tightened (decision 0010) may hold an address
    // `Email::parse` now refuses: look it up as typed, so its owner can still sign in.
    let lookup = match Email::parse(email) {
        Ok(e) => e.as_str().to_string(),
        Err(_) => email.trim().to_ascii_lowercase(),
    };
    let user = if lookup.len() <= 254 { store::users::user_by_email(&app.db.pool, &lookup).await? } else { None };
    let ok = password_in.len() <= password::MAX_PASSWORD_BYTES
        && password::verify(password_in.to_string(), user.as_ref().map(|u| u.password_hash.clone())).await;
    let Some(user) = user.filter(|_| ok) else {
        login_failed(app, &actor, now, "wrong_credentials");
        return Err(Error::Unauthorized);
    };
    app.login_throttle.succeeded(&account, &address);
    open_session(app, &user, ip).await
}

/// Opens a new session for `user` (after a login, or when an invitee has just set a password).
pub async fn open_session(app: &App, user: &UserRow, ip: &str) -> Result<(SessionPrincipal, PlainToken)> {
    let now = app.now();
    let secret = app.new_token(TokenKind::Session);
    let mut tx = app.db.begin().await?;
    let sid =
        store::sessions::insert_session(&mut *tx, user.id, &secret.hash().to_hex(), now, now + SESSION_ABSOLUTE, ip)
            .await?;
    let actor = Actor { kind: "session", id: Some(user.id), name: user.email.clone(), ip: ip.to_string() };
    audit::record(
        &mut tx,
        &actor,
        Event {
            org_id: None,
            page_id: None,
            action: "session.created",
            target_kind: "session",
            target_id: Some(sid),
            detail: serde_json::json!({}),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    let who =
        SessionPrincipal { session_id: sid, user_id: user.id, email: user.email.clone(), name: user.name.clone() };
    Ok((who, secret))
}

fn login_failed(app: &App, actor: &Actor, now: i64, reason: &str) {
    let detail = serde_json::json!({ "reason": reason });
    let event = Event {
        org_id: None,
        page_id: None,
        action: "auth.login_failed",
        target_kind: "user",
        target_id: None,
        detail,
    };
    audit::enqueue(&app.audit, actor, event, now);
}

/// Ends one session server-side.
pub async fn logout(app: &App, s: &SessionPrincipal, ip: &str) -> Result<()> {
    let now = app.now();
    let mut tx = app.db.begin().await?;
    store::sessions::revoke_session(&mut *tx, s.session_id, now).await?;
    let actor = Actor { kind: "session", id: Some(s.user_id), name: s.email.clone(), ip: ip.to_string() };
    audit::record(
        &mut tx,
        &actor,
        Event {
            org_id: None,
            page_id: None,
            action: "session.revoked",
            target_kind: "session",
            target_id: Some(s.session_id),
            detail: serde_json::json!({}),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Validates a new password against the policy (length only; no composition rules).
pub fn check_new_password(p: &str) -> Result<()> {
    if p.chars().count() < password::MIN_PASSWORD_CHARS {
        return Err(Error::field("new_password", "must be at least 8 characters"));
    }
    if p.len() > password::MAX_PASSWORD_BYTES {
        return Err(Error::field("new_password", "must be at most 1024 bytes"));
    }
    Ok(())
}

/// Changes the password, revokes every session of the user and opens a fresh one.
pub async fn change_password(
    app: &App,
    s: &SessionPrincipal,
    current: &str,
    new: &str,
    ip: &str,
) -> Result<PlainToken> {
    check_new_password(new)?;
    let user = store::users::user_by_id(&app.db.pool, s.user_id).await?.ok_or(Error::Unauthorized)?;
    // A stolen session must not become an unlimited password oracle.
    let (account, address) = (format!("password:{}", user.id), format!("login-ip:{}", client_bucket(ip)));
    if let Err(retry_after) = app.login_throttle.attempt(&account, &address, app.now()) {
        return Err(Error::TooMany { retry_after });
    }
    if current.len() > password::MAX_PASSWORD_BYTES
        || !password::verify(current.to_string(), Some(user.password_hash.clone())).await
    {
        return Err(Error::Forbidden("current_password is wrong".into()));
    }
    app.login_throttle.succeeded(&account, &address);
    let hash = password::hash(new.to_string()).await;
    let now = app.now();
    let secret = app.new_token(TokenKind::Session);
    let mut tx = app.db.begin().await?;
    store::users::set_password(&mut *tx, user.id, &hash, now).await?;
    let revoked = store::sessions::revoke_user_sessions(&mut *tx, user.id, now).await?;
    let sid =
        store::sessions::insert_session(&mut *tx, user.id, &secret.hash().to_hex(), now, now + SESSION_ABSOLUTE, ip)
            .await?;
    let actor = Actor { kind: "session", id: Some(user.id), name: user.email.clone(), ip: ip.to_string() };
    audit::record(
        &mut tx,
        &actor,
        Event {
            org_id: None,
            page_id: None,
            action: "user.password_changed",
            target_kind: "user",
            target_id: Some(user.id),
            detail: serde_json::json!({"sessions_revoked": revoked, "new_session": sid}),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(secret)
}

/// What `/auth/me` shows: the orgs (with role) and page roles of the user.
pub async fn memberships(app: &App, user_id: i64) -> Result<(Vec<(OrgRow, String)>, Vec<(i64, i64, String)>)> {
    let orgs = store::members::orgs_of_user(&app.db.pool, user_id).await?;
    let pages = store::members::page_roles_of_user(&app.db.pool, user_id).await?;
    Ok((orgs, pages))
}
