//! Custom views (SPEC §6, decision 0006): readers build named, filtered views of a page in the
//! manage workspace; owners share them with co-managers; readers open them by short code or alias,
//! protected ones through an emailed viewer-access link.

pub mod access;
pub mod admin;
pub mod data;

use crate::app::App;
use crate::domain::types;
use crate::domain::views::{self as rules, AccessMode, Alias};
use crate::service::access::MagicPrincipal;
use crate::service::audit::{self, Actor, Event};
use crate::service::error::{Error, Result};
use crate::service::readers::co_managers::{self, Managed, Role};
use crate::store::limits::{self, Counted};
use crate::store::pages::PageRow;
use crate::store::views::{self as sql, ViewFields, ViewRow};
use crate::store::Tx;
use std::collections::HashMap;

/// Most components one view selects.
pub const MAX_COMPONENTS: usize = 100;
/// Most views one address owns on a page.
pub const MAX_VIEWS_PER_OWNER: i64 = 50;
/// Most views of one page, all owners together (anyone who can receive mail can own views, so
/// the page needs its own bound).
pub const MAX_VIEWS_PER_PAGE: i64 = 5000;
/// Allow-list sizes.
pub const MAX_DOMAINS: usize = 100;
pub const MAX_EMAILS: usize = 500;

/// A view with its selected components and co-managers.
#[derive(Debug, Clone)]
pub struct ViewDoc {
    pub view: ViewRow,
    pub components: Vec<String>,
    pub managers: Vec<String>,
}

impl ViewDoc {
    pub fn mode(&self) -> AccessMode {
        AccessMode::parse(&self.view.access_mode).unwrap_or(AccessMode::VerifiedEmail)
    }
}

/// Loads the components and managers of views in two queries.
pub async fn docs(app: &App, views: Vec<ViewRow>) -> Result<Vec<ViewDoc>> {
    let ids: Vec<i64> = views.iter().map(|v| v.id).collect();
    let mut components: HashMap<i64, Vec<String>> = HashMap::new();
    for (id, c) in sql::components_of(&app.db.pool, &ids).await? {
        components.entry(id).or_default().push(c);
    }
    let mut managers = co_managers::of_each(app, Managed::View, &ids).await?;
    Ok(views
        .into_iter()
        .map(|v| ViewDoc {
            components: components.remove(&v.id).unwrap_or_default(),
            managers: managers.remove(&v.id).unwrap_or_default(),
            view: v,
        })
        .collect())
}

pub async fn doc(app: &App, view: ViewRow) -> Result<ViewDoc> {
    Ok(docs(app, vec![view]).await?.remove(0))
}

/// What a reader sets on a view; `None` keeps the current value (or the default on create).
#[derive(Debug, Clone, Default)]
pub struct ViewInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub components: Option<Vec<String>>,
    /// `Some(None)` clears the alias.
    pub alias: Option<Option<String>>,
    pub access_mode: Option<String>,
    pub allowed_domains: Option<Vec<String>>,
    pub allowed_emails: Option<Vec<String>>,
}

fn actor(who: &MagicPrincipal, ip: &str) -> Actor {
    Actor { kind: "magic_session", id: Some(who.token_id), name: who.email.clone(), ip: ip.to_string() }
}

fn event(page: &PageRow, action: &'static str, id: i64, detail: serde_json::Value) -> Event<'static> {
    Event {
        org_id: Some(page.org_id),
        page_id: Some(page.id),
        action,
        target_kind: "view",
        target_id: Some(id),
        detail,
    }
}

/// Checks selected components: at least one, each a visible component of the page.
async fn check_components(app: &App, page: &PageRow, ids: &[String]) -> Result<Vec<String>> {
    if ids.is_empty() {
        return Err(Error::field("components", "select at least one component"));
    }
    if ids.len() > MAX_COMPONENTS {
        return Err(Error::field("components", format!("at most {MAX_COMPONENTS} components")));
    }
    let items = crate::service::status::hierarchy::items(app, page).await?;
    let mut out: Vec<String> = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        if !items.iter().any(|it| &it.identifier == id && it.visible) {
            return Err(Error::field(
                &format!("components[{i}]"),
                format!("no component with identifier '{id}' on this page"),
            ));
        }
        if !out.contains(id) {
            out.push(id.clone());
        }
    }
    Ok(out)
}

