//! Hierarchy levels and items (components), status definitions and lifecycle stages.

use crate::app::App;
use crate::domain::types;
use crate::service::audit::{self, Actor, Event};
use crate::service::error::{Error, Result};
use crate::store::hierarchy::{self as sql, ItemFields, ItemRow, LevelRow};
use crate::store::limits::{self, Counted};
use crate::store::pages::PageRow;
use crate::store::Tx;

mod vocabulary;
pub use vocabulary::*;

/// Most components (hierarchy items, all levels together) one page holds: room for the largest
/// public status pages (a few hundred components) with margin. Every read that walks a page's
/// components (roll-up, summary, tree) is bounded by it (decision 0011).
pub const MAX_COMPONENTS: i64 = 1000;
/// Most components one incident or maintenance names as affected (a parent covers its children).
pub const MAX_AFFECTED_ITEMS: usize = 500;
/// Most hierarchy levels of a page (depths 1 to this).
pub const MAX_LEVELS: i64 = 10;

fn event<'a>(
    page: &PageRow,
    action: &'a str,
    target_kind: &'a str,
    target_id: Option<i64>,
    detail: serde_json::Value,
) -> Event<'a> {
    Event { org_id: Some(page.org_id), page_id: Some(page.id), action, target_kind, target_id, detail }
}

// ---- levels -----------------------------------------------------------------------------------

pub async fn levels(app: &App, page: &PageRow) -> Result<Vec<LevelRow>> {
    Ok(sql::levels(&app.db.pool, page.id).await?)
}

pub async fn create_level(
    app: &App,
    actor: &Actor,
    page: &PageRow,
    depth: i64,
    singular: &str,
    plural: &str,
) -> Result<LevelRow> {
    if depth > MAX_LEVELS {
        return Err(Error::limit(
            Some("depth"),
            format!("a page has at most {MAX_LEVELS} levels (depths 1 to {MAX_LEVELS})"),
        ));
    }
    if depth < 1 {
        return Err(Error::field("depth", format!("must be 1 to {MAX_LEVELS}")));
    }
    let singular = types::name(singular, 100).map_err(Error::invalid("singular"))?;
    let plural = types::name(plural, 100).map_err(Error::invalid("plural"))?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    sql::insert_level(&mut *tx, page.id, depth, &singular, &plural).await.map_err(|e| match e {
        crate::store::StoreError::Conflict(_) => {
            Error::Conflict { code: "level_exists", message: format!("level {depth} already exists") }
        }
        e => e.into(),
    })?;
    audit::record(
        &mut tx,
        actor,
        event(
            page,
            "hierarchy.level_created",
            "hierarchy_level",
            Some(depth),
            serde_json::json!({"singular": singular}),
        ),
        now,
    )
    .await?;
    tx.commit().await?;
    level(app, page, depth).await
}

pub async fn level(app: &App, page: &PageRow, depth: i64) -> Result<LevelRow> {
    levels(app, page).await?.into_iter().find(|l| l.depth == depth).ok_or(Error::NotFound("level"))
}

pub async fn update_level(
    app: &App,
    actor: &Actor,
    page: &PageRow,
    depth: i64,
    singular: Option<&str>,
    plural: Option<&str>,
) -> Result<LevelRow> {
    let current = level(app, page, depth).await?;
    let singular = types::name(singular.unwrap_or(&current.singular), 100).map_err(Error::invalid("singular"))?;
    let plural = types::name(plural.unwrap_or(&current.plural), 100).map_err(Error::invalid("plural"))?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    sql::update_level(&mut *tx, page.id, depth, &singular, &plural).await?;
    audit::record(
        &mut tx,
        actor,
        event(page, "hierarchy.level_updated", "hierarchy_level", Some(depth), serde_json::json!({})),
        now,
    )
    .await?;
    tx.commit().await?;
    level(app, page, depth).await
}

