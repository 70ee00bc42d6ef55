//! Readers' own feeds (SPEC §6, decision 0007): a named, filtered Atom/RSS feed of one page,
//! owned by the address of a magic session and shared with co-managers. A feed is public at
//! `/feeds/{short_code}/feed.atom` (gated like every public read: a private page needs viewer
//! access there); a capability `sbf_…` (only its SHA-256 stored, shown once) opens
//! `/feeds/sbf_…/feed.atom` without any other credential. Feeds of private pages get one on
//! creation; `reset` issues a new one and the old path is gone at once.

pub mod admin;

use crate::app::App;
use crate::auth::token::{PlainToken, TokenKind};
use crate::domain::types::Email;
use crate::service::access::MagicPrincipal;
use crate::service::access::{refuse, Refusal};
use crate::service::audit::{self, Actor, Event};
use crate::service::error::{Error, Result};
use crate::service::readers::co_managers::{self, Managed};
use crate::service::status::hierarchy::{self, ItemRef};
use crate::store::limits::{self, Counted};
use crate::store::pages::PageRow;
use crate::store::reader_feeds::{self as sql, FeedRow, Settings};
use crate::store::Tx;

/// `max_items` bounds and default.
pub const MAX_ITEMS: i64 = 200;
pub const DEFAULT_MAX_ITEMS: i64 = 50;
/// `max_age_days` bound (ten years).
pub const MAX_AGE_DAYS: i64 = 3650;
/// Feeds one address may own on a page.
pub const MAX_FEEDS_PER_OWNER: i64 = 50;
/// Most feeds of one page, all owners together (anyone who can receive mail can own feeds).
pub const MAX_FEEDS_PER_PAGE: i64 = 5000;
pub const CONTENT_TYPES: &[&str] = &["incidents", "maintenances"];
pub const FORMATS: &[&str] = &["atom", "rss"];

/// A feed with what its views need.
#[derive(Debug, Clone)]
pub struct Feed {
    pub row: FeedRow,
    /// Scope: (item id, identifier); empty with `all_components` = the whole page.
    pub items: Vec<(i64, String)>,
    pub managers: Vec<String>,
}

impl Feed {
    pub fn content_types(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.row.incidents {
            out.push("incidents");
        }
        if self.row.maintenances {
            out.push("maintenances");
        }
        out
    }

    /// Whether `email` owns this feed (co-managers do not).
    pub fn owned_by(&self, email: &str) -> bool {
        self.row.owner_email == email
    }
}

/// What a reader sends to create or change a feed; `None` keeps (or defaults) a value.
#[derive(Debug, Clone, Default)]
pub struct FeedInput {
    pub name: Option<String>,
    /// Component identifiers; empty = the whole page.
    pub components: Option<Vec<String>>,
    pub content_types: Option<Vec<String>>,
    pub max_items: Option<i64>,
    /// `Some(None)` clears the limit.
    pub max_age_days: Option<Option<i64>>,
    pub format: Option<String>,
    /// A custom view (short code or alias) the feed follows; only when creating.
    pub view: Option<String>,
}

fn actor(who: &MagicPrincipal, ip: &str) -> Actor {
    // The address is personal data; the audit log names the magic session, not the person.
    Actor { kind: "magic_session", id: Some(who.token_id), name: String::new(), ip: ip.to_string() }
}

fn event(page: &PageRow, action: &'static str, id: i64, detail: serde_json::Value) -> Event<'static> {
    Event {
        org_id: Some(page.org_id),
        page_id: Some(page.id),
        action,
        target_kind: "reader_feed",
        target_id: Some(id),
        detail,
    }
}

/// Loads scope and co-managers of feeds.
pub async fn with_details(app: &App, rows: Vec<FeedRow>) -> Result<Vec<Feed>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let items = sql::items_of(&app.db.pool, &ids).await?;
    let mut managers = co_managers::of_each(app, Managed::Feed, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|row| Feed {
            items: items.iter().filter(|i| i.0 == row.id).map(|i| (i.1, i.2.clone())).collect(),
            managers: managers.remove(&row.id).unwrap_or_default(),
            row,
        })
        .collect())
}

