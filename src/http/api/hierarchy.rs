//! `/api/v1/admin/hierarchy/...`, `/api/v1/admin/statuses`, `/api/v1/admin/lifecycles/{kind}`.

use crate::app::App;
use crate::auth::policy::Access;
use crate::http::extract::error::{ApiError, ApiResult};
use crate::http::extract::json::{nullable, StrictJson};
use crate::http::extract::list::{after_key, by_position, ListQuery};
use crate::http::extract::principal::Caller;
use crate::http::presenters::status_model::{ItemJson, LevelJson, Listed, StageJson, StatusJson};
use crate::service::status::computed;
use crate::service::status::hierarchy::{self, ItemInput, ItemRef, StatusInput};
use crate::store::hierarchy::ItemRow;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;

fn depth_of(raw: &str) -> ApiResult<i64> {
    raw.parse().map_err(|_| ApiError::not_found())
}

/// `{id}` or `external/{identifier}` in item paths.
pub fn item_ref<const EXT: bool>(raw: String) -> ApiResult<ItemRef> {
    if EXT {
        Ok(ItemRef::Identifier(raw))
    } else {
        raw.parse().map(ItemRef::Id).map_err(|_| ApiError::not_found())
    }
}

// ---- levels -----------------------------------------------------------------------------------

pub async fn list_levels(State(app): State<App>, caller: Caller, q: ListQuery) -> ApiResult<Json<Listed<LevelJson>>> {
    let a = caller.page(&app, Access::Read).await?;
    let (levels, next) = by_position(hierarchy::levels(&app, &a.page).await?, &q);
    Ok(Json(Listed { data: levels.iter().map(LevelJson::of).collect(), next_cursor: next }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelBody {
    depth: i64,
    singular: String,
    plural: String,
}

pub async fn create_level(
    State(app): State<App>,
    caller: Caller,
    StrictJson(b): StrictJson<LevelBody>,
) -> ApiResult<impl IntoResponse> {
    let a = caller.page(&app, Access::Configure).await?;
    let l = hierarchy::create_level(&app, &caller.actor(), &a.page, b.depth, &b.singular, &b.plural).await?;
    Ok((StatusCode::CREATED, Json(LevelJson::of(&l))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelPatch {
    singular: Option<String>,
    plural: Option<String>,
}

pub async fn update_level(
    State(app): State<App>,
    caller: Caller,
    Path(depth): Path<String>,
    StrictJson(b): StrictJson<LevelPatch>,
) -> ApiResult<Json<LevelJson>> {
    let a = caller.page(&app, Access::Configure).await?;
    let l = hierarchy::update_level(
        &app,
        &caller.actor(),
        &a.page,
        depth_of(&depth)?,
        b.singular.as_deref(),
        b.plural.as_deref(),
    )
    .await?;
    Ok(Json(LevelJson::of(&l)))
}

pub async fn delete_level(State(app): State<App>, caller: Caller, Path(depth): Path<String>) -> ApiResult<StatusCode> {
    let a = caller.page(&app, Access::Configure).await?;
    hierarchy::delete_level(&app, &caller.actor(), &a.page, depth_of(&depth)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- items ------------------------------------------------------------------------------------

/// A parent as clients name it.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct RefBody {
    external_id: Option<String>,
    id: Option<i64>,
}

impl RefBody {
    pub fn from_parts(external_id: Option<String>, id: Option<i64>) -> RefBody {
        RefBody { external_id, id }
    }

    pub fn into_ref(self, field: &str) -> ApiResult<ItemRef> {
        match (self.external_id, self.id) {
            (Some(e), None) => Ok(ItemRef::Identifier(e)),
            (None, Some(id)) => Ok(ItemRef::Id(id)),
            _ => Err(ApiError::bad_request("invalid", format!("{field}: give exactly one of external_id or id"))
                .field(field)),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemBody {
    name: Option<String>,
    identifier: Option<String>,
    abbreviation: Option<String>,
    description: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    parent: Option<Option<RefBody>>,
    display_order: Option<i64>,
    metadata: Option<Value>,
    visible: Option<bool>,
}

impl ItemBody {
    fn into_input(self) -> ApiResult<ItemInput> {
        let parent = match self.parent {
            None => None,
            Some(None) => Some(None),
            Some(Some(r)) => Some(Some(r.into_ref("parent")?)),
        };
        Ok(ItemInput {
            name: self.name,
            identifier: self.identifier,
            abbreviation: self.abbreviation,
            description: self.description,
            parent,
            display_order: self.display_order,
            metadata: self.metadata,
            visible: self.visible,
        })
    }
}

async fn item_with_status(app: &App, page: &crate::store::pages::PageRow, item: &ItemRow) -> ApiResult<ItemJson> {
    let s = computed::page_status(app, page).await?;
    let parent = s.items.iter().find(|i| Some(i.item.id) == item.parent_id).map(|i| &i.item);
    let st = s.items.iter().find(|i| i.item.id == item.id).map(|i| i.status.as_str());
    Ok(ItemJson::of(item, parent, st))
}

/// `GET /api/v1/admin/hierarchy/items`: every component (hidden ones too), paged in id order.
pub async fn list_items(State(app): State<App>, caller: Caller, q: ListQuery) -> ApiResult<Json<Listed<ItemJson>>> {
    let a = caller.page(&app, Access::Read).await?;
    let s = computed::page_status(&app, &a.page).await?;
    let by_id: std::collections::HashMap<i64, &ItemRow> = s.items.iter().map(|i| (i.item.id, &i.item)).collect();
    let (rows, next) = after_key(s.items.iter().collect(), &q, |i| i.item.id);
    let data = rows
        .iter()
        .map(|i| {
            let parent = i.item.parent_id.and_then(|p| by_id.get(&p).copied());
            ItemJson::of(&i.item, parent, Some(&i.status))
        })
        .collect();
    Ok(Json(Listed { data, next_cursor: next }))
}

pub async fn create_item(
    State(app): State<App>,
    caller: Caller,
    StrictJson(b): StrictJson<ItemBody>,
) -> ApiResult<impl IntoResponse> {
    let a = caller.page(&app, Access::Configure).await?;
    let item = hierarchy::create_item(&app, &caller.actor(), &a.page, b.into_input()?).await?;
    Ok((StatusCode::CREATED, Json(item_with_status(&app, &a.page, &item).await?)))
}

pub async fn get_item<const EXT: bool>(
    State(app): State<App>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Json<ItemJson>> {
    let a = caller.page(&app, Access::Read).await?;
    let item = hierarchy::item(&app, &a.page, &item_ref::<EXT>(raw)?).await?;
    Ok(Json(item_with_status(&app, &a.page, &item).await?))
}

pub async fn update_item<const EXT: bool>(
    State(app): State<App>,
    caller: Caller,
    Path(raw): Path<String>,
    StrictJson(b): StrictJson<ItemBody>,
) -> ApiResult<Json<ItemJson>> {
    let a = caller.page(&app, Access::Configure).await?;
    let item = hierarchy::update_item(&app, &caller.actor(), &a.page, &item_ref::<EXT>(raw)?, b.into_input()?).await?;
    Ok(Json(item_with_status(&app, &a.page, &item).await?))
}

pub async fn delete_item<const EXT: bool>(
    State(app): State<App>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult<StatusCode> {
    let a = caller.page(&app, Access::Configure).await?;
    hierarchy::delete_item(&app, &caller.actor(), &a.page, &item_ref::<EXT>(raw)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- statuses and lifecycles ------------------------------------------------------------------

pub async fn list_statuses(
    State(app): State<App>,
    caller: Caller,
    q: ListQuery,
) -> ApiResult<Json<Listed<StatusJson>>> {
    let a = caller.page(&app, Access::Read).await?;
    let (s, next) = by_position(hierarchy::statuses(&app, &a.page).await?, &q);
    Ok(Json(Listed { data: s.iter().map(StatusJson::of).collect(), next_cursor: next }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    key: String,
    name: String,
    color: String,
    #[serde(default)]
    downtime_weight: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusesBody {
    statuses: Vec<StatusBody>,
}

pub async fn put_statuses(
    State(app): State<App>,
    caller: Caller,
    StrictJson(b): StrictJson<StatusesBody>,
) -> ApiResult<Json<Listed<StatusJson>>> {
    let a = caller.page(&app, Access::Configure).await?;
    let input = b
        .statuses
        .into_iter()
        .map(|s| StatusInput { key: s.key, name: s.name, color: s.color, downtime_weight: s.downtime_weight })
        .collect();
    let s = hierarchy::replace_statuses(&app, &caller.actor(), &a.page, input).await?;
    Ok(Json(Listed { data: s.iter().map(StatusJson::of).collect(), next_cursor: None }))
}

fn kind(raw: &str) -> ApiResult<&'static str> {
    match raw {
        "incident" | "incidents" => Ok("incident"),
        "maintenance" | "maintenances" => Ok("maintenance"),
        _ => Err(ApiError::not_found()),
    }
}

pub async fn list_stages(
    State(app): State<App>,
    caller: Caller,
    Path(raw): Path<String>,
    q: ListQuery,
) -> ApiResult<Json<Listed<StageJson>>> {
    let a = caller.page(&app, Access::Read).await?;
    let (s, next) = by_position(hierarchy::stages(&app, &a.page, kind(&raw)?).await?, &q);
    Ok(Json(Listed { data: s.iter().map(StageJson::of).collect(), next_cursor: next }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageBody {
    key: String,
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StagesBody {
    stages: Vec<StageBody>,
}

pub async fn put_stages(
    State(app): State<App>,
    caller: Caller,
    Path(raw): Path<String>,
    StrictJson(b): StrictJson<StagesBody>,
) -> ApiResult<Json<Listed<StageJson>>> {
    let a = caller.page(&app, Access::Configure).await?;
    let input = b.stages.into_iter().map(|s| (s.key, s.name)).collect();
    let s = hierarchy::replace_stages(&app, &caller.actor(), &a.page, kind(&raw)?, input).await?;
    Ok(Json(Listed { data: s.iter().map(StageJson::of).collect(), next_cursor: None }))
}
