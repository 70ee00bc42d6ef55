//! The status model's vocabulary and components, as admins (and, for statuses, readers) see them.

use crate::clock::rfc3339;
use crate::store::hierarchy::{ItemRow, LevelRow, StageRow, StatusRow};
use serde::Serialize;
use serde_json::Value;

/// One page of a list: `{"data": [...], "next_cursor": "..."|null}`.
#[derive(Serialize)]
pub struct Listed<T> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
}

/// A hierarchy level.
#[derive(Serialize)]
pub struct LevelJson {
    pub depth: i64,
    pub singular: String,
    pub plural: String,
}

impl LevelJson {
    pub fn of(l: &LevelRow) -> LevelJson {
        LevelJson { depth: l.depth, singular: l.singular.clone(), plural: l.plural.clone() }
    }
}

/// A component as admins see it (with metadata), with its computed status when known.
#[derive(Serialize)]
pub struct ItemJson {
    pub id: i64,
    pub identifier: String,
    pub name: String,
    pub abbreviation: String,
    pub description: String,
    pub depth: i64,
    pub parent: Option<ParentRef>,
    pub display_order: i64,
    /// The JSON object stored with the component.
    pub metadata: Value,
    pub visible: bool,
    pub status: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Serialize)]
pub struct ParentRef {
    pub id: i64,
    pub identifier: String,
}

impl ItemJson {
    pub fn of(i: &ItemRow, parent: Option<&ItemRow>, status: Option<&str>) -> ItemJson {
        ItemJson {
            id: i.id,
            identifier: i.identifier.clone(),
            name: i.name.clone(),
            abbreviation: i.abbreviation.clone(),
            description: i.description.clone(),
            depth: i.depth,
            parent: parent.map(|p| ParentRef { id: p.id, identifier: p.identifier.clone() }),
            display_order: i.display_order,
            metadata: serde_json::from_str::<Value>(&i.metadata).unwrap_or_else(|_| Value::Object(Default::default())),
            visible: i.visible,
            status: status.map(str::to_string),
            created_at: rfc3339(i.created_at),
            updated_at: rfc3339(i.updated_at),
        }
    }
}

/// A status definition.
#[derive(Serialize)]
pub struct StatusJson {
    pub key: String,
    pub name: String,
    pub severity: i64,
    pub color: String,
    /// How much of a day in this status counts as downtime (0 to 1).
    pub downtime_weight: f64,
    pub reserved: bool,
}

impl StatusJson {
    pub fn of(s: &StatusRow) -> StatusJson {
        StatusJson {
            key: s.key.clone(),
            name: s.name.clone(),
            severity: s.severity,
            color: s.color.clone(),
            downtime_weight: s.downtime_permille as f64 / 1000.0,
            reserved: s.reserved,
        }
    }
}

/// A lifecycle stage.
#[derive(Serialize)]
pub struct StageJson {
    pub key: String,
    pub name: String,
    pub position: i64,
}

impl StageJson {
    pub fn of(s: &StageRow) -> StageJson {
        StageJson { key: s.key.clone(), name: s.name.clone(), position: s.position }
    }
}
