//! Building the RFC 5322 / MIME message for one outbox row: multipart/alternative with a
//! text/plain and a text/html part, both UTF-8 in base64 (safe for any content and line length).

/// What goes into one message.
pub struct Message<'a> {
    /// The `From` header as configured, e.g. `StatiBeat <noreply@example.com>`.
    pub from: &'a str,
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
    /// Extra headers (a JSON object of name → string value), e.g. `List-Unsubscribe`.
    pub headers_json: &'a str,
    /// Stable per outbox row, so a retry carries the same `Message-ID` (receivers de-duplicate).
    pub outbox_id: i64,
    pub created_at: i64,
    /// When this attempt is made (the `Date` header).
    pub now: i64,
}

/// The bare address inside a `Name <addr>` mailbox, or the whole string when there is no `<>`.
pub fn address_of(mailbox: &str) -> &str {
    match (mailbox.rfind('<'), mailbox.rfind('>')) {
        (Some(a), Some(b)) if a < b => &mailbox[a + 1..b],
        _ => mailbox.trim(),
    }
}

/// The domain of an address (`localhost` when it has none).
pub fn domain_of(address: &str) -> &str {
    address.rsplit_once('@').map(|(_, d)| d).filter(|d| !d.is_empty()).unwrap_or("localhost")
}

/// Headers we set ourselves; an extra header of the same name is ignored.
const OWN_HEADERS: &[&str] =
    &["date", "message-id", "from", "to", "subject", "mime-version", "content-type", "content-transfer-encoding"];

/// The complete message with CRLF line endings.
pub fn build(m: &Message<'_>) -> String {
    let domain = domain_of(address_of(m.from));
    let boundary = format!("=_statibeat_{}_{}", m.outbox_id, m.created_at);
    let mut out = String::new();
    let mut header = |name: &str, value: &str| {
        out.push_str(name);
        out.push_str(": ");
        out.push_str(value);
        out.push_str("\r\n");
    };
    header("Date", &rfc5322_date(m.now));
    header("Message-ID", &format!("<outbox.{}.{}@{domain}>", m.outbox_id, m.created_at));
    header("From", &one_line(m.from));
    header("To", &one_line(m.to));
    header("Subject", &encode_word(&one_line(m.subject)));
    for (name, value) in extra_headers(m.headers_json) {
        header(&name, &value);
    }
    header("MIME-Version", "1.0");
    header("Content-Type", &format!("multipart/alternative; boundary=\"{boundary}\""));
    out.push_str("\r\n");
    for (kind, body) in [("text/plain", m.text), ("text/html", m.html)] {
        out.push_str(&format!("--{boundary}\r\n"));
        out.push_str(&format!("Content-Type: {kind}; charset=utf-8\r\n"));
        out.push_str("Content-Transfer-Encoding: base64\r\n\r\n");
        out.push_str(&base64_lines(body.as_bytes()));
    }
    out.push_str(&format!("--{boundary}--\r\n"));
    out
}

/// Valid extra headers from the row's JSON object; a name that is not a header token, a value
/// with a line break (header injection) or one of our own headers is dropped.
fn extra_headers(json: &str) -> Vec<(String, String)> {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(json) else {
        return Vec::new();
    };
    map.into_iter()
        .filter_map(|(name, value)| {
            let value = value.as_str()?.to_string();
            let token = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            let ok = token
                && !OWN_HEADERS.contains(&name.to_ascii_lowercase().as_str())
                && value.is_ascii()
                && !value.contains(['\r', '\n']);
            ok.then_some((name, value))
        })
        .collect()
}

fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

/// RFC 2047 `B` encoding when the text is not plain ASCII; words stay under 76 characters.
pub fn encode_word(s: &str) -> String {
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return s.to_string();
    }
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in s.chars() {
        // 45 bytes of UTF-8 become 60 base64 characters, plus 12 for `=?utf-8?B??=`.
        if chunk.len() + c.len_utf8() > 45 {
            words.push(format!("=?utf-8?B?{}?=", base64(chunk.as_bytes())));
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(format!("=?utf-8?B?{}?=", base64(chunk.as_bytes())));
    }
    words.join("\r\n ")
}

/// `Mon, 30 Nov 2026 12:00:00 +0000`.
fn rfc5322_date(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(ts) => ts.strftime("%a, %d %b %Y %H:%M:%S +0000").to_string(),
        Err(_) => "Thu, 01 Jan 1970 00:00:00 +0000".to_string(),
    }
}

/// Standard base64 with padding.
fn base64(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Base64 in lines of 76 characters, each ending in CRLF (RFC 2045).
fn base64_lines(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(57) {
        out.push_str(&base64(chunk));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_ascii_subjects_are_encoded_words() {
        assert_eq!(encode_word("Plain subject"), "Plain subject");
        let w = encode_word("Störung behoben");
        assert_eq!(w, "=?utf-8?B?U3TDtnJ1bmcgYmVob2Jlbg==?=");
        let long = encode_word(&"é".repeat(60));
        assert!(long.split("\r\n ").all(|w| w.len() <= 75), "{long}");
    }

    #[test]
    fn extra_headers_cannot_inject_lines_or_override_ours() {
        let h = extra_headers(
            r#"{"List-Unsubscribe":"<https://a.test/u>","X-Bad":"a\r\nBcc: x@y","From":"evil@x","Bad Name":"v"}"#,
        );
        assert_eq!(h, vec![("List-Unsubscribe".to_string(), "<https://a.test/u>".to_string())]);
        assert!(extra_headers("not json").is_empty());
    }

    #[test]
    fn a_message_has_both_parts_and_a_stable_id() {
        let m = Message {
            from: "StatiBeat <noreply@status.test>",
            to: "r@example.org",
            subject: "Hi",
            text: "hello",
            html: "<p>hello</p>",
            headers_json: "{}",
            outbox_id: 7,
            created_at: 1_796_040_000_000,
            now: 1_796_040_000_000,
        };
        let built = build(&m);
        assert!(built.contains("Date: Mon, 30 Nov 2026 12:00:00 +0000\r\n"), "{built}");
        assert!(built.contains("Message-ID: <outbox.7.1796040000000@status.test>\r\n"));
        assert!(built.contains("Content-Type: text/plain; charset=utf-8\r\n"));
        assert!(built.contains("Content-Type: text/html; charset=utf-8\r\n"));
        assert!(built.contains(&base64(b"hello")));
        assert_eq!(address_of(m.from), "noreply@status.test");
    }
}
