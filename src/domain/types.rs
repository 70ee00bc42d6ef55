//! Parse, don't validate: values that reach services are already well-formed.

use serde::Serialize;
use std::fmt;

/// Why a value was refused; the message names the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A lower-cased email address with one `@`, a dotted domain and no spaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let s = s.trim().to_ascii_lowercase();
        let bad = || Invalid("must be an email address like ops@example.com".into());
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = s.split_once('@').ok_or_else(bad)?;
        if local.is_empty() || local.len() > 64 || domain.contains('@') {
            return Err(bad());
        }
        DomainName::parse(domain).map_err(|_| bad())?;
        Ok(Email(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A page's URL prefix: `[a-z0-9-]{2,63}`, not starting or ending with `-`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct UrlPrefix(String);

/// Prefixes that would collide with the platform's own host names.
const RESERVED_PREFIXES: &[&str] = &["www", "admin", "api", "status", "static", "mail", "internal"];

impl UrlPrefix {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let ok_chars = s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !(2..=63).contains(&s.len()) || !ok_chars || s.starts_with('-') || s.ends_with('-') {
            return Err(Invalid("must be 2-63 characters of a-z, 0-9 and '-', not starting or ending with '-'".into()));
        }
        if RESERVED_PREFIXES.contains(&s) {
            return Err(Invalid(format!("'{s}' is reserved")));
        }
        Ok(UrlPrefix(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A short machine key (page `internal_key`, org `slug`): `[a-z0-9_-]{1,63}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Key(String);

impl Key {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let ok = s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !(1..=63).contains(&s.len()) || !ok {
            return Err(Invalid("must be 1-63 characters of a-z, 0-9, '-' and '_'".into()));
        }
        Ok(Key(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A DNS host name in normal form: lower case, no trailing dot, LDH labels, at least two labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct DomainName(String);

impl DomainName {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let s = s.trim().to_ascii_lowercase();
        let s = s.strip_suffix('.').unwrap_or(&s).to_string();
        if !is_hostname(&s) || !s.contains('.') {
            return Err(Invalid("must be a domain name like status.example.com".into()));
        }
        if s.rsplit('.').next().is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit())) {
            return Err(Invalid("must be a domain name, not an IP address".into()));
        }
        Ok(DomainName(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// LDH host name check (RFC 1123), already lower-cased, without trailing dot.
pub fn is_hostname(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// A human-facing name: trimmed, 1..=max characters, no control characters.
pub fn name(s: &str, max: usize) -> Result<String, Invalid> {
    let t = s.trim();
    if t.is_empty() || t.chars().count() > max || t.chars().any(char::is_control) {
        return Err(Invalid(format!("must be 1-{max} printable characters")));
    }
    Ok(t.to_string())
}

/// Optional free text up to `max` characters.
pub fn text(s: &str, max: usize) -> Result<String, Invalid> {
    if s.chars().count() > max {
        return Err(Invalid(format!("must be at most {max} characters")));
    }
    // PostgreSQL cannot store NUL in text; refuse it on both engines alike.
    if s.contains('\0') {
        return Err(Invalid("must not contain NUL characters".into()));
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(Email::parse(" Ops@Example.COM ").unwrap().as_str(), "ops@example.com");
        for bad in ["", "ops", "ops@", "@example.com", "a b@example.com", "ops@localhost", "a@b@c.com"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn url_prefixes_follow_the_spec_pattern() {
        assert!(UrlPrefix::parse("acme-status").is_ok());
        assert!(UrlPrefix::parse("a1").is_ok());
        for bad in ["a", "Acme", "-acme", "acme-", "ac_me", "admin", &"x".repeat(64)] {
            assert!(UrlPrefix::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn free_text_is_bounded_and_never_carries_nul() {
        assert!(text("a\nb", 3).is_ok());
        assert!(text("abcd", 3).is_err());
        assert!(text("a\0b", 10).is_err());
        assert!(name("a\0b", 10).is_err());
    }

    #[test]
    fn domain_names_are_ldh_and_dotted() {
        assert_eq!(DomainName::parse("Status.Example.com.").unwrap().as_str(), "status.example.com");
        for bad in ["localhost", "exa mple.com", "-x.example.com", "127.0.0.1", "a..b", ""] {
            assert!(DomainName::parse(bad).is_err(), "{bad}");
        }
    }
}
