//! The token format shared by every credential kind:
//! `<kind>_<32 base62 random><6 base62 CRC32 of the random part>`.
//!
//! Parsing is pure and cheap, so malformed or mistyped tokens are turned away before any database
//! lookup. Plaintext and hash are different types; neither prints its secret.

use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};
use std::fmt;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const RANDOM_LEN: usize = 32;
const CHECK_LEN: usize = 6;

/// What a token is for; its prefix says so, and each kind travels in exactly one carrier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// `sbt`: API token, `Authorization: Bearer`.
    Api,
    /// `sbm`: single-use emailed magic link.
    MagicLink,
    /// `sbx`: magic session after exchange.
    MagicSession,
    /// `sbs`: web session cookie.
    Session,
    /// `sbu`: one-click unsubscribe capability.
    Unsubscribe,
    /// `sbf`: private feed capability.
    Feed,
    /// `sbe`: external-event ingest capability.
    Ingest,
    /// `sbv`: viewer grant for a private page (cookie, one host).
    Viewer,
    /// `sbi`: single-use emailed invitation to an org or page (`X-Magic-Token`, admin host).
    Invite,
}

impl TokenKind {
    pub const ALL: [TokenKind; 9] = [
        TokenKind::Api,
        TokenKind::MagicLink,
        TokenKind::MagicSession,
        TokenKind::Session,
        TokenKind::Unsubscribe,
        TokenKind::Feed,
        TokenKind::Ingest,
        TokenKind::Viewer,
        TokenKind::Invite,
    ];

    /// The three-letter prefix before the underscore.
    pub fn prefix(self) -> &'static str {
        match self {
            TokenKind::Api => "sbt",
            TokenKind::MagicLink => "sbm",
            TokenKind::MagicSession => "sbx",
            TokenKind::Session => "sbs",
            TokenKind::Unsubscribe => "sbu",
            TokenKind::Feed => "sbf",
            TokenKind::Ingest => "sbe",
            TokenKind::Viewer => "sbv",
            TokenKind::Invite => "sbi",
        }
    }

    fn from_prefix(p: &str) -> Option<Self> {
        TokenKind::ALL.into_iter().find(|k| k.prefix() == p)
    }
}

/// Total length of every token: prefix (3) + `_` + random + checksum.
pub const TOKEN_LEN: usize = 4 + RANDOM_LEN + CHECK_LEN;

/// A token in clear. Shown once, never logged: `Debug` redacts it.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainToken(String);

/// SHA-256 of a token: the only form stored.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash([u8; 32]);

/// Why a presented string is not a token of ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    Length,
    Prefix,
    Alphabet,
    Checksum,
}

impl PlainToken {
    /// A fresh token of `kind` from a cryptographically secure RNG.
    pub fn generate(kind: TokenKind, rng: &mut (impl RngCore + ?Sized)) -> Self {
        let mut s = String::with_capacity(TOKEN_LEN);
        s.push_str(kind.prefix());
        s.push('_');
        let random: String = (0..RANDOM_LEN).map(|_| ALPHABET[rng.gen_range(0..62)] as char).collect();
        s.push_str(&random);
        s.push_str(&checksum(random.as_bytes()));
        PlainToken(s)
    }

    /// Checks prefix, length, alphabet and checksum; touches nothing else.
    pub fn parse(s: &str) -> Result<(TokenKind, PlainToken), Malformed> {
        if s.len() != TOKEN_LEN {
            return Err(Malformed::Length);
        }
        let bytes = s.as_bytes();
        if bytes[3] != b'_' || !s.is_char_boundary(3) {
            return Err(Malformed::Prefix);
        }
        let kind = TokenKind::from_prefix(&s[..3]).ok_or(Malformed::Prefix)?;
        let body = &bytes[4..];
        if !body.iter().all(u8::is_ascii_alphanumeric) {
            return Err(Malformed::Alphabet);
        }
        let (random, check) = body.split_at(RANDOM_LEN);
        if checksum(random).as_bytes() != check {
            return Err(Malformed::Checksum);
        }
        Ok((kind, PlainToken(s.to_string())))
    }

