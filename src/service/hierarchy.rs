//! Hierarchy levels and items (components), status definitions and lifecycle stages.

use super::audit::{self, Actor, Event};
use super::error::{Error, Result};
use crate::app::App;
use crate::domain::types;
use crate::store::hierarchy::{self as sql, ItemFields, ItemRow, LevelRow, StageRow, StatusRow};
use crate::store::tenancy::PageRow;
use crate::store::Tx;

/// The default status vocabulary: (key, name, severity, color, downtime weight ‰). `maintenance`
/// is reserved: shown during maintenance, never an incident's status.
pub const DEFAULT_STATUSES: &[(&str, &str, i64, &str, i64)] = &[
    ("operational", "Operational", 0, "#16a34a", 0),
    ("degraded", "Degraded performance", 1, "#ca8a04", 0),
    ("partial_outage", "Partial outage", 2, "#ea580c", 300),
    ("major_outage", "Major outage", 3, "#dc2626", 1000),
];
pub const MAINTENANCE: &str = "maintenance";
pub const DEFAULT_INCIDENT_STAGES: &[(&str, &str)] = &[
    ("investigating", "Investigating"),
    ("identified", "Identified"),
    ("monitoring", "Monitoring"),
    ("resolved", "Resolved"),
];
pub const DEFAULT_MAINTENANCE_STAGES: &[(&str, &str)] = &[
    ("scheduled", "Scheduled"),
    ("in_progress", "In progress"),
    ("completed", "Completed"),
    ("cancelled", "Cancelled"),
];

fn maintenance_row() -> StatusRow {
    StatusRow {
        id: 0,
        key: MAINTENANCE.into(),
        name: "Under maintenance".into(),
        severity: 0,
        color: "#2563eb".into(),
        downtime_permille: 0,
        reserved: true,
    }
}

