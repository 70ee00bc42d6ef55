//! List conventions: `limit` (default 50, max 200), an opaque `cursor`, `view=compact|full`,
//! and the `{"data": [...], "next_cursor": ...}` envelope.

use crate::http::extract::error::{ApiError, ApiResult};
use crate::http::presenters::status_model::Listed;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// Parsed list parameters.
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub limit: i64,
    /// The id position to continue from (0 = start).
    pub cursor: Option<i64>,
    pub full: bool,
    /// Other query parameters, for filters.
    pub rest: Vec<(String, String)>,
}

impl<S: Send + Sync> FromRequestParts<S> for ListQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> ApiResult<Self> {
        let mut q = ListQuery { limit: DEFAULT_LIMIT, cursor: None, full: false, rest: Vec::new() };
        for (k, v) in form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()) {
            match k.as_ref() {
                "limit" => {
                    q.limit = v.parse::<i64>().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(|| {
                        ApiError::bad_request("invalid", format!("limit: must be 1-{MAX_LIMIT}")).field("limit")
                    })?;
                }
                "cursor" => q.cursor = Some(decode_cursor(&v)?),
                "view" => {
                    q.full = match v.as_ref() {
                        "full" => true,
                        "compact" => false,
                        _ => {
                            return Err(ApiError::bad_request("invalid", "view: must be compact or full").field("view"))
                        }
                    }
                }
                _ => q.rest.push((k.into_owned(), v.into_owned())),
            }
        }
        Ok(q)
    }
}

/// Cursors are opaque to clients; today they wrap an id.
pub fn encode_cursor(id: i64) -> String {
    format!("c{:x}", id ^ 0x5bd1_e995)
}

pub fn decode_cursor(s: &str) -> ApiResult<i64> {
    s.strip_prefix('c')
        .and_then(|h| i64::from_str_radix(h, 16).ok())
        .map(|v| v ^ 0x5bd1_e995)
        .ok_or_else(|| ApiError::bad_request("invalid", "cursor: not a cursor from this API").field("cursor"))
}

/// Cuts rows fetched with `limit + 1` to one page and returns the cursor of the next page (the
/// last kept row's key), or `None` when this is the last page. Lists whose views need async work
/// use this; [`envelope`] does it for plain ones.
pub fn page_of<T>(mut rows: Vec<T>, limit: i64, key: impl Fn(&T) -> i64) -> (Vec<T>, Option<String>) {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next = if more { rows.last().map(|r| encode_cursor(key(r))) } else { None };
    (rows, next)
}

/// Pages rows held in memory by key, ascending: the rows with a key above the cursor's, `limit`
/// of them. For lists a per-page bound keeps short enough to read whole (components).
pub fn after_key<T>(mut rows: Vec<T>, q: &ListQuery, key: impl Fn(&T) -> i64) -> (Vec<T>, Option<String>) {
    let after = q.cursor.unwrap_or(0);
    rows.retain(|r| key(r) > after);
    rows.sort_by_key(&key);
    rows.truncate(q.limit as usize + 1);
    page_of(rows, q.limit, key)
}

/// Pages a short list held in memory in its own order (the cursor is a position in it): levels,
/// statuses, stages and the component tree's top level, whose order is meaningful and whose
/// length a per-page bound already caps.
pub fn by_position<T>(mut rows: Vec<T>, q: &ListQuery) -> (Vec<T>, Option<String>) {
    let start = q.cursor.unwrap_or(0).clamp(0, rows.len() as i64);
    let mut rows = rows.split_off(start as usize);
    let more = rows.len() as i64 > q.limit;
    rows.truncate(q.limit as usize);
    (rows, more.then(|| encode_cursor(start + q.limit)))
}

/// Builds the envelope from up to `limit + 1` rows fetched in order; `key` gives a row's cursor id.
pub fn envelope<T, V>(rows: Vec<T>, limit: i64, key: impl Fn(&T) -> i64, view: impl Fn(&T) -> V) -> Listed<V> {
    let (rows, next_cursor) = page_of(rows, limit, key);
    Listed { data: rows.iter().map(view).collect(), next_cursor }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        for id in [0, 1, 42, 1 << 40] {
            assert_eq!(decode_cursor(&encode_cursor(id)).unwrap(), id);
        }
        assert!(decode_cursor("42").is_err());
    }

    #[test]
    fn pages_cut_the_extra_row_and_point_past_the_last_kept_one() {
        let (rows, next) = page_of(vec![10, 20, 30], 2, |r| *r);
        assert_eq!(rows, vec![10, 20]);
        assert_eq!(decode_cursor(&next.unwrap()).unwrap(), 20);
        assert_eq!(page_of(vec![10, 20], 2, |r| *r), (vec![10, 20], None));
    }

    fn query(limit: i64, cursor: Option<i64>) -> ListQuery {
        ListQuery { limit, cursor, full: false, rest: Vec::new() }
    }

    #[test]
    fn key_pages_walk_every_row_once_in_key_order() {
        let (rows, next) = after_key(vec![30, 10, 20], &query(2, None), |r| *r);
        assert_eq!(rows, vec![10, 20]);
        let cursor = decode_cursor(&next.unwrap()).unwrap();
        assert_eq!(after_key(vec![30, 10, 20], &query(2, Some(cursor)), |r| *r), (vec![30], None));
    }

    #[test]
    fn position_pages_keep_the_order_and_stop_at_the_end() {
        let (rows, next) = by_position(vec!['c', 'a', 'b'], &query(2, None));
        assert_eq!(rows, vec!['c', 'a']);
        let cursor = decode_cursor(&next.unwrap()).unwrap();
        assert_eq!(by_position(vec!['c', 'a', 'b'], &query(2, Some(cursor))), (vec!['b'], None));
        assert_eq!(by_position(vec!['c'], &query(2, Some(99))), (vec![], None));
    }

    #[test]
    fn envelopes_report_a_next_cursor_only_when_more_rows_exist() {
        let v = envelope(vec![1, 2, 3], 2, |r| *r, |r| *r);
        assert_eq!(v.data, vec![1, 2]);
        assert_eq!(decode_cursor(&v.next_cursor.unwrap()).unwrap(), 2);
        let v = envelope(vec![1, 2], 2, |r| *r, |r| *r);
        assert_eq!(v.next_cursor, None);
    }
}
