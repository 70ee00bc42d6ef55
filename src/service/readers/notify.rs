//! Fan-out: every notifying event becomes one outbox mail per subscriber who wants it, in one
//! transaction per event; and one-click unsubscribe (RFC 8058) from the link in those mails.
//!
//! Component scope: a subscriber scoped to component S hears about an event that names component
//! A when S is A or one of A's ancestors (subscribing to `platform` covers everything under it) or
//! when A is one of S's ancestors (an incident on the whole `platform` concerns `auth` too).
//! Siblings and cousins never match. An event that names no component concerns the whole page
//! and reaches every subscriber. Scope is matched on all items, hidden ones included; the mail
//! lists only the visible ones.

mod mail;

use crate::app::App;
use crate::auth::token::{PlainToken, TokenKind};
use crate::clock::{DAY, MINUTE};
use crate::service::audit::{self, Actor, Event};
use crate::service::error::{Error, Result};
use crate::store;
use crate::store::events::{self as sql, PendingEvent};
use crate::store::pages::PageRow;
use crate::store::subscribers as subs;
use crate::store::subscribers::Recipient;
use crate::store::{hierarchy, Tx};
use crate::store::{magic_tokens, outbox};
use std::collections::HashMap;

pub use mail::Notice;

/// How long a mailed one-click unsubscribe link keeps working.
pub const UNSUBSCRIBE_LIFETIME: i64 = 60 * DAY;

/// Events taken per call; the job loop comes back for the rest.
const BATCH: i64 = 100;
/// Recipients queued per transaction, so a page with many subscribers never holds the write lock
/// for long (a chunk takes well under a second).
const CHUNK: usize = 2_000;
/// How long a worker holds an event it fans out; renewed with every chunk.
const FAN_OUT_LEASE: i64 = 5 * MINUTE;

/// Fans out every event not yet fanned out, oldest first; returns the number of messages queued
/// (mails and webhook calls).
pub async fn fan_out_due(app: &App) -> Result<usize> {
    let mut queued = 0;
    for ev in sql::pending_events(&app.db.pool, app.now(), BATCH).await? {
        queued += fan_out(app, &ev).await?;
    }
    Ok(queued)
}

/// One event: take it under a lease, compose the notice once, then queue the recipients'
/// messages [`CHUNK`] per transaction (renewing the lease), and mark the event done. The
/// `event:<id>:subscriber:<id>` de-duplication key means a redo after a crash, or a second worker
/// after a lease ran out, never queues a message twice; an unsubscribe token is stored only for a
/// mail queued in the same transaction.
async fn fan_out(app: &App, ev: &PendingEvent) -> Result<usize> {
    let now = app.now();
    if !sql::lease_event(&app.db.pool, ev.id, now, now + FAN_OUT_LEASE).await? {
        return Ok(0);
    }
    let page = store::pages::page_by_id(&app.db.pool, ev.page_id).await?;
    let (page, url) = match page {
        Some(p) if p.deleted_at.is_none() => {
            let url = crate::service::directory::canonical_page_url(app, &p).await?.0;
            (p, url)
        }
        _ => {
            sql::finish_event(&app.db.pool, ev.id, now).await?;
            return Ok(0);
        }
    };
    let mut tx = app.db.begin().await?;
    let Some(notice) = mail::Notice::load(&mut tx, &page, ev, &url).await? else {
        sql::finish_event(&mut *tx, ev.id, now).await?;
        tx.commit().await?;
        return Ok(0);
    };
    let parents: HashMap<i64, i64> =
        hierarchy::items(&mut *tx, page.id).await?.into_iter().filter_map(|i| i.parent_id.map(|p| (i.id, p))).collect();
    let recipients: Vec<Recipient> = subs::recipients(&mut tx, page.id, &ev.subject_kind)
        .await?
        .into_iter()
        .filter(|r| wants(r, &notice.affected, &parents))
        .collect();
    tx.commit().await?;
    let payload = notice.webhook_payload(ev, &page, &url, now);
    let mut queued = 0;
    for chunk in recipients.chunks(CHUNK) {
        let mut messages = Vec::with_capacity(chunk.len());
        let mut tokens = HashMap::new();
        for r in chunk {
            let dedupe_key = format!("event:{}:subscriber:{}", ev.id, r.id);
            if let (true, Some(hook)) = (r.channel == "webhook", &r.webhook_url) {
                messages.push(outbox::Queued {
                    channel: "webhook",
                    subscriber_id: Some(r.id),
                    dedupe_key,
                    recipient: hook.clone(),
                    subject: ev.kind.clone(),
                    body_text: payload.clone(),
                    body_html: String::new(),
                    headers: "{}".into(),
                });
                continue;
            }
            let secret = app.new_token(TokenKind::Unsubscribe);
            tokens.insert(r.id, secret.hash().to_hex());
            let unsubscribe = format!("{url}/u/{}", secret.expose());
            let (text, html) = notice.bodies(&unsubscribe);
            let headers = serde_json::json!({
                "List-Unsubscribe": format!("<{unsubscribe}>"),
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            })
            .to_string();
            messages.push(outbox::Queued {
                channel: "email",
                subscriber_id: Some(r.id),
                dedupe_key,
                recipient: r.email.clone(),
                subject: notice.subject.clone(),
                body_text: text,
                body_html: html,
                headers,
            });
        }
        let now = app.now();
        let mut tx = app.db.begin().await?;
        let ids: Vec<i64> = chunk.iter().map(|r| r.id).collect();
        let live = subs::still_deliverable(&mut tx, app.db.engine, &ids).await?;
        messages.retain(|m| m.subscriber_id.is_some_and(|id| live.contains(&id)));
        let inserted = outbox::enqueue_many(&mut tx, page.id, &messages, now).await?;
        let stored: Vec<(i64, String)> =
            inserted.iter().flatten().filter_map(|id| tokens.remove(id).map(|hash| (*id, hash))).collect();
        subs::insert_unsubscribe_tokens(&mut tx, page.id, &stored, now, now + UNSUBSCRIBE_LIFETIME).await?;
        sql::renew_event(&mut *tx, ev.id, now + FAN_OUT_LEASE).await?;
        tx.commit().await?;
        queued += inserted.len();
    }
    sql::finish_event(&app.db.pool, ev.id, app.now()).await?;
    Ok(queued)
}

