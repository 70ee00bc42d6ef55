//! Custom domains: one per page, served only after its DNS TXT challenge is verified.

use crate::app::App;
use crate::auth::token::TokenKind;
use crate::dns::{self, DnsError};
use crate::domain::types::DomainName;
use crate::service::audit::{self, Actor, Event};
use crate::service::error::{Error, Result};
use crate::store;
use crate::store::domains::DomainRow;
use crate::store::pages::PageRow;
use std::time::Duration;

/// The TXT record name that proves control of `domain`.
pub fn challenge_name(domain: &str) -> String {
    format!("_statibeat-challenge.{domain}")
}

/// Sets (or replaces) the page's custom domain; it serves nothing until verified.
pub async fn set(app: &App, actor: &Actor, page: &PageRow, raw: &str) -> Result<DomainRow> {
    let domain = DomainName::parse(raw).map_err(Error::invalid("domain"))?;
    let d = domain.as_str();
    let base = &app.config.base_domain;
    if d == base || d.ends_with(&format!(".{base}")) || d == app.config.admin_host {
        return Err(Error::field("domain", "must not be the platform's own domain"));
    }
    if let Some(current) = store::domains::domain_of_page(&app.db.pool, page.id).await? {
        if current.domain == d {
            return Ok(current);
        }
    }
    // Pending claims do not block anyone (a squatter cannot hold a domain hostage, and nothing
    // reveals another tenant's pending claim); only a verified one does.
    if store::domains::verified_domain(&app.db.pool, d).await?.is_some() {
        return Err(taken());
    }
    // A fresh challenge per attempt: only the random part of a token is used as the TXT value.
    let challenge = app.new_token(TokenKind::Ingest).expose()[4..].to_string();
    let now = app.now();
    let mut tx = app.db.begin().await?;
    store::domains::delete_domain(&mut *tx, page.id).await?;
    store::domains::insert_domain(&mut *tx, page.id, d, &challenge, now).await.map_err(|e| match e {
        crate::store::StoreError::Conflict(_) => {
            Error::Conflict { code: "domain_taken", message: "this domain is already attached to another page".into() }
        }
        e => e.into(),
    })?;
    audit::record(&mut tx, actor, event(page, "domain.set", serde_json::json!({"domain": d})), now).await?;
    tx.commit().await?;
    get(app, page).await
}

fn taken() -> Error {
    Error::Conflict { code: "domain_taken", message: "this domain is already verified for another page".into() }
}

fn event<'a>(page: &PageRow, action: &'a str, detail: serde_json::Value) -> Event<'a> {
    Event {
        org_id: Some(page.org_id),
        page_id: Some(page.id),
        action,
        target_kind: "custom_domain",
        target_id: Some(page.id),
        detail,
    }
}

/// The page's custom domain, or 404.
pub async fn get(app: &App, page: &PageRow) -> Result<DomainRow> {
    store::domains::domain_of_page(&app.db.pool, page.id).await?.ok_or(Error::NotFound("custom domain"))
}

/// Looks up the challenge record and marks the domain verified when it matches.
pub async fn verify(app: &App, actor: &Actor, page: &PageRow) -> Result<DomainRow> {
    let d = get(app, page).await?;
    if d.verified_at.is_some() {
        return Ok(d);
    }
    let resolver = app
        .config
        .dns_resolver
        .or_else(dns::system_resolver)
        .ok_or_else(|| Error::Unavailable("no DNS resolver configured".into()))?;
    let name = challenge_name(&d.domain);
    let found = match dns::lookup_txt(resolver, &name, Duration::from_secs(2)).await {
        Ok(values) => values.iter().any(|v| v.trim() == d.challenge_value),
        Err(DnsError::Unavailable(why)) => return Err(Error::Unavailable(format!("DNS resolver: {why}"))),
        Err(DnsError::Malformed) => false,
    };
    let now = app.now();
    let mut tx = app.db.begin().await?;
    if found && store::domains::verified_domain(&mut *tx, &d.domain).await?.is_some_and(|v| v.page_id != page.id) {
        return Err(taken());
    }
    let still_claimed =
        store::domains::mark_domain_checked(&mut *tx, &d, found.then_some(now), now).await.map_err(|e| match e {
            crate::store::StoreError::Conflict(_) => taken(),
            e => e.into(),
        })?;
    if !still_claimed {
        return Err(Error::Conflict {
            code: "domain_changed",
            message: "the page's domain changed during verification; verify again".into(),
        });
    }
    if found {
        audit::record(&mut tx, actor, event(page, "domain.verified", serde_json::json!({"domain": d.domain})), now)
            .await?;
    }
    tx.commit().await?;
    if !found {
        return Err(Error::Conflict {
            code: "challenge_not_found",
            message: format!("no TXT record {name} with the expected value was found; DNS changes can take a while"),
        });
    }
    get(app, page).await
}

/// Detaches the page's custom domain; binding it again needs a fresh verification.
pub async fn remove(app: &App, actor: &Actor, page: &PageRow) -> Result<()> {
    let d = get(app, page).await?;
    let now = app.now();
    let mut tx = app.db.begin().await?;
    store::domains::delete_domain(&mut *tx, page.id).await?;
    audit::record(&mut tx, actor, event(page, "domain.removed", serde_json::json!({"domain": d.domain})), now).await?;
    tx.commit().await?;
    Ok(())
}

/// For on-demand TLS: is this a verified domain of a live page?
pub async fn is_servable(app: &App, raw: &str) -> Result<bool> {
    let Ok(d) = DomainName::parse(raw) else { return Ok(false) };
    Ok(store::pages::live_page_by_domain(&app.db.pool, d.as_str()).await?.is_some())
}
