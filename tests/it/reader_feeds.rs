//! Readers' own feeds: created and managed in the manage workspace with a magic session, served
//! at `/feeds/{short_code}/feed.atom|rss` (public pages) and `/feeds/sbf_…/…` (capabilities for
//! private pages), scoped like notifications, administered under `/api/v1/admin/feeds`.

use crate::both;
use crate::feeds::feedparser_titles;
use crate::harness::*;
use crate::maintenances::{at, setup, Setup};
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use statibeat::auth::token::TokenKind;
use statibeat::clock::{DAY, MINUTE};

/// The reader routes of this module; the auth matrix counts them as covered by the credential
/// cases below.
pub const READER_ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/v1/manage/feeds"),
    ("POST", "/api/v1/manage/feeds"),
    ("GET", "/api/v1/manage/feeds/{id}"),
    ("PATCH", "/api/v1/manage/feeds/{id}"),
    ("DELETE", "/api/v1/manage/feeds/{id}"),
    ("POST", "/api/v1/manage/feeds/{id}/reset"),
    ("POST", "/api/v1/manage/feeds/{id}/managers"),
    ("DELETE", "/api/v1/manage/feeds/{id}/managers/{email}"),
    ("GET", "/feeds/{code}/feed.atom"),
    ("GET", "/feeds/{code}/feed.rss"),
];

