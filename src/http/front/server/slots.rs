//! The bound on concurrent connections per client (an IPv4 address, or an IPv6 /64).

use crate::domain::host::client_bucket;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Open connections per client, keyed by [`client_bucket`] of the peer address.
#[derive(Clone)]
pub(super) struct Slots {
    max: Option<usize>,
    open: Arc<Mutex<HashMap<String, Entry>>>,
}

#[derive(Default)]
struct Entry {
    open: usize,
    /// A refusal was already reported since this client last had no connection open.
    reported: bool,
}

/// Why no slot was given: the client is at the bound. `first` is true for the first refusal
/// since the client last had no connection open, so the server can warn once, not per attempt.
pub(super) struct Refused {
    pub(super) first: bool,
}

/// One open connection; dropping it frees the slot.
pub(super) struct Slot {
    slots: Slots,
    client: String,
}

impl Slots {
    pub(super) fn new(max: Option<usize>) -> Slots {
        Slots { max, open: Arc::default() }
    }

    /// A slot for a new connection from `ip`, unless its client (the address, or its IPv6 /64)
    /// is at the bound.
    pub(super) fn take(&self, ip: IpAddr) -> Result<Slot, Refused> {
        let client = client_bucket(&ip.to_string());
        let mut open = self.open.lock().expect("slots");
        let e = open.entry(client.clone()).or_default();
        if self.max.is_some_and(|max| e.open >= max) {
            let first = !e.reported;
            e.reported = true;
            return Err(Refused { first });
        }
        e.open += 1;
        Ok(Slot { slots: self.clone(), client })
    }

    #[cfg(test)]
    fn open_from(&self, ip: IpAddr) -> usize {
        self.open.lock().expect("slots").get(&client_bucket(&ip.to_string())).map_or(0, |e| e.open)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().expect("slots");
        if let Some(e) = open.get_mut(&self.client) {
            e.open -= 1;
            // Forget quiet clients, so the map holds only clients with open connections.
            if e.open == 0 {
                open.remove(&self.client);
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
        let first = slots.take(a).ok().unwrap();
        let second = slots.take(a).ok().unwrap();
        assert!(slots.take(a).is_err_and(|r| r.first), "the third from one address is refused");
        assert!(slots.take(a).is_err_and(|r| !r.first), "and reported once");
        assert!(slots.take(b).is_ok(), "another address is not affected");
        drop(first);
        let third = slots.take(a).ok();
        assert!(third.is_some(), "a closed connection frees its slot");
        assert_eq!(slots.open_from(b), 0, "a quiet address is forgotten");
        drop((second, third));
        let _again: Vec<_> = (0..2).map(|_| slots.take(a).ok().unwrap()).collect();
        assert!(slots.take(a).is_err_and(|r| r.first), "a new episode is reported again");
    }

    #[test]
    fn no_bound_means_no_refusal() {
        let slots = Slots::new(None);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let held: Vec<_> = (0..10_000).map(|_| slots.take(ip).ok().unwrap()).collect();
        assert_eq!(slots.open_from(ip), held.len());
    }

    #[test]
    fn an_ipv6_64_shares_one_bound_and_ipv4_mapped_peers_count_as_ipv4() {
        let slots = Slots::new(Some(2));
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let _held: Vec<_> = ["2001:db8::1", "2001:db8::2"].map(|a| slots.take(ip(a)).ok().unwrap()).into();
        assert!(slots.take(ip("2001:db8::3")).is_err(), "a third address of the same /64 is refused");
        assert!(slots.take(ip("2001:db8::ffff:1:2:3")).is_err());
        assert!(slots.take(ip("2001:db8:0:1::1")).is_ok(), "another /64 is another client");
        let _v4: Vec<_> = (0..2).map(|_| slots.take(ip("192.0.2.7")).ok().unwrap()).collect();
        assert!(slots.take(ip("::ffff:192.0.2.7")).is_err(), "the same IPv4 client over a dual-stack socket");
        assert!(slots.take(ip("192.0.2.8")).is_ok(), "IPv4 stays per address");
    }
}
