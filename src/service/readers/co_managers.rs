//! Co-managers of custom views and readers' feeds (decisions 0006, 0007): one set of rules for
//! both, the differences (tables, audit names) as data in [`Managed`].
//!
//! Who sees a resource in the manage workspace: its owner and its co-managers; anyone else gets
//! 404. Only the owner adds co-managers (403 for a co-manager) and removes them; a co-manager may
//! remove only themselves (leaving); the owner cannot be removed (409). Adding a co-manager twice
//! changes nothing (200). A malformed address is a 400 on `email`, for adding and removing alike.

use crate::app::App;
use crate::domain::types::Email;
use crate::service::access::MagicPrincipal;
use crate::service::audit::{self, Actor, Event};
use crate::service::error::{Error, Result};
use crate::store::co_managers as sql;
pub use crate::store::co_managers::{Managed, ManagedRow};
use crate::store::limits;
use crate::store::pages::PageRow;
use std::collections::HashMap;

/// Most co-managers of one view or one feed (decision 0011).
pub const MAX_MANAGERS: usize = 20;

/// One view or one feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resource {
    pub of: Managed,
    pub id: i64,
}

/// The owner or a co-manager, as the rules of the manage workspace tell them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Owner,
    Manager,
}

/// What `email` is to a resource owned by `owner` and co-managed by `managers`.
pub fn role(owner: &str, managers: &[String], email: &str) -> Option<Role> {
    if owner == email {
        Some(Role::Owner)
    } else if managers.iter().any(|m| m == email) {
        Some(Role::Manager)
    } else {
        None
    }
}

/// How one kind of resource is named to people and in the audit log.
struct Names {
    /// In errors: "view", "feed".
    noun: &'static str,
    target_kind: &'static str,
    added: &'static str,
    removed: &'static str,
    /// Whether the audit actor carries the session's address. Views name it (the accountable
    /// party of a change made without an account, decision 0006); feeds never name the acting
    /// session's address (decision 0007). Each kind keeps its rule for all of its entries.
    actor_named: bool,
}

fn names(of: Managed) -> Names {
    match of {
        Managed::View => Names {
            noun: "view",
            target_kind: "view",
            added: "view.manager_added",
            removed: "view.manager_removed",
            actor_named: true,
        },
        Managed::Feed => Names {
            noun: "feed",
            target_kind: "reader_feed",
            added: "reader_feed.manager_added",
            removed: "reader_feed.manager_removed",
            actor_named: false,
        },
    }
}

/// The refusal for a caller who is not the owner.
pub fn owner_only(of: Managed, what: &str) -> Error {
    Error::Forbidden(format!("only the {}'s owner may {what}", names(of).noun))
}

/// Co-managers of each resource, in the order they were added (ids without any are absent).
pub async fn of_each(app: &App, of: Managed, ids: &[i64]) -> Result<HashMap<i64, Vec<String>>> {
    let mut out: HashMap<i64, Vec<String>> = HashMap::new();
    for (id, email) in sql::of_each(&app.db.pool, of, ids).await? {
        out.entry(id).or_default().push(email);
    }
    Ok(out)
}

/// The views or feeds (by the row type asked for) of the page that the session's address owns or
/// co-manages, newest first, before the cursor id.
pub async fn managed_by<T: ManagedRow>(
    app: &App,
    page: &PageRow,
    who: &MagicPrincipal,
    before: i64,
    limit: i64,
) -> Result<Vec<T>> {
    Ok(sql::managed_by(&app.db.pool, page.id, &who.email, before, limit).await?)
}

