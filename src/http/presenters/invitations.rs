//! Invitations: as the inviting admins see them, and as their invitee does.

use crate::clock::rfc3339;
use crate::service::org::invitations::{Accepted, Invitee};
use crate::store::invitations::InvitationRow;
use serde::Serialize;

/// An invitation as the org's or page's admins see it (never its link).
#[derive(Serialize)]
pub struct InvitationJson {
    pub id: i64,
    pub email: String,
    pub role: String,
    /// The page whose role it grants; null for an org role.
    pub page_id: Option<i64>,
    /// `pending`, `accepted`, `revoked` or `expired`.
    pub status: &'static str,
    pub invited_by: String,
    pub created_at: String,
    pub expires_at: String,
}

impl InvitationJson {
    pub fn of(i: &InvitationRow, now: i64) -> InvitationJson {
        InvitationJson {
            id: i.id,
            email: i.email.clone(),
            role: i.role.clone(),
            page_id: i.page_id,
            status: i.status(now),
            invited_by: i.invited_by.clone(),
            created_at: rfc3339(i.created_at),
            expires_at: rfc3339(i.expires_at),
        }
    }
}

/// What the link's holder is invited to.
#[derive(Serialize)]
pub struct InviteeJson {
    pub email: String,
    pub org: String,
    pub page: Option<String>,
    pub role: String,
    pub expires_at: String,
    /// True: the address has an account, accept without a password. False: choose a name and a
    /// password to create it.
    pub account_exists: bool,
}

impl InviteeJson {
    pub fn of(i: &Invitee) -> InviteeJson {
        InviteeJson {
            email: i.invitation.email.clone(),
            org: i.org_name.clone(),
            page: i.page_name.clone(),
            role: i.invitation.role.clone(),
            expires_at: rfc3339(i.invitation.expires_at),
            account_exists: i.account_exists,
        }
    }
}

/// The answer to accepting.
#[derive(Serialize)]
pub struct AcceptedJson {
    pub email: String,
    pub org: String,
    pub page: Option<String>,
    /// The role held now in the invitation's scope (a higher one held already is kept).
    pub role: String,
    /// True when the account was made just now; the response then also signs the invitee in.
    pub account_created: bool,
}

impl AcceptedJson {
    pub fn of(x: &Accepted) -> AcceptedJson {
        AcceptedJson {
            email: x.user.email.clone(),
            org: x.invitee.org_name.clone(),
            page: x.invitee.page_name.clone(),
            role: x.role.clone(),
            account_created: x.account_created,
        }
    }
}