/// Whether a recipient's component scope covers an event naming `affected` (see the module doc).
fn wants(r: &Recipient, affected: &[i64], parents: &HashMap<i64, i64>) -> bool {
    crate::domain::scope::covers(r.all_components, &r.items, affected, parents)
}

/// What a one-click unsubscribe token resolves to.
async fn subscriber_of(app: &App, page: &PageRow, raw: &str, ip: &str) -> Result<subs::SubscriberRow> {
    use crate::service::access::{refuse, Refusal};
    // Refusals are audited and count against the client's failure budget, but answer 404: the
    // link is a capability, and an unknown one is simply not there.
    let not_found = |why| {
        refuse(app, why, "unsubscribe", Some(page), ip);
        Error::NotFound("unsubscribe link")
    };
    let token = PlainToken::parse_kind(raw, TokenKind::Unsubscribe).map_err(|_| not_found(Refusal::Malformed))?;
    let (page_id, sub_id, expires_at) = subs::unsubscribe_token(&app.db.pool, &token.hash().to_hex())
        .await?
        .ok_or_else(|| not_found(Refusal::Unknown))?;
    if page_id != page.id {
        return Err(not_found(Refusal::WrongPage));
    }
    if expires_at <= app.now() {
        return Err(not_found(Refusal::Expired));
    }
    subs::by_id(&app.db.pool, page.id, sub_id).await?.ok_or(Error::NotFound("unsubscribe link"))
}

/// Checks a one-click link without changing anything (for the page a GET shows).
pub async fn check_unsubscribe(app: &App, page: &PageRow, raw: &str, ip: &str) -> Result<subs::SubscriberRow> {
    subscriber_of(app, page, raw, ip).await
}

/// One-click unsubscribe: idempotent; ends every magic token of the address on the page.
pub async fn unsubscribe(app: &App, page: &PageRow, raw: &str, ip: &str) -> Result<()> {
    let sub = subscriber_of(app, page, raw, ip).await?;
    if sub.state == "unsubscribed" {
        return Ok(());
    }
    let now = app.now();
    let mut tx = app.db.begin().await?;
    end_subscription(&mut tx, page, &sub, now).await?;
    let actor = Actor { kind: "anonymous", id: None, name: String::new(), ip: ip.to_string() };
    let event = Event {
        org_id: Some(page.org_id),
        page_id: Some(page.id),
        action: "subscriber.unsubscribed",
        target_kind: "subscriber",
        target_id: Some(sub.id),
        detail: serde_json::json!({"via": "one_click"}),
    };
    audit::record(&mut tx, &actor, event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Marks a subscriber unsubscribed and ends the magic tokens of its address.
pub async fn end_subscription(tx: &mut Tx, page: &PageRow, sub: &subs::SubscriberRow, now: i64) -> Result<()> {
    subs::set_state(&mut **tx, sub.id, "unsubscribed", now).await?;
    outbox::drop_pending_notifications(&mut **tx, sub.id, now).await?;
    if let Some(email) = &sub.email {
        magic_tokens::revoke_magic(&mut **tx, page.id, email, "link", now).await?;
        magic_tokens::revoke_magic(&mut **tx, page.id, email, "session", now).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scoped(items: &[i64]) -> Recipient {
        Recipient {
            id: 1,
            email: "a@example.org".into(),
            channel: "email".into(),
            webhook_url: None,
            all_components: false,
            items: items.to_vec(),
        }
    }

    #[test]
    fn scope_covers_the_line_of_descent_only() {
        // 1 platform → 2 api-gateway, 3 auth; 4 web.
        let parents = HashMap::from([(2, 1), (3, 1)]);
        assert!(wants(&scoped(&[3]), &[3], &parents), "the item itself");
        assert!(wants(&scoped(&[3]), &[1], &parents), "an incident on the parent");
        assert!(wants(&scoped(&[1]), &[3], &parents), "a child of the subscribed parent");
        assert!(!wants(&scoped(&[3]), &[2], &parents), "a sibling");
        assert!(!wants(&scoped(&[3]), &[4], &parents), "another tree");
        assert!(wants(&scoped(&[3]), &[], &parents), "no component named: the whole page");
        let all = Recipient { all_components: true, ..scoped(&[]) };
        assert!(wants(&all, &[4], &parents));
    }
}
