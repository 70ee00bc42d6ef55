//! A short-lived, per-page cache of the rendered `/api/v1/summary` — the one response every
//! widget and status page polls, and the one an incident's traffic spike hits hardest.
//!
//! Entries live at most `summary_cache_ms` (default 1000 ms; 0 turns the cache off) and are
//! dropped at once when a write on that page succeeds through this instance (the front door does
//! it), so an instance never serves its own stale state; other instances catch up within the TTL.

use super::public::Rendered;
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
pub struct SummaryCache {
    entries: Mutex<HashMap<i64, (i64, Rendered)>>,
}

impl SummaryCache {
    /// The cached summary of `page_id`, if fresh.
    pub fn get(&self, page_id: i64, now: i64, ttl_ms: i64) -> Option<Rendered> {
        let map = self.entries.lock().expect("cache lock");
        map.get(&page_id).filter(|(at, _)| now - at < ttl_ms && now >= *at).map(|(_, r)| r.clone())
    }

    pub fn put(&self, page_id: i64, now: i64, body: Rendered) {
        let mut map = self.entries.lock().expect("cache lock");
        if map.len() > 10_000 {
            map.clear();
        }
        map.insert(page_id, (now, body));
    }

    /// Forgets a page's entry (after a write to it).
    pub fn invalidate(&self, page_id: i64) {
        self.entries.lock().expect("cache lock").remove(&page_id);
    }
}
