//! Fan-out of incident events to subscribers through the outbox, and one-click unsubscribe
//! (RFC 8058) from the link every mail carries.

use crate::both;
use crate::harness::*;
use axum::http::StatusCode;
use serde_json::{json, Value};
use statibeat::service::readers::notify::fan_out_due;

/// Notification mails in the outbox (not the confirmation links): (recipient, subject, text, headers).
async fn notices(t: &TestApp) -> Vec<(String, String, String, Value)> {
    use sqlx::Row;
    sqlx::query("SELECT recipient, subject, body_text, headers FROM outbox WHERE dedupe_key LIKE 'event:%' ORDER BY id")
        .fetch_all(&t.app.db.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), serde_json::from_str(&r.get::<String, _>(3)).unwrap()))
        .collect()
}

async fn subjects(t: &TestApp, to: &str) -> Vec<String> {
    notices(t).await.into_iter().filter(|n| n.0 == to).map(|n| n.1).collect()
}

async fn notices_to(t: &TestApp, to: &str) -> usize {
    notices(t).await.iter().filter(|n| n.0 == to).count()
}

/// Subscribes `email` with `prefs` and, when `confirm`, exchanges the emailed link (active).
async fn subscriber(t: &TestApp, host: &str, email: &str, prefs: Value, confirm: bool) {
    let mut body = prefs;
    body["email"] = json!(email);
    let r = t.send(Req::post(host, "/api/v1/subscribers").json(body)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    if confirm {
        let link = crate::subscribers::link_token(t, email, host).await;
        let r = t.send(Req::post(host, "/api/v1/manage/session").header("x-magic-token", &link)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
}

/// An active email subscriber for every component and event.
pub async fn confirmed(t: &TestApp, host: &str, email: &str) {
    subscriber(t, host, email, json!({}), true).await
}

async fn incident(t: &TestApp, host: &str, admin: &str, body: Value) -> i64 {
    let r = t.send(Req::post(host, "/api/v1/admin/incidents").bearer(admin).json(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.json["id"].as_i64().unwrap()
}

fn on(item: &str, title: &str) -> Value {
    json!({"title": title, "description": "Looking into it.", "status": "major_outage",
           "affected_items": [{"external_id": item}]})
}

/// The one-click URL of the newest notice to `to`, checked against its List-Unsubscribe header.
pub async fn one_click_url(t: &TestApp, to: &str, host: &str) -> String {
    let (_, _, text, headers) = notices(t).await.into_iter().rev().find(|n| n.0 == to).expect("a notice");
    let header = headers["List-Unsubscribe"].as_str().expect("List-Unsubscribe").to_string();
    assert_eq!(headers["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click");
    let url = header.trim_start_matches('<').trim_end_matches('>').to_string();
    assert!(url.starts_with(&format!("http://{host}/u/sbu_")), "{url}");
    assert!(text.contains(&url), "the text body carries the same link");
    url
}

async fn state_of(t: &TestApp, email: &str) -> String {
    use sqlx::Row;
    sqlx::query("SELECT state FROM subscribers WHERE email = $1")
        .bind(email)
        .fetch_one(&t.app.db.pool)
        .await
        .unwrap()
        .get(0)
}

async fn confirmed_subscribers_get_one_mail_per_event_within_their_scope(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let admin = crate::status_model::components(&t, &a).await;
    subscriber(&t, &a.host, "all@example.org", json!({}), true).await;
    subscriber(&t, &a.host, "auth@example.org", json!({"components": ["auth"]}), true).await;
    subscriber(&t, &a.host, "platform@example.org", json!({"components": ["platform"]}), true).await;
    subscriber(&t, &a.host, "quiet@example.org", json!({"incidents": false}), true).await;
    subscriber(&t, &a.host, "pending@example.org", json!({}), false).await;
    subscriber(&t, &a.host, "gone@example.org", json!({}), true).await;
    let link = {
        t.send(Req::post(&a.host, "/api/v1/subscribers/access").json(json!({"email": "gone@example.org"}))).await;
        crate::subscribers::link_token(&t, "gone@example.org", &a.host).await
    };
    let session = t.send(Req::post(&a.host, "/api/v1/manage/session").header("x-magic-token", &link)).await;
    let session = session.json["token"].as_str().unwrap().to_string();
    let r = t
        .send(
            Req::new(axum::http::Method::DELETE, &a.host, "/api/v1/manage/subscriptions")
                .header("x-magic-token", &session),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);

    incident(&t, &a.host, &admin, on("auth", "Login failures")).await;
    assert_eq!(fan_out_due(&t.app).await.unwrap(), 3);
    assert_eq!(fan_out_due(&t.app).await.unwrap(), 0, "a second run queues nothing");
    let got = notices(&t).await;
    let mut to: Vec<&str> = got.iter().map(|n| n.0.as_str()).collect();
    to.sort();
    assert_eq!(to, ["all@example.org", "auth@example.org", "platform@example.org"]);
    let (_, subject, text, _) = &got[0];
    assert!(subject.contains("Page acme") && subject.contains("Login failures"), "{subject}");
    assert!(text.contains("Major outage") && text.contains("Auth") && text.contains("Looking into it."), "{text}");
    assert!(text.contains(&format!("http://{}/#incident-", a.host)), "{text}");

    // An incident on the parent reaches the child's subscriber; one on `web` does not.
    incident(&t, &a.host, &admin, on("platform", "Platform down")).await;
    incident(&t, &a.host, &admin, on("web", "Website slow")).await;
    incident(&t, &a.host, &admin, on("api-gateway", "Gateway errors")).await;
    fan_out_due(&t.app).await.unwrap();
    let auth = subjects(&t, "auth@example.org").await;
    assert_eq!(auth.len(), 2, "{auth:?}");
    assert!(auth[1].contains("Platform down"));
    let platform = subjects(&t, "platform@example.org").await;
    assert_eq!(platform.len(), 3, "its own and both children, not web: {platform:?}");
    assert!(platform.iter().all(|s| !s.contains("Website")));
    assert_eq!(notices_to(&t, "all@example.org").await, 4);
    for quiet in ["quiet@example.org", "pending@example.org", "gone@example.org"] {
        assert_eq!(notices_to(&t, quiet).await, 0, "{quiet}");
    }
}
both!(confirmed_subscribers_get_one_mail_per_event_within_their_scope);

async fn silent_internal_and_backfilled_incidents_mail_nobody(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let admin = crate::status_model::components(&t, &a).await;
    subscriber(&t, &a.host, "all@example.org", json!({}), true).await;
    let mut silent = on("auth", "Silent");
    silent["notify"] = json!(false);
    incident(&t, &a.host, &admin, silent).await;
    let mut internal = on("auth", "Internal");
    internal["visibility"] = json!("internal");
    incident(&t, &a.host, &admin, internal).await;
    let r = t
        .send(Req::post(&a.host, "/api/v1/admin/incidents/backfill").bearer(&admin).json(json!({
            "title": "Old", "status": "major_outage", "affected_items": [{"external_id": "auth"}],
            "started_at": "2026-11-29T10:00:00Z", "resolved_at": "2026-11-29T12:00:00Z"
        })))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(fan_out_due(&t.app).await.unwrap(), 0);
    assert!(notices(&t).await.is_empty());
    // A resolve that notifies does mail.
    let id = incident(&t, &a.host, &admin, on("auth", "Loud")).await;
    t.send(Req::post(&a.host, &format!("/api/v1/admin/incidents/{id}/resolve")).bearer(&admin)).await;
    assert_eq!(fan_out_due(&t.app).await.unwrap(), 2, "created and resolved");
    assert!(notices(&t).await[1].2.contains("Resolved"));
}
both!(silent_internal_and_backfilled_incidents_mail_nobody);

async fn one_click_unsubscribe_works_without_credentials_and_stops_mail(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let b = t.tenant("bravo").await;
    let admin = crate::status_model::components(&t, &a).await;
    subscriber(&t, &a.host, "reader@example.org", json!({}), true).await;
    incident(&t, &a.host, &admin, on("auth", "First")).await;
    fan_out_due(&t.app).await.unwrap();
    let url = one_click_url(&t, "reader@example.org", &a.host).await;
    let path = url.split(&a.host).nth(1).unwrap().to_string();
    let token = path.trim_start_matches("/u/").to_string();
    // A prefetching scanner changes nothing.
    let r = t.send(Req::get(&a.host, &path)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("<form method=post>"));
    assert_eq!(state_of(&t, "reader@example.org").await, "active");
    // The mail client's POST: no cookie, no header, the RFC 8058 body.
    let one_click = || {
        let mut r = Req::post(&a.host, &path);
        r.raw = Some(b"List-Unsubscribe=One-Click".to_vec());
        r.header("content-type", "application/x-www-form-urlencoded")
    };
    assert_eq!(t.send(one_click()).await.status, StatusCode::OK);
    assert_eq!(state_of(&t, "reader@example.org").await, "unsubscribed");
    assert_eq!(t.send(one_click()).await.status, StatusCode::OK, "repeating is fine");
    assert_eq!(t.send(Req::get(&a.host, &path)).await.status, StatusCode::OK);
    // The next incident reaches nobody.
    incident(&t, &a.host, &admin, on("auth", "Second")).await;
    assert_eq!(fan_out_due(&t.app).await.unwrap(), 0);
    // The first notice was still waiting (no SMTP here): unsubscribing dropped it too.
    assert_eq!(notices_to(&t, "reader@example.org").await, 0);
    // Credential cases: only this page's live sbu token in the path works; no other carrier matters.
    let api = t.page_token(&a, "admin", "page_admin").await;
    let forged = t.app.new_token(statibeat::auth::token::TokenKind::Unsubscribe);
    let magic = t.app.new_token(statibeat::auth::token::TokenKind::MagicSession);
    let cases: Vec<(&str, Req, u16)> = vec![
        ("malformed", Req::post(&a.host, "/u/sbu_nope"), 404),
        ("another kind", Req::post(&a.host, &format!("/u/{}", magic.expose())), 404),
        ("unknown", Req::post(&a.host, &format!("/u/{}", forged.expose())), 404),
        ("an API token in the path", Req::post(&a.host, &format!("/u/{api}")), 404),
        ("another page's host", Req::post(&b.host, &path), 404),
        ("GET on another page", Req::get(&b.host, &path), 404),
        ("GET unknown", Req::get(&a.host, &format!("/u/{}", forged.expose())), 404),
        ("in the query too", Req::post(&a.host, &format!("{path}?token={token}")), 400),
        ("with a bearer", Req::post(&a.host, &path).bearer(&api), 200),
        ("with a cookie", Req::post(&a.host, &path).header("cookie", &a.admin_cookie), 200),
        ("with a magic header", Req::post(&a.host, &path).header("x-magic-token", magic.expose()), 200),
    ];
    for (what, req, want) in cases {
        let r = t.send(req).await;
        assert_eq!(r.status.as_u16(), want, "{what}: {}", r.text);
    }
    // Sixty days on, the link is gone.
    t.clock.advance(61 * statibeat::clock::DAY);
    assert_eq!(t.send(Req::post(&a.host, &path)).await.status, StatusCode::NOT_FOUND);
}
both!(one_click_unsubscribe_works_without_credentials_and_stops_mail);

async fn maintenance_mail_follows_the_maintenances_toggle_and_scope(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let admin = crate::status_model::components(&t, &a).await;
    subscriber(&t, &a.host, "all@example.org", json!({}), true).await;
    subscriber(&t, &a.host, "no-maint@example.org", json!({"maintenances": false}), true).await;
    subscriber(&t, &a.host, "web@example.org", json!({"components": ["web"]}), true).await;
    let r = t
        .send(Req::post(&a.host, "/api/v1/admin/maintenances").bearer(&admin).json(json!({
            "title": "Database upgrade", "description": "Upgrading the primary.",
            "affected_items": [{"external_id": "auth"}],
            "starts_at": crate::maintenances::at(2 * statibeat::clock::HOUR),
            "ends_at": crate::maintenances::at(4 * statibeat::clock::HOUR),
            "time_zone": "UTC", "reminder_minutes": 0
        })))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(fan_out_due(&t.app).await.unwrap(), 1);
    let got = notices(&t).await;
    assert_eq!(got[0].0, "all@example.org");
    assert!(got[0].1.contains("Database upgrade") && got[0].2.contains("Auth"), "{:?}", got[0]);
    assert!(got[0].3["List-Unsubscribe"].as_str().unwrap().contains("/u/sbu_"));
}
both!(maintenance_mail_follows_the_maintenances_toggle_and_scope);

/// A worker that dies mid-way through an event leaves its lease to run out; the next one redoes
/// the event without queueing anything twice, and a held event is left alone until then.
async fn a_fan_out_redone_after_a_crash_queues_nothing_twice(engine: Engine) {
    use sqlx::Row;
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let admin = crate::status_model::components(&t, &a).await;
    for who in ["one@example.org", "two@example.org", "three@example.org"] {
        subscriber(&t, &a.host, who, json!({}), true).await;
    }
    incident(&t, &a.host, &admin, on("auth", "Outage")).await;
    let pool = &t.app.db.pool;
    let event: i64 = sqlx::query("SELECT MAX(id) FROM events").fetch_one(pool).await.unwrap().get(0);

    // Another worker holds the event: this one leaves it alone until the lease runs out.
    let held = statibeat::clock::MINUTE;
    sqlx::query("UPDATE events SET fan_out_lease = $1 WHERE id = $2")
        .bind(T0 + held)
        .bind(event)
        .execute(pool)
        .await
        .unwrap();
    assert_eq!(fan_out_due(&t.app).await.unwrap(), 0);
    assert_eq!(notices(&t).await.len(), 0);
    t.clock.advance(held);
    assert_eq!(fan_out_due(&t.app).await.unwrap(), 3);

    // The worker died after queueing but before marking the event done: redone, nothing twice.
    sqlx::query("UPDATE events SET fanned_out_at = NULL, fan_out_lease = 0 WHERE id = $1")
        .bind(event)
        .execute(pool)
        .await
        .unwrap();
    assert_eq!(fan_out_due(&t.app).await.unwrap(), 0, "every message was queued already");
    assert_eq!(notices(&t).await.len(), 3);
    let tokens: i64 = sqlx::query("SELECT COUNT(*) FROM unsubscribe_tokens").fetch_one(pool).await.unwrap().get(0);
    assert_eq!(tokens, 3, "one unsubscribe link per queued mail, none for the skipped ones");
    let done: Option<i64> =
        sqlx::query("SELECT fanned_out_at FROM events WHERE id = $1").bind(event).fetch_one(pool).await.unwrap().get(0);
    assert!(done.is_some());
    assert_eq!(fan_out_due(&t.app).await.unwrap(), 0);
}
both!(a_fan_out_redone_after_a_crash_queues_nothing_twice);
