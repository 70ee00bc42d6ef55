//! Custom views: as their owners, co-managers and page admins see them, and as their readers do.

use super::notices::{IncidentJson, MaintenanceJson};
use super::status_model::StatusJson;
use super::status_public::ComponentNode;
use crate::clock::rfc3339;
use crate::service::readers::views::data::Warning;
use crate::service::readers::views::ViewDoc;
use serde::Serialize;

/// A view as its owner, co-managers and page admins see it. Admin lists show the compact form
/// (with `component_count`); `?view=full`, the owner's lists and single reads show the detail.
#[derive(Serialize)]
pub struct CustomViewJson {
    pub id: i64,
    pub short_code: String,
    pub alias: Option<String>,
    pub name: String,
    pub access_mode: String,
    pub created_at: String,
    /// The compact form's count of selected components.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component_count: Option<usize>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub full: Option<ViewDetail>,
}

#[derive(Serialize)]
pub struct ViewDetail {
    pub description: String,
    /// The selected component identifiers.
    pub components: Vec<String>,
    pub allowed_domains: Vec<String>,
    pub allowed_emails: Vec<String>,
    /// The owner's address.
    pub owner: String,
    /// The co-managers' addresses.
    pub managers: Vec<String>,
    /// Where the view opens: `<canonical page URL>/v/<short code>`.
    pub url: String,
    pub updated_at: String,
}

impl CustomViewJson {
    /// `url`: where the view opens, for the full form; the compact form has none.
    pub fn of(d: &ViewDoc, url: Option<String>) -> CustomViewJson {
        let v = &d.view;
        CustomViewJson {
            id: v.id,
            short_code: v.short_code.clone(),
            alias: v.alias.clone(),
            name: v.name.clone(),
            access_mode: v.access_mode.clone(),
            created_at: rfc3339(v.created_at),
            component_count: url.is_none().then_some(d.components.len()),
            full: url.map(|url| ViewDetail {
                description: v.description.clone(),
                components: d.components.clone(),
                allowed_domains: v.allowed_domains.clone(),
                allowed_emails: v.allowed_emails.clone(),
                owner: v.owner_email.clone(),
                managers: d.managers.clone(),
                url,
                updated_at: rfc3339(v.updated_at),
            }),
        }
    }
}

/// What anyone allowed to open a view may know of it (no owner or manager addresses).
#[derive(Serialize)]
pub struct CustomViewPublicJson {
    pub short_code: String,
    pub alias: Option<String>,
    pub name: String,
    pub description: String,
    pub components: Vec<String>,
    pub access_mode: String,
}

impl CustomViewPublicJson {
    pub fn of(d: &ViewDoc) -> CustomViewPublicJson {
        let v = &d.view;
        CustomViewPublicJson {
            short_code: v.short_code.clone(),
            alias: v.alias.clone(),
            name: v.name.clone(),
            description: v.description.clone(),
            components: d.components.clone(),
            access_mode: v.access_mode.clone(),
        }
    }
}

/// `/views/{code}/data`: the view's scoped status, components, incidents and maintenance.
#[derive(Serialize)]
pub struct CustomViewDataJson {
    pub view: CustomViewPublicJson,
    pub status: OverallStatus,
    /// Visible components in scope.
    pub component_count: usize,
    /// The component tree, as the status page's `/components` shows it.
    pub components: Vec<ComponentNode>,
    /// Incidents as the public incident list shows them (full form).
    pub active_incidents: Vec<IncidentJson>,
    pub recent_incidents: Vec<IncidentJson>,
    pub maintenances: MaintenanceGroups,
    pub warnings: Vec<WarningJson>,
    pub statuses: Vec<StatusJson>,
}

/// The worst status in scope, named and coloured when it is a defined status.
#[derive(Serialize)]
pub struct OverallStatus {
    pub key: String,
    pub name: Option<String>,
    pub color: Option<String>,
}

/// Windows as the public maintenance list shows them (full form).
#[derive(Serialize)]
pub struct MaintenanceGroups {
    pub active: Vec<MaintenanceJson>,
    pub upcoming: Vec<MaintenanceJson>,
    pub recent: Vec<MaintenanceJson>,
}

/// A selected component the view can no longer show.
#[derive(Serialize)]
pub struct WarningJson {
    pub component: String,
    /// `deleted` or `hidden`.
    pub problem: &'static str,
    pub message: String,
}

impl WarningJson {
    pub fn of(w: &Warning) -> WarningJson {
        WarningJson {
            component: w.identifier.clone(),
            problem: w.problem,
            message: format!("the selected component '{}' is {} and no longer shown", w.identifier, w.problem),
        }
    }
}

/// A viewer token for a protected view, shown once.
#[derive(Serialize)]
pub struct ViewerToken {
    pub token: String,
    pub expires_at: String,
    pub view: CustomViewPublicJson,
}

/// Whether the presented viewer token (if any) opens the view.
#[derive(Serialize)]
pub struct AccessStatus {
    pub access_mode: String,
    pub granted: bool,
    /// When the token ends; null for a public view or no access.
    pub expires_at: Option<String>,
}
