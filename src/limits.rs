//! In-process limits, below the services and held by `App` as plain state: rate limiting (fixed
//! one-minute windows per tier and key) and the growing-delay throttle for password checks
//! (logins, viewer passwords). No I/O: the layering test holds this module to the pure rules.

use crate::auth::guessing::{self, History, Tally};
use crate::clock::{Millis, MINUTE, SECOND};
use crate::config::RateLimits;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Mutex;

/// The rate-limit tiers of SPEC §3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tier {
    PublicRead,
    InternalRead,
    AdminWrite,
    Subscribe,
    Magic,
}

impl Tier {
    /// The value of `X-RateLimit-Tier`.
    pub fn name(self) -> &'static str {
        match self {
            Tier::PublicRead => "public_read",
            Tier::InternalRead => "internal_read",
            Tier::AdminWrite => "admin_write",
            Tier::Subscribe => "subscribe",
            Tier::Magic => "magic",
        }
    }
}

/// The outcome of one rate-limit check, with what the headers need.
#[derive(Debug, Clone, Copy)]
pub struct RateDecision {
    pub tier: Tier,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the window resets.
    pub reset_secs: u64,
    pub allowed: bool,
}

/// Counts requests per (tier, key) in fixed one-minute windows. Keys are stored as 64-bit keyed
/// hashes, so a caller choosing long keys cannot grow the map's memory.
pub struct RateLimiter {
    limits: RateLimits,
    windows: Mutex<Windows>,
    hasher: std::collections::hash_map::RandomState,
}

/// The counts, and the window whose start last dropped the older windows' counts.
#[derive(Default)]
struct Windows {
    counts: HashMap<(Tier, u64), (Millis, u32)>,
    pruned_for: Millis,
}

impl RateLimiter {
    pub fn new(limits: RateLimits) -> Self {
        RateLimiter { limits, windows: Mutex::default(), hasher: Default::default() }
    }

    fn limit_of(&self, tier: Tier) -> u32 {
        match tier {
            Tier::PublicRead => self.limits.public_read,
            Tier::InternalRead => self.limits.internal_read,
            Tier::AdminWrite => self.limits.admin_write,
            Tier::Subscribe => self.limits.subscribe,
            Tier::Magic => self.limits.magic,
        }
    }

    /// Counts one request; `None` when the tier is turned off.
    pub fn check(&self, tier: Tier, key: &str, now: Millis) -> Option<RateDecision> {
        let limit = self.limit_of(tier);
        if limit == 0 {
            return None;
        }
        let window = now - now.rem_euclid(MINUTE);
        let mut windows = self.windows.lock().expect("rate lock");
        // Only counts of the current window matter; once a window, drop the others. (Pruning
        // on every request past a size would cost a full pass per request under a flood.)
        if windows.pruned_for != window && windows.counts.len() > PRUNE_ABOVE {
            windows.counts.retain(|_, (w, _)| *w == window);
            windows.pruned_for = window;
        }
        let entry = windows.counts.entry((tier, self.hasher.hash_one(key))).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        let allowed = entry.1 < limit;
        if allowed {
            entry.1 += 1;
        }
        let reset_ms = window + MINUTE - now;
        Some(RateDecision {
            tier,
            limit,
            remaining: limit - entry.1.min(limit),
            reset_secs: ((reset_ms + SECOND - 1) / SECOND).max(1) as u64,
            allowed,
        })
    }
}

impl RateLimiter {
    /// The refusal `check` would give, without counting a request; `None` while there is room.
    pub fn exhausted(&self, tier: Tier, key: &str, now: Millis) -> Option<RateDecision> {
        let limit = self.limit_of(tier);
        let window = now - now.rem_euclid(MINUTE);
        let windows = self.windows.lock().expect("rate lock");
        let &(w, count) = windows.counts.get(&(tier, self.hasher.hash_one(key)))?;
        (limit > 0 && w == window && count >= limit).then(|| RateDecision {
            tier,
            limit,
            remaining: 0,
            reset_secs: ((window + MINUTE - now + SECOND - 1) / SECOND).max(1) as u64,
            allowed: false,
        })
    }
}