pub async fn delete_level(app: &App, actor: &Actor, page: &PageRow, depth: i64) -> Result<()> {
    level(app, page, depth).await?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    if sql::count_items_at_depth(&mut *tx, page.id, depth).await? > 0 {
        return Err(Error::Conflict { code: "level_in_use", message: "items still sit at this level".into() });
    }
    sql::delete_level(&mut *tx, page.id, depth).await?;
    audit::record(
        &mut tx,
        actor,
        event(page, "hierarchy.level_deleted", "hierarchy_level", Some(depth), serde_json::json!({})),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

// ---- items ------------------------------------------------------------------------------------

/// An item reference as clients send it: `{"external_id": "api-gateway"}` or `{"id": 7}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemRef {
    Id(i64),
    Identifier(String),
}

/// Resolves a reference to an item of this page, or a 400 naming `field`.
pub async fn resolve_item(app: &App, page: &PageRow, r: &ItemRef, field: &str) -> Result<ItemRow> {
    let found = match r {
        ItemRef::Id(id) => sql::item_by_id(&app.db.pool, page.id, *id).await?,
        ItemRef::Identifier(s) => sql::item_by_identifier(&app.db.pool, page.id, s).await?,
    };
    found.ok_or_else(|| {
        let what = match r {
            ItemRef::Id(id) => format!("no component with id {id} on this page"),
            ItemRef::Identifier(s) => format!("no component with identifier '{s}' on this page"),
        };
        Error::field(field, what)
    })
}

pub async fn items(app: &App, page: &PageRow) -> Result<Vec<ItemRow>> {
    Ok(sql::items(&app.db.pool, page.id).await?)
}

/// An item by reference, or 404.
pub async fn item(app: &App, page: &PageRow, r: &ItemRef) -> Result<ItemRow> {
    resolve_item(app, page, r, "id").await.map_err(|_| Error::NotFound("component"))
}

/// What a caller sets on an item; `None` keeps the current value (or the default on create).
#[derive(Debug, Default, Clone)]
pub struct ItemInput {
    pub name: Option<String>,
    pub identifier: Option<String>,
    pub abbreviation: Option<String>,
    pub description: Option<String>,
    /// `Some(None)` moves the item to the top level.
    pub parent: Option<Option<ItemRef>>,
    pub display_order: Option<i64>,
    pub metadata: Option<serde_json::Value>,
    pub visible: Option<bool>,
}

/// Identifiers: 1-100 of `a-z 0-9 . _ -`, starting with a letter or digit.
pub fn check_identifier(s: &str) -> Result<()> {
    let ok = !s.is_empty()
        && s.len() <= 100
        && s.as_bytes()[0].is_ascii_alphanumeric()
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(Error::field(
            "identifier",
            "must be 1-100 characters of a-z, 0-9, '.', '_' and '-', starting with a letter or digit",
        ))
    }
}

pub async fn create_item(app: &App, actor: &Actor, page: &PageRow, input: ItemInput) -> Result<ItemRow> {
    let name = types::name(input.name.as_deref().ok_or_else(|| Error::field("name", "is required"))?, 200)
        .map_err(Error::invalid("name"))?;
    let identifier = input.identifier.clone().ok_or_else(|| Error::field("identifier", "is required"))?;
    check_identifier(&identifier)?;
    let parent = match input.parent.clone().flatten() {
        Some(r) => Some(resolve_item(app, page, &r, "parent").await?),
        None => None,
    };
    let depth = parent.as_ref().map_or(1, |p| p.depth + 1);
    let fields = fields(&input, &name, &identifier, depth, parent.map(|p| p.id), None)?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    require_room_for_component(&mut tx, page).await?;
    require_level(&mut tx, page, depth).await?;
    let id = sql::insert_item(&mut *tx, page.id, &fields.as_fields(), now).await.map_err(identifier_taken)?;
    audit::record(
        &mut tx,
        actor,
        event(
            page,
            "hierarchy.item_created",
            "hierarchy_item",
            Some(id),
            serde_json::json!({"identifier": identifier}),
        ),
        now,
    )
    .await?;
    tx.commit().await?;
    item(app, page, &ItemRef::Id(id)).await
}

fn identifier_taken(e: crate::store::StoreError) -> Error {
    match e {
        crate::store::StoreError::Conflict(_) => {
            Error::Conflict { code: "identifier_taken", message: "identifier is already used on this page".into() }
        }
        e => e.into(),
    }
}

/// Refuses a component past [`MAX_COMPONENTS`]. Counted under the page's lock, inside the
/// creating transaction, so concurrent creates cannot overshoot.
async fn require_room_for_component(tx: &mut Tx, page: &PageRow) -> Result<()> {
    limits::lock(&mut **tx, limits::Locked::Page(page.id)).await?;
    if limits::count_on_page(&mut **tx, Counted::Components, page.id).await? >= MAX_COMPONENTS {
        return Err(Error::limit(None, format!("a page has at most {MAX_COMPONENTS} components")));
    }
    Ok(())
}

async fn require_level(tx: &mut Tx, page: &PageRow, depth: i64) -> Result<()> {
    if !sql::levels(&mut **tx, page.id).await?.iter().any(|l| l.depth == depth) {
        return Err(Error::field(
            "parent",
            format!("there is no hierarchy level {depth} for this item to sit at; create the level first"),
        ));
    }
    Ok(())
}

struct OwnedFields {
    depth: i64,
    parent_id: Option<i64>,
    identifier: String,
    name: String,
    abbreviation: String,
    description: String,
    display_order: i64,
    metadata: String,
    visible: bool,
}

