//! Host header normalisation and classification, decided once per request.

use super::types::{is_hostname, Invalid};
use std::net::{IpAddr, Ipv6Addr};

/// A validated, normalised host: lower case, no port, no trailing dot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalHost(pub String);

/// Normalises a raw Host header value (or request-target authority).
pub fn normalise(raw: &str) -> Result<NormalHost, Invalid> {
    let bad = |why: &str| Invalid(format!("invalid Host header: {why}"));
    if raw.is_empty() || raw.len() > 260 {
        return Err(bad("empty or too long"));
    }
    if !raw.is_ascii() || raw.bytes().any(|b| b.is_ascii_control() || b == b' ') {
        return Err(bad("must be ASCII without spaces"));
    }
    if raw.contains('@') || raw.contains('/') {
        return Err(bad("must not contain userinfo or a path"));
    }
    let lower = raw.to_ascii_lowercase();
    // IPv6 literal: "[...]" with an optional port.
    if let Some(rest) = lower.strip_prefix('[') {
        let (addr, after) = rest.split_once(']').ok_or_else(|| bad("unclosed IPv6 literal"))?;
        if addr.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(bad("invalid IPv6 literal"));
        }
        check_port(after.strip_prefix(':'), after.is_empty()).map_err(|_| bad("invalid port"))?;
        return Ok(NormalHost(format!("[{addr}]")));
    }
    let (name, port) = match lower.rsplit_once(':') {
        Some((n, p)) => (n, Some(p)),
        None => (lower.as_str(), None),
    };
    check_port(port, port.is_none()).map_err(|_| bad("invalid port"))?;
    let name = name.strip_suffix('.').unwrap_or(name);
    if !is_hostname(name) {
        return Err(bad("not a host name"));
    }
    Ok(NormalHost(name.to_string()))
}

fn check_port(port: Option<&str>, absent_ok: bool) -> Result<(), ()> {
    match port {
        None if absent_ok => Ok(()),
        Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
            p.parse::<u16>().map(|_| ()).map_err(|_| ())
        }
        _ => Err(()),
    }
}

/// What a normalised host is, before any database lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostClass {
    /// The signed-in web app and org routes.
    Admin,
    /// The bare base domain when it is not the admin host: serves `/status/<prefix>/...` only.
    Base,
    /// `<prefix>.<base_domain>`.
    PagePrefix(String),
    /// Anything else: a custom domain, served only once verified.
    Custom(String),
}

/// Classifies `host` against the configured base domain and admin host.
pub fn classify(host: &NormalHost, base_domain: &str, admin_host: &str) -> HostClass {
    let h = host.0.as_str();
    if h == admin_host {
        return HostClass::Admin;
    }
    if h == base_domain {
        return HostClass::Base;
    }
    if let Some(label) = h.strip_suffix(base_domain).and_then(|l| l.strip_suffix('.')) {
        if !label.contains('.') {
            return HostClass::PagePrefix(label.to_string());
        }
    }
    HostClass::Custom(h.to_string())
}

/// The client a budget is kept for (rate limits, password guesses, open connections): an IPv4
/// address on its own, an IPv6 address by its /64 (one host or site commonly holds a whole /64,
/// so counting per address would hand it 2^64 budgets). IPv4-mapped IPv6 (`::ffff:a.b.c.d`, a
/// dual-stack socket's view of an IPv4 peer) counts as the IPv4 address. Anything that is not an
/// address is its own bucket. Audit entries keep the real address; only budgets use this.
pub fn client_bucket(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{}/64", Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        Err(_) => ip.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Result<String, Invalid> {
        normalise(s).map(|h| h.0)
    }

    #[test]
    fn normalises_case_port_and_trailing_dot() {
        assert_eq!(n("Demo.LocalHost:8080").unwrap(), "demo.localhost");
        assert_eq!(n("status.example.com.").unwrap(), "status.example.com");
        assert_eq!(n("status.example.com.:443").unwrap(), "status.example.com");
        assert_eq!(n("[::1]:8080").unwrap(), "[::1]");
        assert_eq!(n("127.0.0.1").unwrap(), "127.0.0.1");
    }

    #[test]
    fn rejects_malformed_hosts() {
        for bad in [
            "",
            "a b",
            "user@host",
            "host:",
            "host:99999",
            "host:80:80",
            "ex_ample.com",
            "-x.com",
            "exämple.com",
            "a..b",
            "[::1",
            "host/path",
            "host\r\n",
        ] {
            assert!(n(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn classifies_against_base_and_admin() {
        let c = |h: &str| classify(&normalise(h).unwrap(), "status.test", "admin.test");
        assert_eq!(c("admin.test"), HostClass::Admin);
        assert_eq!(c("status.test"), HostClass::Base);
        assert_eq!(c("acme.status.test"), HostClass::PagePrefix("acme".into()));
        assert_eq!(c("a.b.status.test"), HostClass::Custom("a.b.status.test".into()));
        assert_eq!(c("xstatus.test"), HostClass::Custom("xstatus.test".into()));
        assert_eq!(c("status.acme.com"), HostClass::Custom("status.acme.com".into()));
        let same = classify(&normalise("localhost").unwrap(), "localhost", "localhost");
        assert_eq!(same, HostClass::Admin);
    }

    #[test]
    fn ipv6_clients_are_bucketed_by_their_64_and_ipv4_by_address() {
        assert_eq!(client_bucket("2001:db8::1"), "2001:db8::/64");
        assert_eq!(client_bucket("2001:db8::40"), "2001:db8::/64");
        assert_eq!(client_bucket("2001:db8:0:0:ffff:ffff:ffff:ffff"), "2001:db8::/64");
        assert_eq!(client_bucket("2001:DB8:0:1::1"), "2001:db8:0:1::/64", "the next /64 is another client");
        assert_eq!(client_bucket("::1"), "::/64");
        assert_eq!(client_bucket("fe80::1:2:3:4"), "fe80::/64");
        assert_eq!(client_bucket("192.0.2.7"), "192.0.2.7");
        assert_ne!(client_bucket("192.0.2.7"), client_bucket("192.0.2.8"), "IPv4 stays per address");
        assert_eq!(client_bucket("::ffff:192.0.2.7"), "192.0.2.7", "IPv4-mapped is the IPv4 address");
        assert_eq!(client_bucket("0.0.0.0"), "0.0.0.0");
        assert_eq!(client_bucket("not an address"), "not an address");
    }
}
