//! Subscribers as page admins see them, and their delivery log.

use crate::clock::rfc3339;
use crate::service::readers::subscribers::admin::FailedAttempt;
use crate::store::outbox::Delivery;
use crate::store::subscribers::SubscriberRow;
use serde::Serialize;
use std::collections::HashMap;

/// A subscriber: compact in lists, with the detail in `?view=full` and single reads.
#[derive(Serialize)]
pub struct SubscriberJson {
    pub id: i64,
    pub email: Option<String>,
    pub state: String,
    pub hygiene: String,
    pub created_at: String,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub full: Option<SubscriberDetail>,
}

#[derive(Serialize)]
pub struct SubscriberDetail {
    pub channel: String,
    pub webhook_url: Option<String>,
    pub incidents: bool,
    pub maintenances: bool,
    /// The component identifiers followed; null for the whole page.
    pub components: Option<Vec<String>>,
    pub confirmed_at: Option<String>,
    pub unsubscribed_at: Option<String>,
    pub updated_at: String,
}

impl SubscriberJson {
    /// `scopes`: the followed components of subscribers who do not follow the whole page.
    pub fn of(s: &SubscriberRow, full: bool, scopes: &HashMap<i64, Vec<String>>) -> SubscriberJson {
        SubscriberJson {
            id: s.id,
            email: s.email.clone(),
            state: s.state.clone(),
            hygiene: s.hygiene.clone(),
            created_at: rfc3339(s.created_at),
            full: full.then(|| SubscriberDetail {
                channel: s.channel.clone(),
                webhook_url: s.webhook_url.clone(),
                incidents: s.incidents,
                maintenances: s.maintenances,
                components: (!s.all_components).then(|| scopes.get(&s.id).cloned().unwrap_or_default()),
                confirmed_at: s.confirmed_at.map(rfc3339),
                unsubscribed_at: s.unsubscribed_at.map(rfc3339),
                updated_at: rfc3339(s.updated_at),
            }),
        }
    }
}

/// One notification to a subscriber, with its failed attempts.
#[derive(Serialize)]
pub struct DeliveryJson {
    pub id: i64,
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub state: String,
    pub attempts: i64,
    /// In generic words (decision 0010): no internal names or addresses.
    pub last_error: String,
    pub created_at: String,
    /// When the next attempt is due, while one is pending.
    pub next_attempt_at: Option<String>,
    pub sent_at: Option<String>,
    pub failed_attempts: Vec<AttemptJson>,
}

#[derive(Serialize)]
pub struct AttemptJson {
    pub at: String,
    pub status_code: Option<i64>,
    pub error_code: &'static str,
    pub error: String,
    pub duration_ms: i64,
    /// The attempt after which no other was made.
    pub r#final: bool,
}

impl DeliveryJson {
    pub fn of(d: &Delivery, attempts: &[FailedAttempt]) -> DeliveryJson {
        DeliveryJson {
            id: d.id,
            channel: d.channel.clone(),
            recipient: d.recipient.clone(),
            subject: d.subject.clone(),
            state: d.state.clone(),
            attempts: d.attempts,
            last_error: d.last_error.clone(),
            created_at: rfc3339(d.created_at),
            next_attempt_at: (d.state == "pending").then(|| rfc3339(d.next_attempt_at)),
            sent_at: d.sent_at.map(rfc3339),
            failed_attempts: attempts
                .iter()
                .map(|a| AttemptJson {
                    at: rfc3339(a.at),
                    status_code: a.status_code,
                    error_code: a.error_code,
                    error: a.error.clone(),
                    duration_ms: a.duration_ms,
                    r#final: a.last,
                })
                .collect(),
        }
    }
}
