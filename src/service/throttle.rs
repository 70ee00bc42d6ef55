//! In-process rate limiting (fixed one-minute windows per tier and key) and the growing-delay
//! throttle for password checks (logins, viewer passwords).

use crate::clock::{Millis, MINUTE, SECOND};
use crate::config::RateLimits;
use std::collections::HashMap;
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

/// Counts requests per (tier, key) in fixed one-minute windows.
pub struct RateLimiter {
    limits: RateLimits,
    windows: Mutex<HashMap<(Tier, String), (Millis, u32)>>,
}

impl RateLimiter {
    pub fn new(limits: RateLimits) -> Self {
        RateLimiter { limits, windows: Mutex::new(HashMap::new()) }
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
        let entry = map.entry((tier, key.to_string())).or_insert((window, 0));
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
    /// `Err(seconds)` when the account or address must wait before another attempt.
    pub fn check(&self, account: &str, address: &str, now: Millis) -> Result<(), u64> {
        let map = self.failures.lock().expect("throttle lock");
        let mut wait = 0;
        for (key, free) in [(account, ACCOUNT_FREE), (address, ADDRESS_FREE)] {
            if let Some(&(n, last)) = map.get(key) {
                if now - last < FORGET_AFTER {
                    wait = wait.max(last + delay_after(n, free) - now);
                }
            }
        }
        if wait > 0 {
            Err(((wait + SECOND - 1) / SECOND) as u64)
        } else {
            Ok(())
        }
    }

    /// Records a failed attempt against both keys.
    pub fn failed(&self, account: &str, address: &str, now: Millis) {
        let mut map = self.failures.lock().expect("throttle lock");
        if map.len() > 100_000 {
            map.retain(|_, (_, last)| now - *last < FORGET_AFTER);
        }
        for key in [account, address] {
            let e = map.entry(key.to_string()).or_insert((0, now));
            if now - e.1 >= FORGET_AFTER {
                e.0 = 0;
            }
            e.0 += 1;
            e.1 = now;
        }
    }

    /// Clears the account's failures after a success (the address keeps its count).
    pub fn succeeded(&self, account: &str) {
        self.failures.lock().expect("throttle lock").remove(account);
    }
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
    fn a_zero_limit_turns_the_tier_off() {
        let r = RateLimiter::new(RateLimits { magic: 0, ..Default::default() });
        assert!(r.check(Tier::Magic, "a", 0).is_none());
    }

    #[test]
    fn delays_grow_after_the_free_attempts_and_success_clears_the_account() {
        let t = LoginThrottle::default();
        let mut now = 1_000_000;
        for _ in 0..ACCOUNT_FREE {
            assert!(t.check("acct", "ip", now).is_ok());
            t.failed("acct", "ip", now);
        }
        assert_eq!(t.check("acct", "ip", now), Err(1));
        now += SECOND;
        t.failed("acct", "ip", now);
        assert_eq!(t.check("acct", "ip", now), Err(2));
        now += 2 * SECOND;
        t.failed("acct", "ip", now);
        assert_eq!(t.check("acct", "ip", now), Err(4));
        t.succeeded("acct");
        assert!(t.check("acct", "ip", now).is_ok());
        assert!(t.check("other", "ip", now).is_ok());
    }
}
