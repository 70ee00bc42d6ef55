//! A short-lived, per-page cache of the rendered `/api/v1/summary` — the one response every
//! widget and status page polls, and the one an incident's traffic spike hits hardest.
//!
//! Entries live at most `summary_cache_ms` (default 1000 ms; 0 turns the cache off) and are
//! dropped at once when this instance announces a change of that page on the change signal
//! (`crate::changes`: the front door after a successful write, the scheduler after a
//! transition). A per-page generation counter, bumped by every invalidation, keeps a summary
//! computed before a write from being stored after it, so an instance never serves its own stale
//! state; other instances catch up within the TTL.

use crate::http::api::public::Rendered;
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
pub struct SummaryCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<i64, (i64, Rendered)>,
    generations: HashMap<i64, u64>,
}

impl SummaryCache {
    /// The cached summary of `page_id` if fresh, else the generation to hand back to `put`.
    pub fn get(&self, page_id: i64, now: i64, ttl_ms: i64) -> Result<Rendered, u64> {
        let inner = self.inner.lock().expect("cache lock");
        match inner.entries.get(&page_id) {
            Some((at, r)) if now - at < ttl_ms && now >= *at => Ok(r.clone()),
            _ => Err(inner.generations.get(&page_id).copied().unwrap_or(0)),
        }
    }

    /// Stores a summary computed from the state of `generation`, unless the page changed since.
    pub fn put(&self, page_id: i64, generation: u64, now: i64, body: Rendered) {
        let mut inner = self.inner.lock().expect("cache lock");
        if inner.generations.get(&page_id).copied().unwrap_or(0) != generation {
            return;
        }
        if inner.entries.len() > 10_000 {
            inner.entries.clear();
        }
        inner.entries.insert(page_id, (now, body));
    }

    /// Forgets a page's entry (after a write to it).
    pub fn invalidate(&self, page_id: i64) {
        let mut inner = self.inner.lock().expect("cache lock");
        inner.entries.remove(&page_id);
        *inner.generations.entry(page_id).or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(s: &str) -> Rendered {
        Rendered::of(&s)
    }

    #[test]
    fn a_summary_computed_before_a_write_is_not_stored_after_it() {
        let c = SummaryCache::default();
        let generation = c.get(1, 0, 1000).unwrap_err();
        c.invalidate(1); // a write lands while the summary is being computed
        c.put(1, generation, 0, body("stale"));
        assert!(c.get(1, 0, 1000).is_err());
        let generation = c.get(1, 0, 1000).unwrap_err();
        c.put(1, generation, 0, body("fresh"));
        assert_eq!(c.get(1, 10, 1000).unwrap().bytes, body("fresh").bytes);
        assert!(c.get(1, 1000, 1000).is_err(), "entries expire");
    }
}
