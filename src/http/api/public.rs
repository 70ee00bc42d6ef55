//! Anonymous page-host routes: site settings, the current page, page by prefix, the viewer gate.

use crate::app::App;
use crate::http::extract::cookies;
use crate::http::extract::error::{ApiError, ApiResult};
use crate::http::extract::json::StrictJson;
use crate::http::extract::principal::{ctx_of, Reader};
use crate::http::front::ctx::{RequestCtx, Via};
use crate::http::presenters::pages::{PagePublicJson, PublicSettings, ViewerAccess};
use crate::service::credentials::viewer;
use crate::service::directory;
use crate::service::org::pages;
use crate::store::pages::PageRow;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

/// JSON for public caches: strong ETag, 304 on a match, short max-age with a longer
/// stale-while-revalidate so a CDN absorbs a spike. Private pages are never shared-cached.
pub fn cacheable(req_headers: &HeaderMap, page: &PageRow, body: &impl Serialize) -> Response {
    cacheable_bytes(req_headers, page, &Rendered::of(body))
}

/// A rendered JSON body and its strong ETag.
#[derive(Clone, Debug)]
pub struct Rendered {
    pub bytes: axum::body::Bytes,
    pub etag: String,
}

impl Rendered {
    pub fn of(body: &impl Serialize) -> Rendered {
        Rendered::bytes(serde_json::to_vec(body).expect("json serialises"))
    }

    /// Any rendered body (a feed, a calendar) with its strong ETag.
    pub fn bytes(bytes: Vec<u8>) -> Rendered {
        let etag = format!("\"{}\"", &crate::auth::digest::sha256_hex(&bytes)[..32]);
        Rendered { bytes: bytes.into(), etag }
    }
}

/// [`cacheable`] for a body rendered earlier (a cache hit).
pub fn cacheable_bytes(req_headers: &HeaderMap, page: &PageRow, body: &Rendered) -> Response {
    cacheable_typed(req_headers, page, body, "application/json")
}

/// [`cacheable_bytes`] for a body of another media type (feeds, calendars).
pub fn cacheable_typed(
    req_headers: &HeaderMap,
    page: &PageRow,
    body: &Rendered,
    content_type: &'static str,
) -> Response {
    let cache =
        if page.visibility == "public" { "public, max-age=15, stale-while-revalidate=60" } else { "private, no-store" };
    let matches = req_headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == body.etag || t.trim() == "*"));
    let mut res = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, content_type)], body.bytes.clone()).into_response()
    };
    let h = res.headers_mut();
    h.insert(header::ETAG, HeaderValue::from_str(&body.etag).expect("ascii"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::VARY, HeaderValue::from_static("Cookie, Authorization"));
    res
}

/// The canonical public URL of a page: its verified custom domain, else its prefix host.
pub async fn canonical_url(app: &App, page: &PageRow) -> ApiResult<(String, Option<String>)> {
    Ok(directory::canonical_page_url(app, page).await?)
}

async fn page_public_json(app: &App, page: &PageRow) -> ApiResult<PagePublicJson> {
    let (url, custom_domain) = canonical_url(app, page).await?;
    let s = pages::settings_of(page);
    Ok(PagePublicJson {
        id: page.id,
        name: page.name.clone(),
        url_prefix: page.url_prefix.clone(),
        visibility: page.visibility.clone(),
        custom_domain,
        url,
        status_path_url: format!("{}/status/{}", app.config.origin_for(&app.config.base_domain), page.url_prefix),
        title: s.title,
        time_zone: s.time_zone,
        locale: s.locale,
    })
}

pub async fn current_host(State(app): State<App>, r: Reader, headers: HeaderMap) -> ApiResult<Response> {
    let v = page_public_json(&app, &r.page).await?;
    Ok(cacheable(&headers, &r.page, &v))
}

pub async fn settings(State(app): State<App>, r: Reader, headers: HeaderMap) -> ApiResult<Response> {
    let _ = &app;
    let v = PublicSettings {
        name: r.page.name.clone(),
        url_prefix: r.page.url_prefix.clone(),
        visibility: r.page.visibility.clone(),
        site: pages::settings_of(&r.page),
    };
    Ok(cacheable(&headers, &r.page, &v))
}

/// `GET /api/v1/pages/public/{url_prefix}`: on a page's own host only that page; on the
/// platform hosts any live page (private ones need the viewer gate of their own host).
pub async fn page_by_prefix(State(app): State<App>, Path(prefix): Path<String>, req: Request) -> ApiResult<Response> {
    let (mut parts, _) = req.into_parts();
    let mut ctx: RequestCtx = ctx_of(&parts)?;
    match &ctx.page {
        Some(p) if p.url_prefix != prefix => return Err(ApiError::not_found()),
        Some(_) => {}
        None => {
            let page = directory::live_page_by_prefix(&app, &prefix).await?.ok_or_else(ApiError::not_found)?;
            ctx.page = Some(page);
            parts.extensions.insert(ctx);
        }
    }
    let r = <Reader as axum::extract::FromRequestParts<App>>::from_request_parts(&mut parts, &app).await?;
    let v = page_public_json(&app, &r.page).await?;
    Ok(cacheable(&parts.headers, &r.page, &v))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewerAccessBody {
    password: String,
}

/// `POST /api/v1/viewer-access`: the password gate; sets a viewer cookie for this host only.
pub async fn viewer_access(
    State(app): State<App>,
    ctx: RequestCtx,
    StrictJson(b): StrictJson<ViewerAccessBody>,
) -> ApiResult<Response> {
    let page = ctx.page.clone().ok_or_else(ApiError::not_found)?;
    if page.visibility != "private" {
        return Ok((StatusCode::OK, Json(ViewerAccess { access: "public" })).into_response());
    }
    let secret = viewer::grant(&app, &page, &b.password, &ctx.ip).await.map_err(|e| match e {
        crate::service::Error::Unauthorized => {
            ApiError::new(StatusCode::UNAUTHORIZED, "invalid_password", "wrong password")
        }
        e => e.into(),
    })?;
    let secure = app.config.secure_cookies();
    let path = match &ctx.via {
        Via::StatusPath(prefix) => format!("/status/{prefix}"),
        _ => "/".to_string(),
    };
    let cookie = cookies::set(
        cookies::viewer_name(secure),
        secret.expose(),
        &path,
        viewer::VIEWER_GRANT_LIFETIME / 1000,
        secure,
    );
    let mut res = Json(ViewerAccess { access: "granted" }).into_response();
    res.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).expect("ascii"));
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}
