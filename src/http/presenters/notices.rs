//! Incidents and maintenance windows as the API shows them, to admins and to the public. The
//! compact form (lists) is the type itself; admins' fields and the full form (`?view=full` and
//! single reads) are optional, flattened parts.

use crate::clock::rfc3339;
use crate::domain::maintenance::State;
use crate::service::status::incidents::Audience;
use crate::service::status::maintenances::zone_of;
use crate::store::incidents::IncidentRow;
use crate::store::maintenances::MaintenanceRow;
use crate::store::notices::{ItemRow, UpdateRow};
use serde::Serialize;

/// An affected item: its identifier in the compact form, the item in the full form.
#[derive(Serialize)]
#[serde(untagged)]
pub enum AffectedView {
    Identifier(String),
    Item {
        id: i64,
        external_id: String,
        name: String,
        /// An incident item's own status (windows' items have none).
        #[serde(skip_serializing_if = "Option::is_none")]
        status: Option<String>,
    },
}

impl AffectedView {
    fn of(i: &ItemRow, full: bool) -> AffectedView {
        if !full {
            return AffectedView::Identifier(i.identifier.clone());
        }
        AffectedView::Item {
            id: i.item_id,
            external_id: i.identifier.clone(),
            name: i.name.clone(),
            status: i.status.clone(),
        }
    }

    /// The views of the items of notice `id`.
    fn all(items: &[ItemRow], id: i64, full: bool) -> Vec<AffectedView> {
        items.iter().filter(|i| i.notice_id == id).map(|i| AffectedView::of(i, full)).collect()
    }
}

/// An update of an incident or window.
#[derive(Serialize)]
pub struct UpdateJson {
    pub id: i64,
    pub message: String,
    pub stage: String,
    /// An incident's status as of the update (windows' updates have none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    pub created_at: String,
    /// Admins only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify: Option<bool>,
}

impl UpdateJson {
    /// The views of the updates of notice `id`, newest first.
    fn all(updates: &[UpdateRow], id: i64, who: Audience) -> Vec<UpdateJson> {
        updates
            .iter()
            .filter(|u| u.notice_id == id)
            .map(|u| UpdateJson {
                id: u.id,
                message: u.message.clone(),
                stage: u.stage.clone(),
                status: u.status.clone(),
                created_at: rfc3339(u.created_at),
                notify: (who == Audience::Admin).then_some(u.notify),
            })
            .collect()
    }
}

/// An incident.
#[derive(Serialize)]
pub struct IncidentJson {
    pub id: i64,
    pub title: String,
    pub status: String,
    pub stage: String,
    pub started_at: String,
    pub resolved_at: Option<String>,
    pub updated_at: String,
    pub affected_items: Vec<AffectedView>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub admin: Option<IncidentAdmin>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub full: Option<IncidentDetail>,
}

/// What admins see besides.
#[derive(Serialize)]
pub struct IncidentAdmin {
    pub external_id: Option<String>,
    /// `public` or `internal`.
    pub visibility: String,
}

/// What the full form adds.
#[derive(Serialize)]
pub struct IncidentDetail {
    pub description: String,
    pub impact: String,
    pub affected_items_freetext: String,
    pub acknowledged_at: Option<String>,
    pub resolution_message: String,
    pub created_at: String,
    pub updates: Vec<UpdateJson>,
    /// Null when there is none (or, for the public, none published on a resolved incident).
    pub report: Option<ReportJson>,
}

/// A post-incident report.
#[derive(Serialize)]
pub struct ReportJson {
    /// Admins only: `draft` or `published`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    pub body: String,
    pub published_at: Option<String>,
}

impl ReportJson {
    fn of(r: &IncidentRow, who: Audience) -> Option<ReportJson> {
        let shown = match who {
            Audience::Admin => r.report_state != "none",
            Audience::Public => r.report_state == "published" && r.resolved_at.is_some(),
        };
        shown.then(|| ReportJson {
            state: (who == Audience::Admin).then(|| r.report_state.clone()),
            body: r.report_body.clone(),
            published_at: r.report_published_at.map(rfc3339),
        })
    }
}

