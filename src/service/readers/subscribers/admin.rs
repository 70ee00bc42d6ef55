//! Administration of a page's subscribers (SPEC §5, decision 0005 "Admin"): list and search,
//! counts, hard delete, bulk hygiene, CSV export and import. Every write is audited in its own
//! transaction; an import is one transaction and mails only through the outbox.

use super::csv;
use super::{mail_link, Purpose};
use crate::app::App;
use crate::auth::token::TokenKind;
use crate::clock::{parse_rfc3339, rfc3339};
use crate::domain::delivery::FailureClass;
use crate::domain::types::Email;
use crate::service::audit::{self, Actor, Event};
use crate::service::error::{Error, Result};
use crate::store::pages::PageRow;
use crate::store::subscribers::{self as sql, AdminFilter, Imported, Preferences, SubscriberRow};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Lifecycle states, in order.
pub const STATES: &[&str] = &["unconfirmed", "active", "unsubscribed"];
/// Hygiene states; only `ok` receives notifications.
pub const HYGIENES: &[&str] = &["ok", "suppressed", "bounced", "complained", "quarantined"];
/// Most ids one bulk hygiene action takes.
pub const MAX_BULK: usize = 1000;
/// Most data rows one import takes.
pub const MAX_IMPORT_ROWS: usize = 5000;
/// The header row of the export, and the one an import must start with.
pub const CSV_HEADER: &[&str] =
    &["email", "state", "hygiene", "incidents", "maintenances", "components", "created_at", "confirmed_at"];

pub async fn list(app: &App, page: &PageRow, f: &AdminFilter, before: i64, limit: i64) -> Result<Vec<SubscriberRow>> {
    Ok(sql::list_admin(&app.db.pool, page.id, f, before, limit).await?)
}

/// Component scope of every scoped subscriber of the page (absent: every component).
pub async fn scopes(app: &App, page: &PageRow) -> Result<HashMap<i64, Vec<String>>> {
    let mut out: HashMap<i64, Vec<String>> = HashMap::new();
    for (id, identifier) in sql::items_of_page(&app.db.pool, page.id).await? {
        out.entry(id).or_default().push(identifier);
    }
    Ok(out)
}

pub async fn get(app: &App, page: &PageRow, id: i64) -> Result<SubscriberRow> {
    sql::by_id(&app.db.pool, page.id, id).await?.ok_or(Error::NotFound("subscriber"))
}

/// A failed attempt as tenants see it: a stable class and generic words, never the resolver's,
/// receiver's or relay's own text (that is in the server log; see `domain::delivery`).
#[derive(Debug, Clone)]
pub struct FailedAttempt {
    pub at: i64,
    pub status_code: Option<i64>,
    pub error_code: &'static str,
    pub error: String,
    pub duration_ms: i64,
    pub last: bool,
}

impl From<crate::store::outbox::AttemptRow> for FailedAttempt {
    fn from(a: crate::store::outbox::AttemptRow) -> Self {
        let class = FailureClass::from_code(&a.error);
        FailedAttempt {
            at: a.at,
            status_code: a.status_code,
            error_code: class.code(),
            error: class.describe(a.status_code),
            duration_ms: a.duration_ms,
            last: a.last,
        }
    }
}

/// A subscriber's delivery log: its notifications, newest first, each with its failed attempts.
/// A notification's `last_error` is its latest attempt's generic words (the stored one is the
/// operator's detail).
pub async fn deliveries(
    app: &App,
    page: &PageRow,
    id: i64,
    before: i64,
    limit: i64,
) -> Result<Vec<(crate::store::outbox::Delivery, Vec<FailedAttempt>)>> {
    use crate::store::outbox;
    get(app, page, id).await?;
    let rows = outbox::deliveries_of(&app.db.pool, id, before, limit).await?;
    let ids: Vec<i64> = rows.iter().map(|d| d.id).collect();
    let mut attempts = outbox::attempts_of(&app.db.pool, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|mut d| {
            let (mine, rest): (Vec<_>, Vec<_>) = attempts.drain(..).partition(|a| a.outbox_id == d.id);
            attempts = rest;
            let mine: Vec<FailedAttempt> = mine.into_iter().map(FailedAttempt::from).collect();
            d.last_error = match mine.last() {
                Some(a) if !d.last_error.is_empty() => a.error.clone(),
                _ => String::new(),
            };
            (d, mine)
        })
        .collect())
}

