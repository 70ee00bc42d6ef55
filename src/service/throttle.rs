//! In-process rate limiting (fixed one-minute windows per tier and key) and the growing-delay
//! throttle for password checks (logins, viewer passwords).

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
    windows: Mutex<HashMap<(Tier, u64), (Millis, u32)>>,
    hasher: std::collections::hash_map::RandomState,
}

impl RateLimiter {
    pub fn new(limits: RateLimits) -> Self {
        RateLimiter { limits, windows: Mutex::new(HashMap::new()), hasher: Default::default() }
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
        let mut map = self.windows.lock().expect("rate lock");
        if map.len() > 100_000 {
            map.retain(|_, (w, _)| *w == window);
        }
        let entry = map.entry((tier, self.hasher.hash_one(key))).or_insert((window, 0));
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
        let map = self.windows.lock().expect("rate lock");
        let &(w, count) = map.get(&(tier, self.hasher.hash_one(key)))?;
        (limit > 0 && w == window && count >= limit).then(|| RateDecision {
            tier,
            limit,
            remaining: 0,
            reset_secs: ((window + MINUTE - now + SECOND - 1) / SECOND).max(1) as u64,
            allowed: false,
        })
    }
}

/// Growing delays after repeated password failures, per account and per client address.
/// Failures are counted for unknown accounts too, so throttling reveals nothing.
#[derive(Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, (u32, Millis)>>,
}

/// Free attempts per account before delays start.
const ACCOUNT_FREE: u32 = 5;
/// Free attempts per client address (covers spraying across accounts).
const ADDRESS_FREE: u32 = 20;
const MAX_DELAY: Millis = 15 * MINUTE;
/// Failures are forgotten after this long without a new one.
const FORGET_AFTER: Millis = 60 * MINUTE;

fn delay_after(failures: u32, free: u32) -> Millis {
    if failures < free {
        return 0;
    }
    let exp = (failures - free).min(20);
    (SECOND << exp).min(MAX_DELAY)
}

impl LoginThrottle {
    /// Reserves one attempt for `account` from `address`, counting it as a failure up front so
    /// that concurrent guesses cannot all slip past the check; `Err(seconds)` when either must
    /// wait. Keys are fixed-size hashes, whatever the caller sends.
    pub fn attempt(&self, account: &str, address: &str, now: Millis) -> Result<(), u64> {
        let (account, address) = (key(account), key(address));
        let mut map = self.failures.lock().expect("throttle lock");
        let mut wait = 0;
        for (k, free) in [(&account, ACCOUNT_FREE), (&address, ADDRESS_FREE)] {
            if let Some(&(n, last)) = map.get(k) {
                if now - last < FORGET_AFTER {
                    wait = wait.max(last + delay_after(n, free) - now);
                }
            }
        }
        if wait > 0 {
            return Err(((wait + SECOND - 1) / SECOND) as u64);
        }
        if map.len() > 100_000 {
            map.retain(|_, (_, last)| now - *last < FORGET_AFTER);
        }
        for k in [account, address] {
            let e = map.entry(k).or_insert((0, now));
            if now - e.1 >= FORGET_AFTER {
                e.0 = 0;
            }
            e.0 += 1;
            e.1 = now;
        }
        Ok(())
    }

    /// The attempt succeeded: forget the account's failures and give the address its attempt back.
    pub fn succeeded(&self, account: &str, address: &str) {
        let mut map = self.failures.lock().expect("throttle lock");
        map.remove(&key(account));
        if let Some(e) = map.get_mut(&key(address)) {
            e.0 = e.0.saturating_sub(1);
        }
    }
}

fn key(s: &str) -> String {
    crate::auth::token::TokenHash::of(s.as_bytes()).to_hex()[..32].to_string()
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
    fn delays_grow_after_the_free_attempts_and_success_clears_the_account() {
        let t = LoginThrottle::default();
        let mut now = 1_000_000;
        for _ in 0..ACCOUNT_FREE {
            assert!(t.attempt("acct", "ip", now).is_ok());
        }
        assert_eq!(t.attempt("acct", "ip", now), Err(1));
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
    fn concurrent_guesses_are_counted_before_they_are_checked() {
        let t = LoginThrottle::default();
        let allowed = (0..50).filter(|_| t.attempt("acct", "ip", 0).is_ok()).count();
        assert_eq!(allowed as u32, ACCOUNT_FREE, "a burst gets the free attempts and no more");
    }
}
