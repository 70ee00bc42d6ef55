//! Private pages and their password gate, and the caching headers of public responses.

use crate::both;
use crate::harness::*;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use statibeat::clock::SECOND;
use statibeat::service::credentials::tokens::TokenScope;

const PASSWORD: &str = "let me in please";

/// An org admin creates a private page through the API; returns (page id, host).
async fn private_page(t: &TestApp, owner: &Tenant, prefix: &str, password: &str) -> (i64, String) {
    let r = t
        .send(Req::post(ADMIN, "/api/v1/org/pages").session(&owner.admin_cookie).json(json!({
            "name": format!("Private {prefix}"),
            "url_prefix": prefix,
            "visibility": "private",
            "viewer_password": password,
        })))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["visibility"], "private");
    assert_eq!(r.json["has_viewer_password"], true);
    assert!(r.json.get("viewer_password").is_none() && !r.text.contains(password), "the password is never echoed");
    (r.json["id"].as_i64().unwrap(), format!("{prefix}.{BASE}"))
}

fn unlock(host: &str, password: &str) -> Req {
    Req::post(host, "/api/v1/viewer-access").json(json!({ "password": password }))
}

/// The `name=value` pair of the viewer cookie a successful unlock sets.
fn viewer_cookie(r: &Resp) -> String {
    let set = r.header("set-cookie").expect("a viewer cookie");
    set.split(';').next().unwrap().to_string()
}

const PUBLIC_ROUTES: &[&str] = &["/api/v1/settings", "/api/v1/pages/public/current-host", "/api/v1/pages/public/staff"];