async fn one(app: &App, row: FeedRow) -> Result<Feed> {
    Ok(with_details(app, vec![row]).await?.remove(0))
}

async fn resolve_items(app: &App, page: &PageRow, ids: &[String]) -> Result<Vec<i64>> {
    if ids.len() > 500 {
        return Err(Error::field("components", "at most 500 components"));
    }
    let mut out = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let field = format!("components[{i}]");
        let item = hierarchy::resolve_item(app, page, &ItemRef::Identifier(id.clone()), &field).await?;
        if !item.visible {
            return Err(Error::field(&field, format!("no component with identifier '{id}' on this page")));
        }
        if !out.contains(&item.id) {
            out.push(item.id);
        }
    }
    Ok(out)
}

/// Validates `input` over `base` (the current settings, or the defaults); the scope is resolved
/// when given.
async fn settings(
    app: &App,
    page: &PageRow,
    base: Settings,
    input: &FeedInput,
) -> Result<(Settings, Option<Vec<i64>>)> {
    let mut s = base;
    if let Some(name) = &input.name {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(Error::field("name", "must be 1-100 characters without control characters"));
        }
        s.name = name.to_string();
    }
    if let Some(types) = &input.content_types {
        if types.is_empty() {
            return Err(Error::field("content_types", "name at least one of incidents, maintenances"));
        }
        if let Some(bad) = types.iter().find(|t| !CONTENT_TYPES.contains(&t.as_str())) {
            return Err(Error::field("content_types", format!("'{bad}' is not one of incidents, maintenances")));
        }
        s.incidents = types.iter().any(|t| t == "incidents");
        s.maintenances = types.iter().any(|t| t == "maintenances");
    }
    if let Some(n) = input.max_items {
        if !(1..=MAX_ITEMS).contains(&n) {
            return Err(Error::field("max_items", format!("must be 1-{MAX_ITEMS}")));
        }
        s.max_items = n;
    }
    if let Some(age) = input.max_age_days {
        if age.is_some_and(|d| !(1..=MAX_AGE_DAYS).contains(&d)) {
            return Err(Error::field("max_age_days", format!("must be 1-{MAX_AGE_DAYS} days, or null")));
        }
        s.max_age_days = age;
    }
    if let Some(f) = &input.format {
        if !FORMATS.contains(&f.as_str()) {
            return Err(Error::field("format", "must be atom or rss"));
        }
        s.format = f.clone();
    }
    let items = match &input.components {
        Some(ids) => {
            let items = resolve_items(app, page, ids).await?;
            s.all_components = items.is_empty();
            Some(items)
        }
        None => None,
    };
    Ok((s, items))
}

/// A short, public, unguessable-enough code (it names public data only).
fn short_code(app: &App) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = app.rng.lock().expect("rng lock");
    (0..12).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect()
}

/// Creates a feed owned by the session's address. Feeds of private pages get a capability,
/// returned here in clear once.
pub async fn create(
    app: &App,
    page: &PageRow,
    who: &MagicPrincipal,
    input: FeedInput,
    ip: &str,
) -> Result<(Feed, Option<PlainToken>)> {
    if input.name.is_none() {
        return Err(Error::field("name", "is required"));
    }
    let defaults = Settings {
        name: String::new(),
        all_components: true,
        incidents: true,
        maintenances: true,
        max_items: DEFAULT_MAX_ITEMS,
        max_age_days: None,
        format: "atom".into(),
    };
    let (s, items) = settings(app, page, defaults, &input).await?;
    let view = match &input.view {
        Some(code) => Some(followed_view(app, page, who, code, &input).await?),
        None => None,
    };
    let protected_view = view.as_ref().is_some_and(|v| v.mode() != crate::domain::views::AccessMode::Public);
    let capability = (page.visibility == "private" || protected_view).then(|| app.new_token(TokenKind::Feed));
    let hash = capability.as_ref().map(|c| c.hash().to_hex());
    let now = app.now();
    let mut tx = app.db.begin().await?;
    require_room_for_feed(&mut tx, page, &who.email).await?;
    let id = sql::insert(&mut *tx, page.id, &who.email, &short_code(app), hash.as_deref(), &s, now).await?;
    sql::set_items(&mut tx, id, items.as_deref().unwrap_or(&[])).await?;
    if let Some(v) = &view {
        sql::set_view(&mut *tx, id, v.view.id).await?;
    }
    let detail = serde_json::json!({"capability": capability.is_some(), "view_id": view.as_ref().map(|v| v.view.id)});
    audit::record(&mut tx, &actor(who, ip), event(page, "reader_feed.created", id, detail), now).await?;
    tx.commit().await?;
    let row = sql::by_id(&app.db.pool, page.id, id).await?.ok_or(Error::NotFound("feed"))?;
    Ok((one(app, row).await?, capability))
}