/// Counts password failures for the growing delays of `auth::guessing` (the rules and the
/// scheme are there). Failures are counted for unknown accounts too, so throttling reveals
/// nothing about which accounts exist.
pub struct LoginThrottle {
    tallies: Mutex<Tallies>,
    /// Past this many keys, forgotten counts are dropped (at most once a minute).
    prune_above: usize,
    /// Past this many keys, the oldest counts are dropped at once, down to `prune_above`.
    cap: usize,
}

/// The counts, and when forgotten ones were last dropped.
#[derive(Default)]
struct Tallies {
    map: HashMap<String, Tally>,
    pruned_at: Option<Millis>,
    /// How many pruning passes ran (each is a pass over the whole map).
    passes: u64,
}

/// Maps with more keys than this are pruned (rate windows, password counts).
const PRUNE_ABOVE: usize = 100_000;
/// The most password counts kept (about 100 bytes each, so about 20 MB). Filling it takes
/// 100,000 attempts that pass the throttle, each paying for an Argon2 check.
const THROTTLE_CAP: usize = 200_000;

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle::bounded(PRUNE_ABOVE, THROTTLE_CAP)
    }
}

/// The three keys an attempt is counted under, as fixed-size hashes whatever the caller sends.
struct Keys {
    pair: String,
    address: String,
    account: String,
}

impl Keys {
    fn of(account: &str, address: &str) -> Keys {
        Keys { pair: key(&format!("{account}\n{address}")), address: key(address), account: key(account) }
    }
}

impl LoginThrottle {
    /// A throttle that prunes forgotten counts past `prune_above` keys (at most once a minute)
    /// and holds at most `cap` keys (plus the three of the attempt being counted).
    fn bounded(prune_above: usize, cap: usize) -> LoginThrottle {
        LoginThrottle { tallies: Mutex::default(), prune_above, cap: cap.max(prune_above) }
    }

    /// Reserves one attempt for `account` from `address`, counting it as a failure up front so
    /// that concurrent guesses cannot all slip past the check; `Err(seconds)` when it must wait.
    pub fn attempt(&self, account: &str, address: &str, now: Millis) -> Result<(), u64> {
        let k = Keys::of(account, address);
        let mut tallies = self.tallies.lock().expect("throttle lock");
        let map = &tallies.map;
        let history = History {
            pair: map.get(&k.pair).copied(),
            address: map.get(&k.address).copied(),
            account: map.get(&k.account).copied(),
        };
        let wait = guessing::wait(&history, now);
        if wait > 0 {
            return Err(guessing::retry_after_secs(wait));
        }
        self.prune(&mut tallies, now);
        for key in [k.pair, k.address, k.account] {
            let counted = Tally::counted(tallies.map.get(&key).copied(), now);
            tallies.map.insert(key, counted);
        }
        Ok(())
    }

    /// Keeps the map bounded without a pass over it on every attempt: once the map is large,
    /// forgotten counts are dropped at most once a minute; past the cap the oldest counts go at
    /// once, down to `prune_above`, so that pass comes again only after as many new keys.
    /// Dropping a live count forgets some old failures; it never refuses anyone.
    fn prune(&self, t: &mut Tallies, now: Millis) {
        let len = t.map.len();
        let due = t.pruned_at.is_none_or(|at| now - at >= MINUTE);
        if len <= self.prune_above || (!due && len <= self.cap) {
            return;
        }
        t.passes += 1;
        t.pruned_at = Some(now);
        t.map.retain(|_, t| now - t.last < guessing::FORGET_AFTER);
        if t.map.len() > self.cap {
            let excess = t.map.len() - self.prune_above;
            let mut by_age: Vec<(Millis, String)> = t.map.iter().map(|(k, v)| (v.last, k.clone())).collect();
            by_age.select_nth_unstable(excess - 1);
            for (_, key) in &by_age[..excess] {
                t.map.remove(key);
            }
            tracing::warn!(
                dropped = excess,
                kept = t.map.len(),
                passes = t.passes,
                "password throttle at capacity: forgot the oldest counts"
            );
        }
    }