    /// Parses and insists on one kind.
    pub fn parse_kind(s: &str, kind: TokenKind) -> Result<PlainToken, Malformed> {
        match Self::parse(s)? {
            (k, t) if k == kind => Ok(t),
            _ => Err(Malformed::Prefix),
        }
    }

    /// The secret itself, for the one response that shows it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The hash stored at rest.
    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.0.as_bytes()).into())
    }

    /// The last four characters, safe to show in lists so people can tell tokens apart.
    pub fn hint(&self) -> String {
        self.0[self.0.len() - 4..].to_string()
    }
}

/// True when a string looks like one of our tokens (used to refuse them in query strings).
pub fn looks_like_token(s: &str) -> bool {
    s.len() >= 4 && s.is_char_boundary(4) && s.as_bytes()[3] == b'_' && TokenKind::from_prefix(&s[..3]).is_some()
}

impl TokenHash {
    /// Lower-case hex, the column representation.
    pub fn to_hex(&self) -> String {
        let mut s = String::with_capacity(64);
        for b in self.0 {
            s.push_str(&format!("{b:02x}"));
        }
        s
    }
}

impl fmt::Debug for PlainToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PlainToken({}_<redacted>)", &self.0[..3])
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash")
    }
}

fn checksum(random: &[u8]) -> String {
    let mut n = crc32fast::hash(random) as u64;
    let mut out = [b'0'; CHECK_LEN];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8(out.to_vec()).expect("alphabet is ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn rng() -> rand::rngs::StdRng {
        rand::rngs::StdRng::seed_from_u64(7)
    }

    #[test]
    fn generated_tokens_parse_back_to_their_kind() {
        let mut r = rng();
        for kind in TokenKind::ALL {
            let t = PlainToken::generate(kind, &mut r);
            assert_eq!(t.expose().len(), TOKEN_LEN);
            assert!(t.expose().starts_with(&format!("{}_", kind.prefix())));
            let (k, back) = PlainToken::parse(t.expose()).unwrap();
            assert_eq!(k, kind);
            assert_eq!(back, t);
        }
    }

    #[test]
    fn every_single_character_change_is_rejected() {
        let t = PlainToken::generate(TokenKind::Api, &mut rng());
        let s = t.expose().to_string();
        let mut accepted = 0;
        for i in 4..s.len() {
            for &c in ALPHABET.iter() {
                let mut b = s.clone().into_bytes();
                if b[i] == c {
                    continue;
                }
                b[i] = c;
                if PlainToken::parse(std::str::from_utf8(&b).unwrap()).is_ok() {
                    accepted += 1;
                }
            }
        }
        assert_eq!(accepted, 0, "CRC32 must catch every single-character change");
    }

    #[test]
    fn malformed_inputs_say_why() {
        let t = PlainToken::generate(TokenKind::Api, &mut rng());
        let s = t.expose();
        assert_eq!(PlainToken::parse(&s[1..]), Err(Malformed::Length));
        assert_eq!(PlainToken::parse(&format!("xyz{}", &s[3..])), Err(Malformed::Prefix));
        assert_eq!(PlainToken::parse(&format!("{}!{}", &s[..10], &s[11..])), Err(Malformed::Alphabet));
        assert_eq!(PlainToken::parse("é"), Err(Malformed::Length));
        assert_eq!(PlainToken::parse_kind(s, TokenKind::Session), Err(Malformed::Prefix));
    }

    #[test]
    fn debug_never_prints_the_secret() {
        let t = PlainToken::generate(TokenKind::Api, &mut rng());
        let d = format!("{t:?} {:?}", t.hash());
        assert!(!d.contains(&t.expose()[4..]));
        assert_eq!(t.hash().to_hex().len(), 64);
    }
}
