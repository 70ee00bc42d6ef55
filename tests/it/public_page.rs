//! The public status page as a reader's browser receives it: the sections in the order of the
//! page's settings, times in the page's zone, escaped text, and its fingerprinted stylesheet.

use crate::both;
use crate::harness::*;
use crate::status_model::components;
use axum::http::{Method, StatusCode};
use serde_json::json;
use statibeat::clock::{rfc3339, HOUR};
use statibeat::service::credentials::tokens::TokenScope;

both!(the_home_page_shows_incidents_maintenance_and_components_in_the_pages_zone);
both!(the_home_page_follows_the_section_order_of_its_settings);
both!(the_stylesheet_is_served_under_its_fingerprint_only);
both!(an_incident_has_its_own_page_with_its_timeline_and_published_report);
both!(each_component_has_a_90_day_bar_with_no_data_before_it_existed);

async fn the_home_page_shows_incidents_maintenance_and_components_in_the_pages_zone(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let admin = components(&t, &a).await;
    let settings = json!({"title": "Acme status", "subtitle": "Payments & APIs", "time_zone": "Europe/Berlin"});
    let r = t.send(Req::new(Method::PUT, &a.host, "/api/v1/admin/site-settings").bearer(&admin).json(settings)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let incident = json!({"title": "Checkout <script>alert(1)</script> fails", "status": "major_outage",
        "affected_items": [{"external_id": "api-gateway"}], "notify": false});
    let r = t.send(Req::post(&a.host, "/api/v1/admin/incidents").bearer(&admin).json(incident)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let update = json!({"message": "We are looking into it.", "notify": false});
    let path = format!("/api/v1/admin/incidents/{}/updates", r.json["id"]);
    let r = t.send(Req::post(&a.host, &path).bearer(&admin).json(update)).await;
    assert!(r.status.is_success(), "{}", r.text);
    // A window starting in an hour, scheduled in another zone: the page shows it in its own.
    let starts = t.app.now() + HOUR;
    let window = json!({"title": "Database upgrade", "affected_items": [{"external_id": "web"}],
        "starts_at": rfc3339(starts), "ends_at": rfc3339(starts + 2 * HOUR), "time_zone": "America/New_York"});
    let r = t.send(Req::post(&a.host, "/api/v1/admin/maintenances").bearer(&admin).json(window)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    let r = t.send(Req::get(&a.host, "/")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let html = &r.text;
    for shown in [
        "<title>Acme status</title>",
        "Payments &#38; APIs",
        "Active incidents",
        "Checkout &#60;script&#62;alert(1)&#60;/script&#62; fails",
        "We are looking into it.",
        "affects API Gateway",
        "Maintenance",
        "Database upgrade",
        "Scheduled",
        "affects Website",
        "Components",
        "Platform",
        "Times are shown in Europe/Berlin",
        "rel=\"alternate\" type=\"application/atom+xml\"",
    ] {
        assert!(html.contains(shown), "{shown:?} missing:\n{html}");
    }
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(!html.contains("All systems operational"), "{html}");
    // The window's start in Berlin time (CET in winter), with the instant for machines.
    let berlin = statibeat::domain::maintenance::Zone::parse("Europe/Berlin").unwrap().human(starts);
    assert!(berlin.ends_with("CET"), "{berlin}");
    assert!(html.contains(&format!("<time datetime=\"{}\">{berlin}</time>", rfc3339(starts))), "{html}");
    // The component under an incident says so in words, not only in colour.
    assert!(html.contains("<span class=\"name\">API Gateway</span> <span class=\"status i-major\">"), "{html}");
    // A private page's gate says nothing of the page: not its name, zone or language.
    let r = t
        .send(Req::post(ADMIN, "/api/v1/org/pages").session(&a.admin_cookie).json(json!({
            "name": "Secret staff page", "url_prefix": "staff", "visibility": "private", "viewer_password": "let me in please",
        })))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let staff = format!("staff.{BASE}");
    let scope = TokenScope::Page { org_id: a.org_id, page_id: r.json["id"].as_i64().unwrap() };
    let admin_staff = t.token(scope, "admin", "page_admin", None).await;
    let settings = json!({"time_zone": "Asia/Tokyo", "locale": "ja"});
    let r =
        t.send(Req::new(Method::PUT, &staff, "/api/v1/admin/site-settings").bearer(&admin_staff).json(settings)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let gate = t.send(Req::get(&staff, "/")).await;
    assert_eq!(gate.status, StatusCode::UNAUTHORIZED);
    for hidden in ["Secret staff page", "Asia/Tokyo", "lang=\"ja\"", "name=\"password\""] {
        assert!(!gate.text.contains(hidden), "{hidden:?} on the gate:\n{}", gate.text);
    }
    assert!(gate.text.contains("method=\"post\""), "{}", gate.text);
    // Under the platform host the links stay under the page's path.
    let r = t.send(Req::get(BASE, "/status/acme/")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("href=\"/status/acme/history.atom\""), "{}", r.text);
    assert!(r.text.contains("href=\"/status/acme/assets/site."), "{}", r.text);
}

async fn the_home_page_follows_the_section_order_of_its_settings(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let admin = components(&t, &a).await;
    let r = t.send(Req::get(&a.host, "/")).await;
    let (banner, tree) = (r.text.find("All systems operational"), r.text.find("id=\"h-components\""));
    assert!(banner.is_some() && tree.is_some() && banner < tree, "{}", r.text);
    // A section named twice shows once, where it is first named (ids stay unique).
    let settings = json!({"homepage_sections": ["components", "banner", "components"]});
    let r = t.send(Req::new(Method::PUT, &a.host, "/api/v1/admin/site-settings").bearer(&admin).json(settings)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = t.send(Req::get(&a.host, "/")).await;
    let (banner, tree) = (r.text.find("All systems operational"), r.text.find("id=\"h-components\""));
    assert!(banner.is_some() && tree.is_some() && tree < banner, "{}", r.text);
    assert_eq!(r.text.matches("id=\"h-components\"").count(), 1, "{}", r.text);
}

async fn the_stylesheet_is_served_under_its_fingerprint_only(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let r = t.send(Req::get(&a.host, "/")).await;
    let start = r.text.find("href=\"/assets/site.").expect("a stylesheet link") + "href=\"".len();
    let path = &r.text[start..start + r.text[start..].find('"').unwrap()];
    let css = t.send(Req::get(&a.host, path)).await;
    assert_eq!(css.status, StatusCode::OK, "{}", css.text);
    assert_eq!(css.headers.get("content-type").unwrap(), "text/css");
    assert_eq!(css.headers.get("cache-control").unwrap(), "public, max-age=31536000, immutable");
    assert!(css.text.contains("prefers-color-scheme:dark"), "{}", css.text);
    // The name is the content's digest: another name is not this file.
    let stale = t.send(Req::get(&a.host, "/assets/site.0000000000000000.css")).await;
    assert_eq!(stale.status, StatusCode::NOT_FOUND);
}

async fn an_incident_has_its_own_page_with_its_timeline_and_published_report(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let admin = components(&t, &a).await;
    let (id, internal) =
        (open_incident(&t, &a.host, &admin, "public").await, open_incident(&t, &a.host, &admin, "internal").await);
    let post = |path: String, body: serde_json::Value| t.send(Req::post(&a.host, &path).bearer(&admin).json(body));
    let r = post(
        format!("/api/v1/admin/incidents/{id}/updates"),
        json!({"message": "A fix is rolling out.", "notify": false}),
    )
    .await;
    assert!(r.status.is_success(), "{}", r.text);
    let r = t.send(Req::get(&a.host, &format!("/incidents/{id}"))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Both updates are at the stage "investigating": the last one on the page is the oldest.
    let (newer, older) = (r.text.find("A fix is rolling out."), r.text.rfind("<strong>investigating</strong>"));
    assert!(newer.is_some() && older.is_some() && newer < older, "newest first:\n{}", r.text);
    assert!(r.text.contains("Affected: API Gateway") && !r.text.contains("Post-incident report"), "{}", r.text);
    assert!(r.text.contains("<p>Card payments fail.</p>") && !r.text.contains("Resolved:"), "{}", r.text);
    // Resolved with a published report: the report shows, paragraph by paragraph.
    let r = post(format!("/api/v1/admin/incidents/{id}/resolve"), json!({"resolution_message": "Fixed."})).await;
    assert!(r.status.is_success(), "{}", r.text);
    // A draft report on a resolved incident stays off the page until it is published.
    let draft = json!({"body": "Draft: still writing."});
    let r = t
        .send(
            Req::new(Method::PUT, &a.host, &format!("/api/v1/admin/incidents/{id}/report")).bearer(&admin).json(draft),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    let r = t.send(Req::get(&a.host, &format!("/incidents/{id}"))).await;
    assert!(!r.text.contains("Draft: still writing") && !r.text.contains("Post-incident report"), "{}", r.text);
    assert!(r.text.contains("<strong>Resolved:</strong> Fixed."), "{}", r.text);
    let report = json!({"body": "A bad deploy.\n\nWe added a canary."});
    let r = t
        .send(
            Req::new(Method::PUT, &a.host, &format!("/api/v1/admin/incidents/{id}/report")).bearer(&admin).json(report),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    let r = post(format!("/api/v1/admin/incidents/{id}/report/publish"), json!({})).await;
    assert!(r.status.is_success(), "{}", r.text);
    let r = t.send(Req::get(&a.host, &format!("/incidents/{id}"))).await;
    assert!(
        r.text.contains("Post-incident report")
            && r.text.contains("<p>A bad deploy.</p>")
            && r.text.contains("<p>We added a canary.</p>"),
        "{}",
        r.text
    );
    assert!(r.text.contains("resolved <time"), "{}", r.text);
    // An internal incident, an unknown id and a word are the same 404 page, in the page's layout.
    for path in [format!("/incidents/{internal}"), "/incidents/999999".to_string(), "/incidents/abc".to_string()] {
        let r = t.send(Req::get(&a.host, &path)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert!(r.text.contains("There is no such incident") && r.text.contains("<title>Not found"), "{}", r.text);
        assert!(!r.text.contains("Internal outage"), "{}", r.text);
    }
}

async fn open_incident(t: &TestApp, host: &str, admin: &str, visibility: &str) -> i64 {
    let title = if visibility == "public" { "Checkout fails" } else { "Internal outage" };
    let body = json!({"title": title, "status": "major_outage", "visibility": visibility, "description": "Card payments fail.",
        "affected_items": [{"external_id": "api-gateway"}], "notify": false});
    let r = t.send(Req::post(host, "/api/v1/admin/incidents").bearer(admin).json(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.json["id"].as_i64().unwrap()
}

/// Every page type the server renders passes the Nu Html Checker with no error: the home page
/// with an incident and a window, an incident page, the 404 page and a private page's gate.
#[tokio::test]
async fn the_pages_pass_the_nu_html_checker() {
    let Some(jar) = vnu_jar() else { return };
    let t = TestApp::new(Engine::Sqlite).await;
    let a = t.tenant("acme").await;
    let admin = components(&t, &a).await;
    let id = open_incident(&t, &a.host, &admin, "public").await;
    let starts = t.app.now() + HOUR;
    let window = json!({"title": "Database upgrade", "affected_items": [{"external_id": "web"}],
        "starts_at": rfc3339(starts), "ends_at": rfc3339(starts + HOUR), "time_zone": "UTC"});
    let r = t.send(Req::post(&a.host, "/api/v1/admin/maintenances").bearer(&admin).json(window)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = t
        .send(Req::post(ADMIN, "/api/v1/org/pages").session(&a.admin_cookie).json(json!({
            "name": "Staff", "url_prefix": "staff", "visibility": "private", "viewer_password": "let me in please",
        })))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let dir = std::env::temp_dir().join(format!("statibeat-vnu-{}-{}", std::process::id(), rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = Vec::new();
    for (name, host, path) in [
        ("home", a.host.clone(), "/".to_string()),
        ("incident", a.host.clone(), format!("/incidents/{id}")),
        ("not-found", a.host.clone(), "/incidents/999999".to_string()),
        ("gate", format!("staff.{BASE}"), "/".to_string()),
    ] {
        let r = t.send(Req::get(&host, &path)).await;
        assert!(r.text.starts_with("<!doctype html>"), "{name}: {}", r.text);
        let file = dir.join(format!("{name}.html"));
        std::fs::write(&file, &r.text).unwrap();
        files.push(file);
    }
    let out = std::process::Command::new("java").arg("-jar").arg(&jar).arg("--errors-only").args(&files).output();
    let _ = std::fs::remove_dir_all(&dir);
    let out = out.expect("run java");
    assert!(out.status.success(), "the Nu Html Checker found errors:\n{}", String::from_utf8_lossy(&out.stderr));
}

/// The checker's jar: `STATIBEAT_TEST_VNU`, or where `npm install -g vnu-jar` puts it. Without
/// it (or without `java`) the check is skipped and recorded (`crate::skips`), unless
/// `STATIBEAT_REQUIRE_HTML_CHECKER=1` (CI) makes that a failure.
fn vnu_jar() -> Option<std::path::PathBuf> {
    let npm_root = std::process::Command::new("npm").args(["root", "-g"]).output().ok();
    let candidates = std::env::var("STATIBEAT_TEST_VNU")
        .ok()
        .into_iter()
        .chain(npm_root.map(|o| format!("{}/vnu-jar/build/dist/vnu.jar", String::from_utf8_lossy(&o.stdout).trim())));
    let java = std::process::Command::new("java").arg("-version").output().is_ok_and(|o| o.status.success());
    let found = candidates.map(std::path::PathBuf::from).find(|p| p.is_file()).filter(|_| java);
    if found.is_none() {
        if std::env::var("STATIBEAT_REQUIRE_HTML_CHECKER").is_ok_and(|v| v == "1") {
            panic!("STATIBEAT_REQUIRE_HTML_CHECKER=1 but java or vnu.jar (npm install -g vnu-jar) is missing");
        }
        crate::skips::skipped(crate::skips::HTML_CHECKER, "HTML checker not installed (java, npm install -g vnu-jar)");
    }
    found
}

/// One segment a day, coloured by the day's worst impact; the days before the component existed
/// are "no data", not 100 %, and the percentage counts only the days it existed.
async fn each_component_has_a_90_day_bar_with_no_data_before_it_existed(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let admin = components(&t, &a).await;
    open_incident(&t, &a.host, &admin, "public").await;
    // Degraded performance counts as up, but it still marks the day.
    let body = json!({"title": "Slow logins", "status": "degraded", "affected_items": [{"external_id": "auth"}], "notify": false});
    let r = t.send(Req::post(&a.host, "/api/v1/admin/incidents").bearer(&admin).json(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    t.clock.advance(HOUR);
    let r = t.send(Req::get(&a.host, "/")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let bar_of = |name: &str| {
        let start = r.text.find(&format!("aria-label=\"{name}: uptime over the last 90 days\"")).expect(name);
        let end = start + r.text[start..].find("</ol>").unwrap();
        r.text[start..end].to_string()
    };
    let (gateway, web) = (bar_of("API Gateway"), bar_of("Website"));
    for bar in [&gateway, &web] {
        assert_eq!(bar.matches("<li tabindex=\"0\"").count(), 90, "{bar}");
        assert_eq!(bar.matches("class=\"d-none\"").count(), 89, "{bar}");
        assert!(bar.contains(": no data"), "{bar}");
    }
    assert!(gateway.ends_with("uptime, outage</span></li>"), "today is an outage: {gateway}");
    assert!(web.contains("class=\"d-ok\"") && web.ends_with("100% uptime</span></li>"), "{web}");
    let auth = bar_of("Auth");
    assert!(auth.contains("class=\"d-minor\"") && auth.ends_with("100% uptime, degraded</span></li>"), "{auth}");
    assert!(r.text.contains("<span>100% uptime</span>"), "the website's 90 days: {}", r.text);
    // Hidden from the page's sections, the bars go.
    let settings = json!({"homepage_sections": ["banner", "components"]});
    let r = t.send(Req::new(Method::PUT, &a.host, "/api/v1/admin/site-settings").bearer(&admin).json(settings)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = t.send(Req::get(&a.host, "/")).await;
    assert!(r.text.contains("id=\"h-components\"") && !r.text.contains("class=\"bar\""), "{}", r.text);
}
