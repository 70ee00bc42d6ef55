//! Feeds as readers subscribe to them: RSS and Atom history and the maintenance calendar, with
//! what they must not show (internal incidents), conditional GET, the private-page gate, and
//! validation by real feed and calendar parsers (Python `feedparser` and `icalendar`).

use crate::both;
use crate::harness::*;
use crate::maintenances::{at, setup, Setup};
use axum::http::StatusCode;
use serde_json::json;
use statibeat::clock::MINUTE;
use std::process::Command;

pub const FEEDS: [(&str, &str); 3] = [
    ("/history.rss", "application/rss+xml; charset=utf-8"),
    ("/history.atom", "application/atom+xml; charset=utf-8"),
    ("/maintenances.ics", "text/calendar; charset=utf-8"),
];

const INCIDENT: &str = "Elevated API latency & \"timeouts\"";
const DONE: &str = "Database upgrade; phase 1, part 2";

/// A public incident with an update, an internal one, and three windows: completed, upcoming,
/// cancelled.
async fn history(s: &Setup) {
    let r = s
        .post(
            "incidents",
            json!({"title": INCIDENT, "description": "Investigating.", "status": "degraded",
                   "affected_items": [{"external_id": "api-gateway"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.json["id"].as_i64().unwrap();
    let r = s
        .post(
            &format!("incidents/{id}/updates"),
            json!({"message": "Fixed in <b>v2</b> & rolled out.", "stage": "identified"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = s
        .post(
            "incidents",
            json!({"title": "Internal canary drill", "description": "Secret.", "status": "major_outage",
                   "visibility": "internal", "affected_items_freetext": "canary"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    s.t.clock.advance(10 * MINUTE);
    let done = s
        .schedule(json!({"external_id": "db", "title": DONE, "description": "Primary, then replicas.\nExpect blips.",
                          "starts_at": at(120 * MINUTE), "ends_at": at(240 * MINUTE)}))
        .await;
    let done = done["id"].as_i64().unwrap();
    assert_eq!(s.post_empty(&format!("maintenances/{done}/start")).await.status, StatusCode::OK);
    s.t.clock.advance(10 * MINUTE);
    assert_eq!(s.post_empty(&format!("maintenances/{done}/complete")).await.status, StatusCode::OK);
    s.schedule(json!({"external_id": "net", "title": "Network maintenance",
                      "starts_at": at(24 * 60 * MINUTE), "ends_at": at(26 * 60 * MINUTE)}))
        .await;
    s.schedule(json!({"external_id": "gone", "title": "Cancelled window",
                      "starts_at": at(48 * 60 * MINUTE), "ends_at": at(49 * 60 * MINUTE)}))
        .await;
    assert_eq!(s.post_empty("maintenances/external/gone/cancel").await.status, StatusCode::OK);
}

async fn readers_follow_history_and_maintenance_feeds(engine: Engine) {
    let s = setup(engine).await;
    history(&s).await;
    let url = s.t.send(Req::get(&s.a.host, "/api/v1/pages/public/current-host")).await.json["url"]
        .as_str()
        .unwrap()
        .to_string();
    let mut bodies = Vec::new();
    for (path, content_type) in FEEDS {
        let r = s.t.send(Req::get(&s.a.host, path)).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        assert_eq!(r.header("content-type"), Some(content_type), "{path}");
        assert_eq!(r.header("cache-control"), Some("public, max-age=15, stale-while-revalidate=60"));
        assert!(!r.text.contains("Internal canary drill") && !r.text.contains("Secret."), "{path}: {}", r.text);
        // Conditional GET: the same body has the same ETag, and a match is a bodiless 304.
        let etag = r.header("etag").expect("an ETag").to_string();
        let again = s.t.send(Req::get(&s.a.host, path).header("if-none-match", &etag)).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{path}");
        assert!(again.text.is_empty());
        assert_eq!(again.header("etag"), Some(etag.as_str()));
        // The same feed through `/status/<prefix>/` links to the canonical host, not the request's.
        let via = s.t.send(Req::get(BASE, &format!("/status/{}{path}", s.a.prefix))).await;
        assert_eq!((via.status, via.text.as_str()), (StatusCode::OK, r.text.as_str()), "{path}");
        bodies.push(r.text);
    }
    let [rss, atom, ics] = [&bodies[0], &bodies[1], &bodies[2]];
    for xml in [rss, atom] {
        assert!(xml.contains("Elevated API latency &amp; &quot;timeouts&quot;"), "{xml}");
        assert!(xml.contains("Fixed in &lt;b&gt;v2&lt;/b&gt; &amp; rolled out."), "latest update, escaped: {xml}");
        assert!(xml.contains(&format!("Maintenance: {DONE}")), "{xml}");
        assert!(xml.contains(&format!("{url}/#incident-")), "{xml}");
        assert!(!xml.contains("Network maintenance") && !xml.contains("Cancelled window"), "history only: {xml}");
    }
    assert!(rss.contains("<guid isPermaLink=\"false\">statibeat:incident:"), "{rss}");
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\n") && ics.ends_with("END:VCALENDAR\r\n"));
    assert!(ics.contains("SUMMARY:Database upgrade\\; phase 1\\, part 2\r\n"), "{ics}");
    assert!(ics.contains("DTSTART:20261130T140000Z\r\n"), "{ics}");
    assert!(ics.contains("STATUS:CANCELLED\r\n"), "{ics}");
    assert_eq!(ics.matches("BEGIN:VEVENT").count(), 3);
    validate_with_real_parsers(rss, atom, ics, &url);

    // A new window changes the calendar (and its ETag) but not the history.
    let atom_tag = s.t.send(Req::get(&s.a.host, "/history.atom")).await.header("etag").unwrap().to_string();
    let ics_tag = s.t.send(Req::get(&s.a.host, "/maintenances.ics")).await.header("etag").unwrap().to_string();
    s.t.clock.advance(MINUTE);
    s.schedule(json!({"external_id": "later", "title": "Later", "starts_at": at(72 * 60 * MINUTE),
                      "ends_at": at(73 * 60 * MINUTE)}))
        .await;
    let r = s.t.send(Req::get(&s.a.host, "/maintenances.ics").header("if-none-match", &ics_tag)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains("SUMMARY:Later\r\n"));
    let r = s.t.send(Req::get(&s.a.host, "/history.atom").header("if-none-match", &atom_tag)).await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED, "the history did not change");
}
both!(readers_follow_history_and_maintenance_feeds);

async fn private_feeds_need_viewer_access(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let (host, cookie, _) = t.private_staff_page(&a).await;
    let other = t.page_token(&a, "admin", "page_admin").await;
    for (path, _) in FEEDS {
        let r = t.send(Req::get(&host, path)).await;
        assert_eq!((r.status, r.json["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("viewer_access_required")));
        let r = t.send(Req::get(&host, path).bearer(&other)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}: another page's token");
        let r = t.send(Req::get(BASE, &format!("/status/staff{path}"))).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path} via /status/");
        let r = t.send(Req::get(&host, path).header("cookie", &cookie)).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        assert_eq!(r.header("cache-control"), Some("private, no-store"), "{path}");
    }
}
both!(private_feeds_need_viewer_access);

async fn feeds_ignore_credentials_but_refuse_them_in_the_query(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let admin = t.page_token(&a, "admin", "page_admin").await;
    for (path, _) in FEEDS {
        for (what, req) in [
            ("anonymous", Req::get(&a.host, path)),
            ("api token", Req::get(&a.host, path).bearer(&admin)),
            ("unknown token", Req::get(&a.host, path).bearer("sbt_notarealtoken")),
            ("session", Req::get(&a.host, path).session(&a.admin_cookie)),
        ] {
            let r = t.send(req).await;
            assert_eq!(r.status, StatusCode::OK, "{path} as {what}: {}", r.text);
        }
        for q in [format!("access_token={admin}"), "token=x".to_string()] {
            let r = t.send(Req::get(&a.host, &format!("{path}?{q}"))).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}?{q}");
        }
        assert_eq!(
            t.send(Req::get(ADMIN, path)).await.status,
            StatusCode::NOT_FOUND,
            "{path} has no page on the admin host"
        );
    }
}
both!(feeds_ignore_credentials_but_refuse_them_in_the_query);

const VALIDATE: &str = r#"
import datetime, json, sys
import feedparser, icalendar
rss, atom, ics, expect = sys.argv[1:5]
exp = json.load(open(expect))
for path, version in ((rss, "rss20"), (atom, "atom10")):
    d = feedparser.parse(open(path, "rb").read())
    assert d.bozo == 0, (path, repr(d.get("bozo_exception")))
    assert d.version == version, (path, d.version)
    titles = [e.title for e in d.entries]
    assert titles == exp["history"], (version, titles)
    for e in d.entries:
        assert e.link.startswith(exp["link"] + "/#"), e.link
        assert e.id.startswith("statibeat:"), e.id
    assert d.entries[1].summary == exp["summary"], d.entries[1].summary
cal = icalendar.Calendar.from_ical(open(ics, "rb").read())
assert str(cal["VERSION"]) == "2.0" and str(cal["METHOD"]) == "PUBLISH"
events = cal.walk("VEVENT")
got = []
for e in events:
    start, end = e.decoded("DTSTART"), e.decoded("DTEND")
    assert start.utcoffset() == datetime.timedelta(0) and end.utcoffset() == datetime.timedelta(0), (start, end)
    got.append([str(e["SUMMARY"]), str(e["STATUS"]), start.strftime("%Y-%m-%dT%H:%MZ"), end.strftime("%Y-%m-%dT%H:%MZ")])
assert sorted(got) == sorted(exp["events"]), got
assert len({str(e["UID"]) for e in events}) == len(events)
print("feed parsers: OK")
"#;

/// The Python that runs the parsers: `python3`, or `STATIBEAT_TEST_PYTHON` (a Python without
/// them shows the suite's behaviour when they are missing).
fn python() -> String {
    std::env::var("STATIBEAT_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Whether Python can import `modules`. When it cannot, the calling test's parser check is
/// skipped and recorded as such (`crate::skips`), unless `STATIBEAT_REQUIRE_FEED_PARSERS=1` (CI)
/// makes that a failure.
fn parsers_available(modules: &str) -> bool {
    let import = format!("import {modules}");
    let available = Command::new(python()).args(["-c", import.as_str()]).output().is_ok_and(|o| o.status.success());
    if !available {
        if std::env::var("STATIBEAT_REQUIRE_FEED_PARSERS").is_ok_and(|v| v == "1") {
            panic!("STATIBEAT_REQUIRE_FEED_PARSERS=1 but {} cannot import {modules}", python());
        }
        crate::skips::skipped(
            crate::skips::FEED_PARSERS,
            "feed parsers not installed (pip install feedparser icalendar)",
        );
    }
    available
}

/// Parses the feeds with Python's `feedparser` and `icalendar` when they are installed.
fn validate_with_real_parsers(rss: &str, atom: &str, ics: &str, link: &str) {
    if !parsers_available("feedparser, icalendar") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("statibeat-feeds-{}-{}", std::process::id(), rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    let expect = json!({
        "history": [format!("Maintenance: {DONE}"), INCIDENT],
        "summary": "Fixed in <b>v2</b> & rolled out.",
        "link": link,
        "events": [
            [DONE, "CONFIRMED", "2026-11-30T14:00Z", "2026-11-30T16:00Z"],
            ["Network maintenance", "CONFIRMED", "2026-12-01T12:00Z", "2026-12-01T14:00Z"],
            ["Cancelled window", "CANCELLED", "2026-12-02T12:00Z", "2026-12-02T13:00Z"],
        ],
    });
    let files = [
        ("validate.py", VALIDATE.to_string()),
        ("feed.rss", rss.to_string()),
        ("feed.atom", atom.to_string()),
        ("feed.ics", ics.to_string()),
        ("expect.json", expect.to_string()),
    ];
    let paths: Vec<_> = files
        .iter()
        .map(|(name, body)| {
            let p = dir.join(name);
            std::fs::write(&p, body).unwrap();
            p
        })
        .collect();
    let out = Command::new(python()).args(&paths).output().expect("run python3");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "feed validation failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprint!("{}", String::from_utf8_lossy(&out.stdout));
}

/// Entry titles of an RSS 2.0 (`rss20`) or Atom (`atom10`) document as Python's `feedparser`
/// reads it (asserting it parses cleanly as that version); `None` when the parsers are not
/// installed (a failure under `STATIBEAT_REQUIRE_FEED_PARSERS=1`).
pub fn feedparser_titles(body: &str, version: &str) -> Option<Vec<String>> {
    if !parsers_available("feedparser") {
        return None;
    }
    const SCRIPT: &str = r#"
import json, sys
import feedparser
d = feedparser.parse(open(sys.argv[1], "rb").read())
assert d.bozo == 0, repr(d.get("bozo_exception"))
assert d.version == sys.argv[2], d.version
print(json.dumps([e.title for e in d.entries]))
"#;
    let dir = std::env::temp_dir().join(format!("statibeat-feed-{}-{}", std::process::id(), rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    let (script, doc) = (dir.join("parse.py"), dir.join("feed.xml"));
    std::fs::write(&script, SCRIPT).unwrap();
    std::fs::write(&doc, body).unwrap();
    let out = Command::new(python()).arg(&script).arg(&doc).arg(version).output().expect("run python3");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "feedparser refused the {version} feed:\n{}\n{body}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).expect("titles as JSON"))
}
