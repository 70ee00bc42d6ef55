//! Opening a view: finding it by code or alias, and the viewer-access flow of protected views
//! (an emailed single-use link, `sbm_`, exchanged once for a viewer token, `sbx_`, bound to the
//! view). Both are rows of `magic_tokens` with their own kinds, so neither opens the manage
//! workspace, and a manage session never opens a protected view.

use super::{doc, ViewDoc};
use crate::app::App;
use crate::auth::token::{PlainToken, TokenKind};
use crate::clock::{DAY, MINUTE};
use crate::domain::types::Email;
use crate::domain::views::{plausible_code, AccessMode};
use crate::service::access::{refuse, Refusal};
use crate::service::error::{Error, Result};
use crate::store::magic_tokens::{self, NewViewToken};
use crate::store::outbox::{enqueue_mail, NewMessage};
use crate::store::pages::PageRow;
use crate::store::views as sql;

/// `magic_tokens.kind` of an emailed viewer-access link.
pub const LINK_KIND: &str = "view_link";
/// `magic_tokens.kind` of a viewer token.
pub const SESSION_KIND: &str = "view_session";
/// How long an emailed link can be exchanged.
pub const LINK_LIFETIME: i64 = 30 * MINUTE;
/// How long a viewer token opens its view (absolute; a new link gives a new one).
pub const VIEWER_LIFETIME: i64 = DAY;

/// A view of this page by short code or alias; anything else (another page's view too) is 404.
pub async fn find(app: &App, page: &PageRow, code: &str) -> Result<ViewDoc> {
    if !plausible_code(code) {
        return Err(Error::NotFound("view"));
    }
    let view = sql::by_code(&app.db.pool, page.id, code).await?.ok_or(Error::NotFound("view"))?;
    doc(app, view).await
}

/// Whether a request may read a view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// A public view: no token needed.
    Open,
    /// A protected view and a live viewer token for it, valid until this time.
    Granted { expires_at: i64 },
    /// A protected view and no token.
    Required,
}

/// Checks the presented viewer token (if any) against the view. A token that is malformed,
/// unknown, expired, of another kind, or bound to another view is refused (401, audited).
pub async fn admission(app: &App, page: &PageRow, d: &ViewDoc, raw: Option<&str>, ip: &str) -> Result<Admission> {
    let Some(raw) = raw else {
        return Ok(if d.mode() == AccessMode::Public { Admission::Open } else { Admission::Required });
    };
    let refuse = |why| refuse(app, why, "magic", Some(page), ip);
    let token = PlainToken::parse_kind(raw, TokenKind::MagicSession).map_err(|_| refuse(Refusal::Malformed))?;
    let row = magic_tokens::token_by_hash(&app.db.pool, &token.hash().to_hex())
        .await?
        .ok_or_else(|| refuse(Refusal::Unknown))?;
    if row.kind != SESSION_KIND {
        return Err(refuse(Refusal::WrongKind));
    }
    if row.page_id != page.id || row.view_id != Some(d.view.id) {
        return Err(refuse(Refusal::WrongPage));
    }
    if row.expires_at <= app.now() {
        return Err(refuse(Refusal::Expired));
    }
    Ok(Admission::Granted { expires_at: row.expires_at })
}

/// Asks for a viewer-access link. The answer never says whether the address is allowed; only an
/// allowed address of a protected view gets mail (queued in the same transaction as its token).
pub async fn request(app: &App, page: &PageRow, d: &ViewDoc, raw_email: &str) -> Result<()> {
    let email = Email::parse(raw_email).map_err(Error::invalid("email"))?;
    let mode = d.mode();
    if mode == AccessMode::Public || !mode.admits(&email, &d.view.allowed_domains, &d.view.allowed_emails) {
        return Ok(());
    }
    let now = app.now();
    let (url, _) = crate::service::directory::canonical_page_url(app, page).await?;
    let secret = app.new_token(TokenKind::MagicLink);
    let mut tx = app.db.begin().await?;
    magic_tokens::revoke_tokens(&mut *tx, d.view.id, LINK_KIND, Some(email.as_str()), now).await?;
    let hash = secret.hash().to_hex();
    let new = NewViewToken {
        page_id: page.id,
        view_id: d.view.id,
        kind: LINK_KIND,
        hash: &hash,
        email: email.as_str(),
        expires_at: now + LINK_LIFETIME,
    };
    let id = magic_tokens::insert_token(&mut *tx, &new, now).await?;
    let link = format!("{url}/v/{}#token={}", d.view.short_code, secret.expose());
    let subject = format!("Your link to the status view {}", d.view.name);
    let intro = format!("Use this link within 30 minutes to open the status view {} of {}:", d.view.name, page.name);
    let text = format!("{intro}\n\n{link}\n\nIf you did not ask for this, ignore this message.\n");
    let esc = crate::domain::html::esc;
    let html = format!(
        "<p>{}</p><p><a href=\"{}\">Open the status view</a></p><p>If you did not ask for this, ignore this message.</p>",
        esc(&intro),
        esc(&link)
    );
    let message = NewMessage {
        // The `magic-link:` prefix makes the outbox blank the bodies once the mail is sent.
        dedupe_key: &format!("magic-link:{id}"),
        recipient: email.as_str(),
        subject: &subject,
        body_text: &text,
        body_html: &html,
        headers: "{}",
    };
    enqueue_mail(&mut *tx, Some(page.id), &message, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Exchanges an emailed link (once) for a viewer token of the same view.
pub async fn exchange(app: &App, page: &PageRow, d: &ViewDoc, raw: &str, ip: &str) -> Result<(PlainToken, i64)> {
    let refuse = |why| refuse(app, why, "magic", Some(page), ip);
    let token = PlainToken::parse_kind(raw, TokenKind::MagicLink).map_err(|_| refuse(Refusal::Malformed))?;
    let now = app.now();
    let row = magic_tokens::token_by_hash(&app.db.pool, &token.hash().to_hex())
        .await?
        .filter(|r| r.kind == LINK_KIND)
        .ok_or_else(|| refuse(Refusal::Unknown))?;
    if row.page_id != page.id || row.view_id != Some(d.view.id) {
        return Err(refuse(Refusal::WrongPage));
    }
    if row.expires_at <= now || row.used_at.is_some() {
        return Err(refuse(Refusal::Expired));
    }
    let viewer = app.new_token(TokenKind::MagicSession);
    let expires_at = now + VIEWER_LIFETIME;
    let mut tx = app.db.begin().await?;
    if !magic_tokens::consume_magic(&mut *tx, row.id, now).await? {
        return Err(refuse(Refusal::Revoked));
    }
    let hash = viewer.hash().to_hex();
    let new = NewViewToken {
        page_id: page.id,
        view_id: d.view.id,
        kind: SESSION_KIND,
        hash: &hash,
        email: &row.email,
        expires_at,
    };
    magic_tokens::insert_token(&mut *tx, &new, now).await?;
    tx.commit().await?;
    Ok((viewer, expires_at))
}
