//! The public pages' assets, embedded in the binary and served under a fingerprinted name
//! (`/assets/site.<hash>.css`), so a browser may keep them for a year: a new build changes the
//! name, never the bytes behind a name.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use std::sync::LazyLock;

const SITE_CSS: &str = include_str!("../../../assets/site.css");

/// One embedded file and the name it is served under.
pub struct Asset {
    pub path: String,
    body: &'static str,
    content_type: &'static str,
}

/// The stylesheet of every public page.
pub static STYLESHEET: LazyLock<Asset> = LazyLock::new(|| fingerprinted("site", "css", SITE_CSS, "text/css"));

fn fingerprinted(stem: &str, ext: &str, body: &'static str, content_type: &'static str) -> Asset {
    let hash = crate::auth::digest::sha256_hex(body.as_bytes());
    Asset { path: format!("/assets/{stem}.{}.{ext}", &hash[..16]), body, content_type }
}

/// `GET /assets/{file}`: an embedded asset under its current name; any other name is 404 (an
/// old name must not be cached for a year with new bytes).
pub async fn asset(Path(file): Path<String>) -> Response {
    let css = &*STYLESHEET;
    if css.path.strip_prefix("/assets/") != Some(file.as_str()) {
        return crate::http::extract::error::ApiError::not_found().into_response();
    }
    (
        [(header::CONTENT_TYPE, css.content_type), (header::CACHE_CONTROL, "public, max-age=31536000, immutable")],
        css.body,
    )
        .into_response()
}