/// Subscriber numbers of a page.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Counts {
    pub total: i64,
    /// Active and hygiene `ok`: who the next notification reaches (scope aside).
    pub deliverable: i64,
    pub active: i64,
    pub unconfirmed: i64,
    pub unsubscribed: i64,
    pub by_hygiene: BTreeMap<String, i64>,
}

pub async fn counts(app: &App, page: &PageRow) -> Result<Counts> {
    let mut c = Counts { by_hygiene: HYGIENES.iter().map(|h| (h.to_string(), 0)).collect(), ..Default::default() };
    for (state, hygiene, n) in sql::counts(&app.db.pool, page.id).await? {
        c.total += n;
        match state.as_str() {
            "active" => c.active += n,
            "unconfirmed" => c.unconfirmed += n,
            "unsubscribed" => c.unsubscribed += n,
            _ => {}
        }
        if state == "active" && hygiene == "ok" {
            c.deliverable += n;
        }
        *c.by_hygiene.entry(hygiene).or_default() += n;
    }
    Ok(c)
}

fn event(page: &PageRow, action: &'static str, target_id: Option<i64>, detail: serde_json::Value) -> Event<'static> {
    Event { org_id: Some(page.org_id), page_id: Some(page.id), action, target_kind: "subscriber", target_id, detail }
}

/// Hard-deletes a subscriber: its scope and unsubscribe links go with it, its magic tokens end
/// and mail still queued for it is dropped. The audit entry keeps the id, never the address.
pub async fn delete(app: &App, actor: &Actor, page: &PageRow, id: i64) -> Result<()> {
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let sub = sql::by_id(&mut *tx, page.id, id).await?.ok_or(Error::NotFound("subscriber"))?;
    if let Some(email) = &sub.email {
        crate::store::magic_tokens::revoke_magic(&mut *tx, page.id, email, "link", now).await?;
        crate::store::magic_tokens::revoke_magic(&mut *tx, page.id, email, "session", now).await?;
        crate::store::outbox::drop_pending_mail(&mut *tx, page.id, email).await?;
    }
    sql::delete(&mut *tx, page.id, id).await?;
    audit::record(&mut tx, actor, event(page, "subscriber.deleted", Some(id), serde_json::json!({})), now).await?;
    tx.commit().await?;
    Ok(())
}

/// What a bulk hygiene action did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct HygieneOutcome {
    /// Distinct ids asked for.
    pub requested: usize,
    pub updated: usize,
    /// Already in that hygiene state.
    pub unchanged: usize,
    /// Not subscribers of this page (unknown, or another page's).
    pub not_found: usize,
}

pub fn check_hygiene(h: &str) -> Result<()> {
    if HYGIENES.contains(&h) {
        Ok(())
    } else {
        Err(Error::field("hygiene", format!("must be one of {}", HYGIENES.join(", "))))
    }
}

/// Sets the hygiene of up to [`MAX_BULK`] subscribers of the page in one transaction.
pub async fn set_hygiene(
    app: &App,
    actor: &Actor,
    page: &PageRow,
    ids: &[i64],
    hygiene: &str,
) -> Result<HygieneOutcome> {
    check_hygiene(hygiene)?;
    if ids.len() > MAX_BULK {
        return Err(Error::field("ids", format!("at most {MAX_BULK} ids")));
    }
    let mut distinct: Vec<i64> = ids.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let found = sql::existing_ids(&mut *tx, page.id, &distinct).await?;
    let mut updated = Vec::new();
    for id in &found {
        if sql::set_hygiene(&mut *tx, page.id, *id, hygiene, now).await? {
            if hygiene != "ok" {
                crate::store::outbox::drop_pending_notifications(&mut *tx, *id, now).await?;
            }
            updated.push(*id);
        }
    }
    let out = HygieneOutcome {
        requested: distinct.len(),
        updated: updated.len(),
        unchanged: found.len() - updated.len(),
        not_found: distinct.len() - found.len(),
    };
    if !updated.is_empty() {
        let detail = serde_json::json!({"hygiene": hygiene, "ids": updated});
        audit::record(&mut tx, actor, event(page, "subscribers.hygiene_changed", None, detail), now).await?;
    }
    tx.commit().await?;
    Ok(out)
}

