//! The password gate of private pages: a viewer grant is a cookie for one host and one page.

use crate::app::App;
use crate::auth::password;
use crate::auth::token::{PlainToken, TokenKind};
use crate::clock::DAY;
use crate::domain::host::client_bucket;
use crate::service::audit::{self, Actor, Event};
use crate::service::error::{Error, Result};
use crate::store;
use crate::store::pages::PageRow;

/// How long a viewer stays let in.
pub const VIEWER_GRANT_LIFETIME: i64 = 7 * DAY;

/// Checks the shared viewer password (throttled like logins) and issues a grant.
pub async fn grant(app: &App, page: &PageRow, password_in: &str, ip: &str) -> Result<PlainToken> {
    let now = app.now();
    let account = format!("viewer:{}", page.id);
    let address = format!("viewer-ip:{}", client_bucket(ip));
    if let Err(retry_after) = app.login_throttle.attempt(&account, &address, now) {
        refused(app, page, ip, "throttled");
        return Err(Error::TooMany { retry_after });
    }
    let ok = page.visibility == "private"
        && password_in.len() <= password::MAX_PASSWORD_BYTES
        && password::verify(password_in.to_string(), page.viewer_password_hash.clone()).await;
    if !ok {
        refused(app, page, ip, "wrong_password");
        return Err(Error::Unauthorized);
    }
    app.login_throttle.succeeded(&account, &address);
    let secret = app.new_token(TokenKind::Viewer);
    let mut tx = app.db.begin().await?;
    store::viewer_grants::insert_viewer_grant(
        &mut *tx,
        page.id,
        &secret.hash().to_hex(),
        now,
        now + VIEWER_GRANT_LIFETIME,
    )
    .await?;
    tx.commit().await?;
    Ok(secret)
}

/// Records a refused viewer password (an authentication failure) in the page's audit log.
fn refused(app: &App, page: &PageRow, ip: &str, reason: &str) {
    let actor = Actor { kind: "anonymous", id: None, name: String::new(), ip: ip.to_string() };
    let event = Event {
        org_id: Some(page.org_id),
        page_id: Some(page.id),
        action: "auth.viewer_failed",
        target_kind: "page",
        target_id: Some(page.id),
        detail: serde_json::json!({ "reason": reason }),
    };
    audit::enqueue(&app.audit, &actor, event, app.now());
}

/// True when the cookie value is a live grant for this page.
pub async fn admits(app: &App, page: &PageRow, raw: &str) -> Result<bool> {
    let Ok(token) = PlainToken::parse_kind(raw, TokenKind::Viewer) else {
        return Ok(false);
    };
    Ok(store::viewer_grants::viewer_grant_page(&app.db.pool, &token.hash().to_hex(), app.now()).await? == Some(page.id))
}
