//! Subscribers and the fourth way in: double opt-in, emailed management links (single use,
//! exchanged for a magic session), and self-service preferences. Every mail goes through the
//! outbox in the same transaction as the change that causes it.

pub mod admin;
pub mod csv;

use crate::app::App;
use crate::auth::token::{PlainToken, TokenKind};
use crate::clock::{DAY, HOUR, MINUTE};
use crate::domain::types::Email;
use crate::service::audit::{self, Actor, Event};
use crate::service::error::{Error, Result};
use crate::service::status::hierarchy::{self, ItemRef};
use crate::store::magic_tokens::{self, NewMagic};
use crate::store::outbox::{enqueue_mail, NewMessage};
use crate::store::pages::PageRow;
use crate::store::subscribers::{self as sql, Preferences, SubscriberRow};
use crate::store::Tx;

/// How long an emailed link can be exchanged.
pub const LINK_LIFETIME: i64 = 30 * MINUTE;
/// A magic session's idle and absolute limits.
pub const SESSION_IDLE: i64 = HOUR;
pub const SESSION_ABSOLUTE: i64 = DAY;

/// What a reader asks for when subscribing: by email, or by webhook (`webhook_url`, with the
/// owner's `email`, who confirms the subscription and manages it).
#[derive(Debug, Clone, Default)]
pub struct SubscribeInput {
    pub email: String,
    pub webhook_url: Option<String>,
    /// Component identifiers; `None` (or empty) means every component.
    pub components: Option<Vec<String>>,
    pub incidents: Option<bool>,
    pub maintenances: Option<bool>,
}

pub use crate::service::access::MagicPrincipal;

async fn resolve_items(app: &App, page: &PageRow, ids: &[String]) -> Result<Vec<i64>> {
    if ids.len() > 500 {
        return Err(Error::field("components", "at most 500 components"));
    }
    let mut out = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let item =
            hierarchy::resolve_item(app, page, &ItemRef::Identifier(id.clone()), &format!("components[{i}]")).await?;
        if !item.visible {
            return Err(Error::field(
                &format!("components[{i}]"),
                format!("no component with identifier '{id}' on this page"),
            ));
        }
        if !out.contains(&item.id) {
            out.push(item.id);
        }
    }
    Ok(out)
}

