//! The rules that slow down password guessing (logins, viewer passwords, password changes),
//! free of state and clocks: given what is known about earlier failures, how long must this
//! attempt wait? `limits::LoginThrottle` keeps the counts.
//!
//! The scheme (docs/decisions/0010-login-throttle-and-input.md): failures are counted per
//! (account, address), per address and per account. The first two slow guessing down with
//! growing delays. The account count is only ever held against an address that has itself
//! failed on that account, and its delay is capped at [`ACCOUNT_MAX_DELAY`]: a stranger's
//! guesses, however many and from however many addresses, never refuse the right password from
//! an address that has not failed, so nobody can lock an owner out.

use crate::clock::{Millis, MINUTE, SECOND};

/// Free failures of one address on one account before delays start (honest typos).
pub const PAIR_FREE: u32 = 5;
/// Free failures of one address across all accounts (password spraying).
pub const ADDRESS_FREE: u32 = 20;
/// Failures of an account, from every address, before its bounded slowdown starts.
pub const ACCOUNT_FREE: u32 = 10;
/// The longest wait a (account, address) pair or an address can be given.
pub const MAX_DELAY: Millis = 15 * MINUTE;
/// The longest wait the account's own count can add: small, so an owner who mistyped while the
/// account is under attack is kept waiting half a minute, never locked out.
pub const ACCOUNT_MAX_DELAY: Millis = 30 * SECOND;
/// A count is forgotten after this long without a new failure.
pub const FORGET_AFTER: Millis = 60 * MINUTE;

/// Failures counted under one key, and when the last one was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub failures: u32,
    pub last: Millis,
}

impl Tally {
    /// One more failure at `now`; a count older than [`FORGET_AFTER`] starts again.
    pub fn counted(tally: Option<Tally>, now: Millis) -> Tally {
        match live(tally, now) {
            Some(t) => Tally { failures: t.failures.saturating_add(1), last: now },
            None => Tally { failures: 1, last: now },
        }
    }
}

/// What is known about earlier failures for one attempt.
#[derive(Debug, Clone, Copy, Default)]
pub struct History {
    /// This address on this account.
    pub pair: Option<Tally>,
    /// This address on any account.
    pub address: Option<Tally>,
    /// This account from any address.
    pub account: Option<Tally>,
}

/// The wait after `failures` failures when `free` are allowed: none, then 1 s doubling up to `cap`.
pub fn growing_delay(failures: u32, free: u32, cap: Millis) -> Millis {
    if failures < free {
        return 0;
    }
    (SECOND << (failures - free).min(20)).min(cap)
}

fn live(t: Option<Tally>, now: Millis) -> Option<Tally> {
    t.filter(|t| now - t.last < FORGET_AFTER)
}

/// Milliseconds this attempt has to wait; 0 = it may go ahead.
pub fn wait(h: &History, now: Millis) -> Millis {
    let mut until = now;
    if let Some(pair) = live(h.pair, now) {
        let own = growing_delay(pair.failures, PAIR_FREE, MAX_DELAY);
        let shared = live(h.account, now).map_or(0, |a| growing_delay(a.failures, ACCOUNT_FREE, ACCOUNT_MAX_DELAY));
        // Measured from this address's own last attempt, so others' guesses cannot keep it waiting.
        until = until.max(pair.last + own.max(shared));
    }
    if let Some(address) = live(h.address, now) {
        until = until.max(address.last + growing_delay(address.failures, ADDRESS_FREE, MAX_DELAY));
    }
    until - now
}

/// Whole seconds for `Retry-After`, rounded up.
pub fn retry_after_secs(wait: Millis) -> u64 {
    ((wait + SECOND - 1) / SECOND).max(1) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_000_000_000;

    fn tally(failures: u32, ago: Millis) -> Option<Tally> {
        Some(Tally { failures, last: NOW - ago })
    }

    #[test]
    fn an_address_that_never_failed_never_waits_whatever_the_account_has_seen() {
        let h = History { pair: None, address: None, account: tally(u32::MAX, 0) };
        assert_eq!(wait(&h, NOW), 0);
        let h = History { pair: None, address: tally(3, 0), account: tally(10_000, 0) };
        assert_eq!(wait(&h, NOW), 0, "a few failures elsewhere do not count against it either");
    }

    #[test]
    fn a_pair_gets_free_attempts_then_doubling_delays_up_to_fifteen_minutes() {
        let at = |n| wait(&History { pair: tally(n, 0), ..Default::default() }, NOW);
        assert_eq!((1..PAIR_FREE).map(at).collect::<Vec<_>>(), vec![0; (PAIR_FREE - 1) as usize]);
        assert_eq!(at(PAIR_FREE), SECOND);
        assert_eq!(at(PAIR_FREE + 1), 2 * SECOND);
        assert_eq!(at(PAIR_FREE + 3), 8 * SECOND);
        assert_eq!(at(PAIR_FREE + 40), MAX_DELAY);
    }

    #[test]
    fn an_address_spraying_many_accounts_is_slowed_down() {
        let at = |n| wait(&History { address: tally(n, 0), ..Default::default() }, NOW);
        assert_eq!(at(ADDRESS_FREE - 1), 0);
        assert_eq!(at(ADDRESS_FREE), SECOND);
        assert_eq!(at(ADDRESS_FREE + 30), MAX_DELAY);
    }

    #[test]
    fn the_account_count_only_holds_back_addresses_that_failed_there_and_is_capped() {
        let busy = tally(ACCOUNT_FREE + 40, 0);
        // One typo from the owner's address while the account is under attack: half a minute.
        let h = History { pair: tally(1, 0), account: busy, ..Default::default() };
        assert_eq!(wait(&h, NOW), ACCOUNT_MAX_DELAY);
        // Measured from the address's own last attempt: others' guesses do not extend it.
        let h = History { pair: tally(1, ACCOUNT_MAX_DELAY), account: busy, ..Default::default() };
        assert_eq!(wait(&h, NOW), 0);
        // A quiet account adds nothing to the pair's own free attempts.
        let h = History { pair: tally(1, 0), account: tally(ACCOUNT_FREE - 1, 0), ..Default::default() };
        assert_eq!(wait(&h, NOW), 0);
    }

    #[test]
    fn counts_are_forgotten_after_an_hour_without_failures() {
        let h = History { pair: tally(50, FORGET_AFTER), address: tally(50, FORGET_AFTER), account: None };
        assert_eq!(wait(&h, NOW), 0);
        assert_eq!(Tally::counted(tally(50, FORGET_AFTER), NOW), Tally { failures: 1, last: NOW });
        assert_eq!(Tally::counted(tally(50, 1), NOW), Tally { failures: 51, last: NOW });
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(1), 1);
        assert_eq!(retry_after_secs(SECOND), 1);
        assert_eq!(retry_after_secs(SECOND + 1), 2);
    }
}
