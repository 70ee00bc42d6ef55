//! Custom views: short codes, aliases (with their blocklist) and access modes. Pure rules.

use super::types::{DomainName, Email, Invalid};
use rand::Rng;

/// Who may open a view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessMode {
    /// Anyone who can read the page.
    Public,
    /// Anyone who proves they receive mail at some address.
    VerifiedEmail,
    /// Addresses whose domain is on the view's list.
    AllowedDomains,
    /// Addresses on the view's list.
    AllowedEmails,
}

impl AccessMode {
    pub const ALL: [AccessMode; 4] =
        [AccessMode::Public, AccessMode::VerifiedEmail, AccessMode::AllowedDomains, AccessMode::AllowedEmails];

    pub fn key(self) -> &'static str {
        match self {
            AccessMode::Public => "public",
            AccessMode::VerifiedEmail => "verified_email",
            AccessMode::AllowedDomains => "allowed_domains",
            AccessMode::AllowedEmails => "allowed_emails",
        }
    }

    pub fn parse(s: &str) -> Result<AccessMode, Invalid> {
        AccessMode::ALL
            .into_iter()
            .find(|m| m.key() == s)
            .ok_or_else(|| Invalid("must be public, verified_email, allowed_domains or allowed_emails".into()))
    }

    /// Whether a verified address may open a view in this mode with these lists.
    pub fn admits(self, email: &Email, domains: &[String], emails: &[String]) -> bool {
        match self {
            AccessMode::Public | AccessMode::VerifiedEmail => true,
            AccessMode::AllowedDomains => {
                let domain = email.as_str().rsplit_once('@').map(|(_, d)| d).unwrap_or("");
                domains.iter().any(|d| d == domain)
            }
            AccessMode::AllowedEmails => emails.iter().any(|e| e == email.as_str()),
        }
    }
}

/// Aliases refused as a whole: the product's route and page names, and words that only cause
/// trouble in a URL.
pub const ALIAS_RESERVED: &[&str] = &[
    "api",
    "app",
    "auth",
    "logout",
    "signup",
    "register",
    "manage",
    "management",
    "status",
    "statuses",
    "summary",
    "components",
    "incidents",
    "maintenances",
    "uptime",
    "history",
    "feeds",
    "feed",
    "rss",
    "atom",
    "ics",
    "views",
    "view",
    "static",
    "internal",
    "healthz",
    "readyz",
    "metrics",
    "settings",
    "subscribers",
    "subscribe",
    "unsubscribe",
    "viewer-access",
    "openapi",
    "www",
    "mail",
    "help",
    "reset",
    "system",
    "null",
    "undefined",
    "test",
];

/// Words refused anywhere in an alias (as one of its `-`-separated words): they impersonate the
/// operator or bait phishing (`eu-billing`, `login-here`).
pub const ALIAS_BLOCKED_WORDS: &[&str] = &[
    "admin",
    "administrator",
    "login",
    "signin",
    "statibeat",
    "support",
    "helpdesk",
    "billing",
    "invoice",
    "payment",
    "payments",
    "security",
    "account",
    "accounts",
    "password",
    "verify",
    "verification",
    "official",
    "staff",
    "root",
    "sso",
    "oauth",
    "abuse",
    "postmaster",
    "hostmaster",
    "webmaster",
    "noreply",
    "phishing",
];

/// A view's alias: 3 to 40 characters of `a-z`, `0-9` and `-`, starting with a letter, not
/// ending with `-`, no `--`, not on [`ALIAS_RESERVED`] and without a word of [`ALIAS_BLOCKED_WORDS`]. Aliases are lower case and short
/// codes always hold an upper-case letter, so the two never collide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alias(String);

