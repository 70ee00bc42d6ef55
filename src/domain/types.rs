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

/// A lower-cased mailbox as RFC 5321 §4.1.2 spells it: a dot-atom or quoted local part, `@`, and
/// a domain name. What is refused (`<`, `>`, spaces, control characters, unquoted specials, a
/// quoted part with those inside) is exactly what could break out of `RCPT TO:<...>`.
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
        if local.len() > 64 || !(is_dot_string(local) || is_quoted_string(local)) {
            return Err(bad());
        }
        DomainName::parse(domain).map_err(|_| bad())?;
        Ok(Email(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether `s`, exactly as given, may go inside `MAIL FROM:<...>` or `RCPT TO:<...>`: a local part
/// as [`Email`] allows it, `@`, and a host name (one label is enough: `noreply@localhost`). The
/// last guard before the wire, for addresses that did not come through [`Email::parse`] (the
/// configured sender, rows written by older versions).
pub fn is_envelope_mailbox(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else { return false };
    local.len() <= 64 && (is_dot_string(local) || is_quoted_string(local)) && is_hostname(&domain.to_ascii_lowercase())
}

/// RFC 5322 `atext`: the characters of an unquoted local part besides dots.
fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b)
}

/// RFC 5321 `Dot-string`: atoms separated by single dots.
fn is_dot_string(s: &str) -> bool {
    s.split('.').all(|atom| !atom.is_empty() && atom.bytes().all(is_atext))
}

/// RFC 5321 `Quoted-string`, narrowed: printable ASCII without space, `<`, `>` or `@` (so every
/// address has exactly one `@`), with `"` and `\` only escaped, and something inside.
fn is_quoted_string(s: &str) -> bool {
    let Some(inner) = s.strip_prefix('"').and_then(|r| r.strip_suffix('"')) else { return false };
    let allowed = |b: u8| (b'!'..=b'~').contains(&b) && !matches!(b, b'<' | b'>' | b'@');
    let mut bytes = inner.bytes();
    let mut any = false;
    while let Some(b) = bytes.next() {
        let ok = match b {
            b'\\' => bytes.next().is_some_and(allowed),
            b'"' => false,
            b => allowed(b),
        };
        if !ok {
            return false;
        }
        any = true;
    }
    any
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
        // `xn--` (punycode) and the other reserved `??--` labels (RFC 5890 §2.3.1): a prefix is
        // a host label, and an internationalised one can imitate another page's ("dеmo").
        if s.get(2..4) == Some("--") {
            return Err(Invalid(
                "must not have '--' in the third and fourth places ('xn--' internationalised names are refused)".into(),
            ));
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
        if !valid_punycode(&s) {
            return Err(Invalid("has an 'xn--' label that is not a valid internationalised name".into()));
        }
        Ok(DomainName(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Every `xn--` label must be the ASCII form of a valid internationalised label (IDNA, UTS #46):
/// decoding it and encoding the result again gives it back. Mixed scripts are not refused (see
/// docs/decisions/0010-login-throttle-and-input.md).
fn valid_punycode(domain: &str) -> bool {
    if !domain.split('.').any(|label| label.starts_with("xn--")) {
        return true;
    }
    let (unicode, decoded) = idna::domain_to_unicode(domain);
    decoded.is_ok() && idna::domain_to_ascii(&unicode).is_ok_and(|ascii| ascii == domain)
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
    fn emails_follow_rfc_5321_mailbox_syntax() {
        for good in [
            "o'brien+alerts@example.com",
            "a.b.c@example.com",
            "\"odd..name\"@example.com",
            "\"a\\\"b\"@example.com",
            "x@xn--bcher-kva.example",
        ] {
            assert!(Email::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "evil>@example.com",
            "<evil@example.com",
            "evil@example.com>",
            "a(b)@example.com",
            "a,b@example.com",
            "a;b@example.com",
            "a:b@example.com",
            "[a]@example.com",
            ".a@example.com",
            "a.@example.com",
            "a..b@example.com",
            "\"a b\"@example.com",
            "\"a<b\"@example.com",
            "\"a@b\"@example.com",
            "\"\"@example.com",
            "\"a\"b\"@example.com",
            "a\r\nrcpt to:<x@y.com>@example.com",
            "é@example.com",
            &format!("{}@example.com", "a".repeat(65)),
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    proptest::proptest! {
        /// Whatever comes in, an accepted address can sit inside `RCPT TO:<...>` unchanged.
        #[test]
        fn an_accepted_address_never_holds_envelope_breaking_characters(s in "\\PC{0,80}|[ -~\r\n\t]{0,80}") {
            if let Ok(e) = Email::parse(&s) {
                let bad = |c: char| matches!(c, '<' | '>' | '\r' | '\n' | ' ') || c.is_control() || !c.is_ascii();
                proptest::prop_assert!(!e.as_str().chars().any(bad), "{:?}", e);
                proptest::prop_assert_eq!(Email::parse(e.as_str()), Ok(e.clone()), "parsing is idempotent");
            }
        }

        /// The SMTP layer's last check lets nothing through that could end or add a command.
        #[test]
        fn an_envelope_mailbox_never_holds_envelope_breaking_characters(s in "\\PC{0,80}|[ -~\r\n\t]{0,80}") {
            if is_envelope_mailbox(&s) {
                let bad = |c: char| matches!(c, '<' | '>' | '\r' | '\n' | ' ') || c.is_control() || !c.is_ascii();
                proptest::prop_assert!(!s.chars().any(bad), "{:?}", s);
            }
        }

        /// Every dot-atom address (RFC 5321 grammar) is accepted, lower-cased.
        #[test]
        fn dot_atom_addresses_are_accepted(
            local in "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,20}(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,20}){0,2}",
            domain in "[a-z0-9]{1,20}\\.(com|org|example)",
        ) {
            let raw = format!("{local}@{domain}");
            proptest::prop_assert_eq!(Email::parse(&raw).map(|e| e.as_str().to_string()), Ok(raw.to_ascii_lowercase()));
        }
    }

    #[test]
    fn url_prefixes_follow_the_spec_pattern() {
        assert!(UrlPrefix::parse("acme-status").is_ok());
        assert!(UrlPrefix::parse("a1").is_ok());
        for bad in ["a", "Acme", "-acme", "acme-", "ac_me", "admin", &"x".repeat(64)] {
            assert!(UrlPrefix::parse(bad).is_err(), "{bad}");
        }
        // Punycode look-alikes, valid ("dеmo", Cyrillic е) or not, and the other reserved forms.
        for bad in ["xn--dmo-rdd", "xn--dmo-jcd", "xn--80ak6aa92e", "ab--cd"] {
            assert!(UrlPrefix::parse(bad).is_err(), "{bad}");
        }
        assert!(UrlPrefix::parse("a-b--c").is_ok(), "'--' elsewhere is an ordinary label");
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
        // Internationalised names in their ASCII form pass when the punycode is valid...
        for good in ["xn--bcher-kva.example", "status.xn--dmo-rdd.example.com", "xn--80ak6aa92e.com"] {
            assert!(DomainName::parse(good).is_ok(), "{good}");
        }
        // ...and are refused when it is not (undecodable, not in normal form, or disallowed).
        for bad in ["xn--dmo-jcd.example.com", "xn--.example.com", "xn--a.example.com"] {
            assert!(DomainName::parse(bad).is_err(), "{bad}");
        }
    }
}