/// Subscribes an address (double opt-in). The answer never depends on whether the address was
/// known: a new or unconfirmed address gets a confirmation link, an active one a management link.
pub async fn subscribe(app: &App, page: &PageRow, input: SubscribeInput, ip: &str) -> Result<()> {
    let email = Email::parse(&input.email).map_err(Error::invalid("email"))?;
    let webhook = match &input.webhook_url {
        Some(u) => Some(check_webhook_url(app, u)?),
        None => None,
    };
    let items = resolve_items(app, page, input.components.as_deref().unwrap_or(&[])).await?;
    let prefs = Preferences {
        incidents: input.incidents.unwrap_or(true),
        maintenances: input.maintenances.unwrap_or(true),
        all_components: items.is_empty(),
    };
    let now = app.now();
    let (url, _) = crate::service::directory::canonical_page_url(app, page).await?;
    let mut tx = app.db.begin().await?;
    let existing = sql::by_email(&mut *tx, page.id, email.as_str()).await?;
    if let Some(url) = &webhook {
        // A URL another address already subscribed stays theirs; the answer does not say so.
        if sql::by_webhook_url(&mut *tx, page.id, url)
            .await?
            .is_some_and(|o| Some(o.id) != existing.as_ref().map(|e| e.id))
        {
            return Ok(());
        }
    }
    let channel = if webhook.is_some() { "webhook" } else { "email" };
    let (id, purpose) = match existing {
        Some(s) if s.state == "active" => (s.id, Purpose::Manage),
        // Whoever types a known address never changes its settings: an unconfirmed one gets its
        // confirmation link again, as it is (a stranger cannot point it at another webhook).
        Some(s) if s.state == "unconfirmed" => (s.id, Purpose::Confirm),
        Some(s) => {
            sql::set_preferences(&mut *tx, s.id, &prefs, now).await?;
            sql::set_state(&mut *tx, s.id, "unconfirmed", now).await?;
            sql::set_items(&mut tx, s.id, &items).await?;
            sql::set_channel(&mut *tx, s.id, channel, webhook.as_deref(), now).await?;
            (s.id, Purpose::Confirm)
        }
        None => {
            let id = sql::insert_email(&mut *tx, page.id, email.as_str(), &prefs, now).await?;
            sql::set_items(&mut tx, id, &items).await?;
            if webhook.is_some() {
                sql::set_channel(&mut *tx, id, channel, webhook.as_deref(), now).await?;
            }
            (id, Purpose::Confirm)
        }
    };
    let secret = app.new_token(TokenKind::MagicLink);
    mail_link(&mut tx, page, &url, email.as_str(), &secret, purpose, now).await?;
    let actor = Actor { kind: "anonymous", id: None, name: String::new(), ip: ip.to_string() };
    let event = Event {
        org_id: Some(page.org_id),
        page_id: Some(page.id),
        action: "subscriber.requested",
        target_kind: "subscriber",
        target_id: Some(id),
        detail: serde_json::json!({}),
    };
    audit::record(&mut tx, &actor, event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Checks a webhook URL (form, and literal addresses against the SSRF guard).
fn check_webhook_url(app: &App, raw: &str) -> Result<String> {
    let url = crate::delivery::webhook::check_url(raw.trim(), app.config.webhook_allow_private)
        .map_err(|m| Error::field("webhook_url", m))?;
    Ok(url.to_string())
}

/// Asks for a management link. Known or not, the answer is the same; only a known address gets
/// mail: a subscriber that has not unsubscribed, or an owner or co-manager of a reader's view or
/// feed on the page (see [`manages_something`]).
pub async fn request_access(app: &App, page: &PageRow, raw_email: &str) -> Result<()> {
    let email = Email::parse(raw_email).map_err(Error::invalid("email"))?;
    let purpose = match sql::by_email(&app.db.pool, page.id, email.as_str()).await? {
        Some(sub) if sub.state == "active" => Purpose::Manage,
        Some(sub) if sub.state == "unconfirmed" => Purpose::Confirm,
        _ if manages_something(app, page, email.as_str()).await? => Purpose::Manage,
        _ => return Ok(()),
    };
    let now = app.now();
    let (url, _) = crate::service::directory::canonical_page_url(app, page).await?;
    let secret = app.new_token(TokenKind::MagicLink);
    let mut tx = app.db.begin().await?;
    mail_link(&mut tx, page, &url, email.as_str(), &secret, purpose, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Whether an address owns or co-manages something in the manage workspace of the page (a custom
/// view or a reader's feed), so that it may get a management link without being a subscriber.
async fn manages_something(app: &App, page: &PageRow, email: &str) -> Result<bool> {
    crate::service::readers::co_managers::manages_anything(app, page, email).await
}

#[derive(Clone, Copy)]
enum Purpose {
    Confirm,
    Manage,
}

/// Issues a link token (voiding older unused ones) and queues the mail that carries it. The
/// link puts the token in the URL fragment, which browsers never send to a server.
async fn mail_link(
    tx: &mut Tx,
    page: &PageRow,
    url: &str,
    email: &str,
    secret: &PlainToken,
    purpose: Purpose,
    now: i64,
) -> Result<()> {
    magic_tokens::revoke_magic(&mut **tx, page.id, email, "link", now).await?;
    let hash = secret.hash().to_hex();
    let new = NewMagic {
        page_id: page.id,
        kind: "link",
        hash: &hash,
        email,
        expires_at: now + LINK_LIFETIME,
        idle_until: None,
    };
    let id = magic_tokens::insert_magic(&mut **tx, &new, now).await?;
    let link = format!("{url}/manage#token={}", secret.expose());
    // A webhook subscription says where its notifications will go, so the owner confirms that.
    let hook = match purpose {
        Purpose::Confirm => sql::by_email(&mut **tx, page.id, email)
            .await?
            .filter(|s| s.channel == "webhook")
            .and_then(|s| s.webhook_url)
            .map(|u| format!(" Notifications will be sent by webhook to {u}."))
            .unwrap_or_default(),
        Purpose::Manage => String::new(),
    };
    let (subject, intro) = match purpose {
        Purpose::Confirm => (
            format!("Confirm your subscription to {}", page.name),
            format!(
                "Someone (hopefully you) asked to receive status updates from {}.{hook} Confirm within 30 minutes:",
                page.name
            ),
        ),
        Purpose::Manage => (
            format!("Manage your updates from {}", page.name),
            format!("Use this link within 30 minutes to manage your subscription, views and feeds on {}:", page.name),
        ),
    };
    let text = format!("{intro}\n\n{link}\n\nIf you did not ask for this, ignore this message: nothing changes.\n");
    let html = format!(
        "<p>{}</p><p><a href=\"{}\">{}</a></p><p>If you did not ask for this, ignore this message: nothing changes.</p>",
        crate::domain::html::esc(&intro),
        crate::domain::html::esc(&link),
        match purpose {
            Purpose::Confirm => "Confirm my subscription",
            Purpose::Manage => "Manage my updates",
        }
    );
    let message = NewMessage {
        dedupe_key: &format!("magic-link:{id}"),
        recipient: email,
        subject: &subject,
        body_text: &text,
        body_html: &html,
        headers: "{}",
    };
    enqueue_mail(&mut **tx, Some(page.id), &message, now).await?;
    Ok(())
}

/// What exchanging a link gives.
pub struct Exchanged {
    pub session: PlainToken,
    pub expires_at: i64,
    /// `None` for an address that only manages views or feeds.
    pub subscription: Option<SubscriberRow>,
    /// A webhook subscription's signing secret, issued when it is confirmed: shown this once.
    pub webhook_secret: Option<String>,
}

/// Exchanges an emailed link token (once) for a magic session; confirms an unconfirmed address.
pub async fn exchange(app: &App, page: &PageRow, raw: &str, ip: &str) -> Result<Exchanged> {
    let refuse = |why| crate::service::access::refuse(app, why, "magic", Some(page), ip);
    let token = PlainToken::parse_kind(raw, TokenKind::MagicLink)
        .map_err(|_| refuse(crate::service::access::Refusal::Malformed))?;
    let now = app.now();
    let row = magic_tokens::magic_by_hash(&app.db.pool, &token.hash().to_hex())
        .await?
        .filter(|r| r.kind == "link" && r.page_id == page.id)
        .ok_or_else(|| refuse(crate::service::access::Refusal::Unknown))?;
    if row.expires_at <= now || row.used_at.is_some() {
        return Err(refuse(crate::service::access::Refusal::Expired));
    }
    let session = app.new_token(TokenKind::MagicSession);
    let mut tx = app.db.begin().await?;
    if !magic_tokens::consume_magic(&mut *tx, row.id, now).await? {
        return Err(refuse(crate::service::access::Refusal::Revoked));
    }
    let sub = sql::by_email(&mut *tx, page.id, &row.email).await?;
    if let Some(sub) = sub.as_ref().filter(|s| s.state == "unconfirmed") {
        sql::set_state(&mut *tx, sub.id, "active", now).await?;
    }
    let mut webhook_secret = None;
    if let Some(sub) = sub.as_ref().filter(|s| s.channel == "webhook") {
        if !sql::has_webhook_secret(&mut *tx, sub.id).await? {
            let secret = crate::delivery::webhook::new_secret();
            sql::set_webhook_secret(&mut *tx, sub.id, &secret).await?;
            webhook_secret = Some(secret);
        }
    }
    let expires = now + SESSION_ABSOLUTE;
    let hash = session.hash().to_hex();
    let new = NewMagic {
        page_id: page.id,
        kind: "session",
        hash: &hash,
        email: &row.email,
        expires_at: expires,
        idle_until: Some(now + SESSION_IDLE),
    };
    magic_tokens::insert_magic(&mut *tx, &new, now).await?;
    tx.commit().await?;
    let subscription = match sub {
        Some(s) => sql::by_id(&app.db.pool, page.id, s.id).await?,
        None => None,
    };
    Ok(Exchanged { session, expires_at: expires, subscription, webhook_secret })
}

/// Authenticates a magic session for this page.
pub async fn authenticate(app: &App, page: &PageRow, raw: &str, ip: &str) -> Result<MagicPrincipal> {
    use crate::service::access::Refusal;
    let refuse = |why| crate::service::access::refuse(app, why, "magic", Some(page), ip);
    let token = PlainToken::parse_kind(raw, TokenKind::MagicSession).map_err(|_| refuse(Refusal::Malformed))?;
    let now = app.now();
    let row = magic_tokens::magic_by_hash(&app.db.pool, &token.hash().to_hex())
        .await?
        .filter(|r| r.kind == "session")
        .ok_or_else(|| refuse(Refusal::Unknown))?;
    if row.page_id != page.id {
        return Err(refuse(Refusal::WrongPage));
    }
    if row.expires_at <= now || row.idle_until.is_some_and(|i| i <= now) {
        return Err(refuse(Refusal::Expired));
    }
    if app.should_touch(2, row.id, row.idle_until.map(|i| i - SESSION_IDLE)) {
        magic_tokens::touch_magic(&app.db.pool, row.id, now + SESSION_IDLE).await?;
    }
    Ok(MagicPrincipal { token_id: row.id, page_id: row.page_id, email: row.email })
}

/// The subscription of the magic session's address, with its component scope.
pub async fn subscription(app: &App, page: &PageRow, who: &MagicPrincipal) -> Result<(SubscriberRow, Vec<String>)> {
    let sub = sql::by_email(&app.db.pool, page.id, &who.email).await?.ok_or(Error::NotFound("subscription"))?;
    let items = sql::items(&app.db.pool, sub.id).await?;
    Ok((sub, items))
}

/// Changes of preferences; `None` keeps a value. `components: Some(vec![])` means everything.
#[derive(Debug, Clone, Default)]
pub struct PreferencesPatch {
    /// `email` or `webhook`.
    pub channel: Option<String>,
    pub webhook_url: Option<String>,
    pub components: Option<Vec<String>>,
    pub incidents: Option<bool>,
    pub maintenances: Option<bool>,
}

/// Changes preferences; returns the subscription and, when this change gave the subscription a
/// new webhook URL, its new signing secret (shown this once).
pub async fn update(
    app: &App,
    page: &PageRow,
    who: &MagicPrincipal,
    p: PreferencesPatch,
) -> Result<(SubscriberRow, Vec<String>, Option<String>)> {
    let (sub, _) = subscription(app, page, who).await?;
    if sub.state == "unsubscribed" {
        return Err(Error::Conflict {
            code: "unsubscribed",
            message: "this address has unsubscribed; subscribe again first".into(),
        });
    }
    let items = match &p.components {
        Some(ids) => Some(resolve_items(app, page, ids).await?),
        None => None,
    };
    let prefs = Preferences {
        incidents: p.incidents.unwrap_or(sub.incidents),
        maintenances: p.maintenances.unwrap_or(sub.maintenances),
        all_components: items.as_ref().map_or(sub.all_components, |i| i.is_empty()),
    };
    let channel = match p.channel.as_deref() {
        None => sub.channel.clone(),
        Some(c @ ("email" | "webhook")) => c.to_string(),
        Some(_) => return Err(Error::field("channel", "must be email or webhook")),
    };
    let url = match &p.webhook_url {
        Some(u) => Some(check_webhook_url(app, u)?),
        None if channel == "webhook" => sub.webhook_url.clone(),
        None => None,
    };
    if channel == "webhook" && url.is_none() {
        return Err(Error::field("webhook_url", "a webhook subscription needs a webhook_url"));
    }
    let now = app.now();
    let mut tx = app.db.begin().await?;
    if let Some(u) = &url {
        if sql::by_webhook_url(&mut *tx, page.id, u).await?.is_some_and(|o| o.id != sub.id) {
            return Err(Error::Conflict {
                code: "webhook_url_taken",
                message: "another subscription on this page already posts to this URL".into(),
            });
        }
    }
    sql::set_preferences(&mut *tx, sub.id, &prefs, now).await?;
    if let Some(items) = &items {
        sql::set_items(&mut tx, sub.id, items).await?;
    }
    sql::set_channel(&mut *tx, sub.id, &channel, url.as_deref(), now).await?;
    let mut secret = None;
    if channel == "webhook" && !sql::has_webhook_secret(&mut *tx, sub.id).await? {
        let s = crate::delivery::webhook::new_secret();
        sql::set_webhook_secret(&mut *tx, sub.id, &s).await?;
        secret = Some(s);
    }
    tx.commit().await?;
    let (sub, items) = subscription(app, page, who).await?;
    Ok((sub, items, secret))
}

/// Issues a new signing secret for the address's webhook subscription (the old one stops
/// working at once); shown this once.
pub async fn rotate_webhook_secret(app: &App, page: &PageRow, who: &MagicPrincipal) -> Result<String> {
    let (sub, _) = subscription(app, page, who).await?;
    if sub.channel != "webhook" || sub.state != "active" {
        return Err(Error::Conflict {
            code: "not_a_webhook",
            message: "only a confirmed webhook subscription has a signing secret".into(),
        });
    }
    let secret = crate::delivery::webhook::new_secret();
    sql::set_webhook_secret(&app.db.pool, sub.id, &secret).await?;
    Ok(secret)
}

/// Unsubscribes the address and ends every magic token it holds on this page.
pub async fn unsubscribe(app: &App, page: &PageRow, who: &MagicPrincipal) -> Result<()> {
    let (sub, _) = subscription(app, page, who).await?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    crate::service::readers::notify::end_subscription(&mut tx, page, &sub, now).await?;
    tx.commit().await?;
    Ok(())
}