impl OwnedFields {
    fn as_fields(&self) -> ItemFields<'_> {
        ItemFields {
            depth: self.depth,
            parent_id: self.parent_id,
            identifier: &self.identifier,
            name: &self.name,
            abbreviation: &self.abbreviation,
            description: &self.description,
            display_order: self.display_order,
            metadata: &self.metadata,
            visible: self.visible,
        }
    }
}

fn fields(
    input: &ItemInput,
    name: &str,
    identifier: &str,
    depth: i64,
    parent_id: Option<i64>,
    current: Option<&ItemRow>,
) -> Result<OwnedFields> {
    let abbreviation = match (&input.abbreviation, current) {
        (Some(a), _) => types::text(a, 20).map_err(Error::invalid("abbreviation"))?,
        (None, Some(c)) => c.abbreviation.clone(),
        (None, None) => String::new(),
    };
    let description = match (&input.description, current) {
        (Some(d), _) => types::text(d, 2000).map_err(Error::invalid("description"))?,
        (None, Some(c)) => c.description.clone(),
        (None, None) => String::new(),
    };
    let metadata = match (&input.metadata, current) {
        (Some(m), _) => {
            if !m.is_object() {
                return Err(Error::field("metadata", "must be a JSON object"));
            }
            let s = m.to_string();
            if s.len() > 16 * 1024 {
                return Err(Error::field("metadata", "must be at most 16 KiB"));
            }
            s
        }
        (None, Some(c)) => c.metadata.clone(),
        (None, None) => "{}".into(),
    };
    Ok(OwnedFields {
        depth,
        parent_id,
        identifier: identifier.to_string(),
        name: name.to_string(),
        abbreviation,
        description,
        display_order: input.display_order.or(current.map(|c| c.display_order)).unwrap_or(0),
        metadata,
        visible: input.visible.or(current.map(|c| c.visible)).unwrap_or(true),
    })
}

/// Changes an item. Moving it (a new parent) is allowed for items without children; the new
/// place must have a level.
pub async fn update_item(app: &App, actor: &Actor, page: &PageRow, r: &ItemRef, input: ItemInput) -> Result<ItemRow> {
    let current = item(app, page, r).await?;
    let name = match &input.name {
        Some(n) => types::name(n, 200).map_err(Error::invalid("name"))?,
        None => current.name.clone(),
    };
    let identifier = input.identifier.clone().unwrap_or_else(|| current.identifier.clone());
    check_identifier(&identifier)?;
    let (depth, parent_id) = match input.parent.clone() {
        None => (current.depth, current.parent_id),
        Some(None) => (1, None),
        Some(Some(p)) => {
            let p = resolve_item(app, page, &p, "parent").await?;
            if p.id == current.id {
                return Err(Error::field("parent", "an item cannot be its own parent"));
            }
            (p.depth + 1, Some(p.id))
        }
    };
    let fields = fields(&input, &name, &identifier, depth, parent_id, Some(&current))?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    if parent_id != current.parent_id {
        if sql::count_children(&mut *tx, current.id).await? > 0 {
            return Err(Error::Conflict { code: "has_children", message: "move the item's children first".into() });
        }
        require_level(&mut tx, page, depth).await?;
    }
    sql::update_item(&mut *tx, current.id, &fields.as_fields(), now).await.map_err(identifier_taken)?;
    audit::record(
        &mut tx,
        actor,
        event(
            page,
            "hierarchy.item_updated",
            "hierarchy_item",
            Some(current.id),
            serde_json::json!({"identifier": identifier}),
        ),
        now,
    )
    .await?;
    tx.commit().await?;
    item(app, page, &ItemRef::Id(current.id)).await
}

/// Deletes an item without children. Incidents and windows that named it no longer list it; its
/// impact history moves to its parent so past uptime does not change.
pub async fn delete_item(app: &App, actor: &Actor, page: &PageRow, r: &ItemRef) -> Result<()> {
    let current = item(app, page, r).await?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    if sql::count_children(&mut *tx, current.id).await? > 0 {
        return Err(Error::Conflict {
            code: "has_children",
            message: "delete or move the item's children first".into(),
        });
    }
    // Its impact history moves to its parent, so the parent's past uptime stays what it was.
    if let Some(parent) = current.parent_id {
        crate::store::incidents::move_impacts(&mut *tx, current.id, parent).await?;
    }
    sql::delete_item(&mut *tx, current.id).await?;
    audit::record(
        &mut tx,
        actor,
        event(
            page,
            "hierarchy.item_deleted",
            "hierarchy_item",
            Some(current.id),
            serde_json::json!({"identifier": current.identifier}),
        ),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