async fn readers_of_a_private_page_must_know_its_password(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let (_, host) = private_page(&t, &a, "staff", PASSWORD).await;

    // Every public route asks for viewer access, on every way to the page.
    for path in PUBLIC_ROUTES {
        let r = t.send(Req::get(&host, path)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}: {}", r.text);
        assert_eq!(r.json["code"], "viewer_access_required", "{path}");
        assert!(r.json["error"].as_str().unwrap().contains("viewer-access"));
        assert!(!r.text.contains("Private staff"), "nothing about the page leaks: {}", r.text);
    }
    let r = t.send(Req::get(ADMIN, "/status/staff/api/v1/settings")).await;
    assert_eq!((r.status, r.json["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("viewer_access_required")));
    let r = t.send(Req::get(ADMIN, "/api/v1/pages/public/staff")).await;
    assert_eq!((r.status, r.json["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("viewer_access_required")));

    // The home page is the password form, with 401 and never cached.
    let r = t.send(Req::get(&host, "/")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.header("content-type").unwrap().starts_with("text/html"), "{:?}", r.headers);
    assert!(r.text.contains("<form") && r.text.contains("type=\"password\""), "{}", r.text);
    assert_eq!(r.header("cache-control"), Some("no-store"));

    // A wrong password is refused and sets nothing.
    let r = t.send(unlock(&host, "not the password")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert_eq!(r.json["code"], "invalid_password");
    assert!(r.header("set-cookie").is_none());
    let grants = t.count("viewer_grants").await;
    assert_eq!(grants, 0);

    // The right password sets a host-only, HttpOnly viewer cookie.
    let r = t.send(unlock(&host, PASSWORD)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["access"], "granted");
    let set = r.header("set-cookie").unwrap().to_string();
    let attrs: Vec<String> = set.split(';').map(|s| s.trim().to_ascii_lowercase()).collect();
    assert!(attrs.contains(&"httponly".to_string()), "{set}");
    assert!(attrs.contains(&"path=/".to_string()), "{set}");
    assert!(attrs.contains(&"samesite=lax".to_string()), "{set}");
    assert!(!attrs.iter().any(|a| a.starts_with("domain")), "host-only: {set}");
    assert!(attrs.iter().any(|a| a.starts_with("max-age=")), "{set}");
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let cookie = viewer_cookie(&r);
    assert!(cookie.starts_with("statibeat_viewer="), "{cookie}");
    assert_eq!(t.count("viewer_grants").await, 1);

    // The cookie opens the page's public routes and its home page.
    for path in PUBLIC_ROUTES {
        let r = t.send(Req::get(&host, path).header("cookie", &cookie)).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        assert_eq!(r.json["visibility"], "private");
        assert_eq!(r.header("cache-control"), Some("private, no-store"), "{path}");
    }
    let r = t.send(Req::get(&host, "/api/v1/settings").header("cookie", &format!("theme=dark; {cookie}"))).await;
    assert_eq!(r.status, StatusCode::OK, "the cookie is found among others");
    let r = t.send(Req::get(&host, "/").header("cookie", &cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains("Private staff"), "{}", r.text);

    // Viewer access grants nothing under /admin (nor the org or context routes).
    for path in ["/api/v1/admin/page-settings", "/api/v1/admin/api-tokens", "/api/v1/context", "/api/v1/org"] {
        let r = t.send(Req::get(&host, path).header("cookie", &cookie)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}: {}", r.text);
    }
    let r = t
        .send(
            Req::new(Method::PATCH, &host, "/api/v1/admin/page-settings")
                .header("cookie", &cookie)
                .header("sec-fetch-site", "same-origin")
                .json(json!({"visibility": "public"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(t.send(Req::get(&host, "/api/v1/settings")).await.status, StatusCode::UNAUTHORIZED, "still private");

    // The grant is for this page only: another private page's host refuses it.
    let (_, vault) = private_page(&t, &a, "vault", "another secret phrase").await;
    let r = t.send(Req::get(&vault, "/api/v1/settings").header("cookie", &cookie)).await;
    assert_eq!((r.status, r.json["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("viewer_access_required")));
    // ...and its password does not open this one.
    let r = t.send(unlock(&host, "another secret phrase")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // A garbage or forged cookie value is just no access.
    let r = t.send(Req::get(&host, "/api/v1/settings").header("cookie", "statibeat_viewer=sbv_forged")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // On a public page the gate is a no-op.
    let r = t.send(unlock(&a.host, "anything at all")).await;
    assert_eq!((r.status, &r.json["access"]), (StatusCode::OK, &json!("public")));
    assert!(r.header("set-cookie").is_none());
}
both!(readers_of_a_private_page_must_know_its_password);

async fn changing_the_viewer_password_ends_every_viewer_grant(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let (page_id, host) = private_page(&t, &a, "staff", PASSWORD).await;
    let first = viewer_cookie(&t.send(unlock(&host, PASSWORD)).await);
    let second = viewer_cookie(&t.send(unlock(&host, PASSWORD)).await);
    assert_ne!(first, second, "each unlock gets its own grant");
    for c in [&first, &second] {
        assert_eq!(t.send(Req::get(&host, "/api/v1/settings").header("cookie", c)).await.status, StatusCode::OK);
    }

    // Renaming the page leaves viewers in.
    let admin = t.token(TokenScope::Page { org_id: a.org_id, page_id }, "admin", "page_admin", None).await;
    let r = t
        .send(
            Req::new(Method::PATCH, &host, "/api/v1/admin/page-settings")
                .bearer(&admin)
                .json(json!({"name": "Renamed"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = t.send(Req::get(&host, "/api/v1/settings").header("cookie", &first)).await;
    assert_eq!((r.status, &r.json["name"]), (StatusCode::OK, &json!("Renamed")));

    // A new password ends them all; only the new password opens the page.
    let r = t
        .send(
            Req::new(Method::PATCH, &host, "/api/v1/admin/page-settings")
                .bearer(&admin)
                .json(json!({"viewer_password": "a brand new phrase"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["has_viewer_password"], true);
    for c in [&first, &second] {
        let r = t.send(Req::get(&host, "/api/v1/settings").header("cookie", c)).await;
        assert_eq!((r.status, r.json["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("viewer_access_required")));
    }
    assert_eq!(t.count("viewer_grants").await, 0);
    assert_eq!(t.send(unlock(&host, PASSWORD)).await.status, StatusCode::UNAUTHORIZED);
    let fresh = viewer_cookie(&t.send(unlock(&host, "a brand new phrase")).await);
    assert_eq!(t.send(Req::get(&host, "/api/v1/settings").header("cookie", &fresh)).await.status, StatusCode::OK);

    // Making the page public (and private again) also ends the grants.
    let r = t
        .send(
            Req::new(Method::PATCH, &host, "/api/v1/admin/page-settings")
                .bearer(&admin)
                .json(json!({"visibility": "public"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = t.send(Req::get(&host, "/api/v1/settings")).await;
    assert_eq!(
        (r.status, r.header("cache-control")),
        (StatusCode::OK, Some("public, max-age=15, stale-while-revalidate=60"))
    );
    let r = t
        .send(
            Req::new(Method::PATCH, &host, "/api/v1/admin/page-settings")
                .bearer(&admin)
                .json(json!({"visibility": "private"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = t.send(Req::get(&host, "/api/v1/settings").header("cookie", &fresh)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(t.send(unlock(&host, "a brand new phrase")).await.status, StatusCode::OK);

    // A too-short password is refused and changes nothing.
    let r = t
        .send(
            Req::new(Method::PATCH, &host, "/api/v1/admin/page-settings")
                .bearer(&admin)
                .json(json!({"viewer_password": "short"})),
        )
        .await;
    assert_eq!((r.status, r.json["field"].as_str()), (StatusCode::BAD_REQUEST, Some("viewer_password")));
    assert_eq!(t.send(unlock(&host, "a brand new phrase")).await.status, StatusCode::OK);
}
both!(changing_the_viewer_password_ends_every_viewer_grant);

async fn guessing_a_viewer_password_is_throttled(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let (_, host) = private_page(&t, &a, "staff", PASSWORD).await;
    let mut refused = 0;
    let mut throttled = None;
    for i in 0..10 {
        let r = t.send(unlock(&host, &format!("guess number {i}"))).await;
        match r.status {
            StatusCode::UNAUTHORIZED => refused += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                throttled = Some(r);
                break;
            }
            s => panic!("unexpected {s}: {}", r.text),
        }
    }
    let r = throttled.expect("repeated wrong passwords are throttled");
    assert!(refused >= 3, "a few honest typos are allowed first ({refused})");
    assert_eq!(r.json["code"], "rate_limited");
    let wait: i64 = r.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!(wait >= 1);
    assert!(r.header("set-cookie").is_none());

    // While throttled even the right password waits; afterwards it works.
    assert_eq!(t.send(unlock(&host, PASSWORD)).await.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(t.count("viewer_grants").await, 0);
    t.clock.advance(wait * SECOND);
    let r = t.send(unlock(&host, PASSWORD)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.header("set-cookie").is_some());
}
both!(guessing_a_viewer_password_is_throttled);

async fn credentials_with_read_access_open_a_private_page(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let b = t.tenant("beta").await;
    let (page_id, host) = private_page(&t, &a, "staff", PASSWORD).await;
    let reader = t.token(TokenScope::Page { org_id: a.org_id, page_id }, "read", "page_viewer", None).await;
    for path in PUBLIC_ROUTES {
        let r = t.send(Req::get(&host, path).bearer(&reader)).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        assert_eq!(r.header("cache-control"), Some("private, no-store"));
    }
    assert_eq!(t.send(Req::get(&host, "/").bearer(&reader)).await.status, StatusCode::OK);
    // An org token and an org admin's session also read it.
    let org = t.org_token(&a, "read", "org_member").await;
    assert_eq!(t.send(Req::get(&host, "/api/v1/settings").bearer(&org)).await.status, StatusCode::OK);
    assert_eq!(t.send(Req::get(&host, "/api/v1/settings").session(&a.admin_cookie)).await.status, StatusCode::OK);

    // Tokens for another page, and other orgs' people, are refused.
    let other_page = t.page_token(&a, "admin", "page_admin").await;
    let r = t.send(Req::get(&host, "/api/v1/settings").bearer(&other_page)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let other_org = t.org_token(&b, "admin", "org_admin").await;
    assert_eq!(t.send(Req::get(&host, "/api/v1/settings").bearer(&other_org)).await.status, StatusCode::UNAUTHORIZED);
    let r = t.send(Req::get(&host, "/api/v1/settings").session(&b.admin_cookie)).await;
    assert_eq!((r.status, r.json["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("viewer_access_required")));
    let r = t.send(Req::get(&host, "/api/v1/settings").bearer("sbt_notarealtoken")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}
both!(credentials_with_read_access_open_a_private_page);

async fn public_responses_are_cacheable_and_revalidate(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let r = t.send(Req::get(&a.host, "/api/v1/settings")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("cache-control"), Some("public, max-age=15, stale-while-revalidate=60"));
    let etag = r.header("etag").expect("ETag").to_string();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "a strong ETag: {etag}");
    assert!(r.header("vary").is_some_and(|v| v.contains("Cookie")));

    // A matching If-None-Match is a bodiless 304 with the same validators.
    for inm in [etag.clone(), format!("\"other\", {etag}"), "*".to_string()] {
        let r = t.send(Req::get(&a.host, "/api/v1/settings").header("if-none-match", &inm)).await;
        assert_eq!(r.status, StatusCode::NOT_MODIFIED, "{inm}");
        assert!(r.text.is_empty());
        assert_eq!(r.header("etag"), Some(etag.as_str()));
        assert_eq!(r.header("cache-control"), Some("public, max-age=15, stale-while-revalidate=60"));
    }
    let r = t.send(Req::get(&a.host, "/api/v1/settings").header("if-none-match", "\"stale\"")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json["url_prefix"], "acme");

    // A settings change changes the ETag, so the old one no longer matches.
    let admin = t.page_token(&a, "admin", "page_admin").await;
    let r = t
        .send(
            Req::new(Method::PUT, &a.host, "/api/v1/admin/site-settings")
                .bearer(&admin)
                .json(json!({"title": "Acme status", "subtitle": "All systems"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = t.send(Req::get(&a.host, "/api/v1/settings").header("if-none-match", &etag)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json["site"]["title"], "Acme status");
    assert_ne!(r.header("etag"), Some(etag.as_str()));
    // The other public routes validate too.
    let r = t.send(Req::get(&a.host, "/api/v1/pages/public/current-host")).await;
    let etag = r.header("etag").unwrap().to_string();
    let r = t.send(Req::get(&a.host, "/api/v1/pages/public/current-host").header("if-none-match", &etag)).await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    // A public answer carries what a visitor may know and nothing else (the whole list of fields,
    // so an internal one cannot slip in under a name nobody thought to forbid), and the page's
    // addresses are its own: its host, and its path on the platform host.
    let r = t.send(Req::get(&a.host, "/api/v1/pages/public/current-host")).await;
    let mut fields: Vec<&str> = r.json.as_object().unwrap().keys().map(String::as_str).collect();
    fields.sort_unstable();
    let public = [
        "custom_domain",
        "id",
        "locale",
        "name",
        "status_path_url",
        "time_zone",
        "title",
        "url",
        "url_prefix",
        "visibility",
    ];
    assert_eq!(fields, public, "{}", r.text);
    assert_eq!((r.json["id"].as_i64(), r.json["visibility"].as_str()), (Some(a.page_id), Some("public")));
    assert_eq!(r.json["custom_domain"], Value::Null);
    assert_eq!(r.json["url"], format!("http://{}", a.host));
    assert_eq!(r.json["status_path_url"], format!("http://{BASE}/status/{}", a.prefix));

    // Private pages are never shared-cached, even when read with a valid grant.
    let (_, host) = private_page(&t, &a, "staff", PASSWORD).await;
    let cookie = viewer_cookie(&t.send(unlock(&host, PASSWORD)).await);
    let r = t.send(Req::get(&host, "/api/v1/settings").header("cookie", &cookie)).await;
    assert_eq!(r.header("cache-control"), Some("private, no-store"));
    let r = t.send(Req::get(&host, "/api/v1/settings")).await;
    assert_eq!(r.header("cache-control"), Some("no-store"), "the 401 is not cached either");
}
both!(public_responses_are_cacheable_and_revalidate);

/// Once let in, the private page's HTML is never stored by a shared cache, and the gate reached
/// through `/status/<prefix>` posts to that same path.
async fn a_private_pages_html_stays_out_of_shared_caches(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let (_, host) = private_page(&t, &a, "staff", PASSWORD).await;
    let r = t.send(Req::get(ADMIN, "/status/staff")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // The form's script (a file: the page's CSP allows no inline code) posts under `data-base`.
    assert!(
        r.text.contains("data-base=\"/status/staff\"") && r.text.contains("src=\"/status/staff/static/gate.js\""),
        "{}",
        r.text
    );
    let r = t.send(Req::get(&host, "/")).await;
    assert!(r.text.contains("data-base=\"\"") && r.text.contains("src=\"/static/gate.js\""), "{}", r.text);
    let cookie = viewer_cookie(&t.send(unlock(&host, PASSWORD)).await);
    let r = t.send(Req::get(&host, "/").header("cookie", &cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains("Private staff"));
    assert_eq!(r.header("cache-control"), Some("private, no-store"));
    let r = t.send(Req::get(&a.host, "/")).await;
    assert_eq!(r.header("cache-control"), Some("public, max-age=15, stale-while-revalidate=60"));
}
both!(a_private_pages_html_stays_out_of_shared_caches);

/// Branding changes written from an older view of the page never undo a change of access made
/// meanwhile (each settings write touches only its own columns).
async fn a_branding_change_never_reopens_a_page_made_private_meanwhile(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let stale = statibeat::store::pages::page_by_id(&t.app.db.pool, a.page_id).await.unwrap().unwrap();
    let r = t
        .send(
            Req::new(Method::PATCH, &a.host, "/api/v1/admin/page-settings")
                .session(&a.admin_cookie)
                .json(json!({"visibility": "private", "viewer_password": PASSWORD})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let settings = statibeat::service::org::pages::SiteSettings { subtitle: "Rebranded".into(), ..Default::default() };
    let actor = statibeat::service::audit::Actor::system("test");
    statibeat::service::org::pages::update_site_settings(&t.app, &actor, &stale, settings).await.unwrap();
    let now = statibeat::store::pages::page_by_id(&t.app.db.pool, a.page_id).await.unwrap().unwrap();
    assert_eq!(now.visibility, "private");
    assert!(now.viewer_password_hash.is_some());
    assert!(now.settings.contains("Rebranded"));
    assert_eq!(t.send(Req::get(&a.host, "/api/v1/settings")).await.status, StatusCode::UNAUTHORIZED);
}
both!(a_branding_change_never_reopens_a_page_made_private_meanwhile);