/// Refuses a feed past [`MAX_FEEDS_PER_OWNER`] or [`MAX_FEEDS_PER_PAGE`], counted under the
/// page's lock inside the creating transaction so concurrent creates cannot overshoot.
async fn require_room_for_feed(tx: &mut Tx, page: &PageRow, owner: &str) -> Result<()> {
    limits::lock(&mut **tx, limits::Locked::Page(page.id)).await?;
    if sql::count_owned(&mut **tx, page.id, owner).await? >= MAX_FEEDS_PER_OWNER {
        return Err(Error::limit(None, format!("an address may own at most {MAX_FEEDS_PER_OWNER} feeds on a page")));
    }
    if limits::count_on_page(&mut **tx, Counted::Feeds, page.id).await? >= MAX_FEEDS_PER_PAGE {
        return Err(Error::limit(None, format!("a page has at most {MAX_FEEDS_PER_PAGE} feeds")));
    }
    Ok(())
}

/// The view a new feed is to follow: one of this page, which the session's address may read (a
/// public view, an address its access mode admits, or its owner or a co-manager). Its components
/// are the feed's scope, so the feed names none of its own.
async fn followed_view(
    app: &App,
    page: &PageRow,
    who: &MagicPrincipal,
    code: &str,
    input: &FeedInput,
) -> Result<crate::service::readers::views::ViewDoc> {
    use crate::domain::views::AccessMode;
    if input.components.is_some() {
        return Err(Error::field("components", "a feed that follows a view takes the view's components"));
    }
    let d = crate::service::readers::views::access::find(app, page, code.trim()).await.map_err(|e| match e {
        Error::NotFound(_) => Error::field("view", "no view with this code or alias on this page"),
        e => e,
    })?;
    let email = Email::parse(&who.email).map_err(Error::invalid("email"))?;
    let mode = d.mode();
    let admitted = mode == AccessMode::Public
        || mode.admits(&email, &d.view.allowed_domains, &d.view.allowed_emails)
        || d.view.owner_email == who.email
        || d.managers.contains(&who.email);
    if !admitted {
        return Err(Error::Forbidden("this address may not read that view, so it may not follow it".into()));
    }
    Ok(d)
}

/// The session's feeds on its page: owned or co-managed.
pub async fn mine(app: &App, page: &PageRow, who: &MagicPrincipal, before: i64, limit: i64) -> Result<Vec<Feed>> {
    let rows = co_managers::managed_by(app, page, who, before, limit).await?;
    with_details(app, rows).await
}

/// One feed the session owns or co-manages; anybody else's is 404.
pub async fn get_mine(app: &App, page: &PageRow, who: &MagicPrincipal, id: i64) -> Result<Feed> {
    let row = sql::by_id(&app.db.pool, page.id, id).await?.ok_or(Error::NotFound("feed"))?;
    let feed = one(app, row).await?;
    co_managers::role(&feed.row.owner_email, &feed.managers, &who.email).ok_or(Error::NotFound("feed"))?;
    Ok(feed)
}

fn owner_only(feed: &Feed, who: &MagicPrincipal) -> Result<()> {
    if feed.owned_by(&who.email) {
        Ok(())
    } else {
        Err(co_managers::owner_only(Managed::Feed, "delete it"))
    }
}

