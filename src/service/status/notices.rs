//! What incidents and maintenance windows ("notices") do alike: addressing by id or external id,
//! affected items, retry-safe creation by request hash, and the event plus audit entry every
//! change records in its own transaction.

use crate::app::App;
use crate::service::audit::{self, Actor, Event};
use crate::service::error::{Error, Result};
use crate::service::status::hierarchy::{self, ItemRef};
use crate::store::notices::{self as sql, Kind, Notice};
use crate::store::pages::PageRow;
use crate::store::{StoreError, Tx};

/// A notice of this page by id, or 404.
pub async fn get<N: Notice>(app: &App, page: &PageRow, id: i64) -> Result<N> {
    sql::by_id(&app.db.pool, page.id, id).await?.ok_or(Error::NotFound(N::KIND.name()))
}

/// A notice of this page by external id, or 404.
pub async fn get_external<N: Notice>(app: &App, page: &PageRow, external_id: &str) -> Result<N> {
    sql::by_external_id(&app.db.pool, page.id, external_id).await?.ok_or(Error::NotFound(N::KIND.name()))
}

/// External ids: 1-200 of `A-Z a-z 0-9 . _ : -`.
pub fn check_external_id(s: &str) -> Result<()> {
    let ok = !s.is_empty() && s.len() <= 200 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::field("external_id", "must be 1-200 characters of A-Z, a-z, 0-9, '.', '_', ':' and '-'"))
    }
}

/// The hash that tells a retry (same canonical request) from a different request.
pub fn request_hash(json: &str) -> String {
    crate::auth::digest::sha256_hex(json.as_bytes())
}

/// The existing notice for a retried request (`created == false`), or 409 when the request differs.
fn same_request<N: Notice>(existing: N, hash: &str) -> Result<(N, bool)> {
    if existing.request_hash() == hash {
        return Ok((existing, false));
    }
    let noun = match N::KIND {
        Kind::Incident => "an incident",
        Kind::Maintenance => "a maintenance",
    };
    Err(Error::Conflict {
        code: "external_id_conflict",
        message: format!("{noun} with this external_id exists with different content; use its routes to change it"),
    })
}

/// With an `external_id` already used on the page: the retry's answer (`Some`), else `None`.
pub async fn retried<N: Notice>(
    app: &App,
    page: &PageRow,
    external_id: Option<&str>,
    hash: &str,
) -> Result<Option<(N, bool)>> {
    let Some(ext) = external_id else { return Ok(None) };
    check_external_id(ext)?;
    match sql::by_external_id(&app.db.pool, page.id, ext).await? {
        Some(existing) => same_request(existing, hash).map(Some),
        None => Ok(None),
    }
}

/// The outcome of inserting a notice: its new id, or, when a concurrent retry with the same
/// `external_id` won the race, that retry's answer.
pub async fn inserted<N: Notice>(
    app: &App,
    page: &PageRow,
    external_id: Option<&str>,
    hash: &str,
    insert: crate::store::Result<i64>,
) -> Result<std::result::Result<i64, (N, bool)>> {
    match (insert, external_id) {
        (Ok(id), _) => Ok(Ok(id)),
        (Err(StoreError::Conflict(_)), Some(ext)) => {
            let existing = get_external(app, page, ext).await?;
            same_request(existing, hash).map(Err)
        }
        (Err(e), _) => Err(e.into()),
    }
}

/// Resolves affected items to (item id, what `extra` makes of the entry), each item once.
/// `extra` reads the rest of an entry (an incident item's status) given the entry's field name.
pub async fn affected<T, S>(
    app: &App,
    page: &PageRow,
    input: &[T],
    item: impl Fn(&T) -> &ItemRef,
    extra: impl Fn(&T, &str) -> Result<S>,
) -> Result<Vec<(i64, S)>> {
    let max = hierarchy::MAX_AFFECTED_ITEMS;
    if input.len() > max {
        return Err(Error::limit(Some("affected_items"), format!("at most {max} affected components")));
    }
    let mut out: Vec<(i64, S)> = Vec::new();
    for (i, a) in input.iter().enumerate() {
        let field = format!("affected_items[{i}]");
        let found = hierarchy::resolve_item(app, page, item(a), &field).await?;
        let more = extra(a, &field)?;
        if out.iter().any(|(id, _)| *id == found.id) {
            return Err(Error::field(&field, format!("'{}' is listed twice", found.identifier)));
        }
        out.push((found.id, more));
    }
    Ok(out)
}

/// One notice of a page, as its changes name it in events and audit entries.
#[derive(Clone, Copy)]
pub struct Subject<'a> {
    pub page: &'a PageRow,
    pub kind: Kind,
    pub id: i64,
}

impl Subject<'_> {
    /// Records the notification event `event` when `notify`, in the change's transaction.
    pub async fn notify(&self, tx: &mut Tx, event: &str, notify: bool, now: i64) -> Result<()> {
        if notify {
            notify_event(tx, self.page.id, self.kind, self.id, event, now).await?;
        }
        Ok(())
    }

    /// Records the audit entry `action` of the change, in its transaction.
    pub async fn audit(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        action: &str,
        detail: serde_json::Value,
        now: i64,
    ) -> Result<()> {
        let event = Event {
            org_id: Some(self.page.org_id),
            page_id: Some(self.page.id),
            action,
            target_kind: self.kind.name(),
            target_id: Some(self.id),
            detail,
        };
        Ok(audit::record(tx, actor, event, now).await?)
    }
}

/// Records the notification event `event` about notice `id` of page `page_id`, in `tx`.
pub async fn notify_event(tx: &mut Tx, page_id: i64, kind: Kind, id: i64, event: &str, now: i64) -> Result<()> {
    let payload = serde_json::Value::Object([(kind.key().into(), id.into())].into_iter().collect());
    sql::insert_event(&mut **tx, page_id, kind, event, id, &payload.to_string(), now).await?;
    Ok(())
}

/// Deletes a notice of this page (a mistake, not a resolution or cancellation: nobody is notified).
pub async fn delete<N: Notice>(app: &App, actor: &Actor, page: &PageRow, id: i64, title: &str) -> Result<()> {
    let now = app.now();
    let mut tx = app.db.begin().await?;
    sql::delete(&mut *tx, N::KIND, id).await?;
    let subject = Subject { page, kind: N::KIND, id };
    let action = format!("{}.deleted", N::KIND.name());
    subject.audit(&mut tx, actor, &action, serde_json::json!({"title": title}), now).await?;
    tx.commit().await?;
    Ok(())
}
