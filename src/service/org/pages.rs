//! Pages: create, settings, visibility and viewer password, trash and restore.

use crate::app::App;
use crate::auth::password;
use crate::clock::DAY;
use crate::domain::types::{self, Key, UrlPrefix};
use crate::service::audit::{self, Actor, Event};
use crate::service::error::{Error, Result};
use crate::store;
use crate::store::pages::{NewPage, PageIdentityPatch, PageRow};
use crate::store::Tx;
use serde::{Deserialize, Serialize};

/// How long a trashed page can be restored.
pub const TRASH_RETENTION: i64 = 7 * DAY;

/// Public site settings of a page: branding, locale, time zone, homepage sections.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SiteSettings {
    pub title: String,
    pub subtitle: String,
    pub logo_url: Option<String>,
    pub brand_color: String,
    pub locale: String,
    pub time_zone: String,
    pub homepage_sections: Vec<String>,
}

impl Default for SiteSettings {
    fn default() -> Self {
        SiteSettings {
            title: String::new(),
            subtitle: String::new(),
            logo_url: None,
            brand_color: "#2563eb".into(),
            locale: "en".into(),
            time_zone: "UTC".into(),
            homepage_sections: ["banner", "components", "incidents", "maintenances", "uptime", "history"]
                .map(String::from)
                .to_vec(),
        }
    }
}

const SECTIONS: &[&str] = &["banner", "components", "incidents", "maintenances", "uptime", "history", "subscribe"];

impl SiteSettings {
    /// Checks every field; the page's stored settings always pass this.
    pub fn validate(&self) -> Result<()> {
        types::text(&self.title, 200).map_err(Error::invalid("title"))?;
        types::text(&self.subtitle, 500).map_err(Error::invalid("subtitle"))?;
        if let Some(url) = &self.logo_url {
            if !url.starts_with("https://") || url.len() > 2000 || url.chars().any(|c| c.is_whitespace() || c == '"') {
                return Err(Error::field("logo_url", "must be an https URL"));
            }
        }
        let c = self.brand_color.as_bytes();
        if c.len() != 7 || c[0] != b'#' || !c[1..].iter().all(u8::is_ascii_hexdigit) {
            return Err(Error::field("brand_color", "must be a hex color like #2563eb"));
        }
        if !(2..=16).contains(&self.locale.len())
            || !self.locale.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(Error::field("locale", "must be a language tag like en or pt-BR"));
        }
        if jiff::tz::TimeZone::get(&self.time_zone).is_err() {
            return Err(Error::field("time_zone", "must be an IANA time zone like Europe/London"));
        }
        if let Some(bad) = self.homepage_sections.iter().find(|s| !SECTIONS.contains(&s.as_str())) {
            return Err(Error::field("homepage_sections", format!("unknown section '{bad}'")));
        }
        Ok(())
    }
}

/// Parses a page's stored settings (defaults for anything missing).
pub fn settings_of(page: &PageRow) -> SiteSettings {
    serde_json::from_str(&page.settings).unwrap_or_default()
}

/// What a caller asks for when creating a page.
pub struct NewPageInput {
    pub name: String,
    pub url_prefix: String,
    pub internal_key: Option<String>,
    pub visibility: Option<String>,
    pub viewer_password: Option<String>,
}

fn visibility(v: Option<&str>) -> Result<&'static str> {
    match v.unwrap_or("public") {
        "public" => Ok("public"),
        "private" => Ok("private"),
        _ => Err(Error::field("visibility", "must be public or private")),
    }
}

fn check_viewer_password(p: &str) -> Result<()> {
    if p.chars().count() < password::MIN_PASSWORD_CHARS || p.len() > password::MAX_PASSWORD_BYTES {
        return Err(Error::field("viewer_password", "must be 8 to 1024 characters"));
    }
    Ok(())
}

/// A validated new page, its viewer password already hashed (outside any transaction).
pub struct PreparedPage {
    name: String,
    prefix: UrlPrefix,
    key: Key,
    visibility: &'static str,
    viewer_password_hash: Option<String>,
    settings: String,
}

