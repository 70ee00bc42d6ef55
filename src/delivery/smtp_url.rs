//! The SMTP URL: `smtp[s]://[user[:password]@]host[:port][?tls=required|none]`, parsed once
//! (at start-up, so a bad one stops the server) into a [`SmtpTarget`] whose `Debug` hides the
//! password.

use std::net::IpAddr;

/// When the connection is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// `smtps://`: TLS from the first byte.
    Implicit,
    /// `smtp://`: STARTTLS when the server offers it.
    Opportunistic,
    /// `smtp://...?tls=required`: STARTTLS or no mail.
    Required,
    /// `smtp://...?tls=none`: plain text.
    None,
}

/// A user name and password for AUTH; `Debug` shows the user only.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    password: String,
}

impl Credentials {
    /// Credentials for AUTH.
    pub fn new(user: &str, password: &str) -> Credentials {
        Credentials { user: user.to_string(), password: password.to_string() }
    }

    /// The password, for the AUTH exchange only.
    pub(crate) fn password(&self) -> &str {
        &self.password
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("user", &self.user).field("password", &"<redacted>").finish()
    }
}

/// Where to send mail: a relay reached with `smtp://` or `smtps://`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpTarget {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub credentials: Option<Credentials>,
}

impl SmtpTarget {
    /// Parses `smtp[s]://[user[:password]@]host[:port][?tls=required|none]` (ports 25 and 465 by
    /// default). Errors name `smtp_url` and never repeat the password.
    pub fn parse(url: &str) -> Result<SmtpTarget, String> {
        let (implicit, rest) = match (url.strip_prefix("smtps://"), url.strip_prefix("smtp://")) {
            (Some(rest), _) => (true, rest),
            (None, Some(rest)) => (false, rest),
            (None, None) => return Err("smtp_url: must start with smtp:// or smtps://".into()),
        };
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let (userinfo, rest) = match rest.rsplit_once('@') {
            Some((u, r)) => (Some(u), r),
            None => (None, rest),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '#']) {
            return Err("smtp_url: no path or fragment allowed after the host".into());
        }
        let tls = match (implicit, query) {
            (true, None) => TlsMode::Implicit,
            (true, Some(_)) => return Err("smtp_url: smtps:// is always TLS; it takes no ?tls= option".into()),
            (false, None) => TlsMode::Opportunistic,
            (false, Some("tls=required")) => TlsMode::Required,
            (false, Some("tls=none")) => TlsMode::None,
            (false, Some("tls=opportunistic")) => TlsMode::Opportunistic,
            (false, Some(_)) => {
                return Err("smtp_url: the only option is ?tls=required, ?tls=opportunistic or ?tls=none".into())
            }
        };
        let default_port = if implicit { 465 } else { 25 };
        // The value is not repeated: with a forgotten `@`, it could be a password.
        let port =
            |p: &str| p.parse::<u16>().map_err(|_| "smtp_url: the port is not a number from 0 to 65535".to_string());
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or("smtp_url: unclosed '['")?;
            match after.strip_prefix(':') {
                Some(p) => (h, port(p)?),
                None if after.is_empty() => (h, default_port),
                None => return Err("smtp_url: bad host".into()),
            }
        } else {
            match rest.split_once(':') {
                Some((h, p)) => (h, port(p)?),
                None => (rest, default_port),
            }
        };
        if host.is_empty() {
            return Err("smtp_url: no host".into());
        }
        let credentials = match userinfo {
            None => None,
            Some(info) => {
                let (user, password) = info.split_once(':').unwrap_or((info, ""));
                let user = percent_decode(user).ok_or("smtp_url: the user name is not valid percent-encoded UTF-8")?;
                let password =
                    percent_decode(password).ok_or("smtp_url: the password is not valid percent-encoded UTF-8")?;
                if user.is_empty() {
                    return Err("smtp_url: credentials need a user name".into());
                }
                Some(Credentials { user, password })
            }
        };
        if credentials.is_some() && tls == TlsMode::None && !is_loopback(host) {
            return Err("smtp_url: credentials would go out in plain text with ?tls=none; \
                        use TLS (smtps:// or STARTTLS) or a relay on a loopback address"
                .into());
        }
        Ok(SmtpTarget { host: host.to_ascii_lowercase(), port, tls, credentials })
    }
}

/// The URL with its password (if any) replaced, for showing the configuration.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let (authority, query) = rest.split_once('?').map_or((rest, None), |(a, q)| (a, Some(q)));
    let Some((userinfo, host)) = authority.rsplit_once('@') else { return url.to_string() };
    let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
    let password = if userinfo.contains(':') { ":<redacted>" } else { "" };
    let query = query.map(|q| format!("?{q}")).unwrap_or_default();
    format!("{scheme}://{user}{password}@{host}{query}")
}

