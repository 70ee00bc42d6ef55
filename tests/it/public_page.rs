//! The public status page as a reader's browser receives it: the sections in the order of the
//! page's settings, times in the page's zone, escaped text, and its fingerprinted stylesheet.

use crate::both;
use crate::harness::*;
use crate::status_model::components;
use axum::http::{Method, StatusCode};
use serde_json::json;
use statibeat::clock::{rfc3339, HOUR};

both!(the_home_page_shows_incidents_maintenance_and_components_in_the_pages_zone);
both!(the_home_page_follows_the_section_order_of_its_settings);
both!(the_stylesheet_is_served_under_its_fingerprint_only);

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
    let settings = json!({"homepage_sections": ["components", "banner"]});
    let r = t.send(Req::new(Method::PUT, &a.host, "/api/v1/admin/site-settings").bearer(&admin).json(settings)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = t.send(Req::get(&a.host, "/")).await;
    let (banner, tree) = (r.text.find("All systems operational"), r.text.find("id=\"h-components\""));
    assert!(banner.is_some() && tree.is_some() && tree < banner, "{}", r.text);
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
