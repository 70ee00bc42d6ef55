//! Atom 1.0 (RFC 4287) rendering of a page's history.

use super::{rfc3339_seconds, xml, Channel, Entry};
use std::fmt::Write;

/// The whole Atom document.
pub fn render(c: &Channel, entries: &[Entry]) -> String {
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    s.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    let _ = writeln!(s, "<id>{}</id>", xml(&c.id));
    let _ = writeln!(s, "<title>{}</title>", xml(&c.title));
    let _ = writeln!(s, "<subtitle>{}</subtitle>", xml(&c.description));
    let _ = writeln!(s, "<updated>{}</updated>", rfc3339_seconds(c.updated));
    let _ =
        writeln!(s, "<link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>", xml(&c.self_url("history.atom")));
    let _ = writeln!(s, "<link rel=\"alternate\" type=\"text/html\" href=\"{}/\"/>", xml(&c.link));
    // RFC 4287 wants an author on the feed when an entry has none.
    let _ = writeln!(s, "<author><name>{}</name></author>", xml(&c.title));
    for e in entries {
        s.push_str("<entry>\n");
        let _ = writeln!(s, "<id>{}</id>", xml(&e.id));
        let _ = writeln!(s, "<title type=\"text\">{}</title>", xml(&e.title));
        let _ = writeln!(s, "<published>{}</published>", rfc3339_seconds(e.published));
        let _ = writeln!(s, "<updated>{}</updated>", rfc3339_seconds(e.updated.max(e.published)));
        let _ = writeln!(s, "<link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>", xml(&e.link));
        let _ = writeln!(s, "<summary type=\"text\">{}</summary>", xml(&e.summary));
        s.push_str("</entry>\n");
    }
    s.push_str("</feed>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_escaped_and_dated() {
        let c = Channel {
            id: "statibeat:page:1".into(),
            title: "Acme <status>".into(),
            link: "https://acme.status.test".into(),
            description: "d".into(),
            updated: 1_796_040_000_000,
            self_link: None,
        };
        let e = Entry {
            id: "statibeat:incident:1:2".into(),
            title: "Tom & Jerry".into(),
            link: "https://acme.status.test/#incident-2".into(),
            published: 1_796_040_000_000,
            updated: 1_796_040_060_000,
            summary: "<b>bold</b>".into(),
        };
        let s = render(&c, &[e]);
        assert!(s.contains("<title>Acme &lt;status&gt;</title>"), "{s}");
        assert!(s.contains("<updated>2026-11-30T12:00:00Z</updated>"), "{s}");
        assert!(s.contains("<updated>2026-11-30T12:01:00Z</updated>"), "{s}");
        assert!(s.contains("<title type=\"text\">Tom &amp; Jerry</title>"), "{s}");
        assert!(s.contains("<summary type=\"text\">&lt;b&gt;bold&lt;/b&gt;</summary>"), "{s}");
        assert!(s.contains("href=\"https://acme.status.test/history.atom\""), "{s}");
    }
}
