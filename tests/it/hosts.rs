//! Host resolution: normalisation and validation of Host headers, unknown hosts, the
//! `/status/<prefix>/` and numeric ways to reach a page, and trashed pages (with restore).

use crate::both;
use crate::harness::*;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use statibeat::clock::{DAY, MINUTE};

async fn readers_reach_a_page_whatever_the_spelling_of_its_host(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let plain = t.send(Req::get(&a.host, "/api/v1/settings")).await;
    assert_eq!(plain.status, StatusCode::OK, "{}", plain.text);
    assert_eq!(plain.json["url_prefix"], "acme");
    for host in ["ACME.Status.Test:8080", "acme.status.test.", "acme.status.test.:443", "Acme.STATUS.test:80"] {
        let r = t.send(Req::get(host, "/api/v1/settings")).await;
        assert_eq!(r.status, StatusCode::OK, "{host}: {}", r.text);
        assert_eq!(r.json, plain.json, "{host}");
        assert_eq!(r.header("etag"), plain.header("etag"), "{host}");
        let r = t.send(Req::get(host, "/api/v1/pages/public/current-host")).await;
        assert_eq!(r.json["id"], a.page_id, "{host}");
    }
}
both!(readers_reach_a_page_whatever_the_spelling_of_its_host);

async fn malformed_host_headers_are_refused(engine: Engine) {
    let t = TestApp::new(engine).await;
    let _a = t.tenant("acme").await;
    for host in [
        "a b",
        "acme.status.test:99999",
        "user@acme.status.test",
        "acme.status.test:",
        "acme.status.test:80:80",
        "acme_x.status.test",
        "acme.status.test/x",
        "acme..status.test",
        "",
    ] {
        let r = t.send(Req::get(host, "/api/v1/settings")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{host:?}: {}", r.text);
        assert_eq!(r.json["code"], "invalid_host", "{host:?}");
        assert!(r.json["error"].as_str().is_some_and(|e| !e.is_empty()), "{host:?}: {}", r.text);
    }
    // Two Host headers are ambiguous, even when they agree.
    for second in ["acme.status.test", "other.status.test"] {
        let r = t.send(Req::get("acme.status.test", "/api/v1/settings").header("host", second)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
        assert_eq!(r.json["code"], "invalid_host");
        assert!(r.json["error"].as_str().unwrap().contains("Host"));
    }
    // No Host at all.
    let mut r = Req::get("x", "/api/v1/settings");
    r.host = None;
    let r = t.send(r).await;
    assert_eq!((r.status, r.json["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_host")));
    // An absolute request target must agree with the Host header.
    let r = t.send(Req::get("acme.status.test", "http://other.status.test/api/v1/settings")).await;
    assert_eq!((r.status, r.json["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_host")));
    let r = t.send(Req::get("acme.status.test", "http://ACME.status.test/api/v1/settings")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}
both!(malformed_host_headers_are_refused);

async fn unknown_hosts_get_a_404_before_any_route(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let token = t.page_token(&a, "admin", "page_admin").await;
    for (host, path) in [
        ("nope.status.test", "/api/v1/settings"),
        ("nope.status.test", "/api/v1/context"),
        ("nope.status.test", "/api/v1/does-not-exist"),
        ("status.unknown-customer.com", "/api/v1/settings"),
        ("a.b.status.test", "/api/v1/settings"),
        ("xstatus.test", "/api/v1/settings"),
        // The bare base domain (not the admin host) only serves /status/<prefix>/...
        (BASE, "/api/v1/settings"),
    ] {
        let r = t.send(Req::get(host, path)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{host}{path}: {}", r.text);
        assert_eq!(r.json["error"], "unknown host", "{host}{path}");
        assert_eq!(r.json["code"], "unknown_host");
        assert!(r.header("content-type").unwrap().starts_with("application/json"));
    }
    // People get an HTML 404 page for the same hosts.
    for (host, path) in
        [("nope.status.test", "/"), ("nope.status.test", "/history.rss"), ("status.unknown-customer.com", "/")]
    {
        let r = t.send(Req::get(host, path)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{host}{path}");
        assert!(r.header("content-type").unwrap().starts_with("text/html"), "{host}{path}: {:?}", r.headers);
        assert!(r.text.contains("Not found"), "{}", r.text);
        assert!(!r.text.contains("nope"), "the host is not echoed");
    }
    // A valid token does not change that, and a write to an unknown host changes nothing.
    let r = t
        .send(
            Req::new(Method::PATCH, "nope.status.test", "/api/v1/admin/page-settings")
                .bearer(&token)
                .json(json!({"name": "x"})),
        )
        .await;
    assert_eq!((r.status, r.json["error"].as_str()), (StatusCode::NOT_FOUND, Some("unknown host")));
    let r = t.send(Req::get(&a.host, "/api/v1/admin/page-settings").bearer(&token)).await;
    assert_eq!(r.json["name"], "Page acme");
    // The host-free operations routes answer on any host.
    assert_eq!(t.send(Req::get("nope.status.test", "/healthz")).await.status, StatusCode::OK);
}
both!(unknown_hosts_get_a_404_before_any_route);

async fn status_paths_on_the_platform_hosts_serve_the_same_page(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let _b = t.tenant("beta").await;
    let on_host = t.send(Req::get(&a.host, "/api/v1/settings")).await;
    assert_eq!(on_host.status, StatusCode::OK);
    for host in [ADMIN, BASE] {
        let r = t.send(Req::get(host, "/status/acme/api/v1/settings")).await;
        assert_eq!(r.status, StatusCode::OK, "{host}: {}", r.text);
        assert_eq!(r.json, on_host.json, "{host}");
        assert_eq!(r.header("etag"), on_host.header("etag"));
        let r = t.send(Req::get(host, "/status/beta/api/v1/pages/public/current-host")).await;
        assert_eq!(r.json["url_prefix"], "beta", "{host}");
    }
    // The page's home page too.
    let r = t.send(Req::get(ADMIN, "/status/acme/")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains("Page acme"), "{}", r.text);
    // Unknown prefixes, and /status/ paths on a page's own host, are 404.
    let r = t.send(Req::get(ADMIN, "/status/nope/api/v1/settings")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = t.send(Req::get(&a.host, "/status/beta/api/v1/settings")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "a page host does not proxy other pages: {}", r.text);
    // Admin routes under /status/<prefix>/ are authorised for that page like on its host.
    let token = t.page_token(&a, "read", "page_viewer").await;
    let r = t.send(Req::get(ADMIN, "/status/acme/api/v1/context").bearer(&token)).await;
    assert_eq!((r.status, &r.json["page"]["id"]), (StatusCode::OK, &json!(a.page_id)));
    let r = t.send(Req::get(ADMIN, "/status/beta/api/v1/context").bearer(&token)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "a page token is only good for its page");
}
both!(status_paths_on_the_platform_hosts_serve_the_same_page);

async fn older_clients_use_numeric_routes_with_the_same_authorisation(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let b = t.tenant("beta").await;
    let token = t.page_token(&a, "write", "page_manager").await;
    let numeric = |org: i64, page: i64, rest: &str| format!("/api/v1/orgs/{org}/pages/{page}/{rest}");

    let native = t.send(Req::get(&a.host, "/api/v1/context").bearer(&token)).await;
    assert_eq!(native.status, StatusCode::OK);
    for host in [ADMIN, a.host.as_str()] {
        let r = t.send(Req::get(host, &numeric(a.org_id, a.page_id, "context")).bearer(&token)).await;
        assert_eq!(r.status, StatusCode::OK, "{host}: {}", r.text);
        assert_eq!(r.json, native.json, "{host}");
    }
    let r = t.send(Req::get(ADMIN, &numeric(a.org_id, a.page_id, "settings"))).await;
    assert_eq!(r.json, t.send(Req::get(&a.host, "/api/v1/settings")).await.json);
    // Writes behave identically too (permission ∩ role: a manager may not configure).
    let r = t
        .send(
            Req::new(Method::PATCH, ADMIN, &numeric(a.org_id, a.page_id, "admin/page-settings"))
                .bearer(&token)
                .json(json!({"name": "x"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    // The org in the path must own the page; otherwise the page does not exist.
    for path in [
        numeric(b.org_id, a.page_id, "context"),
        numeric(a.org_id, b.page_id, "context"),
        numeric(a.org_id, 999_999, "context"),
        numeric(999_999, a.page_id, "settings"),
        format!("/api/v1/orgs/x/pages/{}/context", a.page_id),
        format!("/api/v1/orgs/{}/pages/y/context", a.org_id),
    ] {
        let r = t.send(Req::get(ADMIN, &path).bearer(&token)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.text);
        assert!(r.json["error"].is_string(), "{path}");
    }
    // On a page host, a numeric path naming another org or page is 404, never a way across.
    let r = t.send(Req::get(&a.host, &numeric(b.org_id, b.page_id, "settings"))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // A page token of A used through B's numeric route is refused as on B's host.
    let r = t.send(Req::get(ADMIN, &numeric(b.org_id, b.page_id, "context")).bearer(&token)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // Numeric org routes: the org admin's own org works, another org is hidden.
    let r = t.send(Req::get(ADMIN, &format!("/api/v1/orgs/{}", a.org_id)).session(&a.admin_cookie)).await;
    assert_eq!((r.status, &r.json["id"]), (StatusCode::OK, &json!(a.org_id)));
    let r = t.send(Req::get(ADMIN, &format!("/api/v1/orgs/{}/pages", a.org_id)).session(&a.admin_cookie)).await;
    assert_eq!(r.json["data"][0]["id"], a.page_id);
    let r = t.send(Req::get(ADMIN, &format!("/api/v1/orgs/{}/pages", b.org_id)).session(&a.admin_cookie)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
}
both!(older_clients_use_numeric_routes_with_the_same_authorisation);

fn trash(id: i64, cookie: &str) -> Req {
    Req::new(Method::DELETE, ADMIN, &format!("/api/v1/org/pages/{id}")).session(cookie)
}

fn restore(id: i64, cookie: &str) -> Req {
    Req::post(ADMIN, &format!("/api/v1/org/pages/{id}/restore")).session(cookie)
}

async fn a_trashed_page_stops_answering_until_restored_within_seven_days(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let b = t.tenant("beta").await;
    let token = t.page_token(&a, "read", "page_viewer").await;

    let r = t.send(trash(a.page_id, &a.admin_cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["deleted_at"], "2026-11-30T12:00:00.000Z");
    assert_eq!(r.json["restore_until"], "2026-12-07T12:00:00.000Z");
    t.wait_for_audit("page.trashed").await;

    // Every way to the page is gone.
    let r = t.send(Req::get(&a.host, "/api/v1/settings")).await;
    assert_eq!((r.status, r.json["error"].as_str()), (StatusCode::NOT_FOUND, Some("unknown host")));
    let r = t.send(Req::get(&a.host, "/")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.header("content-type").unwrap().starts_with("text/html"), "{}", r.text);
    let r = t.send(Req::get(&a.host, "/api/v1/context").bearer(&token)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(t.send(Req::get(ADMIN, "/status/acme/api/v1/settings")).await.status, StatusCode::NOT_FOUND);
    let numeric = format!("/api/v1/orgs/{}/pages/{}/context", a.org_id, a.page_id);
    assert_eq!(t.send(Req::get(ADMIN, &numeric).bearer(&token)).await.status, StatusCode::NOT_FOUND);
    let r = t.send(Req::get(ADMIN, "/api/v1/org/pages").session(&a.admin_cookie)).await;
    assert_eq!(r.json["data"], json!([]), "live pages no longer list it");

    // The trash lists it with its restore deadline; other orgs do not see it.
    let r = t.send(Req::get(ADMIN, "/api/v1/org/pages/trash").session(&a.admin_cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let data = r.json["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["id"], a.page_id);
    assert_eq!(data[0]["url_prefix"], "acme");
    assert_eq!(data[0]["restore_until"], "2026-12-07T12:00:00.000Z");
    assert_eq!(r.json["next_cursor"], Value::Null);
    let r = t.send(Req::get(ADMIN, "/api/v1/org/pages/trash").session(&b.admin_cookie)).await;
    assert_eq!(r.json["data"], json!([]));
    // Another org cannot restore it, nor trash it twice.
    assert_eq!(t.send(restore(a.page_id, &b.admin_cookie)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.send(trash(a.page_id, &a.admin_cookie)).await.status, StatusCode::NOT_FOUND);

    // Restore brings everything back.
    let r = t.send(restore(a.page_id, &a.admin_cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["deleted_at"], Value::Null);
    let r = t.send(Req::get(&a.host, "/api/v1/settings")).await;
    assert_eq!((r.status, &r.json["url_prefix"]), (StatusCode::OK, &json!("acme")));
    assert_eq!(t.send(Req::get(&a.host, "/api/v1/context").bearer(&token)).await.status, StatusCode::OK);
    let r = t.send(Req::get(ADMIN, "/api/v1/org/pages/trash").session(&a.admin_cookie)).await;
    assert_eq!(r.json["data"], json!([]));
    // Restoring a live page is a 404 (there is nothing in the trash).
    assert_eq!(t.send(restore(a.page_id, &a.admin_cookie)).await.status, StatusCode::NOT_FOUND);

    // Trashed again: restorable until just before the seven days are up (the numeric route too).
    assert_eq!(t.send(trash(a.page_id, &a.admin_cookie)).await.status, StatusCode::OK);
    t.clock.advance(7 * DAY - MINUTE);
    let (cookie, _) = t.login(&a.admin_email, "correct horse battery").await;
    let r = t
        .send(Req::post(ADMIN, &format!("/api/v1/orgs/{}/pages/{}/restore", a.org_id, a.page_id)).session(&cookie))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(t.send(Req::get(&a.host, "/api/v1/settings")).await.status, StatusCode::OK);

    // After eight days in the trash it is gone for good.
    assert_eq!(t.send(trash(a.page_id, &cookie)).await.status, StatusCode::OK);
    t.clock.advance(8 * DAY);
    let (cookie, _) = t.login(&a.admin_email, "correct horse battery").await;
    let r = t.send(restore(a.page_id, &cookie)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert!(r.json["error"].is_string());
    let r = t.send(Req::get(&a.host, "/api/v1/settings")).await;
    assert_eq!((r.status, r.json["error"].as_str()), (StatusCode::NOT_FOUND, Some("unknown host")));
    // The other tenant was never affected.
    assert_eq!(t.send(Req::get(&b.host, "/api/v1/settings")).await.status, StatusCode::OK);
}
both!(a_trashed_page_stops_answering_until_restored_within_seven_days);

async fn only_org_admins_trash_and_restore_pages(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let (member, _) = t.member(a.org_id, Some((a.page_id, "page_admin")), "org_member").await;
    let r = t.send(trash(a.page_id, &member)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(t.send(Req::get(&a.host, "/api/v1/settings")).await.status, StatusCode::OK);
    assert_eq!(t.send(trash(a.page_id, &a.admin_cookie)).await.status, StatusCode::OK);
    assert_eq!(t.send(restore(a.page_id, &member)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(t.send(Req::get(&a.host, "/api/v1/settings")).await.status, StatusCode::NOT_FOUND);
}
both!(only_org_admins_trash_and_restore_pages);