impl IncidentJson {
    /// Incident `r` with its items (and, when `full`, updates) out of those loaded for a list.
    pub fn of(r: &IncidentRow, items: &[ItemRow], updates: &[UpdateRow], full: bool, who: Audience) -> IncidentJson {
        IncidentJson {
            id: r.id,
            title: r.title.clone(),
            status: r.status.clone(),
            stage: r.stage.clone(),
            started_at: rfc3339(r.started_at),
            resolved_at: r.resolved_at.map(rfc3339),
            updated_at: rfc3339(r.updated_at),
            affected_items: AffectedView::all(items, r.id, full),
            admin: (who == Audience::Admin)
                .then(|| IncidentAdmin { external_id: r.external_id.clone(), visibility: r.visibility.clone() }),
            full: full.then(|| IncidentDetail {
                description: r.description.clone(),
                impact: r.impact.clone(),
                affected_items_freetext: r.affected_items_freetext.clone(),
                acknowledged_at: r.acknowledged_at.map(rfc3339),
                resolution_message: r.resolution_message.clone(),
                created_at: rfc3339(r.created_at),
                updates: UpdateJson::all(updates, r.id, who),
                report: ReportJson::of(r, who),
            }),
        }
    }
}

/// A maintenance window. Times are UTC; `time_zone` with `starts_at_local`/`ends_at_local` show
/// the window in its zone.
#[derive(Serialize)]
pub struct MaintenanceJson {
    pub id: i64,
    pub title: String,
    /// `scheduled`, `in_progress`, `completed` or `cancelled`.
    pub state: &'static str,
    pub stage: String,
    pub impact: String,
    pub starts_at: String,
    pub ends_at: String,
    pub time_zone: String,
    pub starts_at_local: String,
    pub ends_at_local: String,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    pub cancelled_at: Option<String>,
    pub updated_at: String,
    pub affected_items: Vec<AffectedView>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub admin: Option<MaintenanceAdmin>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub full: Option<MaintenanceDetail>,
}

/// What admins see besides.
#[derive(Serialize)]
pub struct MaintenanceAdmin {
    pub external_id: Option<String>,
    pub auto_start: bool,
    pub auto_complete: bool,
    pub reminder_minutes: i64,
    pub reminded_at: Option<String>,
    pub notify: bool,
}

/// What the full form adds.
#[derive(Serialize)]
pub struct MaintenanceDetail {
    pub description: String,
    pub affected_items_freetext: String,
    pub created_at: String,
    pub updates: Vec<UpdateJson>,
}

impl MaintenanceJson {
    /// Window `m` with its items (and, when `full`, updates) out of those loaded for a list.
    pub fn of(
        m: &MaintenanceRow,
        items: &[ItemRow],
        updates: &[UpdateRow],
        full: bool,
        who: Audience,
    ) -> MaintenanceJson {
        let zone = zone_of(m);
        MaintenanceJson {
            id: m.id,
            title: m.title.clone(),
            state: State::of(m.started_at, m.completed_at, m.cancelled_at).key(),
            stage: m.stage.clone(),
            impact: m.impact.clone(),
            starts_at: rfc3339(m.starts_at),
            ends_at: rfc3339(m.ends_at),
            time_zone: zone.name().to_string(),
            starts_at_local: zone.local(m.starts_at),
            ends_at_local: zone.local(m.ends_at),
            started_at: m.started_at.map(rfc3339),
            completed_at: m.completed_at.map(rfc3339),
            cancelled_at: m.cancelled_at.map(rfc3339),
            updated_at: rfc3339(m.updated_at),
            affected_items: AffectedView::all(items, m.id, full),
            admin: (who == Audience::Admin).then(|| MaintenanceAdmin {
                external_id: m.external_id.clone(),
                auto_start: m.auto_start,
                auto_complete: m.auto_complete,
                reminder_minutes: m.reminder_minutes,
                reminded_at: m.reminded_at.map(rfc3339),
                notify: m.notify,
            }),
            full: full.then(|| MaintenanceDetail {
                description: m.description.clone(),
                affected_items_freetext: m.affected_items_freetext.clone(),
                created_at: rfc3339(m.created_at),
                updates: UpdateJson::all(updates, m.id, who),
            }),
        }
    }
}

/// The summary's windows: those in progress and those to come.
#[derive(Serialize)]
pub struct MaintenanceLists {
    pub active: Vec<MaintenanceJson>,
    pub upcoming: Vec<MaintenanceJson>,
}