impl Alias {
    pub fn parse(s: &str) -> Result<Alias, Invalid> {
        let ok_chars = s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !(3..=40).contains(&s.len())
            || !ok_chars
            || !s.starts_with(|c: char| c.is_ascii_lowercase())
            || s.ends_with('-')
            || s.contains("--")
        {
            return Err(Invalid(
                "must be 3-40 characters of a-z, 0-9 and '-', starting with a letter, without '--' or a trailing '-'"
                    .into(),
            ));
        }
        if ALIAS_RESERVED.contains(&s) || s.split('-').any(|w| ALIAS_BLOCKED_WORDS.contains(&w)) {
            return Err(Invalid(format!("'{s}' is reserved")));
        }
        Ok(Alias(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

const CODE_ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Length of a short code: 62^10 ≈ 8·10^17, so guessing one is hopeless and collisions are rare.
pub const CODE_LEN: usize = 10;

/// A fresh short code: random base62 with at least one upper-case letter (never an alias).
pub fn short_code(rng: &mut impl Rng) -> String {
    loop {
        let code: String =
            (0..CODE_LEN).map(|_| CODE_ALPHABET[rng.gen_range(0..CODE_ALPHABET.len())] as char).collect();
        if code.bytes().any(|b| b.is_ascii_uppercase()) {
            return code;
        }
    }
}

/// Whether a path segment could be a short code or an alias (cheap check before any lookup).
pub fn plausible_code(s: &str) -> bool {
    (3..=40).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Parses an allow-list of domains (lower-cased, de-duplicated, at most `max`).
pub fn domain_list(raw: &[String], max: usize) -> Result<Vec<String>, (usize, Invalid)> {
    if raw.len() > max {
        return Err((0, Invalid(format!("at most {max} domains"))));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, d) in raw.iter().enumerate() {
        let d = DomainName::parse(d).map_err(|e| (i, e))?.as_str().to_string();
        if !out.contains(&d) {
            out.push(d);
        }
    }
    Ok(out)
}

/// Parses an allow-list of addresses (lower-cased, de-duplicated, at most `max`).
pub fn email_list(raw: &[String], max: usize) -> Result<Vec<String>, (usize, Invalid)> {
    if raw.len() > max {
        return Err((0, Invalid(format!("at most {max} addresses"))));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, e) in raw.iter().enumerate() {
        let e = Email::parse(e).map_err(|x| (i, x))?.as_str().to_string();
        if !out.contains(&e) {
            out.push(e);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn aliases_are_slugs_off_the_blocklist() {
        for ok in ["team-a", "my-view-2", "eu-platform", "eu-status", "db-systems"] {
            assert!(Alias::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "payments-eu",
            "status",
            "www",
            "ab",
            "Admin",
            "admin",
            "api",
            "login-here",
            "eu-billing",
            "-x-y",
            "x--y",
            "xy-",
            "1abc",
            "a b c",
        ] {
            assert!(Alias::parse(bad).is_err(), "{bad}");
        }
        assert!(Alias::parse(&"a".repeat(41)).is_err());
        assert!(Alias::parse(&"a".repeat(40)).is_ok());
    }

    #[test]
    fn short_codes_always_hold_an_upper_case_letter() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..200 {
            let c = short_code(&mut rng);
            assert_eq!(c.len(), CODE_LEN);
            assert!(c.bytes().any(|b| b.is_ascii_uppercase()));
            assert!(Alias::parse(&c).is_err(), "a code is never a valid alias");
            assert!(plausible_code(&c));
        }
    }

    #[test]
    fn modes_admit_by_their_lists() {
        let e = Email::parse("Ann@Corp.Example").unwrap();
        let domains = vec!["corp.example".to_string()];
        let emails = vec!["bob@corp.example".to_string()];
        assert!(AccessMode::VerifiedEmail.admits(&e, &[], &[]));
        assert!(AccessMode::AllowedDomains.admits(&e, &domains, &[]));
        assert!(!AccessMode::AllowedDomains.admits(&e, &["other.example".into()], &[]));
        assert!(!AccessMode::AllowedEmails.admits(&e, &[], &emails));
        assert!(AccessMode::AllowedEmails.admits(&Email::parse("bob@corp.example").unwrap(), &[], &emails));
        assert!(AccessMode::parse("everyone").is_err());
    }
}