/// Every email subscriber of the page as CSV ([`CSV_HEADER`] first).
pub async fn export(app: &App, page: &PageRow) -> Result<String> {
    let rows = sql::all_of_page(&app.db.pool, page.id).await?;
    let scopes = scopes(app, page).await?;
    let mut out = csv::record(CSV_HEADER);
    for s in rows {
        let Some(email) = &s.email else { continue };
        let components =
            if s.all_components { String::new() } else { scopes.get(&s.id).cloned().unwrap_or_default().join(" ") };
        let created = rfc3339(s.created_at);
        let confirmed = s.confirmed_at.map(rfc3339).unwrap_or_default();
        out.push_str(&csv::record(&[
            email,
            &s.state,
            &s.hygiene,
            if s.incidents { "true" } else { "false" },
            if s.maintenances { "true" } else { "false" },
            &components,
            &created,
            &confirmed,
        ]));
    }
    Ok(out)
}

/// Whether the admin attests that the imported addresses opted in elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    /// Created active; nobody is mailed.
    Attested,
    /// Created unconfirmed; each gets the normal confirmation mail.
    None,
}

/// What an import did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ImportOutcome {
    /// Data rows read.
    pub rows: usize,
    pub created: usize,
    /// Addresses the page already had (or that repeat an earlier row): left unchanged.
    pub existing: usize,
    /// Confirmation mails queued.
    pub mailed: usize,
}

/// One valid row.
struct Row {
    email: Email,
    state: String,
    hygiene: String,
    incidents: bool,
    maintenances: bool,
    items: Vec<i64>,
    created_at: Option<i64>,
    confirmed_at: Option<i64>,
}

fn bad(line: usize, msg: impl std::fmt::Display) -> Error {
    Error::field("csv", format!("line {line}: {msg}"))
}

fn flag(line: usize, name: &str, v: &str) -> Result<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "" | "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(bad(line, format!("{name} must be true or false"))),
    }
}

fn time(line: usize, name: &str, v: &str) -> Result<Option<i64>> {
    match v.trim() {
        "" => Ok(None),
        t => parse_rfc3339(t).map(Some).ok_or_else(|| bad(line, format!("{name} must be an RFC 3339 time"))),
    }
}