/// Changes a feed's settings (owner or co-manager).
pub async fn update(
    app: &App,
    page: &PageRow,
    who: &MagicPrincipal,
    id: i64,
    input: FeedInput,
    ip: &str,
) -> Result<Feed> {
    let feed = get_mine(app, page, who, id).await?;
    if input.view.is_some() {
        return Err(Error::field("view", "a feed's view is chosen when it is created; create another feed"));
    }
    if feed.row.view_id.is_some() && input.components.is_some() {
        return Err(Error::field("components", "a feed that follows a view takes the view's components"));
    }
    let r = &feed.row;
    let base = Settings {
        name: r.name.clone(),
        all_components: r.all_components,
        incidents: r.incidents,
        maintenances: r.maintenances,
        max_items: r.max_items,
        max_age_days: r.max_age_days,
        format: r.format.clone(),
    };
    let (s, items) = settings(app, page, base, &input).await?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    sql::update(&mut *tx, id, &s, now).await?;
    if let Some(items) = &items {
        sql::set_items(&mut tx, id, items).await?;
    }
    audit::record(&mut tx, &actor(who, ip), event(page, "reader_feed.updated", id, serde_json::json!({})), now).await?;
    tx.commit().await?;
    get_mine(app, page, who, id).await
}

/// Deletes a feed (owner only).
pub async fn delete(app: &App, page: &PageRow, who: &MagicPrincipal, id: i64, ip: &str) -> Result<()> {
    let feed = get_mine(app, page, who, id).await?;
    owner_only(&feed, who)?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    sql::delete(&mut *tx, page.id, id).await?;
    audit::record(&mut tx, &actor(who, ip), event(page, "reader_feed.deleted", id, serde_json::json!({})), now).await?;
    tx.commit().await?;
    Ok(())
}

/// Issues a new capability (owner or co-manager); the old one stops working at once.
pub async fn reset(app: &App, page: &PageRow, who: &MagicPrincipal, id: i64, ip: &str) -> Result<(Feed, PlainToken)> {
    get_mine(app, page, who, id).await?;
    let capability = app.new_token(TokenKind::Feed);
    let now = app.now();
    let mut tx = app.db.begin().await?;
    sql::set_capability(&mut *tx, id, &capability.hash().to_hex(), now).await?;
    audit::record(
        &mut tx,
        &actor(who, ip),
        event(page, "reader_feed.capability_reset", id, serde_json::json!({})),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok((get_mine(app, page, who, id).await?, capability))
}

/// The feed a public short code names on this page.
pub async fn by_short_code(app: &App, page: &PageRow, code: &str) -> Result<Feed> {
    let row = sql::by_short_code(&app.db.pool, page.id, code).await?.ok_or(Error::NotFound("feed"))?;
    one(app, row).await
}

/// The feed a capability opens on this page. Refusals (malformed, unknown, another page's) are
/// audited and count against the client's failure budget, like a one-click unsubscribe link,
/// but answer 404: a capability that does not work is simply not there.
pub async fn by_capability(app: &App, page: &PageRow, raw: &str, ip: &str) -> Result<Feed> {
    let not_found = |why| {
        refuse(app, why, "feed", Some(page), ip);
        Error::NotFound("feed")
    };
    let token = PlainToken::parse_kind(raw, TokenKind::Feed).map_err(|_| not_found(Refusal::Malformed))?;
    let row =
        sql::by_capability(&app.db.pool, &token.hash().to_hex()).await?.ok_or_else(|| not_found(Refusal::Unknown))?;
    if row.page_id != page.id {
        return Err(not_found(Refusal::WrongPage));
    }
    one(app, row).await
}

/// Counts a fetch (at most once a minute per feed).
pub async fn record_fetch(app: &App, feed: &Feed) -> Result<()> {
    if feed.row.last_fetched_at.is_some_and(|t| t > app.now() - 60_000) {
        return Ok(());
    }
    Ok(sql::record_fetch(&app.db.pool, feed.row.id, app.now()).await?)
}
