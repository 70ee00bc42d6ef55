//! The public status reads: the page's overall status, its components (a tree, or a flat list)
//! and the summary a widget needs in one call.

use super::notices::{IncidentJson, MaintenanceLists};
use super::status_model::StatusJson;
use crate::service::status::computed::{ItemStatus, PageStatus};
use serde::Serialize;
use std::collections::HashMap;

/// The page's overall status, with its definition's name and colour (null if undefined).
#[derive(Serialize)]
pub struct OverallJson {
    pub key: String,
    pub name: Option<String>,
    pub color: Option<String>,
}

impl OverallJson {
    pub fn of(s: &PageStatus) -> OverallJson {
        let def = s.statuses.iter().find(|d| d.key == s.overall);
        OverallJson { key: s.overall.clone(), name: def.map(|d| d.name.clone()), color: def.map(|d| d.color.clone()) }
    }
}

/// A visible component with its computed status and its visible children.
#[derive(Serialize)]
pub struct ComponentNode {
    pub id: i64,
    pub identifier: String,
    pub name: String,
    pub abbreviation: String,
    pub description: String,
    pub status: String,
    pub children: Vec<ComponentNode>,
}

impl ComponentNode {
    /// Visible components as a tree (linear in the number of items).
    pub fn tree(s: &PageStatus) -> Vec<ComponentNode> {
        let mut children: HashMap<Option<i64>, Vec<&ItemStatus>> = HashMap::new();
        for i in s.items.iter().filter(|i| i.item.visible) {
            children.entry(i.item.parent_id).or_default().push(i);
        }
        fn node(children: &HashMap<Option<i64>, Vec<&ItemStatus>>, i: &ItemStatus) -> ComponentNode {
            ComponentNode {
                id: i.item.id,
                identifier: i.item.identifier.clone(),
                name: i.item.name.clone(),
                abbreviation: i.item.abbreviation.clone(),
                description: i.item.description.clone(),
                status: i.status.clone(),
                children: children.get(&Some(i.item.id)).into_iter().flatten().map(|c| node(children, c)).collect(),
            }
        }
        children.get(&None).into_iter().flatten().map(|i| node(&children, i)).collect()
    }
}

/// A visible component in the flat list (`?view=full`), naming its parent.
#[derive(Serialize)]
pub struct ComponentRow {
    pub id: i64,
    pub identifier: String,
    pub name: String,
    pub abbreviation: String,
    pub description: String,
    pub depth: i64,
    /// The parent's identifier.
    pub parent: Option<String>,
    pub display_order: i64,
    pub status: String,
}

impl ComponentRow {
    pub fn of(i: &ItemStatus, parent: Option<&ItemStatus>) -> ComponentRow {
        ComponentRow {
            id: i.item.id,
            identifier: i.item.identifier.clone(),
            name: i.item.name.clone(),
            abbreviation: i.item.abbreviation.clone(),
            description: i.item.description.clone(),
            depth: i.item.depth,
            parent: parent.map(|p| p.item.identifier.clone()),
            display_order: i.item.display_order,
            status: i.status.clone(),
        }
    }
}

/// `GET /api/v1/components`: the tree, or the flat list.
#[derive(Serialize)]
pub struct ComponentsPage {
    pub status: OverallJson,
    pub data: Components,
    pub next_cursor: Option<String>,
}

#[derive(Serialize)]
#[serde(untagged)]
pub enum Components {
    Tree(Vec<ComponentNode>),
    Flat(Vec<ComponentRow>),
}

/// `GET /api/v1/summary`.
#[derive(Serialize)]
pub struct SummaryJson {
    pub page: PageLink,
    pub status: OverallJson,
    pub components: Vec<ComponentNode>,
    pub active_incidents: Vec<IncidentJson>,
    pub maintenances: MaintenanceLists,
    pub statuses: Vec<StatusJson>,
}

/// The page a summary is of, and where it is published.
#[derive(Serialize)]
pub struct PageLink {
    pub name: String,
    pub url_prefix: String,
    pub url: String,
    pub custom_domain: Option<String>,
}
