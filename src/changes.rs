//! The change signal: whoever commits a change announces it here, and whatever keeps a copy of
//! derived state (today the HTTP layer's summary cache; later other instances) listens. Nothing
//! that changes data reaches into a cache, and this module knows nothing of either side.

use std::sync::RwLock;

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Something on this page changed: its public status, settings or content.
    Page(i64),
}

type Listener = Box<dyn Fn(Change) + Send + Sync>;

/// Listeners of one application state, called in the emitter's thread right after its commit.
#[derive(Default)]
pub struct ChangeSignal {
    listeners: RwLock<Vec<Listener>>,
}

impl ChangeSignal {
    /// Calls `f` for every change from now on. Listeners must be quick and must not block.
    pub fn listen(&self, f: impl Fn(Change) + Send + Sync + 'static) {
        self.listeners.write().expect("listeners lock").push(Box::new(f));
    }

    /// Announces a committed change to every listener.
    pub fn emit(&self, change: Change) {
        for f in self.listeners.read().expect("listeners lock").iter() {
            f(change);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::Arc;

    #[test]
    fn every_listener_hears_every_change_after_it_started_listening() {
        let signal = ChangeSignal::default();
        signal.emit(Change::Page(1));
        let (a, b) = (Arc::new(AtomicI64::new(0)), Arc::new(AtomicI64::new(0)));
        for seen in [a.clone(), b.clone()] {
            signal.listen(move |Change::Page(id)| {
                seen.fetch_add(id, Ordering::SeqCst);
            });
        }
        signal.emit(Change::Page(5));
        signal.emit(Change::Page(7));
        assert_eq!((a.load(Ordering::SeqCst), b.load(Ordering::SeqCst)), (12, 12));
    }
}
