//! iCalendar (RFC 5545) rendering of a page's maintenance windows: CRLF line endings, text
//! escaping, lines folded at 75 octets.

use super::{strftime, Event};
use crate::clock::Millis;

/// The whole calendar.
pub fn render(calendar_name: &str, events: &[Event]) -> String {
    let mut lines: Vec<String> = vec![
        "BEGIN:VCALENDAR".into(),
        "VERSION:2.0".into(),
        "PRODID:-//StatiBeat//Maintenance//EN".into(),
        "CALSCALE:GREGORIAN".into(),
        "METHOD:PUBLISH".into(),
        format!("X-WR-CALNAME:{}", text(&format!("{calendar_name} maintenance"))),
    ];
    for e in events {
        lines.extend([
            "BEGIN:VEVENT".into(),
            format!("UID:{}", text(&e.uid)),
            // The last change, not "now": the body (and its ETag) only changes with the window.
            format!("DTSTAMP:{}", utc(e.updated)),
            format!("LAST-MODIFIED:{}", utc(e.updated)),
            format!("DTSTART:{}", utc(e.starts_at)),
            format!("DTEND:{}", utc(e.ends_at)),
            format!("SUMMARY:{}", text(&e.title)),
            format!("DESCRIPTION:{}", text(&e.description)),
            format!("URL:{}", e.link),
            format!("STATUS:{}", if e.cancelled { "CANCELLED" } else { "CONFIRMED" }),
            "TRANSP:TRANSPARENT".into(),
            "END:VEVENT".into(),
        ]);
    }
    lines.push("END:VCALENDAR".into());
    lines.iter().map(|l| fold(l)).collect()
}

/// A UTC DATE-TIME: `20261130T120000Z`.
pub fn utc(ms: Millis) -> String {
    strftime(ms, "%Y%m%dT%H%M%SZ")
}

/// Escapes a TEXT value: backslash, semicolon, comma and newlines; drops other controls.
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push_str("\\n");
                }
            }
            '\n' => out.push_str("\\n"),
            '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// One content line with its CRLF, folded so no physical line passes 75 octets; never splits a
/// UTF-8 character.
pub fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / 70 * 3 + 2);
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_escapes_the_four_specials() {
        assert_eq!(text("a\\b;c,d\ne\r\nf\rg"), "a\\\\b\\;c\\,d\\ne\\nf\\ng");
        assert_eq!(text("tab\there\u{7}"), "tab here");
    }

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_characters() {
        let short = fold("SUMMARY:short");
        assert_eq!(short, "SUMMARY:short\r\n");
        let long = format!("DESCRIPTION:{}", "é".repeat(100));
        let folded = fold(&long);
        for l in folded.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(l.len() <= 75, "{} octets: {l}", l.len());
        }
        assert!(folded.ends_with("\r\n"));
        // Unfolding (remove CRLF + one space) gives the line back.
        assert_eq!(folded.trim_end_matches("\r\n").replace("\r\n ", ""), long);
        assert_eq!(fold(&"x".repeat(75)).matches("\r\n").count(), 1, "75 octets fit");
        assert_eq!(fold(&"x".repeat(76)).matches("\r\n").count(), 2);
    }

    #[test]
    fn calendar_has_crlf_and_utc_times() {
        let e = Event {
            uid: "maintenance-1.page-2@statibeat".into(),
            title: "DB upgrade; phase 1, part 2".into(),
            description: "Line one\nLine two".into(),
            link: "https://acme.status.test/#maintenance-1".into(),
            starts_at: 1_796_040_000_000,
            ends_at: 1_796_043_600_000,
            updated: 1_796_040_000_000,
            cancelled: true,
        };
        let s = render("Acme", &[e]);
        assert!(s.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"), "{s}");
        assert!(!s.replace("\r\n", "").contains('\n'), "only CRLF line endings");
        assert!(s.contains("DTSTART:20261130T120000Z\r\n"), "{s}");
        assert!(s.contains("DTEND:20261130T130000Z\r\n"), "{s}");
        assert!(s.contains("SUMMARY:DB upgrade\\; phase 1\\, part 2\r\n"), "{s}");
        assert!(s.contains("DESCRIPTION:Line one\\nLine two\r\n"), "{s}");
        assert!(s.contains("STATUS:CANCELLED\r\n"), "{s}");
        assert!(s.ends_with("END:VCALENDAR\r\n"));
    }
}
