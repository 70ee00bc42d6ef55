//! Reading incidents for the API, the pages and the feeds: lists by state, one incident, and the
//! affected items and updates of a set of incidents (two queries, whatever the set's size).

use crate::app::App;
use crate::service::error::{Error, Result};
use crate::store::incidents::{self as sql, Filter, IncidentRow};
use crate::store::notices::{self as nsql, ItemRow, Kind, UpdateRow};
use crate::store::pages::PageRow;

/// Who reads: admins see everything; the public sees public incidents and visible components only.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Audience {
    Admin,
    Public,
}

/// The page's incidents in `filter`, newest first, below the id `before`, at most `limit`.
pub async fn list(
    app: &App,
    page: &PageRow,
    filter: Filter,
    who: Audience,
    before: i64,
    limit: i64,
) -> Result<Vec<IncidentRow>> {
    Ok(sql::list(&app.db.pool, page.id, filter, who == Audience::Public, before, limit).await?)
}

/// One incident as `who` may see it (the public: only a public one).
pub async fn one(app: &App, page: &PageRow, id: i64, who: Audience) -> Result<IncidentRow> {
    nsql::by_id::<IncidentRow, _>(&app.db.pool, page.id, id)
        .await?
        .filter(|i| who == Audience::Admin || i.visibility == "public")
        .ok_or(Error::NotFound("incident"))
}

/// The affected items of these incidents (visible components only for the public).
pub async fn items_of(app: &App, ids: &[i64], who: Audience) -> Result<Vec<ItemRow>> {
    Ok(nsql::items_of(&app.db.pool, Kind::Incident, ids, who == Audience::Public).await?)
}

/// The updates of these incidents.
pub async fn updates_of(app: &App, ids: &[i64]) -> Result<Vec<UpdateRow>> {
    Ok(nsql::updates_of(&app.db.pool, Kind::Incident, ids).await?)
}