/// The fields of a view after applying `input` to `current` (or defaults), all validated.
struct Checked {
    alias: Option<String>,
    name: String,
    description: String,
    mode: AccessMode,
    domains: Vec<String>,
    emails: Vec<String>,
}

fn check_fields(input: &ViewInput, current: Option<&ViewRow>) -> Result<Checked> {
    let name = match (&input.name, current) {
        (Some(n), _) => types::name(n, 120).map_err(Error::invalid("name"))?,
        (None, Some(c)) => c.name.clone(),
        (None, None) => return Err(Error::field("name", "required")),
    };
    let description = match (&input.description, current) {
        (Some(d), _) => types::text(d, 2000).map_err(Error::invalid("description"))?,
        (None, Some(c)) => c.description.clone(),
        (None, None) => String::new(),
    };
    let alias = match (&input.alias, current) {
        (Some(Some(a)), _) => Some(Alias::parse(a).map_err(Error::invalid("alias"))?.as_str().to_string()),
        (Some(None), _) => None,
        (None, Some(c)) => c.alias.clone(),
        (None, None) => None,
    };
    let mode = match (&input.access_mode, current) {
        (Some(m), _) => AccessMode::parse(m).map_err(Error::invalid("access_mode"))?,
        (None, Some(c)) => AccessMode::parse(&c.access_mode).map_err(Error::invalid("access_mode"))?,
        (None, None) => AccessMode::Public,
    };
    let list_err =
        |field: &'static str| move |(i, e): (usize, types::Invalid)| Error::field(&format!("{field}[{i}]"), e.0);
    let domains = match (&input.allowed_domains, current) {
        (Some(l), _) => rules::domain_list(l, MAX_DOMAINS).map_err(list_err("allowed_domains"))?,
        (None, Some(c)) => c.allowed_domains.clone(),
        (None, None) => Vec::new(),
    };
    let emails = match (&input.allowed_emails, current) {
        (Some(l), _) => rules::email_list(l, MAX_EMAILS).map_err(list_err("allowed_emails"))?,
        (None, Some(c)) => c.allowed_emails.clone(),
        (None, None) => Vec::new(),
    };
    match mode {
        AccessMode::AllowedDomains if domains.is_empty() => {
            return Err(Error::field("allowed_domains", "list at least one domain for allowed_domains access"))
        }
        AccessMode::AllowedEmails if emails.is_empty() => {
            return Err(Error::field("allowed_emails", "list at least one address for allowed_emails access"))
        }
        _ => {}
    }
    Ok(Checked { alias, name, description, mode, domains, emails })
}

impl Checked {
    fn fields(&self) -> ViewFields<'_> {
        ViewFields {
            alias: self.alias.as_deref(),
            name: &self.name,
            description: &self.description,
            access_mode: self.mode.key(),
            allowed_domains: &self.domains,
            allowed_emails: &self.emails,
        }
    }
}

/// Refuses a view past [`MAX_VIEWS_PER_OWNER`] or [`MAX_VIEWS_PER_PAGE`], counted under the
/// page's lock inside the creating transaction so concurrent creates cannot overshoot.
async fn require_room_for_view(tx: &mut Tx, page: &PageRow, owner: &str) -> Result<()> {
    limits::lock(&mut **tx, limits::Locked::Page(page.id)).await?;
    if sql::count_owned(&mut **tx, page.id, owner).await? >= MAX_VIEWS_PER_OWNER {
        return Err(Error::limit(None, format!("an address owns at most {MAX_VIEWS_PER_OWNER} views on a page")));
    }
    if limits::count_on_page(&mut **tx, Counted::Views, page.id).await? >= MAX_VIEWS_PER_PAGE {
        return Err(Error::limit(None, format!("a page has at most {MAX_VIEWS_PER_PAGE} views")));
    }
    Ok(())
}

async fn check_alias_free(tx: &mut Tx, page: &PageRow, alias: Option<&str>, own_id: Option<i64>) -> Result<()> {
    if let Some(a) = alias {
        if sql::by_code(&mut **tx, page.id, a).await?.is_some_and(|v| Some(v.id) != own_id) {
            return Err(Error::Conflict { code: "alias_taken", message: format!("alias '{a}' is taken on this page") });
        }
    }
    Ok(())
}

