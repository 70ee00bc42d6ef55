//! What every page of a status page shares: the layout's data (`Chrome`), times as readers see
//! them, status words and symbols, and the visit itself: host → page, the private page's gate,
//! the answer's cache policy, and the 404 page in the same layout.

use crate::app::App;
use crate::domain::maintenance::Zone;
use crate::http::extract::principal::{ctx_of, Reader};
use crate::http::front::ctx::{RequestCtx, Via};
use crate::http::site::assets::STYLESHEET;
use crate::service::org::pages::{self, SiteSettings};
use crate::store::hierarchy::StatusRow;
use crate::store::pages::PageRow;
use askama::Template;
use axum::extract::{FromRequestParts, Request};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};

/// What every page of a status page shares: the layout's head, header and footer.
pub struct Chrome {
    pub locale: String,
    pub title: String,
    pub subtitle: String,
    pub description: String,
    /// `/status/<prefix>` when the page is served under the platform host, else empty.
    pub base: String,
    pub stylesheet: String,
    pub time_zone: String,
    /// Whether the head and footer link the page's feeds (not on the private page's gate).
    pub feeds: bool,
    pub noindex: bool,
}

impl Chrome {
    fn of(page: &PageRow, s: &SiteSettings, base: &str) -> Chrome {
        let title = if s.title.is_empty() { page.name.clone() } else { s.title.clone() };
        Chrome {
            locale: s.locale.clone(),
            description: format!("Current status, incidents and scheduled maintenance of {title}."),
            title,
            subtitle: s.subtitle.clone(),
            base: base.to_string(),
            stylesheet: STYLESHEET.path.clone(),
            time_zone: s.time_zone.clone(),
            feeds: true,
            noindex: page.visibility != "public",
        }
    }
}

/// An instant, machine-readable and as the page's readers see it (in the page's time zone).
pub struct Shown {
    pub iso: String,
    pub shown: String,
}

impl Shown {
    pub fn at(zone: &Zone, ms: i64) -> Shown {
        Shown { iso: crate::clock::rfc3339(ms), shown: zone.human(ms) }
    }
}

/// The icon class of a status: never colour alone, the stylesheet adds a symbol, the template
/// the status's name.
pub fn icon(statuses: &[StatusRow], key: &str) -> &'static str {
    match statuses.iter().find(|s| s.key == key) {
        Some(s) if s.reserved => "i-maint",
        Some(s) if s.severity == 0 => "i-ok",
        Some(s) if s.downtime_permille >= 1000 => "i-major",
        Some(_) => "i-minor",
        None => "i-ok",
    }
}

pub fn status_name(statuses: &[StatusRow], key: &str) -> String {
    statuses.iter().find(|s| s.key == key).map(|s| s.name.clone()).unwrap_or_else(|| key.to_string())
}

#[derive(Template)]
#[template(path = "gate.html")]
struct GatePage {
    page: Chrome,
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage<'a> {
    page: Chrome,
    what: &'a str,
}

/// A reader admitted to a page: the page, its settings, its zone and the path prefix of its
/// links.
pub struct Visit {
    pub page: PageRow,
    pub settings: SiteSettings,
    pub zone: Zone,
    pub base: String,
}

/// Resolves the page of the request and admits the reader, or answers for it: the admin host
/// goes to `/admin`, a private page without a grant gets its password form (401).
pub async fn visit(app: &App, req: Request) -> Result<Visit, Response> {
    let (mut parts, _) = req.into_parts();
    let Ok(ctx): Result<RequestCtx, _> = ctx_of(&parts) else {
        return Err(StatusCode::INTERNAL_SERVER_ERROR.into_response());
    };
    let Some(page) = ctx.page else {
        return Err(axum::response::Redirect::to("/admin").into_response());
    };
    let admitted = <Reader as FromRequestParts<App>>::from_request_parts(&mut parts, app).await.is_ok();
    let base = match &ctx.via {
        Via::StatusPath(prefix) => format!("/status/{prefix}"),
        _ => String::new(),
    };
    let settings = pages::settings_of(&page);
    if !admitted {
        // Nothing of the page shows before the password: not even its name.
        let mut chrome = Chrome::of(&page, &settings, &base);
        // The gate is English and says nothing of the page's settings (not its zone, not its
        // language): the form has no `name`, so even a scriptless submit sends no password.
        chrome.locale = "en".into();
        chrome.time_zone.clear();
        chrome.title = "Private status page".into();
        chrome.subtitle.clear();
        chrome.description = "This status page is private.".into();
        chrome.feeds = false;
        let html =
            (GatePage { page: chrome }).render().map_err(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())?;
        return Err((StatusCode::UNAUTHORIZED, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response());
    }
    let zone = Zone::parse(&settings.time_zone)
        .or_else(|_| Zone::parse("UTC"))
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())?;
    Ok(Visit { page, settings, zone, base })
}

impl Visit {
    pub fn chrome(&self) -> Chrome {
        Chrome::of(&self.page, &self.settings, &self.base)
    }

    pub fn at(&self, ms: i64) -> Shown {
        Shown::at(&self.zone, ms)
    }

    /// A rendered page with the page's cache policy: shared caches may keep a public page for
    /// 15 s; a private page is only ever cached by the reader's own browser.
    pub fn respond(&self, status: StatusCode, t: &impl Template) -> Response {
        let Ok(html) = t.render() else { return StatusCode::INTERNAL_SERVER_ERROR.into_response() };
        let cache = if self.page.visibility == "public" {
            "public, max-age=15, stale-while-revalidate=60"
        } else {
            "private, no-store"
        };
        (status, [(header::CACHE_CONTROL, cache), (header::VARY, "Cookie, Authorization")], Html(html)).into_response()
    }

    /// The answer to a service error: a missing thing is the 404 page in the page's layout; any
    /// other error is the API's error answer.
    pub fn failed(&self, e: crate::service::Error) -> Response {
        match e {
            crate::service::Error::NotFound(what) => {
                self.respond(StatusCode::NOT_FOUND, &NotFoundPage { page: self.chrome(), what })
            }
            e => crate::http::extract::error::ApiError::from(e).into_response(),
        }
    }
}