/// A magic session for `email` on the page at `host` (subscribing first when `subscribe`, else
/// asking for a management link, which only owners and co-managers of something get).
async fn session(t: &TestApp, host: &str, email: &str, subscribe: bool, cookie: Option<&str>) -> String {
    let path = if subscribe { "/api/v1/subscribers" } else { "/api/v1/subscribers/access" };
    let mut req = Req::post(host, path).json(json!({"email": email}));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    assert_eq!(t.send(req).await.status, StatusCode::ACCEPTED);
    let link = crate::subscribers::link_token(t, email, host).await;
    let r = t.send(Req::post(host, "/api/v1/manage/session").header("x-magic-token", &link)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json["token"].as_str().unwrap().to_string()
}

fn manage(method: Method, host: &str, path: &str, token: &str) -> Req {
    Req::new(method, host, &format!("/api/v1/manage/feeds{path}")).header("x-magic-token", token)
}

fn path_of(url: &str) -> String {
    let rest = url.split("://").nth(1).unwrap();
    rest[rest.find('/').unwrap()..].to_string()
}

async fn incident(s: &Setup, title: &str, item: Option<&str>) {
    let mut body = json!({"title": title, "description": "Looking.", "status": "degraded", "notify": false});
    if let Some(item) = item {
        body["affected_items"] = json!([{"external_id": item}]);
    }
    let r = s.post("incidents", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    s.t.clock.advance(MINUTE);
}

/// Incidents on auth, its parent platform, the sibling api-gateway, the unrelated web, and the
/// whole page; a completed window on auth. Oldest first.
async fn history(s: &Setup) {
    incident(s, "Auth is slow", Some("auth")).await;
    incident(s, "Platform outage", Some("platform")).await;
    incident(s, "Gateway errors", Some("api-gateway")).await;
    incident(s, "Website down", Some("web")).await;
    incident(s, "Everything is odd", None).await;
    let m = s
        .schedule(json!({"title": "Auth upgrade", "affected_items": [{"external_id": "auth"}],
                         "starts_at": at(60 * MINUTE), "ends_at": at(120 * MINUTE)}))
        .await;
    let id = m["id"].as_i64().unwrap();
    assert_eq!(s.post_empty(&format!("maintenances/{id}/start")).await.status, StatusCode::OK);
    s.t.clock.advance(MINUTE);
}

fn titles(xml: &str) -> Vec<String> {
    let tag = if xml.contains("<feed") { "<title type=\"text\">" } else { "<item>\n<title>" };
    xml.split(tag).skip(1).map(|s| s.split('<').next().unwrap().replace("&amp;", "&")).collect()
}

async fn readers_create_scoped_feeds_that_real_parsers_read(engine: Engine) {
    let s = setup(engine).await;
    history(&s).await;
    let host = s.a.host.clone();
    let me = session(&s.t, &host, "reader@example.org", true, None).await;
    let r =
        s.t.send(manage(Method::POST, &host, "", &me).json(json!({
            "name": "Auth incidents", "components": ["auth"], "content_types": ["incidents"]})))
            .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let feed = r.json.clone();
    assert_eq!((feed["role"].as_str(), feed["max_items"].as_i64()), (Some("owner"), Some(50)));
    assert_eq!(feed["components"], json!(["auth"]));
    assert!(feed.get("capability").is_none() && feed["has_capability"] == false, "public page: {feed}");
    let id = feed["id"].as_i64().unwrap();
    let atom_path = path_of(feed["urls"]["atom"].as_str().unwrap());
    let rss_path = path_of(feed["urls"]["rss"].as_str().unwrap());
    assert_eq!(atom_path, format!("/feeds/{}/feed.atom", feed["short_code"].as_str().unwrap()));

    // Scope: the item, its ancestor, the whole page; never the sibling, another tree, or a window.
    let want = ["Everything is odd", "Platform outage", "Auth is slow"];
    let atom = s.t.send(Req::get(&host, &atom_path)).await;
    assert_eq!(atom.status, StatusCode::OK, "{}", atom.text);
    assert_eq!(atom.header("content-type"), Some("application/atom+xml; charset=utf-8"));
    assert_eq!(atom.header("cache-control"), Some("public, max-age=15, stale-while-revalidate=60"));
    assert_eq!(titles(&atom.text), want, "{}", atom.text);
    assert!(atom.text.contains(&format!("href=\"http://{host}{atom_path}\"")), "self link: {}", atom.text);
    let rss = s.t.send(Req::get(&host, &rss_path)).await;
    assert_eq!(rss.header("content-type"), Some("application/rss+xml; charset=utf-8"));
    assert_eq!(titles(&rss.text), want, "{}", rss.text);
    for (body, version) in [(&atom.text, "atom10"), (&rss.text, "rss20")] {
        if let Some(parsed) = feedparser_titles(body, version) {
            assert_eq!(parsed, want, "{version}");
        }
    }
    // Conditional GET; and the same feed through /status/<prefix>/.
    let etag = atom.header("etag").unwrap().to_string();
    let again = s.t.send(Req::get(&host, &atom_path).header("if-none-match", &etag)).await;
    assert_eq!((again.status, again.text.as_str()), (StatusCode::NOT_MODIFIED, ""));
    let via = s.t.send(Req::get(BASE, &format!("/status/{}{atom_path}", s.a.prefix))).await;
    assert_eq!((via.status, via.text.as_str()), (StatusCode::OK, atom.text.as_str()));

    // Changing the feed changes what it carries.
    let patch = |body: Value| manage(Method::PATCH, &host, &format!("/{id}"), &me).json(body);
    let r = s.t.send(patch(json!({"max_items": 1}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(titles(&s.t.send(Req::get(&host, &atom_path)).await.text), ["Everything is odd"]);
    let r = s.t.send(patch(json!({"max_items": 10, "content_types": ["maintenances"]}))).await;
    assert_eq!(r.json["content_types"], json!(["maintenances"]));
    assert_eq!(titles(&s.t.send(Req::get(&host, &atom_path)).await.text), ["Maintenance: Auth upgrade"]);
    let r = s.t.send(patch(json!({"components": [], "content_types": ["incidents", "maintenances"]}))).await;
    assert_eq!(r.json["components"], Value::Null, "an empty scope is the whole page");
    assert_eq!(titles(&s.t.send(Req::get(&host, &atom_path)).await.text).len(), 6);
    // Max age counts from an entry's last update.
    s.t.clock.advance(2 * DAY);
    incident(&s, "Fresh trouble", Some("web")).await;
    // The session went idle meanwhile; a new link gives a new one.
    let me = session(&s.t, &host, "reader@example.org", true, None).await;
    let patch = |body: Value| manage(Method::PATCH, &host, &format!("/{id}"), &me).json(body);
    let r = s.t.send(patch(json!({"max_age_days": 1}))).await;
    assert_eq!(r.json["max_age_days"], 1, "{}", r.text);
    assert_eq!(titles(&s.t.send(Req::get(&host, &atom_path)).await.text), ["Fresh trouble"]);
    let r = s.t.send(patch(json!({"max_age_days": null}))).await;
    assert_eq!(r.json["max_age_days"], Value::Null);
    assert_eq!(titles(&s.t.send(Req::get(&host, &atom_path)).await.text).len(), 7);

    // Bad input is a 400 naming the field, and changes nothing.
    for (body, field) in [
        (json!({"max_items": 0}), "max_items"),
        (json!({"max_items": 201}), "max_items"),
        (json!({"max_age_days": 0}), "max_age_days"),
        (json!({"content_types": []}), "content_types"),
        (json!({"content_types": ["beats"]}), "content_types"),
        (json!({"components": ["nope"]}), "components[0]"),
        (json!({"format": "json"}), "format"),
        (json!({"name": " "}), "name"),
        (json!({"colour": "red"}), "colour"),
    ] {
        let r = s.t.send(patch(body.clone())).await;
        assert_eq!((r.status, r.json["field"].as_str()), (StatusCode::BAD_REQUEST, Some(field)), "{body}: {}", r.text);
    }
    let r = s.t.send(manage(Method::POST, &host, "", &me).json(json!({"content_types": ["incidents"]}))).await;
    assert_eq!((r.status, r.json["field"].as_str()), (StatusCode::BAD_REQUEST, Some("name")));
    let r = s.t.send(manage(Method::POST, &host, "", &me).json(json!({"name": "x", "owner": "a@b.c"}))).await;
    assert_eq!((r.status, r.json["field"].as_str()), (StatusCode::BAD_REQUEST, Some("owner")));
    let r = s.t.send(manage(Method::GET, &host, "", &me)).await;
    assert_eq!(r.json["data"].as_array().unwrap().len(), 1);
    assert_eq!(r.json["data"][0]["max_items"], 10);

    // Unknown short codes are 404; deleting the feed takes its address away.
    assert_eq!(s.t.send(Req::get(&host, "/feeds/nosuchcode/feed.atom")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(s.t.send(manage(Method::DELETE, &host, &format!("/{id}"), &me)).await.status, StatusCode::NO_CONTENT);
    assert_eq!(s.t.send(Req::get(&host, &atom_path)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(s.t.send(manage(Method::GET, &host, &format!("/{id}"), &me)).await.status, StatusCode::NOT_FOUND);
    let actions = s.t.audit_actions().await;
    for a in ["reader_feed.created", "reader_feed.updated", "reader_feed.deleted"] {
        assert!(actions.iter().any(|x| x == a), "{a}: {actions:?}");
    }
}
both!(readers_create_scoped_feeds_that_real_parsers_read);

async fn private_pages_feeds_open_with_a_capability_that_can_be_reset(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let (host, cookie, _) = t.private_staff_page(&a).await;
    let me = session(&t, &host, "staff@example.org", true, Some(&cookie)).await;
    let r = t.send(manage(Method::POST, &host, "", &me).json(json!({"name": "Everything", "format": "rss"}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.json["id"].as_i64().unwrap();
    let cap = r.json["capability"].as_str().unwrap().to_string();
    assert!(cap.starts_with("sbf_") && r.json["has_capability"] == true);
    let cap_rss = path_of(r.json["capability_urls"]["rss"].as_str().unwrap());
    assert_eq!(cap_rss, format!("/feeds/{cap}/feed.rss"));
    assert!(r.json["url"].as_str().unwrap().ends_with("/feed.rss"), "the chosen format");
    let code_path = path_of(r.json["urls"]["atom"].as_str().unwrap());
    // The capability alone opens the feed; it is never stored in clear or shown again.
    let feed = t.send(Req::get(&host, &cap_rss)).await;
    assert_eq!(feed.status, StatusCode::OK, "{}", feed.text);
    assert_eq!(feed.header("cache-control"), Some("private, no-store"));
    assert!(feed.text.contains("<rss version=\"2.0\""));
    assert_eq!(t.send(Req::get(&host, &cap_rss.replace(".rss", ".atom"))).await.status, StatusCode::OK);
    let r = t.send(manage(Method::GET, &host, &format!("/{id}"), &me)).await;
    assert!(!r.text.contains(&cap), "shown once: {}", r.text);
    assert_eq!(
        t.count(&format!("reader_feeds WHERE capability_hash LIKE '%{}%'", &cap[4..12])).await,
        0,
        "only its hash is stored"
    );
    // The short code is gated like every public read of a private page.
    let r = t.send(Req::get(&host, &code_path)).await;
    assert_eq!((r.status, r.json["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("viewer_access_required")));
    assert_eq!(t.send(Req::get(&host, &code_path).header("cookie", &cookie)).await.status, StatusCode::OK);

    // Reset: the old path is gone at once, the new one works.
    let r = t.send(manage(Method::POST, &host, &format!("/{id}/reset"), &me)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let fresh = r.json["capability"].as_str().unwrap().to_string();
    assert_ne!(fresh, cap);
    assert_eq!(t.send(Req::get(&host, &cap_rss)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.send(Req::get(&host, &format!("/feeds/{fresh}/feed.rss"))).await.status, StatusCode::OK);
    // Refused capabilities are 404s, audited like any refused credential: another page's host,
    // unknown, malformed, another kind.
    let unknown = t.app.new_token(TokenKind::Feed);
    let other_kind = t.app.new_token(TokenKind::Unsubscribe);
    for (what, h, p) in [
        ("another page's host", a.host.clone(), format!("/feeds/{fresh}/feed.atom")),
        ("unknown", host.clone(), format!("/feeds/{}/feed.atom", unknown.expose())),
        ("malformed", host.clone(), "/feeds/sbf_nope/feed.atom".to_string()),
        ("another kind", host.clone(), format!("/feeds/{}/feed.atom", other_kind.expose())),
    ] {
        let r = t.send(Req::get(&h, &p)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{what}: {}", r.text);
    }
    t.wait_for_audit_count("auth.failed", 5).await;
    let actions = t.audit_actions().await;
    assert!(actions.iter().any(|x| x == "reader_feed.capability_reset"), "{actions:?}");
    // A capability in the query string is refused outright, whatever the name.
    let r = t.send(Req::get(&host, &format!("{code_path}?note={fresh}"))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}
both!(private_pages_feeds_open_with_a_capability_that_can_be_reset);

async fn feeds_follow_a_view_and_a_protected_views_feed_needs_its_capability(engine: Engine) {
    let s = setup(engine).await;
    history(&s).await;
    let (t, host) = (&s.t, s.a.host.clone());
    let owner = session(t, &host, "owner@corp.example", true, None).await;
    let view = |body: Value| Req::post(&host, "/api/v1/manage/views").header("x-magic-token", &owner).json(body);
    let r = t
        .send(view(json!({"name": "Corp auth", "components": ["auth"], "access_mode": "allowed_domains",
                          "allowed_domains": ["corp.example"]})))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let (view_id, code) = (r.json["id"].as_i64().unwrap(), r.json["short_code"].as_str().unwrap().to_string());
    let r = t.send(view(json!({"name": "Web", "components": ["web"], "access_mode": "public"}))).await;
    let public_code = r.json["short_code"].as_str().unwrap().to_string();

    // A colleague of the allowed domain follows the protected view: the feed gets a capability.
    let colleague = session(t, &host, "colleague@corp.example", true, None).await;
    let r = t.send(manage(Method::POST, &host, "", &colleague).json(json!({"name": "Corp", "view": code}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["view_id"], view_id);
    let cap_path =
        path_of(r.json["capability_urls"]["atom"].as_str().expect("a protected view's feed has a capability"));
    let short_path = path_of(r.json["urls"]["atom"].as_str().unwrap());
    let feed_id = r.json["id"].as_i64().unwrap();
    let atom = t.send(Req::get(&host, &cap_path)).await;
    assert_eq!(atom.status, StatusCode::OK, "{}", atom.text);
    assert_eq!(
        titles(&atom.text),
        vec!["Maintenance: Auth upgrade", "Everything is odd", "Platform outage", "Auth is slow"]
    );
    assert_eq!(t.send(Req::get(&host, &short_path)).await.status, StatusCode::NOT_FOUND, "no public path");

    // Someone the view does not admit cannot follow it; nor are the view's components overridden.
    let stranger = session(t, &host, "someone@elsewhere.example", true, None).await;
    let r = t.send(manage(Method::POST, &host, "", &stranger).json(json!({"name": "x", "view": code}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = t.send(manage(Method::POST, &host, "", &colleague).json(json!({"name": "x", "view": "nope-nope"}))).await;
    assert_eq!((r.status, r.json["field"].as_str()), (StatusCode::BAD_REQUEST, Some("view")));
    let body = json!({"name": "x", "view": code, "components": ["web"]});
    let r = t.send(manage(Method::POST, &host, "", &colleague).json(body)).await;
    assert_eq!((r.status, r.json["field"].as_str()), (StatusCode::BAD_REQUEST, Some("components")));
    let one = format!("/{feed_id}");
    let r = t.send(manage(Method::PATCH, &host, &one, &colleague).json(json!({"view": public_code}))).await;
    assert_eq!((r.status, r.json["field"].as_str()), (StatusCode::BAD_REQUEST, Some("view")));

    // A public view's feed on a public page is public; it follows the view's components.
    let r = t.send(manage(Method::POST, &host, "", &stranger).json(json!({"name": "Web", "view": public_code}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(r.json.get("capability").is_none());
    let atom = t.send(Req::get(&host, &path_of(r.json["urls"]["atom"].as_str().unwrap()))).await;
    assert_eq!(titles(&atom.text), vec!["Everything is odd", "Website down"]);

    // The view's owner changes its components: the feed follows at once.
    let r = t
        .send(
            Req::new(Method::PATCH, &host, &format!("/api/v1/manage/views/{view_id}"))
                .header("x-magic-token", &owner)
                .json(json!({"components": ["api-gateway"]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let atom = t.send(Req::get(&host, &cap_path)).await;
    assert_eq!(titles(&atom.text), vec!["Everything is odd", "Gateway errors", "Platform outage"]);
    // Deleting the view deletes the feeds that follow it.
    let r = t
        .send(
            Req::new(Method::DELETE, &host, &format!("/api/v1/manage/views/{view_id}")).header("x-magic-token", &owner),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(t.send(Req::get(&host, &cap_path)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.send(manage(Method::GET, &host, &one, &colleague)).await.status, StatusCode::NOT_FOUND);
}
both!(feeds_follow_a_view_and_a_protected_views_feed_needs_its_capability);

async fn co_managers_share_a_feed_and_strangers_see_nothing(engine: Engine) {
    let s = setup(engine).await;
    let host = s.a.host.clone();
    let t = &s.t;
    let owner = session(t, &host, "owner@example.org", true, None).await;
    let stranger = session(t, &host, "stranger@example.org", true, None).await;
    let r = t.send(manage(Method::POST, &host, "", &owner).json(json!({"name": "Shared"}))).await;
    let id = r.json["id"].as_i64().unwrap();
    let one = format!("/{id}");
    // A stranger on the same page: the feed does not exist.
    for (m, p, body) in [
        (Method::GET, one.clone(), None),
        (Method::PATCH, one.clone(), Some(json!({"name": "Mine now"}))),
        (Method::DELETE, one.clone(), None),
        (Method::POST, format!("{one}/reset"), None),
        (Method::POST, format!("{one}/managers"), Some(json!({"email": "stranger@example.org"}))),
        (Method::DELETE, format!("{one}/managers/owner@example.org"), None),
    ] {
        let mut req = manage(m.clone(), &host, &p, &stranger);
        if let Some(b) = body {
            req = req.json(b);
        }
        let r = t.send(req).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{m} {p}: {}", r.text);
    }
    assert_eq!(t.send(manage(Method::GET, &host, "", &stranger)).await.json["data"], json!([]));
    // The owner adds a co-manager who is not a subscriber: that address may now get a link.
    let add = |email: &str, who: &str| {
        manage(Method::POST, &host, &format!("{one}/managers"), who).json(json!({"email": email}))
    };
    let r = t.send(add("Helper@Example.org", &owner)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["managers"], json!(["helper@example.org"]));
    assert_eq!(t.send(add("helper@example.org", &owner)).await.json["managers"], json!(["helper@example.org"]));
    let r = t.send(add("owner@example.org", &owner)).await;
    assert_eq!((r.status, r.json["field"].as_str()), (StatusCode::BAD_REQUEST, Some("email")));
    let helper = session(t, &host, "helper@example.org", false, None).await;
    let r = t.send(manage(Method::GET, &host, "", &helper)).await;
    assert_eq!(r.json["data"][0]["role"], "manager", "{}", r.text);
    let r = t.send(manage(Method::PATCH, &host, &one, &helper).json(json!({"name": "Renamed"}))).await;
    assert_eq!((r.status, r.json["name"].as_str()), (StatusCode::OK, Some("Renamed")));
    assert_eq!(t.send(manage(Method::POST, &host, &format!("{one}/reset"), &helper)).await.status, StatusCode::OK);
    // Only the owner deletes the feed or changes its managers; a co-manager may only leave (as
    // with custom views).
    assert_eq!(t.send(manage(Method::DELETE, &host, &one, &helper)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(t.send(add("friend@example.org", &helper)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(t.send(add("friend@example.org", &owner)).await.status, StatusCode::OK);
    let remove_friend = format!("{one}/managers/friend@example.org");
    assert_eq!(t.send(manage(Method::DELETE, &host, &remove_friend, &helper)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(t.send(manage(Method::DELETE, &host, &remove_friend, &owner)).await.status, StatusCode::NO_CONTENT);
    assert_eq!(t.send(manage(Method::DELETE, &host, &remove_friend, &owner)).await.status, StatusCode::NOT_FOUND);
    let leave = format!("{one}/managers/helper@example.org");
    assert_eq!(t.send(manage(Method::DELETE, &host, &leave, &helper)).await.status, StatusCode::NO_CONTENT);
    assert_eq!(t.send(manage(Method::GET, &host, &one, &helper)).await.status, StatusCode::NOT_FOUND);
    // Another page's session is refused on this host; this page's session reaches only this page.
    let b = t.tenant("bravo").await;
    let elsewhere = session(t, &b.host, "owner@example.org", true, None).await;
    assert_eq!(t.send(manage(Method::GET, &host, &one, &elsewhere)).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(t.send(manage(Method::GET, &b.host, &one, &elsewhere)).await.status, StatusCode::NOT_FOUND);
    let actions = t.audit_actions().await;
    for a in ["reader_feed.manager_added", "reader_feed.manager_removed"] {
        assert_eq!(actions.iter().filter(|x| *x == a).count(), 2, "{a}: {actions:?}");
    }
}
both!(co_managers_share_a_feed_and_strangers_see_nothing);

async fn admins_list_count_invalidate_and_delete_feeds(engine: Engine) {
    let s = setup(engine).await;
    let host = s.a.host.clone();
    let t = &s.t;
    let me = session(t, &host, "reader@example.org", true, None).await;
    let mut ids = Vec::new();
    for (name, types) in
        [("A", json!(["incidents"])), ("B", json!(["maintenances"])), ("C", json!(["incidents", "maintenances"]))]
    {
        let r = t.send(manage(Method::POST, &host, "", &me).json(json!({"name": name, "content_types": types}))).await;
        assert_eq!(r.status, StatusCode::CREATED);
        ids.push((r.json["id"].as_i64().unwrap(), path_of(r.json["urls"]["atom"].as_str().unwrap())));
    }
    // Fetches are counted at most once a minute per feed.
    for _ in 0..3 {
        t.send(Req::get(&host, &ids[0].1)).await;
    }
    t.clock.advance(2 * MINUTE);
    t.send(Req::get(&host, &ids[0].1)).await;
    let admin = |m: Method, p: &str| Req::new(m, &host, &format!("/api/v1/admin/feeds{p}")).bearer(&s.bot);
    let r = t.send(admin(Method::GET, "?limit=2")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["data"].as_array().unwrap().len(), 2);
    assert_eq!(r.json["data"][0]["name"], "C", "newest first");
    assert!(r.json["data"][0].get("managers").is_none(), "compact by default");
    let next = r.json["next_cursor"].as_str().unwrap().to_string();
    let r = t.send(admin(Method::GET, &format!("?view=full&cursor={next}"))).await;
    assert_eq!(r.json["data"][0]["name"], "A");
    assert_eq!(r.json["data"][0]["owner_email"], "reader@example.org");
    assert_eq!(r.json["data"][0]["fetch_count"], 2, "{}", r.text);
    assert_eq!(r.json["data"][0]["managers"], json!([]));
    assert_eq!(r.json["next_cursor"], Value::Null);
    let r = t.send(admin(Method::GET, "/stats")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["total"], 3);
    assert_eq!(r.json["by_content_type"], json!({"incidents": 1, "maintenances": 1, "both": 1}));
    assert_eq!(r.json["by_format"], json!({"atom": 3, "rss": 0}));
    assert_eq!((r.json["fetch_count"].as_i64(), r.json["fetched"].as_i64()), (Some(2), Some(1)));
    // Invalidate: same content, new ETag.
    let (id, path) = ids[0].clone();
    let etag = t.send(Req::get(&host, &path)).await.header("etag").unwrap().to_string();
    let r = t.send(admin(Method::POST, &format!("/{id}/invalidate"))).await;
    assert_eq!((r.status, r.json["cache_version"].as_i64()), (StatusCode::OK, Some(1)), "{}", r.text);
    let r = t.send(Req::get(&host, &path).header("if-none-match", &etag)).await;
    assert_eq!(r.status, StatusCode::OK, "a new ETag after invalidation");
    assert_ne!(r.header("etag"), Some(etag.as_str()));
    // Reading needs operate (owners' addresses are personal data); other pages' feeds do not exist.
    let read = t.page_token(&s.a, "read", "page_viewer").await;
    let r = t.send(Req::get(&host, "/api/v1/admin/feeds").bearer(&read)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let b = t.tenant("bravo").await;
    let bravo = t.page_token(&b, "admin", "page_admin").await;
    for (m, p) in [
        (Method::GET, format!("/{id}")),
        (Method::DELETE, format!("/{id}")),
        (Method::POST, format!("/{id}/invalidate")),
    ] {
        let r = t.send(Req::new(m.clone(), &b.host, &format!("/api/v1/admin/feeds{p}")).bearer(&bravo)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{m} {p}");
    }
    let r = t.send(Req::get(&b.host, "/api/v1/admin/feeds").bearer(&bravo)).await;
    assert_eq!(r.json["data"], json!([]));
    // Delete: the feed's address is gone, the owner no longer sees it.
    assert_eq!(t.send(admin(Method::DELETE, &format!("/{id}"))).await.status, StatusCode::NO_CONTENT);
    assert_eq!(t.send(admin(Method::GET, &format!("/{id}"))).await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.send(Req::get(&host, &path)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.send(manage(Method::GET, &host, "", &me)).await.json["data"].as_array().unwrap().len(), 2);
    let actions = t.audit_actions().await;
    for a in ["reader_feed.cache_invalidated", "reader_feed.deleted"] {
        assert!(actions.iter().any(|x| x == a), "{a}: {actions:?}");
    }
}
both!(admins_list_count_invalidate_and_delete_feeds);

/// Every credential kind on every manage-feeds route: only this page's magic session works; the
/// public feed routes ignore credentials but refuse them in the query string.
async fn feed_routes_answer_every_credential_kind(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let b = t.tenant("bravo").await;
    let api = t.page_token(&a, "admin", "page_admin").await;
    let other = session(&t, &b.host, "other@example.org", true, None).await;
    let me = session(&t, &a.host, "me@example.org", true, None).await;
    let fresh = |n: usize| {
        let t = &t;
        let (host, me) = (a.host.clone(), me.clone());
        async move {
            let r = t.send(manage(Method::POST, &host, "", &me).json(json!({"name": format!("f{n}")}))).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
            let id = r.json["id"].as_i64().unwrap();
            let r = t
                .send(
                    manage(Method::POST, &host, &format!("/{id}/managers"), &me)
                        .json(json!({"email": "m@example.org"})),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK);
            id
        }
    };
    let mut n = 0;
    for (method, route, ok) in [
        (Method::GET, "", 200u16),
        (Method::POST, "", 201),
        (Method::GET, "/{id}", 200),
        (Method::PATCH, "/{id}", 200),
        (Method::DELETE, "/{id}", 204),
        (Method::POST, "/{id}/reset", 200),
        (Method::POST, "/{id}/managers", 200),
        (Method::DELETE, "/{id}/managers/m@example.org", 204),
    ] {
        let body = match (&method, route) {
            (&Method::POST, "") => Some(json!({"name": "new"})),
            (&Method::PATCH, _) => Some(json!({"name": "renamed"})),
            (&Method::POST, "/{id}/managers") => Some(json!({"email": "x@example.org"})),
            _ => None,
        };
        // (what, X-Magic-Token, bearer, session in the query, expected status)
        type Case<'a> = (&'a str, Option<&'a str>, Option<&'a str>, bool, u16);
        let cases: Vec<Case> = vec![
            ("none", None, None, false, 401),
            ("malformed", Some("sbx_nope"), None, false, 401),
            ("api token as magic", Some(&api), None, false, 401),
            ("other page's session", Some(&other), None, false, 401),
            ("bearer only", None, Some(&api), false, 401),
            ("in the query", None, None, true, 400),
            ("its own session", Some(&me), None, false, ok),
        ];
        for (what, magic, bearer, query, want) in cases {
            n += 1;
            let id = if route.is_empty() { 0 } else { fresh(n).await };
            let mut path = format!("/api/v1/manage/feeds{}", route.replace("{id}", &id.to_string()));
            if query {
                path = format!("{path}?x={me}");
            }
            let mut req = Req::new(method.clone(), &a.host, &path);
            if let Some(m) = magic {
                req = req.header("x-magic-token", m);
            }
            if let Some(bt) = bearer {
                req = req.bearer(bt);
            }
            if let Some(b) = &body {
                req = req.json(b.clone());
            }
            let r = t.send(req).await;
            assert_eq!(r.status.as_u16(), want, "{method} {route} with {what}: {}", r.text);
        }
    }
    // Public feed routes: credentials are ignored, a query-string one refused.
    let r = t.send(manage(Method::POST, &a.host, "", &me).json(json!({"name": "pub"}))).await;
    let atom = path_of(r.json["urls"]["atom"].as_str().unwrap());
    for path in [atom.clone(), atom.replace(".atom", ".rss")] {
        for (what, req) in [
            ("anonymous", Req::get(&a.host, &path)),
            ("api token", Req::get(&a.host, &path).bearer(&api)),
            ("magic session", Req::get(&a.host, &path).header("x-magic-token", &me)),
            ("session", Req::get(&a.host, &path).session(&a.admin_cookie)),
        ] {
            assert_eq!(t.send(req).await.status, StatusCode::OK, "{path} as {what}");
        }
        assert_eq!(
            t.send(Req::get(&a.host, &format!("{path}?access_token={api}"))).await.status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(t.send(Req::get(&b.host, &path)).await.status, StatusCode::NOT_FOUND, "another page's host");
        assert_eq!(t.send(Req::get(ADMIN, &path)).await.status, StatusCode::NOT_FOUND, "no page on the admin host");
    }
}
both!(feed_routes_answer_every_credential_kind);
