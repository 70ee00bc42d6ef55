//! Shared application state: configuration, store, clock, RNG and in-process limiters.

use crate::auth::token::{PlainToken, TokenKind};
use crate::changes::ChangeSignal;
use crate::clock::Clock;
use crate::config::Config;
use crate::limits::{LoginThrottle, RateLimiter};
use crate::store::audit::AuditQueue;
use crate::store::Db;
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Everything a handler or a background job needs; cheap to clone.
#[derive(Clone)]
pub struct App(pub Arc<AppInner>);

pub struct AppInner {
    pub config: Config,
    pub db: Db,
    pub clock: Clock,
    /// CSPRNG for every secret; seeded from the OS.
    pub rng: Mutex<StdRng>,
    pub rate: RateLimiter,
    pub login_throttle: LoginThrottle,
    pub audit: AuditQueue,
    /// When each API token / session last had its use recorded (writes at most once a minute).
    pub last_touch: Mutex<HashMap<(u8, i64), i64>>,
    /// Committed changes are announced here; caches listen (`crate::changes`).
    pub changes: ChangeSignal,
}

impl std::ops::Deref for App {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

impl App {
    /// Builds the state and starts the audit writer. Call inside a Tokio runtime.
    pub fn new(config: Config, db: Db, clock: Clock) -> App {
        let audit = AuditQueue::start(db.clone());
        let rate = RateLimiter::new(config.rate_limits);
        App(Arc::new(AppInner {
            config,
            db,
            clock,
            rng: Mutex::new(StdRng::from_entropy()),
            rate,
            login_throttle: LoginThrottle::default(),
            audit,
            last_touch: Mutex::new(HashMap::new()),
            changes: ChangeSignal::default(),
        }))
    }

    /// A fresh secret of `kind`.
    pub fn new_token(&self, kind: TokenKind) -> PlainToken {
        let mut rng = self.rng.lock().expect("rng lock");
        PlainToken::generate(kind, &mut *rng)
    }

    /// The current time in epoch milliseconds.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// True when use of credential `(kind, id)` should be written now (first use, or a minute on).
    pub fn should_touch(&self, kind: u8, id: i64, last_written: Option<i64>) -> bool {
        let now = self.now();
        let mut map = self.last_touch.lock().expect("touch lock");
        let last = map.get(&(kind, id)).copied().or(last_written);
        if last.is_some_and(|t| now - t < crate::clock::MINUTE) {
            return false;
        }
        map.insert((kind, id), now);
        true
    }
}