    /// The attempt succeeded: the address has proven it knows the password, so its failures on
    /// this account are forgotten; the address and the account get the reserved attempt back.
    /// The account's count from other addresses stays: it only ever slows those addresses.
    pub fn succeeded(&self, account: &str, address: &str) {
        let k = Keys::of(account, address);
        let map = &mut self.tallies.lock().expect("throttle lock").map;
        map.remove(&k.pair);
        for key in [k.address, k.account] {
            if let Some(t) = map.get_mut(&key) {
                t.failures = t.failures.saturating_sub(1);
            }
        }
    }
}

fn key(s: &str) -> String {
    crate::auth::digest::sha256_hex(s.as_bytes())[..32].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limiter_counts_per_key_and_resets_each_minute() {
        let r = RateLimiter::new(RateLimits { public_read: 2, ..Default::default() });
        let t0 = 10 * MINUTE + 5 * SECOND;
        assert!(r.check(Tier::PublicRead, "a", t0).unwrap().allowed);
        let d = r.check(Tier::PublicRead, "a", t0).unwrap();
        assert!(d.allowed && d.remaining == 0);
        let d = r.check(Tier::PublicRead, "a", t0).unwrap();
        assert!(!d.allowed);
        assert_eq!(d.reset_secs, 55);
        assert!(r.check(Tier::PublicRead, "b", t0).unwrap().allowed);
        assert!(r.check(Tier::PublicRead, "a", t0 + MINUTE).unwrap().allowed);
    }

    #[test]
    fn exhausted_reports_without_counting() {
        let r = RateLimiter::new(RateLimits { magic: 2, ..Default::default() });
        assert!(r.exhausted(Tier::Magic, "k", 0).is_none());
        r.check(Tier::Magic, "k", 0);
        assert!(r.exhausted(Tier::Magic, "k", 0).is_none());
        r.check(Tier::Magic, "k", 0);
        assert!(r.exhausted(Tier::Magic, "k", 0).is_some_and(|d| !d.allowed));
        assert!(r.exhausted(Tier::Magic, "k", MINUTE).is_none(), "a new window starts empty");
    }

    #[test]
    fn a_zero_limit_turns_the_tier_off() {
        let r = RateLimiter::new(RateLimits { magic: 0, ..Default::default() });
        assert!(r.check(Tier::Magic, "a", 0).is_none());
    }

    #[test]
    fn delays_grow_per_address_on_an_account_and_success_clears_them() {
        let t = LoginThrottle::default();
        let mut now = 1_000_000;
        for _ in 0..guessing::PAIR_FREE {
            assert!(t.attempt("acct", "ip", now).is_ok());
        }
        assert_eq!(t.attempt("acct", "ip", now), Err(1));
        assert!(t.attempt("acct", "elsewhere", now).is_ok(), "another address is not held back");
        now += SECOND;
        assert!(t.attempt("acct", "ip", now).is_ok());
        assert_eq!(t.attempt("acct", "ip", now), Err(2));
        now += 2 * SECOND;
        assert!(t.attempt("acct", "ip", now).is_ok());
        assert_eq!(t.attempt("acct", "ip", now), Err(4));
        t.succeeded("acct", "ip");
        assert!(t.attempt("acct", "ip", now).is_ok());
        assert!(t.attempt("other", "ip", now).is_ok());
    }

    #[test]
    fn strangers_guessing_from_many_addresses_never_lock_out_a_clean_address() {
        let t = LoginThrottle::default();
        let mut now = 1_000_000;
        for i in 0..500 {
            let address = format!("stranger-{}", i % 50);
            if let Err(wait) = t.attempt("acct", &address, now) {
                now += wait as Millis * SECOND;
                assert!(t.attempt("acct", &address, now).is_ok());
            }
        }
        assert!(t.attempt("acct", "owner", now).is_ok(), "the owner's first attempt goes ahead");
        t.succeeded("acct", "owner");
        // After a typo the owner waits at most the account's small cap.
        assert!(t.attempt("acct", "owner", now).is_ok());
        let wait = t.attempt("acct", "owner", now).unwrap_err();
        assert!(wait as Millis * SECOND <= guessing::ACCOUNT_MAX_DELAY, "{wait}");
    }

    #[test]
    fn concurrent_guesses_are_counted_before_they_are_checked() {
        let t = LoginThrottle::default();
        let allowed = (0..50).filter(|_| t.attempt("acct", "ip", 0).is_ok()).count();
        assert_eq!(allowed as u32, guessing::PAIR_FREE, "a burst gets the free attempts and no more");
        let sprayed = (0..50).filter(|i| t.attempt(&format!("acct{i}"), "sprayer", 0).is_ok()).count();
        assert_eq!(sprayed as u32, guessing::ADDRESS_FREE, "and an address its free attempts across accounts");
    }

    fn keys_held(t: &LoginThrottle) -> (usize, u64) {
        let tallies = t.tallies.lock().unwrap();
        (tallies.map.len(), tallies.passes)
    }

    #[test]
    fn a_large_map_is_pruned_at_most_once_a_minute_not_on_every_attempt() {
        let t = LoginThrottle::bounded(10, 10_000);
        let now = 1_000_000;
        for i in 0..200 {
            assert!(t.attempt("acct", &format!("addr-{i}"), now + i).is_ok());
        }
        assert_eq!(keys_held(&t), (401, 1), "one pass when the map first grew past 10 keys");
        assert!(t.attempt("acct", "addr-late", now + MINUTE - 1).is_ok());
        assert_eq!(keys_held(&t).1, 1, "no second pass within the minute");
        assert!(t.attempt("acct", "addr-next", now + MINUTE + 20).is_ok());
        assert_eq!(keys_held(&t).1, 2, "the next one a minute later");
        // An hour on, that pass drops every forgotten count.
        let later = now + guessing::FORGET_AFTER + 2 * MINUTE;
        assert!(t.attempt("acct", "addr-0", later).is_ok());
        assert_eq!(keys_held(&t), (3, 3));
    }

    #[test]
    fn the_map_stays_under_its_cap_and_keeps_the_newest_counts() {
        let t = LoginThrottle::bounded(10, 40);
        let mut now = 1_000_000;
        for i in 0..1_000 {
            now += 1;
            assert!(t.attempt(&format!("acct-{i}"), &format!("addr-{i}"), now).is_ok());
            assert!(keys_held(&t).0 <= 40 + 3, "{:?}", keys_held(&t));
        }
        let passes = keys_held(&t).1;
        assert!((30..=120).contains(&passes), "one pass per ~30 new keys, not one per attempt: {passes}");
        // A guesser active right now is still held back: its counts are among the newest.
        for _ in 0..guessing::PAIR_FREE {
            now += 1;
            assert!(t.attempt("target", "guesser", now).is_ok());
        }
        assert!(t.attempt("target", "guesser", now).is_err());
    }

    #[test]
    fn rate_windows_of_past_minutes_are_dropped_once_the_map_is_large() {
        let r = RateLimiter::new(RateLimits { public_read: 5, ..Default::default() });
        for i in 0..=PRUNE_ABOVE {
            r.check(Tier::PublicRead, &i.to_string(), 0);
        }
        assert!(r.check(Tier::PublicRead, "x", MINUTE).unwrap().allowed);
        let w = r.windows.lock().unwrap();
        assert_eq!((w.counts.len(), w.pruned_for), (1, MINUTE), "only the current minute's count is left");
    }
}
