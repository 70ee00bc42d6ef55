//! What the incident and maintenance routes share: the notice a path names, the affected-item
//! bodies, the answer to a retry-safe create, and public reads of typed views.

use crate::app::App;
use crate::http::api::hierarchy::RefBody;
use crate::http::api::public::{cacheable_bytes, Rendered};
use crate::http::extract::error::{ApiError, ApiResult};
use crate::service::status::hierarchy::ItemRef;
use crate::service::status::incidents::AffectedInput;
use crate::service::status::notices;
use crate::store::notices::Notice;
use crate::store::pages::PageRow;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

/// The notice a path names: `{id}`, or `external/{external_id}` when `EXT`.
pub async fn target<N: Notice, const EXT: bool>(app: &App, page: &PageRow, raw: &str) -> ApiResult<N> {
    Ok(if EXT {
        notices::get_external(app, page, raw).await?
    } else {
        notices::get(app, page, raw.parse().map_err(|_| ApiError::not_found())?).await?
    })
}

/// An affected item of a window: `{"external_id": "api-gateway"}` or `{"id": 7}`.
#[derive(Deserialize, Serialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct ItemBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    external_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<i64>,
}

/// An affected item of an incident: an [`ItemBody`] that may also carry the item's own status
/// (windows' items refuse one). The fields are repeated, not flattened: serde cannot refuse
/// unknown fields through a flattened part, and a backfill's request hash is this body's JSON.
#[derive(Deserialize, Serialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct AffectedBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    external_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<String>,
}

/// Entry `i` of `affected_items` as an item reference.
fn item_ref(external_id: Option<String>, id: Option<i64>, i: usize) -> ApiResult<ItemRef> {
    RefBody::from_parts(external_id, id).into_ref(&format!("affected_items[{i}]"))
}

/// A window's `affected_items`.
pub fn items(list: Vec<ItemBody>) -> ApiResult<Vec<ItemRef>> {
    list.into_iter().enumerate().map(|(i, a)| item_ref(a.external_id, a.id, i)).collect()
}

/// An incident's `affected_items`.
pub fn affected(list: Vec<AffectedBody>) -> ApiResult<Vec<AffectedInput>> {
    list.into_iter()
        .enumerate()
        .map(|(i, a)| Ok(AffectedInput { item: item_ref(a.external_id, a.id, i)?, status: a.status }))
        .collect()
}

/// The default of the flags a body may leave out (`notify`, `auto_start`, ...).
pub fn yes() -> bool {
    true
}

/// A create's answer: 201 with the new notice, or 200 with the one a retry of the same request
/// (same `external_id`, same content) created before.
pub fn created_or_found<T: Serialize>(view: T, is_new: bool) -> Response {
    let status = if is_new { StatusCode::CREATED } else { StatusCode::OK };
    (status, Json(view)).into_response()
}

/// A public read's typed answer, for public caches (see [`cacheable_bytes`]).
pub fn cacheable_json<T: Serialize>(req_headers: &HeaderMap, page: &PageRow, view: &T) -> Response {
    let body = Rendered::bytes(serde_json::to_vec(view).expect("json serialises"));
    cacheable_bytes(req_headers, page, &body)
}