/// Validates the whole file before anything is written.
async fn rows_of(app: &App, page: &PageRow, text: &str) -> Result<Vec<Row>> {
    let records = csv::parse(text).map_err(|(line, msg)| bad(line, msg))?;
    let mut records = records.into_iter();
    let Some((hline, header)) = records.next() else {
        return Err(bad(1, format!("the header row is missing: {}", CSV_HEADER.join(","))));
    };
    let header: Vec<String> = header.iter().map(|h| h.trim().to_ascii_lowercase()).collect();
    if header != CSV_HEADER {
        return Err(bad(hline, format!("the header row must be {}", CSV_HEADER.join(","))));
    }
    let records: Vec<_> = records.collect();
    if records.len() > MAX_IMPORT_ROWS {
        return Err(Error::limit(Some("csv"), format!("at most {MAX_IMPORT_ROWS} rows per import")));
    }
    let items: HashMap<String, (i64, bool)> = crate::store::hierarchy::items(&app.db.pool, page.id)
        .await?
        .into_iter()
        .map(|i| (i.identifier, (i.id, i.visible)))
        .collect();
    let mut out = Vec::with_capacity(records.len());
    for (line, cells) in records {
        if cells.len() != CSV_HEADER.len() {
            return Err(bad(line, format!("expected {} fields, found {}", CSV_HEADER.len(), cells.len())));
        }
        let c: Vec<&str> = cells.iter().map(|v| csv::unneutralise(v.trim())).collect();
        let email = Email::parse(c[0]).map_err(|e| bad(line, format!("email {}", e.0)))?;
        let state = if c[1].is_empty() { "unconfirmed" } else { c[1] };
        if !STATES.contains(&state) {
            return Err(bad(line, format!("state must be one of {}", STATES.join(", "))));
        }
        let hygiene = if c[2].is_empty() { "ok" } else { c[2] };
        if !HYGIENES.contains(&hygiene) {
            return Err(bad(line, format!("hygiene must be one of {}", HYGIENES.join(", "))));
        }
        let mut scope = Vec::new();
        for id in c[5].split_whitespace() {
            match items.get(id) {
                Some((item, true)) => {
                    if !scope.contains(item) {
                        scope.push(*item);
                    }
                }
                _ => return Err(bad(line, format!("no component with identifier '{id}' on this page"))),
            }
        }
        out.push(Row {
            email,
            state: state.to_string(),
            hygiene: hygiene.to_string(),
            incidents: flag(line, "incidents", c[3])?,
            maintenances: flag(line, "maintenances", c[4])?,
            items: scope,
            created_at: time(line, "created_at", c[6])?,
            confirmed_at: time(line, "confirmed_at", c[7])?,
        });
    }
    Ok(out)
}

/// Imports subscribers from CSV in one transaction: any invalid row refuses the whole file
/// (400 naming the line). Known addresses are left unchanged. Rows marked `unsubscribed` stay
/// unsubscribed; the others are created active with attested consent (nobody mailed), else
/// unconfirmed with the normal confirmation mail (not to addresses whose hygiene is not `ok`).
pub async fn import(app: &App, actor: &Actor, page: &PageRow, text: &str, consent: Consent) -> Result<ImportOutcome> {
    let rows = rows_of(app, page, text).await?;
    let now = app.now();
    let (url, _) = crate::service::directory::canonical_page_url(app, page).await?;
    let mut out = ImportOutcome { rows: rows.len(), ..Default::default() };
    let mut tx = app.db.begin().await?;
    let mut known: HashSet<String> =
        sql::all_of_page(&mut *tx, page.id).await?.into_iter().filter_map(|s| s.email).collect();
    for r in rows {
        if !known.insert(r.email.as_str().to_string()) {
            out.existing += 1;
            continue;
        }
        let state = match (r.state.as_str(), consent) {
            ("unsubscribed", _) => "unsubscribed",
            (_, Consent::Attested) => "active",
            (_, Consent::None) => "unconfirmed",
        };
        let confirmed_at = match state {
            "active" => Some(r.confirmed_at.unwrap_or(now)),
            "unsubscribed" => r.confirmed_at,
            _ => None,
        };
        let new = Imported {
            email: r.email.as_str(),
            state,
            hygiene: &r.hygiene,
            prefs: Preferences {
                incidents: r.incidents,
                maintenances: r.maintenances,
                all_components: r.items.is_empty(),
            },
            created_at: r.created_at.unwrap_or(now),
            confirmed_at,
            unsubscribed_at: (state == "unsubscribed").then_some(now),
        };
        let id = sql::insert_imported(&mut *tx, page.id, &new, now).await?;
        sql::set_items(&mut tx, id, &r.items).await?;
        out.created += 1;
        if state == "unconfirmed" && r.hygiene == "ok" {
            let secret = app.new_token(TokenKind::MagicLink);
            mail_link(&mut tx, page, &url, r.email.as_str(), &secret, Purpose::Confirm, now).await?;
            out.mailed += 1;
        }
    }
    let consent_name = if consent == Consent::Attested { "attested" } else { "none" };
    let detail = serde_json::json!({
        "consent": consent_name, "rows": out.rows, "created": out.created, "existing": out.existing, "mailed": out.mailed,
    });
    audit::record(&mut tx, actor, event(page, "subscribers.imported", None, detail), now).await?;
    tx.commit().await?;
    Ok(out)
}