/// Views of the page the session's address owns or co-manages.
pub async fn list_managed(
    app: &App,
    page: &PageRow,
    who: &MagicPrincipal,
    before: i64,
    limit: i64,
) -> Result<Vec<ViewDoc>> {
    docs(app, co_managers::managed_by(app, page, who, before, limit).await?).await
}

/// A view the session's address owns or co-manages; anyone else's is 404.
pub async fn get_managed(app: &App, page: &PageRow, who: &MagicPrincipal, id: i64) -> Result<ViewDoc> {
    let view = sql::by_id(&app.db.pool, page.id, id).await?.ok_or(Error::NotFound("view"))?;
    let d = doc(app, view).await?;
    co_managers::role(&d.view.owner_email, &d.managers, &who.email).ok_or(Error::NotFound("view"))?;
    Ok(d)
}

/// Creates a view owned by the session's address.
pub async fn create(app: &App, page: &PageRow, who: &MagicPrincipal, ip: &str, input: ViewInput) -> Result<ViewDoc> {
    let c = check_fields(&input, None)?;
    let components = check_components(app, page, input.components.as_deref().unwrap_or(&[])).await?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    require_room_for_view(&mut tx, page, &who.email).await?;
    check_alias_free(&mut tx, page, c.alias.as_deref(), None).await?;
    let code = loop {
        let code = rules::short_code(&mut *app.rng.lock().expect("rng lock"));
        if !sql::code_taken(&mut *tx, &code).await? {
            break code;
        }
    };
    let id = sql::insert(&mut *tx, page.id, &code, &who.email, &c.fields(), now).await?;
    sql::set_components(&mut tx, id, &components).await?;
    let detail = serde_json::json!({"short_code": code, "alias": c.alias, "access_mode": c.mode.key()});
    audit::record(&mut tx, &actor(who, ip), event(page, "view.created", id, detail), now).await?;
    tx.commit().await?;
    get_managed(app, page, who, id).await
}

/// Changes a view (owner or co-manager). Changing who may open it ends every viewer token.
pub async fn update(
    app: &App,
    page: &PageRow,
    who: &MagicPrincipal,
    ip: &str,
    id: i64,
    input: ViewInput,
) -> Result<ViewDoc> {
    let current = get_managed(app, page, who, id).await?;
    let c = check_fields(&input, Some(&current.view))?;
    let components = match &input.components {
        Some(ids) => Some(check_components(app, page, ids).await?),
        None => None,
    };
    let access_changed = c.mode.key() != current.view.access_mode
        || c.domains != current.view.allowed_domains
        || c.emails != current.view.allowed_emails;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    check_alias_free(&mut tx, page, c.alias.as_deref(), Some(id)).await?;
    sql::update(&mut *tx, id, &c.fields(), now).await?;
    if let Some(components) = &components {
        sql::set_components(&mut tx, id, components).await?;
    }
    if access_changed {
        crate::store::magic_tokens::revoke_tokens(&mut *tx, id, access::LINK_KIND, None, now).await?;
        crate::store::magic_tokens::revoke_tokens(&mut *tx, id, access::SESSION_KIND, None, now).await?;
    }
    let detail = serde_json::json!({"access_changed": access_changed, "alias": c.alias, "access_mode": c.mode.key()});
    audit::record(&mut tx, &actor(who, ip), event(page, "view.updated", id, detail), now).await?;
    tx.commit().await?;
    get_managed(app, page, who, id).await
}

fn owner_only(d: &ViewDoc, who: &MagicPrincipal, what: &str) -> Result<()> {
    match co_managers::role(&d.view.owner_email, &d.managers, &who.email) {
        Some(Role::Owner) => Ok(()),
        _ => Err(co_managers::owner_only(Managed::View, what)),
    }
}

/// Deletes a view (owner only); its viewer tokens go with it.
pub async fn delete(app: &App, page: &PageRow, who: &MagicPrincipal, ip: &str, id: i64) -> Result<()> {
    let d = get_managed(app, page, who, id).await?;
    owner_only(&d, who, "delete it")?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    sql::delete(&mut *tx, id).await?;
    audit::record(&mut tx, &actor(who, ip), event(page, "view.deleted", id, serde_json::json!({})), now).await?;
    tx.commit().await?;
    Ok(())
}