/// Validates a new page and hashes its viewer password.
pub async fn prepare(input: NewPageInput) -> Result<PreparedPage> {
    let name = types::name(&input.name, 200).map_err(Error::invalid("name"))?;
    let prefix = UrlPrefix::parse(&input.url_prefix).map_err(Error::invalid("url_prefix"))?;
    let key =
        Key::parse(input.internal_key.as_deref().unwrap_or(prefix.as_str())).map_err(Error::invalid("internal_key"))?;
    let visibility = visibility(input.visibility.as_deref())?;
    let viewer_password_hash = match input.viewer_password {
        Some(p) => {
            check_viewer_password(&p)?;
            Some(password::hash(p).await)
        }
        None => None,
    };
    let settings = SiteSettings { title: name.clone(), ..Default::default() };
    let settings = serde_json::to_string(&settings).expect("settings serialise");
    Ok(PreparedPage { name, prefix, key, visibility, viewer_password_hash, settings })
}

/// Inserts a prepared page (with its audit entry) inside the caller's transaction.
pub async fn insert_prepared(tx: &mut Tx, actor: &Actor, org_id: i64, p: &PreparedPage, now: i64) -> Result<i64> {
    let prefix_taken = || Error::Conflict { code: "url_prefix_taken", message: "url_prefix is already in use".into() };
    if store::pages::page_prefix_taken(&mut **tx, p.prefix.as_str()).await? {
        return Err(prefix_taken());
    }
    let new = NewPage {
        org_id,
        name: &p.name,
        internal_key: p.key.as_str(),
        url_prefix: p.prefix.as_str(),
        visibility: p.visibility,
        viewer_password_hash: p.viewer_password_hash.as_deref(),
        settings: &p.settings,
    };
    let id = store::pages::insert_page(&mut **tx, &new, now).await.map_err(|e| match e {
        // A concurrent create of the same prefix can get past the check above.
        crate::store::StoreError::Conflict(what) if what.contains("url_prefix") => prefix_taken(),
        crate::store::StoreError::Conflict(_) => {
            Error::Conflict { code: "internal_key_taken", message: "internal_key is already used in this org".into() }
        }
        e => e.into(),
    })?;
    let event = Event {
        org_id: Some(org_id),
        page_id: Some(id),
        action: "page.created",
        target_kind: "page",
        target_id: Some(id),
        detail: serde_json::json!({"url_prefix": p.prefix.as_str()}),
    };
    audit::record(tx, actor, event, now).await?;
    crate::service::status::hierarchy::seed_defaults(tx, id).await?;
    Ok(id)
}

/// Creates a page in an org.
pub async fn create(app: &App, actor: &Actor, org_id: i64, input: NewPageInput) -> Result<PageRow> {
    let prepared = prepare(input).await?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let id = insert_prepared(&mut tx, actor, org_id, &prepared, now).await?;
    tx.commit().await?;
    store::pages::page_by_id(&app.db.pool, id).await?.ok_or(Error::NotFound("page"))
}

/// A page of this org by id (live or trashed), else 404.
pub async fn get_in_org(app: &App, org_id: i64, id: i64) -> Result<PageRow> {
    match store::pages::page_by_id(&app.db.pool, id).await? {
        Some(p) if p.org_id == org_id => Ok(p),
        _ => Err(Error::NotFound("page")),
    }
}

/// Moves a page to the trash; its hosts stop answering at once.
pub async fn trash(app: &App, actor: &Actor, org_id: i64, id: i64) -> Result<PageRow> {
    let page = get_in_org(app, org_id, id).await?;
    if page.deleted_at.is_some() {
        return Err(Error::NotFound("page"));
    }
    set_deleted(app, actor, &page, Some(app.now()), "page.trashed").await
}