/// `localhost` or a loopback address: the only hosts credentials may reach unencrypted.
pub(crate) fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b.get(i + 1..i + 3).filter(|h| h.iter().all(u8::is_ascii_hexdigit))?;
            out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(host: &str, port: u16, tls: TlsMode) -> SmtpTarget {
        SmtpTarget { host: host.into(), port, tls, credentials: None }
    }

    #[test]
    fn urls_name_the_relay_its_tls_and_its_credentials() {
        use TlsMode::*;
        let parse = SmtpTarget::parse;
        assert_eq!(parse("smtp://mail.example.com:2525"), Ok(target("mail.example.com", 2525, Opportunistic)));
        assert_eq!(parse("smtp://relay").unwrap().port, 25);
        assert_eq!(parse("smtp://127.0.0.1:25/").unwrap().host, "127.0.0.1");
        assert_eq!(parse("smtp://[::1]:587").unwrap(), target("::1", 587, Opportunistic));
        assert_eq!(parse("smtps://Mail.Example.com"), Ok(target("mail.example.com", 465, Implicit)));
        assert_eq!(parse("smtps://[::1]").unwrap(), target("::1", 465, Implicit));
        assert_eq!(parse("smtp://mail.example.com:587?tls=required"), Ok(target("mail.example.com", 587, Required)));
        assert_eq!(parse("smtp://mail.example.com/?tls=none").unwrap().tls, None);
        assert_eq!(parse("smtp://mail.example.com?tls=opportunistic").unwrap().tls, Opportunistic);
        let t = parse("smtp://apikey:s%40cr%3At%2F@mail.example.com:587?tls=required").unwrap();
        assert_eq!(t.credentials, Some(Credentials::new("apikey", "s@cr:t/")));
        assert_eq!((t.host.as_str(), t.port), ("mail.example.com", 587));
        let t = parse("smtps://user%40example.com:p@ss@mail.example.com").unwrap();
        assert_eq!(t.credentials, Some(Credentials::new("user@example.com", "p@ss")), "the last @ ends the userinfo");
        assert_eq!(parse("smtp://only-user@relay").unwrap().credentials, Some(Credentials::new("only-user", "")));
        for bad in [
            "http://mail.example.com",
            "smtp://host:port",
            "smtp://",
            "smtp://mail.example.com/path",
            "smtp://mail.example.com?tls=maybe",
            "smtp://mail.example.com?timeout=5",
            "smtps://mail.example.com?tls=none",
            "smtp://:pw@mail.example.com",
            "smtp://user:%zz@mail.example.com",
            "smtp://user:%ff@mail.example.com",
        ] {
            assert!(parse(bad).unwrap_err().starts_with("smtp_url: "), "{bad}");
        }
    }

    #[test]
    fn credentials_never_go_out_in_plain_text_to_a_remote_host() {
        let e = SmtpTarget::parse("smtp://user:hunter2@mail.example.com?tls=none").unwrap_err();
        assert!(e.contains("plain text") && !e.contains("hunter2"), "{e}");
        // A relay on the same machine may take them without TLS.
        assert!(SmtpTarget::parse("smtp://user:hunter2@127.0.0.1:25?tls=none").is_ok());
        assert!(SmtpTarget::parse("smtp://user:hunter2@localhost?tls=none").is_ok());
        assert!(SmtpTarget::parse("smtp://user:hunter2@[::1]?tls=none").is_ok());
        assert!(is_loopback("127.0.0.2") && is_loopback("LOCALHOST") && !is_loopback("10.0.0.1"));
    }

    #[test]
    fn the_password_never_shows() {
        let url = "smtp://mailer:Tr0ub4dor%263@mail.example.com:587?tls=required";
        let t = SmtpTarget::parse(url).unwrap();
        let debug = format!("{t:?} {:?}", t.credentials);
        assert!(debug.contains("mailer") && debug.contains("<redacted>"), "{debug}");
        assert!(!debug.contains("Tr0ub4dor"), "{debug}");
        for bad in ["smtp://mailer:Tr0ub4dor&3@mail.example.com:x", "smtp://mailer:Tr0ub4dor&3@mail.example.com?x=1"] {
            let e = SmtpTarget::parse(bad).unwrap_err();
            assert!(!e.contains("Tr0ub4dor"), "{e}");
        }
        assert_eq!(redact(url), "smtp://mailer:<redacted>@mail.example.com:587?tls=required");
        assert_eq!(redact("smtp://relay:25"), "smtp://relay:25");
    }
}
