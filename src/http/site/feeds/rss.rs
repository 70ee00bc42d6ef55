//! RSS 2.0 rendering of a page's history.

use super::{rfc822, xml, Channel, Entry};
use std::fmt::Write;

/// The whole RSS document.
pub fn render(c: &Channel, entries: &[Entry]) -> String {
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    s.push_str("<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\">\n<channel>\n");
    let _ = writeln!(s, "<title>{}</title>", xml(&c.title));
    let _ = writeln!(s, "<link>{}/</link>", xml(&c.link));
    let _ = writeln!(s, "<description>{}</description>", xml(&c.description));
    let _ = writeln!(s, "<lastBuildDate>{}</lastBuildDate>", rfc822(c.updated));
    let _ = writeln!(
        s,
        "<atom:link href=\"{}\" rel=\"self\" type=\"application/rss+xml\"/>",
        xml(&c.self_url("history.rss"))
    );
    for e in entries {
        s.push_str("<item>\n");
        let _ = writeln!(s, "<title>{}</title>", xml(&e.title));
        let _ = writeln!(s, "<link>{}</link>", xml(&e.link));
        let _ = writeln!(s, "<guid isPermaLink=\"false\">{}</guid>", xml(&e.id));
        let _ = writeln!(s, "<pubDate>{}</pubDate>", rfc822(e.published));
        let _ = writeln!(s, "<description>{}</description>", xml(&e.summary));
        s.push_str("</item>\n");
    }
    s.push_str("</channel>\n</rss>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_escaped() {
        let c = Channel {
            id: "statibeat:page:1".into(),
            title: "A & B".into(),
            link: "https://acme.status.test".into(),
            description: "d".into(),
            updated: 0,
            self_link: None,
        };
        let e = Entry {
            id: "statibeat:incident:1:2".into(),
            title: "<script>alert(1)</script>".into(),
            link: "https://acme.status.test/#incident-2".into(),
            published: 0,
            updated: 0,
            summary: "Fixed & \"done\"".into(),
        };
        let s = render(&c, &[e]);
        assert!(s.contains("<title>A &amp; B</title>"), "{s}");
        assert!(s.contains("<title>&lt;script&gt;alert(1)&lt;/script&gt;</title>"), "{s}");
        assert!(s.contains("<description>Fixed &amp; &quot;done&quot;</description>"), "{s}");
        assert!(s.contains("<guid isPermaLink=\"false\">statibeat:incident:1:2</guid>"), "{s}");
        assert!(s.contains("<pubDate>Thu, 01 Jan 1970 00:00:00 +0000</pubDate>"), "{s}");
        assert!(!s.contains("<script>"));
    }
}
