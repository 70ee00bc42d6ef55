//! Readers' own answers: requests acknowledged without saying what happened, the magic session,
//! and the subscription its address holds.

use crate::clock::rfc3339;
use crate::store::subscribers::SubscriberRow;
use serde::Serialize;

/// The same answer whatever happened, so nobody learns whether an address is known.
#[derive(Serialize)]
pub struct Accepted {
    /// Always `accepted`.
    pub status: &'static str,
    pub message: &'static str,
}

/// A magic session, exchanged once for an emailed link.
#[derive(Serialize)]
pub struct MagicSession {
    /// The session token (`X-Magic-Token`), shown this once.
    pub token: String,
    pub expires_at: String,
    pub idle_timeout_seconds: i64,
    /// Null for an address that only manages views or feeds.
    pub subscription: Option<SubscriptionJson>,
    /// A webhook's signing secret, present the one time it is issued (on confirmation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
}

/// The subscription as its reader sees it.
#[derive(Serialize)]
pub struct SubscriptionJson {
    pub email: Option<String>,
    pub channel: String,
    pub webhook_url: Option<String>,
    pub state: String,
    pub incidents: bool,
    pub maintenances: bool,
    /// The component identifiers followed; null for the whole page.
    pub components: Option<Vec<String>>,
    pub confirmed_at: Option<String>,
}

impl SubscriptionJson {
    /// `components`: the followed identifiers (ignored when the whole page is followed).
    pub fn of(s: &SubscriberRow, components: &[String]) -> SubscriptionJson {
        SubscriptionJson {
            email: s.email.clone(),
            channel: s.channel.clone(),
            webhook_url: s.webhook_url.clone(),
            state: s.state.clone(),
            incidents: s.incidents,
            maintenances: s.maintenances,
            components: (!s.all_components).then(|| components.to_vec()),
            confirmed_at: s.confirmed_at.map(rfc3339),
        }
    }
}

/// A subscription after a change of its preferences.
#[derive(Serialize)]
pub struct SubscriptionUpdated {
    #[serde(flatten)]
    pub subscription: SubscriptionJson,
    /// The signing secret, present when the change issued one (a switch to webhook delivery).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
}

/// A new webhook signing secret, shown once.
#[derive(Serialize)]
pub struct WebhookSecret {
    pub webhook_secret: String,
}