/// Seeds a new page's statuses and stages (inside its creating transaction).
pub async fn seed_defaults(tx: &mut Tx, page_id: i64) -> Result<()> {
    let mut defs: Vec<StatusRow> = DEFAULT_STATUSES
        .iter()
        .map(|(k, n, s, c, w)| StatusRow {
            id: 0,
            key: (*k).into(),
            name: (*n).into(),
            severity: *s,
            color: (*c).into(),
            downtime_permille: *w,
            reserved: false,
        })
        .collect();
    defs.push(maintenance_row());
    sql::replace_statuses(tx, page_id, &defs).await?;
    let owned = |s: &[(&str, &str)]| s.iter().map(|(k, n)| (k.to_string(), n.to_string())).collect::<Vec<_>>();
    sql::replace_stages(tx, page_id, "incident", &owned(DEFAULT_INCIDENT_STAGES)).await?;
    sql::replace_stages(tx, page_id, "maintenance", &owned(DEFAULT_MAINTENANCE_STAGES)).await?;
    Ok(())
}

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
    if !(1..=10).contains(&depth) {
        return Err(Error::field("depth", "must be 1 to 10"));
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

/// Deletes an item without children; incidents and maintenance that named it keep their text.
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

// ---- statuses and stages ----------------------------------------------------------------------

pub async fn statuses(app: &App, page: &PageRow) -> Result<Vec<StatusRow>> {
    Ok(sql::statuses(&app.db.pool, page.id).await?)
}

/// A status definition as a caller orders it (least to most severe).
pub struct StatusInput {
    pub key: String,
    pub name: String,
    pub color: String,
    pub downtime_weight: f64,
}

/// Replaces the status vocabulary: the first is the healthy baseline; `maintenance` is kept.
/// A status still used by an unresolved incident cannot be removed.
pub async fn replace_statuses(
    app: &App,
    actor: &Actor,
    page: &PageRow,
    input: Vec<StatusInput>,
) -> Result<Vec<StatusRow>> {
    if input.len() < 2 || input.len() > 20 {
        return Err(Error::field("statuses", "give 2 to 20 statuses, from the healthy baseline to the most severe"));
    }
    let mut defs = Vec::new();
    for (i, s) in input.iter().enumerate() {
        let field = format!("statuses[{i}]");
        check_key(&s.key).map_err(|m| Error::field(&field, m))?;
        if s.key == MAINTENANCE {
            return Err(Error::field(&field, "'maintenance' is reserved"));
        }
        if defs.iter().any(|d: &StatusRow| d.key == s.key) {
            return Err(Error::field(&field, format!("key '{}' appears twice", s.key)));
        }
        let name = types::name(&s.name, 100).map_err(|e| Error::field(&field, e.0))?;
        check_color(&s.color).map_err(|m| Error::field(&field, m))?;
        if !(0.0..=1.0).contains(&s.downtime_weight) || (i == 0 && s.downtime_weight > 0.0) {
            return Err(Error::field(&field, "downtime_weight must be 0 to 1 (0 for the baseline)"));
        }
        defs.push(StatusRow {
            id: 0,
            key: s.key.clone(),
            name,
            severity: i as i64,
            color: s.color.clone(),
            downtime_permille: (s.downtime_weight * 1000.0).round() as i64,
            reserved: false,
        });
    }
    let keep = statuses(app, page).await?.into_iter().find(|s| s.reserved).unwrap_or_else(maintenance_row);
    defs.push(keep);
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let used = crate::store::incidents::statuses_in_use(&mut *tx, page.id).await?;
    if let Some(gone) = used.iter().find(|k| !defs.iter().any(|d| &d.key == *k)) {
        return Err(Error::Conflict {
            code: "status_in_use",
            message: format!("status '{gone}' is used by an unresolved incident"),
        });
    }
    sql::replace_statuses(&mut tx, page.id, &defs).await?;
    audit::record(
        &mut tx,
        actor,
        event(
            page,
            "statuses.replaced",
            "page",
            Some(page.id),
            serde_json::json!({"keys": defs.iter().map(|d| &d.key).collect::<Vec<_>>()}),
        ),
        now,
    )
    .await?;
    tx.commit().await?;
    statuses(app, page).await
}

pub async fn stages(app: &App, page: &PageRow, kind: &str) -> Result<Vec<StageRow>> {
    Ok(sql::stages(&app.db.pool, page.id, kind).await?)
}

/// Replaces the ordered stages of `incident` (first on create, last on resolve; at least 2) or
/// `maintenance` (scheduled, in progress, …, completed, cancelled; at least 4).
pub async fn replace_stages(
    app: &App,
    actor: &Actor,
    page: &PageRow,
    kind: &str,
    input: Vec<(String, String)>,
) -> Result<Vec<StageRow>> {
    let min = if kind == "incident" { 2 } else { 4 };
    if input.len() < min || input.len() > 20 {
        return Err(Error::field("stages", format!("give {min} to 20 stages, in order")));
    }
    let mut seen = Vec::new();
    for (i, (key, name)) in input.iter().enumerate() {
        let field = format!("stages[{i}]");
        check_key(key).map_err(|m| Error::field(&field, m))?;
        if seen.contains(key) {
            return Err(Error::field(&field, format!("key '{key}' appears twice")));
        }
        types::name(name, 100).map_err(|e| Error::field(&field, e.0))?;
        seen.push(key.clone());
    }
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let used = if kind == "incident" {
        crate::store::incidents::stages_in_use(&mut *tx, page.id).await?
    } else {
        crate::store::incidents::maintenance_stages_in_use(&mut *tx, page.id).await?
    };
    if let Some(gone) = used.iter().find(|k| !seen.contains(k)) {
        return Err(Error::Conflict { code: "stage_in_use", message: format!("stage '{gone}' is in use") });
    }
    sql::replace_stages(&mut tx, page.id, kind, &input).await?;
    audit::record(
        &mut tx,
        actor,
        event(page, "lifecycle.replaced", "page", Some(page.id), serde_json::json!({"kind": kind, "keys": seen})),
        now,
    )
    .await?;
    tx.commit().await?;
    stages(app, page, kind).await
}

fn check_key(k: &str) -> std::result::Result<(), String> {
    let ok =
        !k.is_empty() && k.len() <= 50 && k.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err("key must be 1-50 characters of a-z, 0-9 and '_'".into())
    }
}

fn check_color(c: &str) -> std::result::Result<(), String> {
    let b = c.as_bytes();
    if b.len() == 7 && b[0] == b'#' && b[1..].iter().all(u8::is_ascii_hexdigit) {
        Ok(())
    } else {
        Err("color must be a hex color like #dc2626".into())
    }
}
