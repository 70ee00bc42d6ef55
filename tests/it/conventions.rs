//! Conventions of every route: the error envelope, strict JSON input, body limits, 404/405,
//! credentials refused in query strings, rate limits, pagination, and org membership rules.

use crate::both;
use crate::harness::*;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use statibeat::clock::{MINUTE, SECOND};
use statibeat::config::RateLimits;
use std::collections::BTreeSet;

/// Asserts the error envelope: `error` text, a snake_case `code`, optionally `field`, nothing else.
fn assert_envelope(r: &Resp, status: StatusCode, code: &str) {
    assert_eq!(r.status, status, "{}", r.text);
    assert!(r.header("content-type").is_some_and(|c| c.starts_with("application/json")), "{:?}", r.headers);
    let obj = r.json.as_object().unwrap_or_else(|| panic!("a JSON object: {}", r.text));
    assert!(obj["error"].as_str().is_some_and(|e| !e.is_empty()), "{}", r.text);
    assert_eq!(obj["code"], code, "{}", r.text);
    assert!(obj.keys().all(|k| ["error", "code", "field"].contains(&k.as_str())), "{}", r.text);
    for leak in ["sqlx", "SELECT", "panicked", "src/", "constraint"] {
        assert!(!r.text.contains(leak), "{leak} in {}", r.text);
    }
}

fn create_page(cookie: &str) -> Req {
    Req::post(ADMIN, "/api/v1/org/pages").session(cookie)
}

fn raw(mut r: Req, content_type: Option<&str>, body: Vec<u8>) -> Req {
    if let Some(ct) = content_type {
        r = r.header("content-type", ct);
    }
    r.raw = Some(body);
    r
}

