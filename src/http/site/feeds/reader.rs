//! Readers' own feeds: `/feeds/{code}/feed.atom` and `/feeds/{code}/feed.rss`. `{code}` is the
//! feed's public short code (gated like every public read: a private page needs viewer access)
//! or its `sbf_…` capability (a deliberate credential in the path: it alone opens the feed, the
//! access log shows it as `{token}`, and a refused one is an audited 404). Entries are the
//! page's history ([`super::candidates`]) filtered by the feed's scope, content types, age and
//! count, rendered by the same Atom and RSS writers as the page's own feeds.

use super::{atom, candidates, rss, title_of, Candidate, ATOM_TYPE, RSS_TYPE};
use crate::app::App;
use crate::auth::token::looks_like_token;
use crate::clock::DAY;
use crate::domain::scope;
use crate::http::api::public::{cacheable_typed, canonical_url, Rendered};
use crate::http::extract::error::{ApiError, ApiResult};
use crate::http::extract::principal::{ctx_of, Reader};
use crate::service::readers::reader_feeds::{self, Feed, MAX_ITEMS};
use crate::service::status::hierarchy;
use crate::store::pages::PageRow;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::response::Response;
use std::collections::HashMap;

/// `GET /feeds/{code}/feed.atom`.
pub async fn feed_atom(State(app): State<App>, Path(code): Path<String>, req: Request) -> ApiResult<Response> {
    serve(&app, &code, req, false).await
}

/// `GET /feeds/{code}/feed.rss`.
pub async fn feed_rss(State(app): State<App>, Path(code): Path<String>, req: Request) -> ApiResult<Response> {
    serve(&app, &code, req, true).await
}

async fn serve(app: &App, code: &str, req: Request, rss_format: bool) -> ApiResult<Response> {
    let (mut parts, _) = req.into_parts();
    let ctx = ctx_of(&parts)?;
    let page = ctx.page.clone().ok_or_else(ApiError::not_found)?;
    let by_capability = looks_like_token(code);
    let mut feed = if by_capability {
        reader_feeds::by_capability(app, &page, code, &ctx.ip).await?
    } else {
        let r = Reader::from_request_parts(&mut parts, app).await?;
        reader_feeds::by_short_code(app, &r.page, code).await?
    };
    let items = hierarchy::items(app, &page).await?;
    if let Some(view_id) = feed.row.view_id {
        // A feed that follows a view takes the view's components as they are now; a protected
        // view's feed exists only at its capability path.
        let d = crate::service::readers::views::admin::get(app, &page, view_id).await?;
        if !by_capability && d.mode() != crate::domain::views::AccessMode::Public {
            return Err(ApiError::not_found());
        }
        feed.items = items
            .iter()
            .filter(|i| d.components.contains(&i.identifier))
            .map(|i| (i.id, i.identifier.clone()))
            .collect();
        feed.row.all_components = false;
    }
    let (url, _) = canonical_url(app, &page).await?;
    let (mut channel, all) = candidates(app, &page, MAX_ITEMS as usize, true).await?;
    let parents: HashMap<i64, i64> = items.into_iter().filter_map(|i| i.parent_id.map(|p| (i.id, p))).collect();
    let entries: Vec<_> = select(&feed, all, &parents, app.now()).into_iter().map(|c| c.entry).collect();
    let file = if rss_format { "feed.rss" } else { "feed.atom" };
    channel.id = format!("statibeat:feed:{}:{}", page.id, feed.row.id);
    channel.title = format!("{} · {}", feed.row.name, title_of(&page));
    channel.description = format!("{}: a reader's feed of {}", feed.row.name, title_of(&page));
    channel.updated = entries.iter().map(|e| e.updated).max().unwrap_or(feed.row.created_at);
    channel.self_link = Some(format!("{url}/feeds/{code}/{file}"));
    let (body, content_type) = if rss_format {
        (rss::render(&channel, &entries), RSS_TYPE)
    } else {
        (atom::render(&channel, &entries), ATOM_TYPE)
    };
    reader_feeds::record_fetch(app, &feed).await?;
    Ok(cacheable_typed(&parts.headers, &page, &versioned(body.into_bytes(), feed.row.cache_version), content_type))
}

/// The rendered body with an ETag that also carries the feed's cache version, so an admin's
/// "invalidate" changes it even when the content did not.
fn versioned(bytes: Vec<u8>, cache_version: i64) -> Rendered {
    let mut r = Rendered::bytes(bytes);
    r.etag = format!("\"{}-{cache_version}\"", r.etag.trim_matches('"'));
    r
}

/// The feed's entries, newest first: the content types it carries, the components it covers (the
/// notification scope rule), no older than its age limit (by last update), at most `max_items`.
pub fn select(feed: &Feed, all: Vec<Candidate>, parents: &HashMap<i64, i64>, now: i64) -> Vec<Candidate> {
    let r = &feed.row;
    let scope: Vec<i64> = feed.items.iter().map(|i| i.0).collect();
    let oldest = r.max_age_days.map(|d| now - d * DAY);
    all.into_iter()
        .filter(|c| if c.maintenance { r.maintenances } else { r.incidents })
        .filter(|c| oldest.is_none_or(|o| c.entry.updated >= o))
        .filter(|c| scope::covers(r.all_components, &scope, &c.items, parents))
        .take(r.max_items.clamp(1, MAX_ITEMS) as usize)
        .collect()
}

/// The public addresses of a feed (its short code) in both formats.
pub fn urls(url: &str, code: &str) -> (String, String) {
    (format!("{url}/feeds/{code}/feed.atom"), format!("{url}/feeds/{code}/feed.rss"))
}

/// The canonical base URL of the page (links are never built from a request's Host).
pub async fn base_url(app: &App, page: &PageRow) -> ApiResult<String> {
    Ok(canonical_url(app, page).await?.0)
}
