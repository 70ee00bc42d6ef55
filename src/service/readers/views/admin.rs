//! Administration of a page's custom views: list, stats, one view, delete. Views name their
//! owners and co-managers (personal data), so every route needs operate, like subscribers.

use super::{doc, docs, ViewDoc};
use crate::app::App;
use crate::domain::views::AccessMode;
use crate::service::audit::{self, Actor, Event};
use crate::service::error::{Error, Result};
use crate::store::pages::PageRow;
use crate::store::views as sql;
use std::collections::BTreeMap;

pub async fn list(app: &App, page: &PageRow, mode: Option<&str>, before: i64, limit: i64) -> Result<Vec<ViewDoc>> {
    docs(app, sql::list_admin(&app.db.pool, page.id, mode, before, limit).await?).await
}

pub async fn get(app: &App, page: &PageRow, id: i64) -> Result<ViewDoc> {
    doc(app, sql::by_id(&app.db.pool, page.id, id).await?.ok_or(Error::NotFound("view"))?).await
}

/// View numbers of a page.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Stats {
    pub total: i64,
    /// Every access mode, zeros too.
    pub by_access_mode: BTreeMap<String, i64>,
    /// Views selecting at least one component that no longer exists.
    pub with_deleted_components: i64,
}

pub async fn stats(app: &App, page: &PageRow) -> Result<Stats> {
    let mut s = Stats {
        by_access_mode: AccessMode::ALL.iter().map(|m| (m.key().to_string(), 0)).collect(),
        ..Default::default()
    };
    for (mode, n) in sql::counts_by_mode(&app.db.pool, page.id).await? {
        s.total += n;
        *s.by_access_mode.entry(mode).or_default() += n;
    }
    s.with_deleted_components = sql::count_with_deleted_components(&app.db.pool, page.id).await?;
    Ok(s)
}

/// Deletes a view of the page; its viewer tokens end with it (FK cascade).
pub async fn delete(app: &App, actor: &Actor, page: &PageRow, id: i64) -> Result<()> {
    let now = app.now();
    let mut tx = app.db.begin().await?;
    let view = sql::by_id(&mut *tx, page.id, id).await?.ok_or(Error::NotFound("view"))?;
    sql::delete(&mut *tx, view.id).await?;
    let event = Event {
        org_id: Some(page.org_id),
        page_id: Some(page.id),
        action: "view.deleted",
        target_kind: "view",
        target_id: Some(id),
        detail: serde_json::json!({"short_code": view.short_code, "by": "admin"}),
    };
    audit::record(&mut tx, actor, event, now).await?;
    tx.commit().await?;
    Ok(())
}