async fn creating_a_page_with_bad_json_is_refused_and_writes_nothing(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let pages = t.count("pages").await;
    let audited = t.count("audit_log").await;

    // An unknown field is named, even next to valid ones.
    let r = t.send(create_page(&a.admin_cookie).json(json!({"name": "X", "url_prefix": "xx", "org_id": 5}))).await;
    assert_envelope(&r, StatusCode::BAD_REQUEST, "unknown_field");
    assert_eq!(r.json["field"], "org_id");
    assert!(r.json["error"].as_str().unwrap().contains("org_id"));
    let r = t
        .send(create_page(&a.admin_cookie).json(json!({"name": "X", "url_prefix": "xx", "Visibility": "public"})))
        .await;
    assert_eq!(
        (r.status, r.json["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("Visibility")),
        "field names are case-sensitive"
    );

    // A wrong type names the field.
    let r = t.send(create_page(&a.admin_cookie).json(json!({"name": 5, "url_prefix": "xx"}))).await;
    assert_envelope(&r, StatusCode::BAD_REQUEST, "invalid");
    assert_eq!(r.json["field"], "name");
    let r = t.send(create_page(&a.admin_cookie).json(json!({"name": "X", "url_prefix": ["xx"]}))).await;
    assert_eq!((r.status, r.json["field"].as_str()), (StatusCode::BAD_REQUEST, Some("url_prefix")));
    // A missing field, and invalid values, are 400 too.
    let r = t.send(create_page(&a.admin_cookie).json(json!({"name": "X"}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = t.send(create_page(&a.admin_cookie).json(json!({"name": "X", "url_prefix": "Not A Slug"}))).await;
    assert_eq!((r.status, r.json["field"].as_str()), (StatusCode::BAD_REQUEST, Some("url_prefix")));
    let r = t
        .send(create_page(&a.admin_cookie).json(json!({"name": "X", "url_prefix": "xx", "visibility": "secret"})))
        .await;
    assert_eq!((r.status, r.json["field"].as_str()), (StatusCode::BAD_REQUEST, Some("visibility")));
    // A taken prefix is a conflict.
    let r = t.send(create_page(&a.admin_cookie).json(json!({"name": "X", "url_prefix": "acme"}))).await;
    assert_envelope(&r, StatusCode::CONFLICT, "url_prefix_taken");

    // Malformed JSON, and JSON that is not an object.
    for body in [&b"{\"name\": \"X\", "[..], b"", b"not json", b"{\"name\":\"X\",\"url_prefix\":\"xx\"} trailing"] {
        let r = t.send(raw(create_page(&a.admin_cookie), Some("application/json"), body.to_vec())).await;
        assert_envelope(&r, StatusCode::BAD_REQUEST, "invalid_json");
    }
    let r = t.send(raw(create_page(&a.admin_cookie), Some("application/json"), b"[1,2]".to_vec())).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "an array is not an object: {}", r.text);
    // Bodies that are not JSON at all: 415.
    for ct in [Some("application/x-www-form-urlencoded"), Some("text/plain"), None] {
        let r = t.send(raw(create_page(&a.admin_cookie), ct, b"name=X&url_prefix=xx".to_vec())).await;
        assert_envelope(&r, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    }
    let r = t
        .send(raw(create_page(&a.admin_cookie), Some("text/plain"), br#"{"name":"X","url_prefix":"xx"}"#.to_vec()))
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "JSON-looking text is still the wrong type");

    assert_eq!(t.count("pages").await, pages, "no refused request wrote a page");
    assert_eq!(t.count("audit_log").await, audited, "and audited nothing");

    // The same body, correct, creates the page (and a charset parameter is fine).
    let r = t
        .send(raw(
            create_page(&a.admin_cookie),
            Some("application/json; charset=utf-8"),
            br#"{"name":"X","url_prefix":"xx"}"#.to_vec(),
        ))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(t.count("pages").await, pages + 1);
}
both!(creating_a_page_with_bad_json_is_refused_and_writes_nothing);

const LIMIT: usize = 256 * 1024;

/// A valid create-page body padded with whitespace to exactly `len` bytes.
fn padded_body(prefix: &str, len: usize) -> Vec<u8> {
    let core = format!(r#"{{"name":"Big","url_prefix":"{prefix}"}}"#);
    let mut body = core.into_bytes();
    body.resize(len, b' ');
    body
}

async fn oversized_bodies_are_refused_with_413(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let pages = t.count("pages").await;

    // Declared with Content-Length: refused before the body is read.
    let body = padded_body("big", LIMIT + 1);
    let r = t
        .send(
            raw(create_page(&a.admin_cookie), Some("application/json"), body.clone())
                .header("content-length", &body.len().to_string()),
        )
        .await;
    assert_envelope(&r, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large");
    // Streamed without a declared length: refused while reading.
    let r = t.send(raw(create_page(&a.admin_cookie), Some("application/json"), body)).await;
    assert_envelope(&r, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large");
    // A lying Content-Length does not get around the limit either.
    let body = padded_body("big", LIMIT + 4096);
    let r =
        t.send(raw(create_page(&a.admin_cookie), Some("application/json"), body).header("content-length", "100")).await;
    assert!(r.status.is_client_error(), "{}", r.status);
    assert_ne!(r.status, StatusCode::CREATED);
    // Public routes are limited too, even without credentials.
    let r = t
        .send(raw(Req::post(&a.host, "/api/v1/viewer-access"), Some("application/json"), padded_body("x", 2 * LIMIT)))
        .await;
    assert_envelope(&r, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large");
    let r = t.send(Req::post(&a.host, "/api/v1/viewer-access").header("content-length", "999999999")).await;
    assert_envelope(&r, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large");
    assert_eq!(t.count("pages").await, pages);

    // Exactly at the limit is fine, with or without a declared length.
    let body = padded_body("big", LIMIT);
    let r = t
        .send(
            raw(create_page(&a.admin_cookie), Some("application/json"), body.clone())
                .header("content-length", &LIMIT.to_string()),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = t.send(raw(create_page(&a.admin_cookie), Some("application/json"), padded_body("big2", LIMIT))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(t.count("pages").await, pages + 2);
}
both!(oversized_bodies_are_refused_with_413);

async fn unknown_routes_and_methods_answer_in_json(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let token = t.page_token(&a, "admin", "page_admin").await;
    for (host, path) in [
        (a.host.as_str(), "/api/v1/nope"),
        (a.host.as_str(), "/api/v2/settings"),
        (ADMIN, "/api/v1/nope"),
        (ADMIN, "/nope.php"),
    ] {
        let r = t.send(Req::get(host, path)).await;
        assert_envelope(&r, StatusCode::NOT_FOUND, "not_found");
    }
    let r = t.send(Req::get(&a.host, "/api/v1/admin/nope").bearer(&token)).await;
    assert_envelope(&r, StatusCode::NOT_FOUND, "not_found");

    for (method, path) in [
        (Method::DELETE, "/api/v1/settings"),
        (Method::POST, "/api/v1/pages/public/current-host"),
        (Method::GET, "/api/v1/viewer-access"),
        (Method::PUT, "/api/v1/admin/page-settings"),
        (Method::POST, "/api/v1/admin/domain"),
    ] {
        let r = t.send(Req::new(method.clone(), &a.host, path).bearer(&token)).await;
        assert_envelope(&r, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
        assert!(r.header("allow").is_some_and(|v| !v.contains(method.as_str())), "{method} {path}: {:?}", r.headers);
    }
    let r = t.send(Req::new(Method::DELETE, &a.host, "/api/v1/settings")).await;
    assert!(r.header("allow").is_some_and(|v| v.contains("GET")), "{:?}", r.headers);
    let r = t.send(Req::new(Method::DELETE, ADMIN, "/api/v1/auth/login")).await;
    assert_envelope(&r, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
}
both!(unknown_routes_and_methods_answer_in_json);

async fn credentials_in_query_strings_are_refused(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let token = t.page_token(&a, "admin", "page_admin").await;
    let queries = [
        "token=x".to_string(),
        "api_key=x".to_string(),
        "apikey=x".to_string(),
        "access_token=x".to_string(),
        "ACCESS_TOKEN=x".to_string(),
        "magic_token=x".to_string(),
        "session=x".to_string(),
        format!("q={token}"),
        "q=sbx_abc".to_string(),
        "q=sbm%5Fabc".to_string(),
        "view=full&token=".to_string(),
        format!("{token}="),
    ];
    for q in &queries {
        for (host, path) in [
            (a.host.as_str(), "/api/v1/settings"),
            (a.host.as_str(), "/"),
            (a.host.as_str(), "/api/v1/admin/page-settings"),
            (ADMIN, "/api/v1/org/pages"),
            (ADMIN, "/status/acme/api/v1/settings"),
            (ADMIN, "/internal/domain-check"),
        ] {
            let r = t.send(Req::get(host, &format!("{path}?{q}")).bearer(&token)).await;
            assert_envelope(&r, StatusCode::BAD_REQUEST, "credential_in_query");
            assert!(!r.text.contains(&token), "the value is never echoed");
        }
    }
    // Refused before anything happens: a write with a credential in its query does nothing.
    let r = t
        .send(
            Req::new(Method::PATCH, &a.host, "/api/v1/admin/page-settings?token=x")
                .bearer(&token)
                .json(json!({"name": "Changed"})),
        )
        .await;
    assert_envelope(&r, StatusCode::BAD_REQUEST, "credential_in_query");
    let r = t.send(Req::get(&a.host, "/api/v1/admin/page-settings").bearer(&token)).await;
    assert_eq!(r.json["name"], "Page acme");
    // Only the query string is refused: the same token in the header works, and ordinary
    // parameters pass.
    let r = t.send(Req::get(ADMIN, "/api/v1/org/pages?view=full&limit=5").session(&a.admin_cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = t.send(Req::get(&a.host, "/api/v1/settings?utm_source=newsletter")).await;
    assert_eq!(r.status, StatusCode::OK);
}
both!(credentials_in_query_strings_are_refused);

fn assert_rate_headers(r: &Resp, tier: &str, limit: u32) {
    assert_eq!(r.header("x-ratelimit-tier"), Some(tier), "{:?}", r.headers);
    assert_eq!(r.header("x-ratelimit-limit"), Some(limit.to_string().as_str()));
    assert_eq!(r.header("x-ratelimit-window-seconds"), Some("60"));
}

async fn public_reads_are_rate_limited_per_client(engine: Engine) {
    let t = TestApp::with(engine, |cfg| cfg.rate_limits = RateLimits { public_read: 3, ..cfg.rate_limits }).await;
    let a = t.tenant("acme").await;
    let _b = t.tenant("beta").await;
    for remaining in [2, 1, 0] {
        let r = t.send(Req::get(&a.host, "/api/v1/settings")).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_rate_headers(&r, "public_read", 3);
        assert_eq!(r.header("x-ratelimit-remaining"), Some(remaining.to_string().as_str()));
    }
    // The fourth read in the minute is refused, on any page, for this client only.
    t.clock.advance(20 * SECOND);
    for host in [a.host.as_str(), "beta.status.test"] {
        let r = t.send(Req::get(host, "/api/v1/settings")).await;
        assert_envelope(&r, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
        assert_eq!(r.header("retry-after"), Some("40"), "seconds until the window resets");
        assert_rate_headers(&r, "public_read", 3);
    }
    let r = t.send(Req::get(&a.host, "/api/v1/settings").from_ip("192.0.2.7")).await;
    assert_eq!(r.status, StatusCode::OK, "another client has its own budget");
    // Admin routes are another tier and stay open.
    let token = t.page_token(&a, "read", "page_viewer").await;
    let r = t.send(Req::get(&a.host, "/api/v1/context").bearer(&token)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_ne!(r.header("x-ratelimit-tier"), Some("public_read"));

    // A new minute, a new budget.
    t.clock.advance(40 * SECOND);
    let r = t.send(Req::get(&a.host, "/api/v1/settings")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.header("x-ratelimit-remaining"), Some("2"));
}
both!(public_reads_are_rate_limited_per_client);

async fn admin_writes_are_rate_limited_per_principal_and_route(engine: Engine) {
    let t = TestApp::with(engine, |cfg| cfg.rate_limits = RateLimits { admin_write: 2, ..cfg.rate_limits }).await;
    let a = t.tenant("acme").await;
    let one = t.page_token(&a, "admin", "page_admin").await;
    let two = t.page_token(&a, "admin", "page_admin").await;
    let rename = |token: &str, name: &str| {
        Req::new(Method::PATCH, &a.host, "/api/v1/admin/page-settings").bearer(token).json(json!({ "name": name }))
    };
    for n in ["One", "Two"] {
        let r = t.send(rename(&one, n)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_rate_headers(&r, "admin_write", 2);
    }
    let r = t.send(rename(&one, "Three")).await;
    assert_envelope(&r, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert_rate_headers(&r, "admin_write", 2);
    assert!(r.header("retry-after").is_some());
    let r = t.send(Req::get(&a.host, "/api/v1/admin/page-settings").bearer(&one)).await;
    assert_eq!(
        (r.status, &r.json["name"]),
        (StatusCode::OK, &json!("Two")),
        "the refused write changed nothing; reads still work"
    );

    // Another route for the same principal, and the same route for another principal, are open.
    let r = t
        .send(Req::new(Method::PUT, &a.host, "/api/v1/admin/site-settings").bearer(&one).json(json!({"title": "T"})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = t.send(rename(&two, "Four")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // The route is the same whichever way it is addressed (numeric twin, status path).
    let numeric = format!("/api/v1/orgs/{}/pages/{}/admin/page-settings", a.org_id, a.page_id);
    let r = t.send(Req::new(Method::PATCH, ADMIN, &numeric).bearer(&one).json(json!({"name": "Five"}))).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);

    // Sessions are principals too; ids in paths do not make separate routes.
    for id in [a.page_id, a.page_id + 1000] {
        let r = t.send(Req::get(ADMIN, &format!("/api/v1/org/pages/{id}")).session(&a.admin_cookie)).await;
        assert_ne!(r.status, StatusCode::TOO_MANY_REQUESTS, "reads are not admin writes");
    }
    let mut statuses = Vec::new();
    for id in [a.page_id + 1000, a.page_id + 1001, a.page_id + 1002] {
        statuses.push(
            t.send(Req::post(ADMIN, &format!("/api/v1/org/pages/{id}/restore")).session(&a.admin_cookie)).await.status,
        );
    }
    assert_eq!(statuses, [StatusCode::NOT_FOUND, StatusCode::NOT_FOUND, StatusCode::TOO_MANY_REQUESTS]);

    t.clock.advance(MINUTE);
    let r = t.send(rename(&one, "Six")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["name"], "Six");
}
both!(admin_writes_are_rate_limited_per_principal_and_route);

async fn org_admins_page_through_their_pages(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let b = t.tenant("beta").await;
    let mut ids = vec![a.page_id];
    for i in 0..4 {
        let r = t
            .send(
                create_page(&a.admin_cookie)
                    .json(json!({"name": format!("Page {i}"), "url_prefix": format!("page-{i}")})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        ids.push(r.json["id"].as_i64().unwrap());
    }
    let list = |query: &str| Req::get(ADMIN, &format!("/api/v1/org/pages{query}")).session(&a.admin_cookie);

    // Default: everything in one page, compact.
    let r = t.send(list("")).await;
    assert_eq!(r.status, StatusCode::OK);
    let all: Vec<i64> = r.json["data"].as_array().unwrap().iter().map(|p| p["id"].as_i64().unwrap()).collect();
    assert_eq!(all, ids);
    assert_eq!(r.json["next_cursor"], Value::Null);
    assert!(r.json["data"][0].get("internal_key").is_none(), "compact by default");
    assert!(!all.contains(&b.page_id), "only this org's pages");

    // limit + cursor walk the list without gaps or repeats.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut rounds = 0;
    loop {
        let q = match &cursor {
            Some(c) => format!("?limit=2&cursor={c}"),
            None => "?limit=2".to_string(),
        };
        let r = t.send(list(&q)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let data = r.json["data"].as_array().unwrap();
        assert!(data.len() <= 2);
        seen.extend(data.iter().map(|p| p["id"].as_i64().unwrap()));
        rounds += 1;
        match &r.json["next_cursor"] {
            Value::String(c) => {
                assert!(c.parse::<i64>().is_err(), "opaque, not a bare id: {c}");
                cursor = Some(c.clone());
            }
            Value::Null => break,
            other => panic!("next_cursor {other}"),
        }
        assert!(rounds < 10);
    }
    assert_eq!(seen, ids);
    assert_eq!(rounds, 3);
    let r = t.send(list("?limit=5")).await;
    assert_eq!((r.json["data"].as_array().unwrap().len(), &r.json["next_cursor"]), (5, &Value::Null));
    let r = t.send(list("?limit=200&view=full")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json["data"][0]["internal_key"], "acme");

    // Out-of-range limits and foreign cursors are 400 naming the parameter.
    for (q, field) in [
        ("?limit=0", "limit"),
        ("?limit=201", "limit"),
        ("?limit=-1", "limit"),
        ("?limit=ten", "limit"),
        ("?cursor=42", "cursor"),
        ("?view=everything", "view"),
    ] {
        let r = t.send(list(q)).await;
        assert_envelope(&r, StatusCode::BAD_REQUEST, "invalid");
        assert_eq!(r.json["field"], field, "{q}");
    }
}
both!(org_admins_page_through_their_pages);

fn members(cookie: &str) -> Req {
    Req::get(ADMIN, "/api/v1/org/members").session(cookie)
}

async fn member_ids(t: &TestApp, cookie: &str) -> Vec<(String, String, i64)> {
    let r = t.send(members(cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["email"].as_str().unwrap().to_string(),
                m["role"].as_str().unwrap().to_string(),
                m["user_id"].as_i64().unwrap(),
            )
        })
        .collect()
}

async fn org_admins_manage_members_but_never_leave_the_org_without_one(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let b = t.tenant("beta").await;
    let cookie = &a.admin_cookie;
    let list = member_ids(&t, cookie).await;
    assert_eq!(list.len(), 1);
    let (admin_email, admin_role, admin_id) = list[0].clone();
    assert_eq!((admin_email.as_str(), admin_role.as_str()), (a.admin_email.as_str(), "org_admin"));

    // The only org admin can neither be removed nor demoted.
    let r = t.send(Req::new(Method::DELETE, ADMIN, &format!("/api/v1/org/members/{admin_id}")).session(cookie)).await;
    assert_envelope(&r, StatusCode::CONFLICT, "last_org_admin");
    let r = t
        .send(
            Req::new(Method::PATCH, ADMIN, &format!("/api/v1/org/members/{admin_id}"))
                .session(cookie)
                .json(json!({"role": "org_member"})),
        )
        .await;
    assert_envelope(&r, StatusCode::CONFLICT, "last_org_admin");
    assert_eq!(member_ids(&t, cookie).await[0].1, "org_admin");

    // People are added by invitation (tests/it/invitations.rs): B's admin, who has an account,
    // and a new person, who chooses a password; both join through their links.
    let invite = |email: &str, role: &str| {
        Req::post(ADMIN, "/api/v1/org/members").session(cookie).json(json!({"email": email, "role": role}))
    };
    let users = t.count("users").await;
    let r = t.send(invite(&b.admin_email, "org_member")).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let (_, link) = crate::invitations::invitation_link(&t, &b.admin_email).await;
    let r = t.send(Req::post(ADMIN, "/api/v1/invitations/accept").header("x-magic-token", &link).json(json!({}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = t.send(invite("new.person@acme.example.com", "org_member")).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let (_, link) = crate::invitations::invitation_link(&t, "new.person@acme.example.com").await;
    let r = t
        .send(
            Req::post(ADMIN, "/api/v1/invitations/accept")
                .header("x-magic-token", &link)
                .json(json!({"name": "New Person", "password": "a long enough password"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(t.count("users").await, users + 1);
    let ids = member_ids(&t, cookie).await;
    let id_of = |email: &str| ids.iter().find(|m| m.0 == email).map(|m| m.2).expect("a member");
    let (b_user, new_user) = (id_of(&b.admin_email), id_of("new.person@acme.example.com"));
    let (new_cookie, _) = t.login("new.person@acme.example.com", "a long enough password").await;
    let r = t.send(Req::get(ADMIN, "/api/v1/org").session(&new_cookie)).await;
    assert_eq!((r.status, &r.json["id"]), (StatusCode::OK, &json!(a.org_id)));
    // Nobody sets another person's password; a bad role or address changes nothing.
    let r = t
        .send(Req::post(ADMIN, "/api/v1/org/members").session(cookie).json(
            json!({"email": "x@example.com", "name": "X", "password": "a long enough password", "role": "org_member"}),
        ))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = t.send(invite("z@example.com", "owner")).await;
    assert_eq!((r.status, r.json["field"].as_str()), (StatusCode::BAD_REQUEST, Some("role")));
    let r = t.send(invite("not an address", "org_member")).await;
    assert_eq!((r.status, r.json["field"].as_str()), (StatusCode::BAD_REQUEST, Some("email")));
    assert_eq!(t.count("users").await, users + 1);
    assert_eq!(t.count("invitations").await, 2);
    // Members cannot manage members.
    let r = t
        .send(
            Req::post(ADMIN, "/api/v1/org/members")
                .session(&new_cookie)
                .json(json!({"email": "w@example.com", "role": "org_admin"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    // Change a role: promote the new user; now the first admin may step down.
    let r = t
        .send(
            Req::new(Method::PATCH, ADMIN, &format!("/api/v1/org/members/{new_user}"))
                .session(cookie)
                .json(json!({"role": "org_admin"})),
        )
        .await;
    assert_eq!((r.status, r.json["role"].as_str()), (StatusCode::OK, Some("org_admin")), "{}", r.text);
    let r = t
        .send(
            Req::new(Method::PATCH, ADMIN, &format!("/api/v1/org/members/{admin_id}"))
                .session(&new_cookie)
                .json(json!({"role": "org_member"})),
        )
        .await;
    assert_eq!((r.status, r.json["role"].as_str()), (StatusCode::OK, Some("org_member")), "{}", r.text);
    // ...and the new last admin is protected in turn.
    let r =
        t.send(Req::new(Method::DELETE, ADMIN, &format!("/api/v1/org/members/{new_user}")).session(&new_cookie)).await;
    assert_envelope(&r, StatusCode::CONFLICT, "last_org_admin");

    // Remove a member: they lose access to the org, their account stays.
    let r =
        t.send(Req::new(Method::DELETE, ADMIN, &format!("/api/v1/org/members/{b_user}")).session(&new_cookie)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let left: BTreeSet<i64> = member_ids(&t, &new_cookie).await.iter().map(|m| m.2).collect();
    assert_eq!(left, BTreeSet::from([admin_id, new_user]));
    let r = t.send(Req::get(ADMIN, &format!("/api/v1/orgs/{}", a.org_id)).session(&b.admin_cookie)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(t.send(Req::get(ADMIN, "/api/v1/org").session(&b.admin_cookie)).await.json["id"], b.org_id);
    let r =
        t.send(Req::new(Method::DELETE, ADMIN, &format!("/api/v1/org/members/{b_user}")).session(&new_cookie)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "already gone");
    // Another org's admin cannot touch this org's members.
    let r = t
        .send(
            Req::new(Method::DELETE, ADMIN, &format!("/api/v1/orgs/{}/members/{admin_id}", a.org_id))
                .session(&b.admin_cookie),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(member_ids(&t, &new_cookie).await.len(), 2);
}
both!(org_admins_manage_members_but_never_leave_the_org_without_one);
