//! The bound on concurrent connections per client address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Open connections per peer address.
#[derive(Clone)]
pub(super) struct Slots {
    max: Option<usize>,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One open connection; dropping it frees the slot.
pub(super) struct Slot {
    slots: Slots,
    ip: IpAddr,
}

impl Slots {
    pub(super) fn new(max: Option<usize>) -> Slots {
        Slots { max, open: Arc::default() }
    }

    /// A slot for a new connection from `ip`, or `None` when that address is at the bound.
    pub(super) fn take(&self, ip: IpAddr) -> Option<Slot> {
        let mut open = self.open.lock().expect("slots");
        let n = open.entry(ip).or_insert(0);
        if self.max.is_some_and(|max| *n >= max) {
            return None;
        }
        *n += 1;
        Some(Slot { slots: self.clone(), ip })
    }

    #[cfg(test)]
    fn open_from(&self, ip: IpAddr) -> usize {
        self.open.lock().expect("slots").get(&ip).copied().unwrap_or(0)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().expect("slots");
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            // Forget quiet addresses, so the map holds only addresses with open connections.
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_at_most_max_slots_and_freed_slots_come_back() {
        let slots = Slots::new(Some(2));
        let a: IpAddr = "127.0.0.2".parse().unwrap();
        let b: IpAddr = "::1".parse().unwrap();
        let first = slots.take(a).unwrap();
        let _second = slots.take(a).unwrap();
        assert!(slots.take(a).is_none(), "the third from one address is refused");
        assert!(slots.take(b).is_some(), "another address is not affected");
        drop(first);
        assert!(slots.take(a).is_some(), "a closed connection frees its slot");
        assert_eq!(slots.open_from(b), 0, "a quiet address is forgotten");
    }

    #[test]
    fn no_bound_means_no_refusal() {
        let slots = Slots::new(None);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let held: Vec<_> = (0..10_000).map(|_| slots.take(ip).unwrap()).collect();
        assert_eq!(slots.open_from(ip), held.len());
    }
}