/// Whether an address owns or co-manages a view or a feed of the page (it may then get a
/// management link without being a subscriber).
pub async fn manages_anything(app: &App, page: &PageRow, email: &str) -> Result<bool> {
    for of in [Managed::View, Managed::Feed] {
        if sql::manages_any(&app.db.pool, of, page.id, email).await? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The resource's owner and the caller's role on it; a resource the caller neither owns nor
/// co-manages (or another page's) is 404.
async fn caller_role(app: &App, page: &PageRow, who: &MagicPrincipal, of: Managed, id: i64) -> Result<(String, Role)> {
    let missing = || Error::NotFound(names(of).noun);
    let owner = sql::owner(&app.db.pool, of, page.id, id).await?.ok_or_else(missing)?;
    if owner == who.email {
        return Ok((owner, Role::Owner));
    }
    if sql::is_manager(&app.db.pool, of, id, &who.email).await? {
        return Ok((owner, Role::Manager));
    }
    Err(missing())
}

fn parse_email(raw: &str) -> Result<Email> {
    Email::parse(raw).map_err(Error::invalid("email"))
}

/// The audit entry of adding (`added`) or removing the co-manager `email`.
fn entry(
    page: &PageRow,
    who: &MagicPrincipal,
    ip: &str,
    r: Resource,
    added: bool,
    email: &Email,
) -> (Actor, Event<'static>) {
    let n = names(r.of);
    let actor = Actor {
        kind: "magic_session",
        id: Some(who.token_id),
        name: if n.actor_named { who.email.clone() } else { String::new() },
        ip: ip.to_string(),
    };
    let event = Event {
        org_id: Some(page.org_id),
        page_id: Some(page.id),
        action: if added { n.added } else { n.removed },
        target_kind: n.target_kind,
        target_id: Some(r.id),
        detail: serde_json::json!({"email": email.as_str()}),
    };
    (actor, event)
}

/// Adds a co-manager (owner only); adding one twice changes nothing. The cap is counted under
/// the page's lock inside the adding transaction, so concurrent adds cannot overshoot it.
pub async fn add(app: &App, page: &PageRow, who: &MagicPrincipal, ip: &str, r: Resource, raw: &str) -> Result<()> {
    let Resource { of, id } = r;
    let (owner, role) = caller_role(app, page, who, of, id).await?;
    if role != Role::Owner {
        return Err(owner_only(of, "change its managers"));
    }
    let email = parse_email(raw)?;
    if email.as_str() == owner {
        return Err(Error::field("email", format!("the owner already manages this {}", names(of).noun)));
    }
    let now = app.now();
    let mut tx = app.db.begin().await?;
    limits::lock(&mut *tx, limits::Locked::Page(page.id)).await?;
    if sql::is_manager(&mut *tx, of, id, email.as_str()).await? {
        return Ok(());
    }
    if sql::count(&mut *tx, of, id).await? >= MAX_MANAGERS as i64 {
        let message = format!("a {} has at most {MAX_MANAGERS} co-managers", names(of).noun);
        return Err(Error::limit(Some("email"), message));
    }
    sql::add(&mut *tx, of, id, email.as_str(), now).await?;
    sql::touch(&mut *tx, of, id, now).await?;
    let (actor, event) = entry(page, who, ip, r, true, &email);
    audit::record(&mut tx, &actor, event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Removes a co-manager: the owner removes anyone, a co-manager only themselves (leaving). The
/// owner cannot be removed; an address that is no co-manager is 404.
pub async fn remove(app: &App, page: &PageRow, who: &MagicPrincipal, ip: &str, r: Resource, raw: &str) -> Result<()> {
    let Resource { of, id } = r;
    let (owner, role) = caller_role(app, page, who, of, id).await?;
    let email = parse_email(raw)?;
    if email.as_str() == owner {
        let message = format!("the owner of a {} cannot be removed", names(of).noun);
        return Err(Error::Conflict { code: "owner", message });
    }
    if role != Role::Owner && email.as_str() != who.email {
        return Err(owner_only(of, "change its managers"));
    }
    let now = app.now();
    let mut tx = app.db.begin().await?;
    if !sql::remove(&mut *tx, of, id, email.as_str()).await? {
        return Err(Error::NotFound("manager"));
    }
    sql::touch(&mut *tx, of, id, now).await?;
    let (actor, event) = entry(page, who, ip, r, false, &email);
    audit::record(&mut tx, &actor, event, now).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_and_co_managers_have_roles_and_no_one_else_does() {
        let managers = vec!["co@example.org".to_string()];
        assert_eq!(role("own@example.org", &managers, "own@example.org"), Some(Role::Owner));
        assert_eq!(role("own@example.org", &managers, "co@example.org"), Some(Role::Manager));
        assert_eq!(role("own@example.org", &managers, "other@example.org"), None);
        assert_eq!(role("own@example.org", &[], "co@example.org"), None);
    }
}