/// Restores a trashed page within the retention window.
pub async fn restore(app: &App, actor: &Actor, org_id: i64, id: i64) -> Result<PageRow> {
    let page = get_in_org(app, org_id, id).await?;
    match page.deleted_at {
        Some(at) if at + TRASH_RETENTION > app.now() => set_deleted(app, actor, &page, None, "page.restored").await,
        _ => Err(Error::NotFound("trashed page")),
    }
}

async fn set_deleted(app: &App, actor: &Actor, page: &PageRow, at: Option<i64>, action: &str) -> Result<PageRow> {
    let now = app.now();
    let mut tx = app.db.begin().await?;
    store::pages::set_page_deleted(&mut *tx, page.id, at).await?;
    audit::record(&mut tx, actor, page_event(page, action, serde_json::json!({})), now).await?;
    tx.commit().await?;
    store::pages::page_by_id(&app.db.pool, page.id).await?.ok_or(Error::NotFound("page"))
}

fn page_event<'a>(page: &PageRow, action: &'a str, detail: serde_json::Value) -> Event<'a> {
    Event {
        org_id: Some(page.org_id),
        page_id: Some(page.id),
        action,
        target_kind: "page",
        target_id: Some(page.id),
        detail,
    }
}

/// Deletes pages whose trash window has passed. Run by the scheduler.
pub async fn purge_expired(app: &App) -> Result<Vec<i64>> {
    let mut tx = app.db.begin().await?;
    let ids = store::pages::purge_pages(&mut *tx, app.now() - TRASH_RETENTION).await?;
    tx.commit().await?;
    Ok(ids)
}

/// Changes to identity and access of a page; `None` leaves a field as it is.
pub struct PageSettingsPatch {
    pub name: Option<String>,
    pub visibility: Option<String>,
    /// `Some(None)` clears the password.
    pub viewer_password: Option<Option<String>>,
}

/// Applies a page-settings patch; changing visibility or the password ends every viewer grant.
pub async fn update_page_settings(
    app: &App,
    actor: &Actor,
    page: &PageRow,
    patch: PageSettingsPatch,
) -> Result<PageRow> {
    let name = match &patch.name {
        Some(n) => Some(types::name(n, 200).map_err(Error::invalid("name"))?),
        None => None,
    };
    let vis = match &patch.visibility {
        Some(v) => Some(visibility(Some(v))?),
        None => None,
    };
    let pw_hash = match patch.viewer_password.clone() {
        None => None,
        Some(None) => Some(None),
        Some(Some(p)) => {
            check_viewer_password(&p)?;
            Some(Some(password::hash(p).await))
        }
    };
    let access_changed = vis.is_some() || pw_hash.is_some();
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let identity = PageIdentityPatch {
        name: name.as_deref(),
        visibility: vis,
        viewer_password_hash: pw_hash.as_ref().map(|h| h.as_deref()),
    };
    store::pages::patch_page_identity(&mut *tx, page.id, &identity).await?;
    if access_changed {
        store::viewer_grants::delete_viewer_grants(&mut *tx, page.id).await?;
    }
    let detail = serde_json::json!({"name": name, "visibility": vis, "viewer_password_changed": pw_hash.is_some()});
    audit::record(&mut tx, actor, page_event(page, "page.settings_updated", detail), now).await?;
    tx.commit().await?;
    store::pages::page_by_id(&app.db.pool, page.id).await?.ok_or(Error::NotFound("page"))
}

/// Replaces the public site settings (and nothing else of the page).
pub async fn update_site_settings(app: &App, actor: &Actor, page: &PageRow, settings: SiteSettings) -> Result<PageRow> {
    settings.validate()?;
    let json = serde_json::to_string(&settings).expect("settings serialise");
    let now = app.now();
    let mut tx = app.db.begin().await?;
    store::pages::set_page_settings(&mut *tx, page.id, &json).await?;
    audit::record(&mut tx, actor, page_event(page, "page.site_settings_updated", serde_json::json!({})), now).await?;
    tx.commit().await?;
    store::pages::page_by_id(&app.db.pool, page.id).await?.ok_or(Error::NotFound("page"))
}
