//! API tokens through the HTTP API, as page admins and automation use them: create (secret shown
//! once), list and read, expiry, revoke, delete, rotate with grace, usage tracking, minting
//! limits, audit trails, org tokens and the Terraform key (SPEC §2, §2.1, §3).

use crate::both;
use crate::harness::*;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::Row;
use statibeat::auth::token::TokenKind;
use statibeat::clock::{rfc3339, DAY, HOUR, MINUTE, SECOND};
use std::collections::HashSet;

const TOKENS: &str = "/api/v1/admin/api-tokens";
const ORG_TOKENS: &str = "/api/v1/org/api-tokens";

/// A request by the tenant's signed-in page admin (same-origin browser).
fn admin(a: &Tenant, method: Method, path: &str) -> Req {
    Req::new(method, &a.host, path).session(&a.admin_cookie)
}

/// Creates a page token as the page admin; asserts 201 and returns (id, secret, body).
async fn create(t: &TestApp, a: &Tenant, body: Value) -> (i64, String, Value) {
    let r = t.send(admin(a, Method::POST, TOKENS).json(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    (r.json["id"].as_i64().unwrap(), r.json["token"].as_str().unwrap().to_string(), r.json)
}

fn body(name: &str, permission: &str, role: &str) -> Value {
    json!({"name": name, "permission": permission, "role_key": role})
}

/// What automation does first: ask who it is on this host.
async fn context(t: &TestApp, host: &str, token: &str) -> Resp {
    t.send(Req::get(host, "/api/v1/context").bearer(token)).await
}

fn is_token_format(s: &str) -> bool {
    s.len() == 42 && s.starts_with("sbt_") && s[4..].bytes().all(|b| b.is_ascii_alphanumeric())
}

async fn stats(t: &TestApp, a: &Tenant) -> Value {
    let r = t.send(admin(a, Method::GET, &format!("{TOKENS}/stats"))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json
}

/// A well-formed token (valid checksum) that was never issued.
fn unknown_token(t: &TestApp) -> String {
    t.app.new_token(TokenKind::Api).expose().to_string()
}

// ---- create, list, read -----------------------------------------------------------------------

async fn a_new_token_is_shown_once_and_never_listed(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let (id, secret, created) = create(
        &t,
        &a,
        json!({
            "name": "ci-deploy", "description": "Deploys from CI", "notes": "owner: platform team",
            "permission": "write", "role_key": "page_manager",
        }),
    )
    .await;
    assert!(is_token_format(&secret), "{secret}");
    assert_eq!(created["name"], "ci-deploy");
    assert_eq!(created["state"], "active");
    assert_eq!(created["permission"], "write");
    assert_eq!(created["role_key"], "page_manager");
    assert_eq!(created["token_hint"], format!("sbt_…{}", &secret[secret.len() - 4..]));
    assert_eq!(created["created_at"], rfc3339(T0));
    assert_eq!(t.count("api_tokens").await, 1);
    // The secret works straight away.
    assert_eq!(context(&t, &a.host, &secret).await.status, StatusCode::OK);

    // Lists (compact and full) and the single read never show it again.
    let compact = t.send(admin(&a, Method::GET, TOKENS)).await;
    let full = t.send(admin(&a, Method::GET, &format!("{TOKENS}?view=full"))).await;
    let one = t.send(admin(&a, Method::GET, &format!("{TOKENS}/{id}"))).await;
    for r in [&compact, &full, &one] {
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert!(!r.text.contains(&secret), "secret leaked: {}", r.text);
        assert!(!r.text.contains(&secret[4..36]), "secret body leaked: {}", r.text);
        assert!(!r.text.contains("\"token\""), "{}", r.text);
    }
    // Nor is it stored in clear.
    let stored: String = sqlx::query("SELECT token_hash FROM api_tokens WHERE id = $1")
        .bind(id)
        .fetch_one(&t.app.db.pool)
        .await
        .unwrap()
        .get(0);
    assert_ne!(stored, secret);
    assert_eq!(stored.len(), 64);

    // Compact by default…
    assert_eq!(compact.json["next_cursor"], Value::Null);
    let c = &compact.json["data"][0];
    assert_eq!(c["id"], id);
    assert_eq!(c["name"], "ci-deploy");
    assert_eq!(c["state"], "active");
    for absent in ["description", "notes", "created_by", "terraform_managed", "last_used_ip", "created_at"] {
        assert!(c.get(absent).is_none(), "compact view has {absent}: {c}");
    }
    // …full on request, and for the single read.
    for f in [&full.json["data"][0], &one.json] {
        assert_eq!(f["id"], id);
        assert_eq!(f["description"], "Deploys from CI");
        assert_eq!(f["notes"], "owner: platform team");
        assert_eq!(f["terraform_managed"], false);
        assert_eq!(f["scope"], "page");
        assert_eq!(f["page_id"], a.page_id);
        assert_eq!(f["org_id"], a.org_id);
        assert_eq!(f["created_by"]["kind"], "session");
        assert!(f["created_by"]["id"].is_i64(), "{f}");
        assert_eq!(f["created_at"], rfc3339(T0));
        assert_eq!(f["revoked_at"], Value::Null);
    }
    // Unknown view names are a 400, not a silent default.
    let bad = t.send(admin(&a, Method::GET, &format!("{TOKENS}?view=everything"))).await;
    assert_eq!((bad.status, bad.json["field"].as_str()), (StatusCode::BAD_REQUEST, Some("view")));
}
both!(a_new_token_is_shown_once_and_never_listed);

async fn paging_through_tokens_visits_each_once(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let mut made = Vec::new();
    for i in 0..5 {
        made.push(create(&t, &a, body(&format!("bot-{i}"), "read", "page_viewer")).await.0);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("{TOKENS}?limit=2&cursor={c}"),
            None => format!("{TOKENS}?limit=2"),
        };
        let r = t.send(admin(&a, Method::GET, &path)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        pages += 1;
        let data = r.json["data"].as_array().unwrap();
        assert!(data.len() <= 2, "{}", r.text);
        seen.extend(data.iter().map(|d| d["id"].as_i64().unwrap()));
        match r.json["next_cursor"].as_str() {
            Some(c) => {
                assert_eq!(data.len(), 2, "a page with a next cursor is full");
                cursor = Some(c.to_string());
            }
            None => break,
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, made, "every token once, in order");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 5);

    // limit is bounded; a forged cursor is a 400.
    let r = t.send(admin(&a, Method::GET, &format!("{TOKENS}?limit=201"))).await;
    assert_eq!((r.status, r.json["field"].as_str()), (StatusCode::BAD_REQUEST, Some("limit")));
    let r = t.send(admin(&a, Method::GET, &format!("{TOKENS}?cursor=42"))).await;
    assert_eq!((r.status, r.json["field"].as_str()), (StatusCode::BAD_REQUEST, Some("cursor")));
}
both!(paging_through_tokens_visits_each_once);

// ---- expiry -----------------------------------------------------------------------------------

async fn a_token_stops_working_when_it_expires(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let mut b = body("short-lived", "read", "page_viewer");
    b["expires_at"] = json!(rfc3339(T0 + HOUR));
    let (id, secret, created) = create(&t, &a, b).await;
    assert_eq!(created["expires_at"], rfc3339(T0 + HOUR));
    assert_eq!(context(&t, &a.host, &secret).await.status, StatusCode::OK);
    t.clock.advance(HOUR - SECOND);
    assert_eq!(context(&t, &a.host, &secret).await.status, StatusCode::OK);

    t.clock.advance(2 * SECOND);
    let expired = context(&t, &a.host, &secret).await;
    let unknown = context(&t, &a.host, &unknown_token(&t)).await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED, "{}", expired.text);
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    // Nothing tells an attacker that this token once existed.
    assert_eq!(expired.text, unknown.text);
    assert_eq!(expired.header("www-authenticate"), unknown.header("www-authenticate"));
    assert!(expired.header("www-authenticate").is_some_and(|v| v.starts_with("Bearer")));

    let one = t.send(admin(&a, Method::GET, &format!("{TOKENS}/{id}"))).await;
    assert_eq!(one.json["state"], "expired");
    assert_eq!(stats(&t, &a).await, json!({"total": 1, "active": 0, "revoked": 0, "expired": 1}));
    // An expired token cannot be rotated back to life.
    let r = t.send(admin(&a, Method::POST, &format!("{TOKENS}/{id}/rotate"))).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
}
both!(a_token_stops_working_when_it_expires);

async fn expiry_dates_must_be_within_the_next_year(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let now = t.app.now();
    for (what, at) in [
        ("two years ahead", json!(rfc3339(now + 2 * 365 * DAY))),
        ("367 days ahead", json!(rfc3339(now + 367 * DAY))),
        ("in the past", json!(rfc3339(now - MINUTE))),
        ("right now", json!(rfc3339(now))),
        ("not a timestamp", json!("next tuesday")),
        ("a number", json!(1_900_000_000)),
    ] {
        let mut b = body("bad-expiry", "read", "page_viewer");
        b["expires_at"] = at;
        let r = t.send(admin(&a, Method::POST, TOKENS).json(b)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{what}: {}", r.text);
        assert_eq!(r.json["field"], "expires_at", "{what}: {}", r.text);
        assert_eq!(t.count("api_tokens").await, 0, "{what} wrote a row");
    }
    // A year ahead is fine, and any offset is understood.
    let mut b = body("yearly", "read", "page_viewer");
    b["expires_at"] = json!(rfc3339(now + 365 * DAY));
    create(&t, &a, b).await;
    let mut b = body("offset", "read", "page_viewer");
    b["expires_at"] = json!("2026-11-30T14:00:00+01:00");
    let (_, _, c) = create(&t, &a, b).await;
    assert_eq!(c["expires_at"], rfc3339(T0 + HOUR));
}
both!(expiry_dates_must_be_within_the_next_year);

// ---- revoke, delete, stats --------------------------------------------------------------------

async fn revoking_and_deleting_tokens(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let (leaked, leaked_secret, _) = create(&t, &a, body("leaked", "write", "page_manager")).await;
    let mut b = body("temporary", "read", "page_viewer");
    b["expires_at"] = json!(rfc3339(T0 + HOUR));
    let (_, _, _) = create(&t, &a, b).await;
    let (old, old_secret, _) = create(&t, &a, body("old", "read", "page_viewer")).await;
    let (_, keep_secret, _) = create(&t, &a, body("keep", "read", "page_viewer")).await;
    assert_eq!(stats(&t, &a).await, json!({"total": 4, "active": 4, "revoked": 0, "expired": 0}));

    assert_eq!(context(&t, &a.host, &leaked_secret).await.status, StatusCode::OK);
    let r = t.send(admin(&a, Method::POST, &format!("{TOKENS}/{leaked}/revoke"))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["state"], "revoked");
    assert_eq!(r.json["revoked_at"], rfc3339(T0));
    // At once: no cache keeps it alive.
    let refused = context(&t, &a.host, &leaked_secret).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.text);
    assert_eq!(refused.text, context(&t, &a.host, &unknown_token(&t)).await.text);
    // Revoking again changes nothing.
    let again = t.send(admin(&a, Method::POST, &format!("{TOKENS}/{leaked}/revoke"))).await;
    assert_eq!((again.status, again.json["revoked_at"].clone()), (StatusCode::OK, json!(rfc3339(T0))));
    let one = t.send(admin(&a, Method::GET, &format!("{TOKENS}/{leaked}"))).await;
    assert_eq!(one.json["state"], "revoked");

    t.clock.advance(2 * HOUR);
    assert_eq!(stats(&t, &a).await, json!({"total": 4, "active": 2, "revoked": 1, "expired": 1}));

    let r = t.send(admin(&a, Method::DELETE, &format!("{TOKENS}/{old}"))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert!(r.text.is_empty());
    let gone = t.send(admin(&a, Method::GET, &format!("{TOKENS}/{old}"))).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND, "{}", gone.text);
    let gone = t.send(admin(&a, Method::DELETE, &format!("{TOKENS}/{old}"))).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(context(&t, &a.host, &old_secret).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(t.count("api_tokens").await, 3);
    assert_eq!(stats(&t, &a).await, json!({"total": 3, "active": 1, "revoked": 1, "expired": 1}));
    // The others are untouched.
    assert_eq!(context(&t, &a.host, &keep_secret).await.status, StatusCode::OK);

    let actions = t.audit_actions().await;
    for want in ["token.revoked", "token.deleted"] {
        assert_eq!(actions.iter().filter(|x| *x == want).count(), 1, "{want}: {actions:?}");
    }
    // Ids that are not numbers, or do not exist, are 404.
    for path in [format!("{TOKENS}/abc"), format!("{TOKENS}/999999")] {
        assert_eq!(t.send(admin(&a, Method::GET, &path)).await.status, StatusCode::NOT_FOUND, "{path}");
    }
}
both!(revoking_and_deleting_tokens);

// ---- rotate -----------------------------------------------------------------------------------

async fn rotating_a_token_replaces_its_secret(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let (id, first, _) = create(&t, &a, body("deployer", "write", "page_manager")).await;

    // No body at all: default grace of 0, the old secret dies at once.
    let r = t.send(admin(&a, Method::POST, &format!("{TOKENS}/{id}/rotate"))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let second = r.json["token"].as_str().unwrap().to_string();
    assert!(is_token_format(&second) && second != first);
    assert_eq!(r.json["id"], id, "rotation keeps the token's identity");
    assert_eq!(r.json["rotated_at"], rfc3339(T0));
    assert_eq!(r.json["previous_secret_valid_until"], Value::Null);
    assert_eq!(context(&t, &a.host, &first).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(context(&t, &a.host, &second).await.status, StatusCode::OK);

    // An explicit grace of 0 does the same.
    let r = t.send(admin(&a, Method::POST, &format!("{TOKENS}/{id}/rotate")).json(json!({"grace_seconds": 0}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let third = r.json["token"].as_str().unwrap().to_string();
    assert_eq!(context(&t, &a.host, &second).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(context(&t, &a.host, &third).await.status, StatusCode::OK);
    // And an empty JSON object too.
    let r = t.send(admin(&a, Method::POST, &format!("{TOKENS}/{id}/rotate")).json(json!({}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let fourth = r.json["token"].as_str().unwrap().to_string();
    assert_eq!(context(&t, &a.host, &third).await.status, StatusCode::UNAUTHORIZED);

    // With an hour of grace both secrets work until the hour is up.
    let r =
        t.send(admin(&a, Method::POST, &format!("{TOKENS}/{id}/rotate")).json(json!({"grace_seconds": 3600}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let fifth = r.json["token"].as_str().unwrap().to_string();
    assert_eq!(r.json["previous_secret_valid_until"], rfc3339(T0 + HOUR));
    assert_eq!(context(&t, &a.host, &fourth).await.status, StatusCode::OK);
    assert_eq!(context(&t, &a.host, &fifth).await.status, StatusCode::OK);
    t.clock.advance(HOUR - SECOND);
    assert_eq!(context(&t, &a.host, &fourth).await.status, StatusCode::OK);
    assert_eq!(context(&t, &a.host, &fifth).await.status, StatusCode::OK);
    t.clock.advance(2 * SECOND);
    assert_eq!(context(&t, &a.host, &fourth).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(context(&t, &a.host, &fifth).await.status, StatusCode::OK);
    let one = t.send(admin(&a, Method::GET, &format!("{TOKENS}/{id}"))).await;
    assert_eq!(one.json["previous_secret_valid_until"], Value::Null);
    assert!(!one.text.contains(&fifth));

    // Bad options are named.
    let r = t
        .send(admin(&a, Method::POST, &format!("{TOKENS}/{id}/rotate")).json(json!({"grace_seconds": 8 * 24 * 3600})))
        .await;
    assert_eq!((r.status, r.json["field"].as_str()), (StatusCode::BAD_REQUEST, Some("grace_seconds")));
    let r = t.send(admin(&a, Method::POST, &format!("{TOKENS}/{id}/rotate")).json(json!({"grace": 60}))).await;
    assert_eq!((r.status, r.json["field"].as_str()), (StatusCode::BAD_REQUEST, Some("grace")));
    assert_eq!(context(&t, &a.host, &fifth).await.status, StatusCode::OK, "a refused rotation changes nothing");

    // A revoked token cannot be rotated; revoking also ends any grace.
    let r =
        t.send(admin(&a, Method::POST, &format!("{TOKENS}/{id}/rotate")).json(json!({"grace_seconds": 3600}))).await;
    let sixth = r.json["token"].as_str().unwrap().to_string();
    assert_eq!(t.send(admin(&a, Method::POST, &format!("{TOKENS}/{id}/revoke"))).await.status, StatusCode::OK);
    assert_eq!(context(&t, &a.host, &fifth).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(context(&t, &a.host, &sixth).await.status, StatusCode::UNAUTHORIZED);
    let r = t.send(admin(&a, Method::POST, &format!("{TOKENS}/{id}/rotate"))).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert!(r.json.get("token").is_none());
    assert_eq!(context(&t, &a.host, &sixth).await.status, StatusCode::UNAUTHORIZED);
}
both!(rotating_a_token_replaces_its_secret);

// ---- usage tracking -----------------------------------------------------------------------------

async fn last_use(t: &TestApp, id: i64) -> (Option<i64>, Option<String>) {
    let r = sqlx::query("SELECT last_used_at, last_used_ip FROM api_tokens WHERE id = $1")
        .bind(id)
        .fetch_one(&t.app.db.pool)
        .await
        .unwrap();
    (r.try_get(0).unwrap(), r.try_get(1).unwrap())
}

async fn a_tokens_last_use_is_tracked_at_most_once_a_minute(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let (id, secret, created) = create(&t, &a, body("monitor", "read", "page_viewer")).await;
    assert_eq!(created["last_used_at"], Value::Null);
    assert_eq!(last_use(&t, id).await, (None, None));

    let used = t.send(Req::get(&a.host, "/api/v1/context").bearer(&secret).from_ip("198.51.100.23")).await;
    assert_eq!(used.status, StatusCode::OK);
    assert_eq!(last_use(&t, id).await, (Some(T0), Some("198.51.100.23".into())));
    let one = t.send(admin(&a, Method::GET, &format!("{TOKENS}/{id}"))).await;
    assert_eq!(one.json["last_used_at"], rfc3339(T0));
    assert_eq!(one.json["last_used_ip"], "198.51.100.23");

    // Ten seconds later, from elsewhere: not written.
    t.clock.advance(10 * SECOND);
    let used = t.send(Req::get(&a.host, "/api/v1/context").bearer(&secret).from_ip("203.0.113.99")).await;
    assert_eq!(used.status, StatusCode::OK);
    assert_eq!(last_use(&t, id).await, (Some(T0), Some("198.51.100.23".into())));

    // 61 seconds after the last write: written.
    t.clock.advance(51 * SECOND);
    let used = t.send(Req::get(&a.host, "/api/v1/context").bearer(&secret).from_ip("203.0.113.99")).await;
    assert_eq!(used.status, StatusCode::OK);
    assert_eq!(last_use(&t, id).await, (Some(T0 + 61 * SECOND), Some("203.0.113.99".into())));
    let list = t.send(admin(&a, Method::GET, TOKENS)).await;
    assert_eq!(list.json["data"][0]["last_used_at"], rfc3339(T0 + 61 * SECOND));

    // A refused use (wrong page) is not a use.
    let b = t.tenant("bolt").await;
    t.clock.advance(2 * MINUTE);
    let r = t.send(Req::get(&b.host, "/api/v1/context").bearer(&secret).from_ip("192.0.2.66")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(last_use(&t, id).await, (Some(T0 + 61 * SECOND), Some("203.0.113.99".into())));
}
both!(a_tokens_last_use_is_tracked_at_most_once_a_minute);

// ---- minting limits and validation ----------------------------------------------------------

async fn a_token_cannot_mint_more_access_than_it_has(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let manager = t.page_token(&a, "write", "page_manager").await;
    let half_admin = t.page_token(&a, "admin", "page_manager").await;
    let full_admin = t.page_token(&a, "admin", "page_admin").await;
    let before = t.count("api_tokens").await;

    for (who, token) in [("write+page_manager", &manager), ("admin+page_manager", &half_admin)] {
        let r = t.send(Req::post(&a.host, TOKENS).bearer(token).json(body("minted", "read", "page_viewer"))).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{who}: {}", r.text);
        assert!(r.json.get("token").is_none());
        // Listing credentials needs the same access as managing them.
        let r = t.send(Req::get(&a.host, TOKENS).bearer(token)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{who} listed tokens: {}", r.text);
    }
    assert_eq!(t.count("api_tokens").await, before);

    let r = t.send(Req::post(&a.host, TOKENS).bearer(&full_admin).json(body("reader", "read", "page_viewer"))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["created_by"]["kind"], "api_token");
    let reader = r.json["token"].as_str().unwrap().to_string();
    let ctx = context(&t, &a.host, &reader).await;
    assert_eq!(ctx.json["capabilities"], json!(["read"]));
    // The reader in turn can mint nothing.
    let r = t.send(Req::post(&a.host, TOKENS).bearer(&reader).json(body("sub", "read", "page_viewer"))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(t.count("api_tokens").await, before + 1);
}
both!(a_token_cannot_mint_more_access_than_it_has);

async fn invalid_token_requests_are_refused_with_the_field_named(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let cases = [
        ("org role on a page token", body("x", "read", "org_admin"), "role_key"),
        ("unknown role", body("x", "read", "superhero"), "role_key"),
        ("unknown permission", body("x", "superuser", "page_viewer"), "permission"),
        ("empty name", body("   ", "read", "page_viewer"), "name"),
        (
            "unknown field",
            json!({"name": "x", "permission": "read", "role_key": "page_viewer", "scopes": ["all"]}),
            "scopes",
        ),
        (
            "page chosen in the body",
            json!({"name": "x", "permission": "read", "role_key": "page_viewer", "page_id": 1}),
            "page_id",
        ),
        (
            "permission of the wrong type",
            json!({"name": "x", "permission": 3, "role_key": "page_viewer"}),
            "permission",
        ),
    ];
    for (what, b, field) in cases {
        let r = t.send(admin(&a, Method::POST, TOKENS).json(b)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{what}: {}", r.text);
        assert_eq!(r.json["field"], field, "{what}: {}", r.text);
        assert!(r.json["error"].as_str().unwrap().contains(field), "{what}: message should name {field}: {}", r.text);
        assert_eq!(t.count("api_tokens").await, 0, "{what} wrote a row");
    }
    // Missing required fields and non-JSON bodies are refused too.
    let r = t.send(admin(&a, Method::POST, TOKENS).json(json!({"name": "x"}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let mut raw = admin(&a, Method::POST, TOKENS).header("content-type", "text/plain");
    raw.raw = Some(b"name=x".to_vec());
    assert_eq!(t.send(raw).await.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(t.count("api_tokens").await, 0);
    // Nothing was audited as created.
    assert!(!t.audit_actions().await.iter().any(|x| x == "token.created"));
}
both!(invalid_token_requests_are_refused_with_the_field_named);

// ---- audit ------------------------------------------------------------------------------------

async fn a_tokens_audit_log_tells_its_story(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let (id, secret, _) = create(&t, &a, body("story", "read", "page_viewer")).await;
    let (other, _, _) = create(&t, &a, body("other", "read", "page_viewer")).await;
    t.clock.advance(MINUTE);
    let r = t.send(admin(&a, Method::POST, &format!("{TOKENS}/{id}/rotate"))).await;
    let rotated_secret = r.json["token"].as_str().unwrap().to_string();
    t.clock.advance(MINUTE);
    assert_eq!(t.send(admin(&a, Method::POST, &format!("{TOKENS}/{id}/revoke"))).await.status, StatusCode::OK);

    let r = t.send(admin(&a, Method::GET, &format!("{TOKENS}/{id}/audit-log"))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let data = r.json["data"].as_array().unwrap();
    let actions: Vec<&str> = data.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["token.revoked", "token.rotated", "token.created"], "newest first");
    for e in data {
        assert_eq!(e["target"], json!({"kind": "api_token", "id": id}));
        assert_eq!(e["actor"]["kind"], "session");
        assert_eq!(e["actor"]["name"], a.admin_email.as_str());
        assert_eq!(e["page_id"], a.page_id);
    }
    assert_eq!(data[0]["at"], rfc3339(T0 + 2 * MINUTE));
    assert_eq!(data[2]["at"], rfc3339(T0));
    // Never the secret.
    assert!(!r.text.contains(&secret) && !r.text.contains(&rotated_secret));
    // Another token's trail holds only its own creation.
    let r = t.send(admin(&a, Method::GET, &format!("{TOKENS}/{other}/audit-log"))).await;
    let actions: Vec<&str> = r.json["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["token.created"]);
    // Pagination works here too.
    let r = t.send(admin(&a, Method::GET, &format!("{TOKENS}/{id}/audit-log?limit=2"))).await;
    assert_eq!(r.json["data"].as_array().unwrap().len(), 2);
    let next = r.json["next_cursor"].as_str().unwrap().to_string();
    let r = t.send(admin(&a, Method::GET, &format!("{TOKENS}/{id}/audit-log?limit=2&cursor={next}"))).await;
    assert_eq!(r.json["data"][0]["action"], "token.created");
    assert_eq!(r.json["next_cursor"], Value::Null);
}
both!(a_tokens_audit_log_tells_its_story);

async fn failed_token_use_shows_up_in_the_page_audit_log(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let b = t.tenant("bolt").await;
    let bogus = unknown_token(&t);
    let r = t.send(Req::get(&a.host, "/api/v1/context").bearer(&bogus).from_ip("192.0.2.99")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = t.send(Req::get(&a.host, TOKENS).bearer("sbt_not-even-close").from_ip("192.0.2.99")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // A token of another page, presented here, is refused and recorded here.
    let foreign = t.page_token(&b, "read", "page_viewer").await;
    let r = t.send(Req::get(&a.host, "/api/v1/context").bearer(&foreign).from_ip("192.0.2.99")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.text, t.send(Req::get(&a.host, "/api/v1/context").bearer(&bogus)).await.text);

    let mut entries = Vec::new();
    for _ in 0..100 {
        let log = t.send(admin(&a, Method::GET, "/api/v1/admin/audit-log")).await;
        assert_eq!(log.status, StatusCode::OK, "{}", log.text);
        assert!(!log.text.contains(&bogus) && !log.text.contains(&foreign) && !log.text.contains("not-even-close"));
        entries = log.json["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "auth.failed" && e["ip"] == "192.0.2.99")
            .cloned()
            .collect::<Vec<_>>();
        if entries.len() >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    t.wait_for_audit("auth.failed").await;
    assert_eq!(entries.len(), 3, "{entries:?}");
    let mut reasons: Vec<&str> = entries.iter().map(|e| e["detail"]["reason"].as_str().unwrap()).collect();
    reasons.sort();
    assert_eq!(reasons, vec!["malformed", "unknown", "wrong_page"]);
    for e in &entries {
        assert_eq!(e["page_id"], a.page_id);
        assert_eq!(e["actor"]["kind"], "anonymous");
    }
    // The other page's log does not get them.
    let log = t.send(Req::get(&b.host, "/api/v1/admin/audit-log").session(&b.admin_cookie)).await;
    assert!(!log.json["data"].as_array().unwrap().iter().any(|e| e["ip"] == "192.0.2.99"), "{}", log.text);
    // Reading the audit log is credentials-and-people access.
    let writer = t.page_token(&a, "write", "page_admin").await;
    assert_eq!(
        t.send(Req::get(&a.host, "/api/v1/admin/audit-log").bearer(&writer)).await.status,
        StatusCode::FORBIDDEN
    );
}
both!(failed_token_use_shows_up_in_the_page_audit_log);

// ---- org tokens -------------------------------------------------------------------------------

async fn an_org_token_works_on_every_page_of_its_org(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let other_org = t.tenant("bolt").await;
    let r = t
        .send(Req::post(ADMIN, ORG_TOKENS).session(&a.admin_cookie).json(body("org-automation", "admin", "org_admin")))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let org_id = r.json["id"].as_i64().unwrap();
    let org_token = r.json["token"].as_str().unwrap().to_string();
    assert!(is_token_format(&org_token));
    assert_eq!(r.json["scope"], "org");
    assert_eq!(r.json["page_id"], Value::Null);

    // It manages the org: a second page…
    let r = t
        .send(
            Req::post(ADMIN, "/api/v1/org/pages")
                .bearer(&org_token)
                .json(json!({"name": "Beta", "url_prefix": "beta"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let beta_page = r.json["id"].as_i64().unwrap();
    let r = t.send(Req::get(ADMIN, "/api/v1/org").bearer(&org_token)).await;
    assert_eq!((r.status, r.json["id"].as_i64()), (StatusCode::OK, Some(a.org_id)), "{}", r.text);
    let r = t.send(Req::get(ADMIN, "/api/v1/org/pages").bearer(&org_token)).await;
    assert_eq!(r.json["data"].as_array().unwrap().len(), 2, "{}", r.text);

    // …and works on every page of the org, as a page admin there.
    for (host, prefix, page_id) in [(a.host.clone(), "acme", a.page_id), (format!("beta.{BASE}"), "beta", beta_page)] {
        let c = context(&t, &host, &org_token).await;
        assert_eq!(c.status, StatusCode::OK, "{host}: {}", c.text);
        assert_eq!(c.json["page"]["url_prefix"], prefix);
        assert_eq!(c.json["page"]["id"], page_id);
        assert_eq!(c.json["role_key"], "org_admin");
        assert_eq!(c.json["capabilities"], json!(["read", "write_operational", "configure", "manage_access"]));
        let l = t.send(Req::get(&host, TOKENS).bearer(&org_token)).await;
        assert_eq!(l.status, StatusCode::OK, "{host}: {}", l.text);
    }
    // Numeric routes agree.
    let c = t
        .send(Req::get(ADMIN, &format!("/api/v1/orgs/{}/pages/{beta_page}/context", a.org_id)).bearer(&org_token))
        .await;
    assert_eq!((c.status, c.json["page"]["id"].as_i64()), (StatusCode::OK, Some(beta_page)), "{}", c.text);
    // Not on a page of another org.
    let c = context(&t, &other_org.host, &org_token).await;
    assert_eq!(c.status, StatusCode::UNAUTHORIZED, "{}", c.text);

    // A page token made on acme, through the org token.
    let r = t.send(Req::post(&a.host, TOKENS).bearer(&org_token).json(body("acme-bot", "read", "page_viewer"))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let page_tok = r.json["id"].as_i64().unwrap();
    let page_secret = r.json["token"].as_str().unwrap().to_string();
    // A page token is only good on its page, and carries no org-level access.
    assert_eq!(context(&t, &format!("beta.{BASE}"), &page_secret).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(t.send(Req::get(ADMIN, ORG_TOKENS).bearer(&page_secret)).await.status, StatusCode::FORBIDDEN);

    // The two lists never mix.
    let org_list = t.send(Req::get(ADMIN, ORG_TOKENS).session(&a.admin_cookie)).await;
    assert_eq!(org_list.status, StatusCode::OK, "{}", org_list.text);
    let ids: Vec<i64> = org_list.json["data"].as_array().unwrap().iter().map(|d| d["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![org_id]);
    let page_list = t.send(admin(&a, Method::GET, TOKENS)).await;
    let ids: Vec<i64> = page_list.json["data"].as_array().unwrap().iter().map(|d| d["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![page_tok]);
    let beta_list = t.send(Req::get(&format!("beta.{BASE}"), TOKENS).session(&a.admin_cookie)).await;
    assert_eq!(beta_list.json["data"], json!([]), "{}", beta_list.text);
    // And each scope's tokens are invisible (404) from the other.
    assert_eq!(
        t.send(Req::get(ADMIN, &format!("{ORG_TOKENS}/{page_tok}")).session(&a.admin_cookie)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(t.send(admin(&a, Method::GET, &format!("{TOKENS}/{org_id}"))).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        t.send(admin(&a, Method::POST, &format!("{TOKENS}/{org_id}/revoke"))).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(context(&t, &a.host, &org_token).await.status, StatusCode::OK, "a refused revoke changed nothing");
    let s = t.send(Req::get(ADMIN, &format!("{ORG_TOKENS}/stats")).session(&a.admin_cookie)).await;
    assert_eq!(s.json, json!({"total": 1, "active": 1, "revoked": 0, "expired": 0}));
    // The other org's admin sees none of them.
    let r = t.send(Req::get(ADMIN, ORG_TOKENS).session(&other_org.admin_cookie)).await;
    assert_eq!(r.json["data"], json!([]), "{}", r.text);

    // Org tokens take org roles only.
    let r = t.send(Req::post(ADMIN, ORG_TOKENS).session(&a.admin_cookie).json(body("x", "read", "page_viewer"))).await;
    assert_eq!((r.status, r.json["field"].as_str()), (StatusCode::BAD_REQUEST, Some("role_key")), "{}", r.text);
    // An org member token reads every page but manages nothing.
    let r =
        t.send(Req::post(ADMIN, ORG_TOKENS).session(&a.admin_cookie).json(body("reader", "read", "org_member"))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let reader = r.json["token"].as_str().unwrap().to_string();
    let c = context(&t, &format!("beta.{BASE}"), &reader).await;
    assert_eq!(c.json["capabilities"], json!(["read"]), "{}", c.text);
    assert_eq!(t.send(Req::get(ADMIN, ORG_TOKENS).bearer(&reader)).await.status, StatusCode::FORBIDDEN);

    let actions = t.audit_actions().await;
    assert_eq!(actions.iter().filter(|x| *x == "token.created").count(), 3, "{actions:?}");
}
both!(an_org_token_works_on_every_page_of_its_org);

// ---- Terraform --------------------------------------------------------------------------------

async fn the_terraform_key_reads_and_writes_operational_content_only(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let (id, secret, created) = create(
        &t,
        &a,
        json!({"name": "terraform-key", "permission": "write", "role_key": "page_admin", "terraform_managed": true}),
    )
    .await;
    assert_eq!(created["terraform_managed"], true);
    let one = t.send(admin(&a, Method::GET, &format!("{TOKENS}/{id}"))).await;
    assert_eq!(one.json["terraform_managed"], true);
    assert_eq!(one.json["name"], "terraform-key");

    let c = context(&t, &a.host, &secret).await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.text);
    assert_eq!(c.json["principal"], json!({"kind": "api_token", "id": id, "name": "terraform-key"}));
    assert_eq!(c.json["permission"], "write");
    assert_eq!(c.json["role_key"], "page_admin");
    assert_eq!(c.json["capabilities"], json!(["read", "write_operational"]));
    assert_eq!(c.json["page"]["url_prefix"], "acme");
    assert_eq!(c.json["org"]["id"], a.org_id);
    // Write ∩ page_admin is operational writes: no configuration, no credentials.
    let r = t.send(Req::post(&a.host, TOKENS).bearer(&secret).json(body("more", "read", "page_viewer"))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = t
        .send(
            Req::new(Method::PATCH, &a.host, "/api/v1/admin/page-settings")
                .bearer(&secret)
                .json(json!({"name": "Renamed"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = t.send(Req::get(&a.host, "/api/v1/admin/page-settings").bearer(&secret)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["name"], "Page acme");
}
both!(the_terraform_key_reads_and_writes_operational_content_only);

// ---- rotation safety and minting bounds ------------------------------------------------------

/// During a rotation's grace the old secret keeps its day-to-day access, but it can no longer
/// manage credentials: a leaked old secret cannot rotate the token away from its owner.
async fn an_old_secret_in_its_grace_period_cannot_manage_tokens(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let (id, old, _) = create(&t, &a, body("deployer", "admin", "page_admin")).await;
    let r = t
        .send(Req::post(&a.host, &format!("{TOKENS}/{id}/rotate")).bearer(&old).json(json!({"grace_seconds": 3600})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let new = r.json["token"].as_str().unwrap().to_string();
    assert_eq!(context(&t, &a.host, &old).await.status, StatusCode::OK, "the old secret still works");
    let steal = t.send(Req::post(&a.host, &format!("{TOKENS}/{id}/rotate")).bearer(&old)).await;
    assert_eq!(steal.status, StatusCode::FORBIDDEN, "{}", steal.text);
    let mint = t.send(Req::post(&a.host, TOKENS).bearer(&old).json(body("child", "read", "page_viewer"))).await;
    assert_eq!(mint.status, StatusCode::FORBIDDEN, "{}", mint.text);
    let settings = t
        .send(
            Req::new(Method::PATCH, &a.host, "/api/v1/admin/page-settings").bearer(&old).json(json!({"name": "Acme"})),
        )
        .await;
    assert_eq!(settings.status, StatusCode::OK, "configuration keeps working during the grace");
    assert_eq!(context(&t, &a.host, &new).await.json["capabilities"][3], "manage_access");
    let r = t.send(Req::post(&a.host, &format!("{TOKENS}/{id}/rotate")).bearer(&new)).await;
    assert_eq!(r.status, StatusCode::OK, "the owner's new secret still manages the token");
}
both!(an_old_secret_in_its_grace_period_cannot_manage_tokens);

/// A token minted by a token never outlives it: left out, the expiry is inherited.
async fn a_token_never_outlives_the_token_that_minted_it(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let parent_expiry = rfc3339(T0 + DAY);
    let (_, parent, _) = create(
        &t,
        &a,
        json!({"name": "short-lived", "permission": "admin", "role_key": "page_admin", "expires_at": parent_expiry}),
    )
    .await;
    let r = t.send(Req::post(&a.host, TOKENS).bearer(&parent).json(body("child", "read", "page_viewer"))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["expires_at"].as_str(), Some(parent_expiry.as_str()));
    let later =
        json!({"name": "child", "permission": "read", "role_key": "page_viewer", "expires_at": rfc3339(T0 + 2 * DAY)});
    let r = t.send(Req::post(&a.host, TOKENS).bearer(&parent).json(later)).await;
    assert_eq!((r.status, r.json["field"].as_str()), (StatusCode::BAD_REQUEST, Some("expires_at")));
    let sooner =
        json!({"name": "child", "permission": "read", "role_key": "page_viewer", "expires_at": rfc3339(T0 + HOUR)});
    assert_eq!(t.send(Req::post(&a.host, TOKENS).bearer(&parent).json(sooner)).await.status, StatusCode::CREATED);
}
both!(a_token_never_outlives_the_token_that_minted_it);

/// Two rotations racing: the store swaps the secret only if nobody rotated since it was read.
async fn a_rotation_based_on_a_stale_read_changes_nothing(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let (id, _, _) = create(&t, &a, body("bot", "write", "page_manager")).await;
    let seen = statibeat::store::api_tokens::api_token_by_id(&t.app.db.pool, id).await.unwrap().unwrap();
    let r = t.send(admin(&a, Method::POST, &format!("{TOKENS}/{id}/rotate"))).await;
    assert_eq!(r.status, StatusCode::OK);
    let winner = r.json["token"].as_str().unwrap().to_string();
    let swapped = statibeat::store::api_tokens::rotate_api_token(
        &t.app.db.pool,
        id,
        seen.rotated_at,
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000",
        T0,
        T0,
    )
    .await
    .unwrap();
    assert!(!swapped, "the stale rotation lost");
    assert_eq!(context(&t, &a.host, &winner).await.status, StatusCode::OK, "the winner's secret works");
}
both!(a_rotation_based_on_a_stale_read_changes_nothing);
