//! Subscribers and the fourth way in: double opt-in through the outbox, emailed link tokens
//! exchanged once for a magic session, and self-service that reaches only its own address.

use crate::both;
use crate::harness::*;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use statibeat::clock::MINUTE;

/// The reader routes; the API auth matrix counts them as covered by the matrix below.
pub const READER_ROUTES: &[(&str, &str)] = &[
    ("POST", "/api/v1/subscribers"),
    ("POST", "/api/v1/subscribers/access"),
    ("POST", "/api/v1/manage/session"),
    ("GET", "/api/v1/manage/subscriptions"),
    ("PATCH", "/api/v1/manage/subscriptions"),
    ("DELETE", "/api/v1/manage/subscriptions"),
    // Its credential cases are in webhooks.rs.
    ("POST", "/api/v1/manage/subscriptions/webhook-secret"),
    ("GET", "/manage"),
    ("GET", "/static/manage.js"),
    // One-click unsubscribe; its credential cases are in notifications.rs.
    ("GET", "/u/{token}"),
    ("POST", "/u/{token}"),
    // Public feeds; their credential cases are in feeds.rs.
    ("GET", "/history.rss"),
    ("GET", "/history.atom"),
    ("GET", "/maintenances.ics"),
];

/// Every mail in the outbox: (recipient, subject, text).
async fn mails(t: &TestApp) -> Vec<(String, String, String)> {
    use sqlx::Row;
    sqlx::query("SELECT recipient, subject, body_text FROM outbox ORDER BY id")
        .fetch_all(&t.app.db.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

/// The link token in the newest mail to `to`, checking it travels only in the URL fragment.
pub async fn link_token(t: &TestApp, to: &str, host: &str) -> String {
    let (_, _, text) = mails(t).await.into_iter().rev().find(|(r, _, _)| r == to).expect("a mail");
    let url = text.lines().find(|l| l.contains("/manage#token=")).expect("a link").trim().to_string();
    assert!(url.starts_with(&format!("http://{host}/manage#token=sbm_")), "{url}");
    assert_eq!(text.matches("sbm_").count(), 1, "the token appears once, after '#': {text}");
    url.split("#token=").nth(1).unwrap().to_string()
}

async fn state_of(t: &TestApp, email: &str) -> Option<String> {
    use sqlx::Row;
    sqlx::query("SELECT state FROM subscribers WHERE email = $1")
        .bind(email)
        .fetch_optional(&t.app.db.pool)
        .await
        .unwrap()
        .map(|r| r.get(0))
}

fn subscribe(host: &str, email: &str) -> Req {
    Req::post(host, "/api/v1/subscribers").json(json!({"email": email}))
}

fn exchange(host: &str, link: &str) -> Req {
    Req::post(host, "/api/v1/manage/session").header("x-magic-token", link)
}

fn manage(method: Method, host: &str, token: &str) -> Req {
    Req::new(method, host, "/api/v1/manage/subscriptions").header("x-magic-token", token)
}

async fn a_reader_subscribes_confirms_and_manages_with_a_magic_link(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    crate::status_model::components(&t, &a).await;
    let r = t.send(subscribe(&a.host, "reader@example.org")).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(state_of(&t, "reader@example.org").await.as_deref(), Some("unconfirmed"));
    let link = link_token(&t, "reader@example.org", &a.host).await;
    // A mail scanner fetching the page changes nothing.
    let r = t.send(Req::get(&a.host, "/manage")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("content-security-policy").unwrap().contains("script-src 'self'"));
    assert_eq!(state_of(&t, "reader@example.org").await.as_deref(), Some("unconfirmed"));
    // The exchange confirms and opens a magic session; the link works once.
    let r = t.send(exchange(&a.host, &link)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let session = r.json["token"].as_str().unwrap().to_string();
    assert!(session.starts_with("sbx_"));
    assert_eq!(state_of(&t, "reader@example.org").await.as_deref(), Some("active"));
    assert_eq!(t.send(exchange(&a.host, &link)).await.status, StatusCode::UNAUTHORIZED, "single use");
    let r = t.send(manage(Method::GET, &a.host, &session)).await;
    assert_eq!((r.status, r.json["email"].as_str()), (StatusCode::OK, Some("reader@example.org")));
    assert_eq!(r.json["components"], Value::Null, "everything by default");
    let r = t
        .send(manage(Method::PATCH, &a.host, &session).json(json!({"components": ["auth"], "maintenances": false})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!((r.json["components"].clone(), r.json["maintenances"].clone()), (json!(["auth"]), json!(false)));
    // Bad preferences change nothing.
    let r = t.send(manage(Method::PATCH, &a.host, &session).json(json!({"components": ["nope"]}))).await;
    assert_eq!((r.status, r.json["field"].as_str()), (StatusCode::BAD_REQUEST, Some("components[0]")));
    assert_eq!(t.send(manage(Method::GET, &a.host, &session)).await.json["components"], json!(["auth"]));
    // Unsubscribing ends the session too.
    assert_eq!(t.send(manage(Method::DELETE, &a.host, &session)).await.status, StatusCode::NO_CONTENT);
    assert_eq!(state_of(&t, "reader@example.org").await.as_deref(), Some("unsubscribed"));
    assert_eq!(t.send(manage(Method::GET, &a.host, &session)).await.status, StatusCode::UNAUTHORIZED);
}
both!(a_reader_subscribes_confirms_and_manages_with_a_magic_link);

async fn magic_tokens_reach_only_their_page_and_address_and_expire(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let b = t.tenant("bravo").await;
    for email in ["one@example.org", "two@example.org"] {
        t.send(subscribe(&a.host, email)).await;
    }
    let one = link_token(&t, "one@example.org", &a.host).await;
    assert_eq!(t.send(exchange(&b.host, &one)).await.status, StatusCode::UNAUTHORIZED, "another page's host");
    let s1 = t.send(exchange(&a.host, &one)).await.json["token"].as_str().unwrap().to_string();
    let r = t.send(manage(Method::GET, &a.host, &s1)).await;
    assert_eq!(r.json["email"], "one@example.org", "a session sees only its own address");
    assert!(!r.text.contains("two@example.org"));
    assert_eq!(t.send(manage(Method::GET, &b.host, &s1)).await.status, StatusCode::UNAUTHORIZED);
    // In a query string it is refused outright.
    let r = t.send(Req::get(&a.host, &format!("/api/v1/manage/subscriptions?magic_token={s1}"))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Links expire after 30 minutes, sessions after an hour idle.
    let two = link_token(&t, "two@example.org", &a.host).await;
    t.clock.advance(31 * MINUTE);
    assert_eq!(t.send(exchange(&a.host, &two)).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(state_of(&t, "two@example.org").await.as_deref(), Some("unconfirmed"));
    t.clock.advance(30 * MINUTE);
    assert_eq!(t.send(manage(Method::GET, &a.host, &s1)).await.status, StatusCode::UNAUTHORIZED, "idle for an hour");
    t.wait_for_audit_count("auth.failed", 3).await;
}
both!(magic_tokens_reach_only_their_page_and_address_and_expire);

async fn asking_for_a_link_reveals_nothing_about_the_address(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    t.send(subscribe(&a.host, "known@example.org")).await;
    let before = mails(&t).await.len();
    let ask = |email: &str| Req::post(&a.host, "/api/v1/subscribers/access").json(json!({"email": email}));
    let known = t.send(ask("known@example.org")).await;
    let unknown = t.send(ask("unknown@example.org")).await;
    assert_eq!((known.status, &known.text), (unknown.status, &unknown.text));
    assert_eq!(known.status, StatusCode::ACCEPTED);
    let after = mails(&t).await;
    assert_eq!(after.len(), before + 1, "only the known address gets mail");
    assert_eq!(after.last().unwrap().0, "known@example.org");
    // Subscribing again: the same answer; an active subscriber's preferences are not changed by
    // whoever typed their address.
    let link = link_token(&t, "known@example.org", &a.host).await;
    let session = t.send(exchange(&a.host, &link)).await.json["token"].as_str().unwrap().to_string();
    t.send(manage(Method::PATCH, &a.host, &session).json(json!({"incidents": false}))).await;
    let again = t
        .send(Req::post(&a.host, "/api/v1/subscribers").json(json!({"email": "known@example.org", "incidents": true})))
        .await;
    assert_eq!((again.status, &again.text), (unknown.status, &unknown.text));
    assert_eq!(t.send(manage(Method::GET, &a.host, &session)).await.json["incidents"], false);
    assert!(mails(&t).await.last().unwrap().1.starts_with("Manage your updates"));
    // Bad input is still a precise 400 (a malformed address reveals nothing about anyone).
    let r = t.send(Req::post(&a.host, "/api/v1/subscribers").json(json!({"email": "not an address"}))).await;
    assert_eq!((r.status, r.json["field"].as_str()), (StatusCode::BAD_REQUEST, Some("email")));
    let r = t
        .send(Req::post(&a.host, "/api/v1/subscribers").json(json!({"email": "x@example.org", "components": ["nope"]})))
        .await;
    assert_eq!((r.status, r.json["field"].as_str()), (StatusCode::BAD_REQUEST, Some("components[0]")));
    assert_eq!(state_of(&t, "x@example.org").await, None);
}
both!(asking_for_a_link_reveals_nothing_about_the_address);

/// A confirmed subscriber with a live magic session and a fresh, unused link token.
async fn mint(t: &TestApp, host: &str, n: usize) -> (String, String) {
    let email = format!("r{n}@example.org");
    t.send(subscribe(host, &email)).await;
    let link = link_token(t, &email, host).await;
    let session = t.send(exchange(host, &link)).await.json["token"].as_str().unwrap().to_string();
    t.send(subscribe(host, &email)).await;
    (link_token(t, &email, host).await, session)
}

/// Every credential kind on every magic-token route: only the right token for this page works.
async fn reader_routes_answer_every_credential_kind(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let b = t.tenant("bravo").await;
    let api = t.page_token(&a, "admin", "page_admin").await;
    t.send(subscribe(&b.host, "other@example.org")).await;
    let other_link = link_token(&t, "other@example.org", &b.host).await;
    let other_session = t.send(exchange(&b.host, &other_link)).await.json["token"].as_str().unwrap().to_string();
    let routes = [(Method::GET, 200u16), (Method::PATCH, 200), (Method::DELETE, 204)];
    for (n, (method, ok)) in routes.into_iter().enumerate() {
        let (link, session) = mint(&t, &a.host, n).await;
        let cases: Vec<(&str, Req, u16)> = vec![
            ("none", Req::new(method.clone(), &a.host, "/api/v1/manage/subscriptions"), 401),
            ("malformed", manage(method.clone(), &a.host, "sbx_nope"), 401),
            ("api token as magic", manage(method.clone(), &a.host, &api), 401),
            ("link token as session", manage(method.clone(), &a.host, &link), 401),
            ("other page's session", manage(method.clone(), &a.host, &other_session), 401),
            ("bearer only", Req::new(method.clone(), &a.host, "/api/v1/manage/subscriptions").bearer(&api), 401),
            (
                "session cookie only",
                Req::new(method.clone(), &a.host, "/api/v1/manage/subscriptions").header("cookie", &a.admin_cookie),
                401,
            ),
            (
                "in the query",
                Req::new(method.clone(), &a.host, &format!("/api/v1/manage/subscriptions?x={session}")),
                400,
            ),
            ("its own session", manage(method.clone(), &a.host, &session), ok),
        ];
        for (what, req, want) in cases {
            let req =
                if method == Method::PATCH && req.body.is_none() { req.json(json!({"incidents": true})) } else { req };
            let r = t.send(req).await;
            assert_eq!(r.status.as_u16(), want, "{method} with {what}: {}", r.text);
        }
    }
    let (link, session) = mint(&t, &a.host, 9).await;
    for (what, token, want) in
        [("session as link", session.as_str(), 401u16), ("api token", api.as_str(), 401), ("link", link.as_str(), 200)]
    {
        assert_eq!(t.send(exchange(&a.host, token)).await.status.as_u16(), want, "exchange with {what}");
    }
    assert_eq!(t.send(Req::post(&a.host, "/api/v1/manage/session")).await.status, StatusCode::UNAUTHORIZED);
    // Public reader routes ignore credentials; only query-string ones are refused.
    for path in ["/manage", "/static/manage.js"] {
        assert_eq!(t.send(Req::get(&a.host, path).bearer(&api)).await.status, StatusCode::OK, "{path}");
        assert_eq!(t.send(Req::get(&a.host, &format!("{path}?token=x"))).await.status, StatusCode::BAD_REQUEST);
    }
    let r = t.send(subscribe(&a.host, "z@example.org").bearer(&api)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let r = t
        .send(
            Req::post(&a.host, "/api/v1/subscribers/access")
                .json(json!({"email": "z@example.org"}))
                .header("x-magic-token", &session),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
}
both!(reader_routes_answer_every_credential_kind);
