//! Injected time: production reads the system clock, tests move a shared one forward.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// Milliseconds since the Unix epoch, the one time representation the store and services use.
pub type Millis = i64;

/// A source of "now" that tests can control.
#[derive(Clone)]
pub enum Clock {
    /// The operating system's wall clock.
    System,
    /// A clock that only moves when a test moves it.
    Manual(Arc<AtomicI64>),
}

impl Clock {
    /// A manual clock starting at `start` milliseconds since the epoch.
    pub fn manual(start: Millis) -> Self {
        Clock::Manual(Arc::new(AtomicI64::new(start)))
    }

    /// The current time in milliseconds since the epoch.
    pub fn now(&self) -> Millis {
        match self {
            Clock::System => jiff::Timestamp::now().as_millisecond(),
            Clock::Manual(t) => t.load(Ordering::SeqCst),
        }
    }

    /// Moves a manual clock forward; a no-op on the system clock.
    pub fn advance(&self, ms: Millis) {
        if let Clock::Manual(t) = self {
            t.fetch_add(ms, Ordering::SeqCst);
        }
    }
}

/// Formats epoch milliseconds as an RFC 3339 UTC timestamp.
pub fn rfc3339(ms: Millis) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(ts) => ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        Err(_) => "1970-01-01T00:00:00.000Z".to_string(),
    }
}

/// Parses an RFC 3339 timestamp (any offset) into epoch milliseconds.
pub fn parse_rfc3339(s: &str) -> Option<Millis> {
    s.parse::<jiff::Timestamp>().ok().map(|t| t.as_millisecond())
}

pub const SECOND: Millis = 1_000;
pub const MINUTE: Millis = 60 * SECOND;
pub const HOUR: Millis = 60 * MINUTE;
pub const DAY: Millis = 24 * HOUR;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips() {
        let ms = 1_774_000_000_123;
        let s = rfc3339(ms);
        assert!(s.ends_with('Z'), "{s}");
        assert_eq!(parse_rfc3339(&s), Some(ms));
        assert_eq!(parse_rfc3339("2026-03-22T10:00:00+02:00"), parse_rfc3339("2026-03-22T08:00:00Z"));
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
