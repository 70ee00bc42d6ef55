//! Webhook subscribers: confirmed through their owner's magic link, notified with signed
//! (Standard Webhooks) calls to a real HTTP receiver on loopback, retried with backoff, kept from
//! private addresses by the SSRF guard, and moved to a hygiene state when the endpoint is gone.
//! Mail bounces (a 5xx to RCPT TO) move subscribers to `bounced` the same way.

use crate::both;
use crate::harness::*;
use crate::smtp_sink::Sink;
use axum::http::{HeaderMap, StatusCode};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sqlx::Row;
use statibeat::clock::{MINUTE, SECOND};
use statibeat::jobs::{deliver_due, DeliveryReport};
use statibeat::service::readers::notify::fan_out_due;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// One call the receiver got.
#[derive(Debug, Clone)]
struct Call {
    id: String,
    timestamp: String,
    signature: String,
    content_type: String,
    body: String,
    /// The status the receiver answered with.
    answered: u16,
}

#[derive(Default)]
struct ReceiverState {
    calls: Vec<Call>,
    /// Statuses to answer with, in order; 200 once they run out.
    script: VecDeque<u16>,
    /// TLS handshakes that failed (https receivers only).
    failed_handshakes: usize,
}

/// A real HTTP server on 127.0.0.1 that records every call and answers as scripted.
#[derive(Clone)]
struct Receiver {
    url: String,
    state: Arc<Mutex<ReceiverState>>,
}

impl Receiver {
    async fn start(script: &[u16]) -> Receiver {
        let (app, state) = Receiver::router(script);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { url: format!("http://{addr}/hooks/statibeat"), state }
    }

    /// The same receiver behind TLS with the test certificate, at `https://localhost:<port>`.
    async fn start_tls(script: &[u16]) -> Receiver {
        let (app, state) = Receiver::router(script);
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = tcp.local_addr().unwrap().port();
        let listener = TlsListener { tcp, acceptor: crate::smtp_sink::tls_acceptor(), state: state.clone() };
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { url: format!("https://localhost:{port}/hooks/statibeat"), state }
    }

    fn router(script: &[u16]) -> (axum::Router, Arc<Mutex<ReceiverState>>) {
        let state =
            Arc::new(Mutex::new(ReceiverState { script: script.iter().copied().collect(), ..Default::default() }));
        let shared = state.clone();
        let app = axum::Router::new().route(
            "/hooks/statibeat",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let shared = shared.clone();
                async move {
                    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                    let mut s = shared.lock().unwrap();
                    let answered = s.script.pop_front().unwrap_or(200);
                    s.calls.push(Call {
                        id: h("webhook-id"),
                        timestamp: h("webhook-timestamp"),
                        signature: h("webhook-signature"),
                        content_type: h("content-type"),
                        body,
                        answered,
                    });
                    StatusCode::from_u16(answered).unwrap()
                }
            }),
        );
        (app, state)
    }

    fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }

    fn failed_handshakes(&self) -> usize {
        self.state.lock().unwrap().failed_handshakes
    }
}

/// TLS in front of a TCP listener, so `axum::serve` answers https (one handshake at a time).
struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    state: Arc<Mutex<ReceiverState>>,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else { continue };
            match self.acceptor.accept(tcp).await {
                Ok(tls) => return (tls, addr),
                Err(_) => self.state.lock().unwrap().failed_handshakes += 1,
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// Verifies a call the way a receiver following the Standard Webhooks specification does,
/// written here from the specification rather than with the server's own signing code.
fn verify(secret: &str, c: &Call) -> bool {
    let key = STANDARD.decode(secret.strip_prefix("whsec_").expect("whsec_ prefix")).unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", c.id, c.timestamp, c.body).as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    c.signature.split(' ').any(|s| s == expected)
}

/// A host name other than `localhost` that /etc/hosts maps to 127.0.0.1 (the machine's own name).
pub(crate) fn loopback_alias() -> String {
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    hosts
        .lines()
        .filter(|l| l.starts_with("127."))
        .flat_map(|l| l.split_whitespace().skip(1).map(str::to_string).collect::<Vec<_>>())
        .find(|n| !n.contains("localhost"))
        .expect("this test needs a name other than localhost for 127.0.0.1 in /etc/hosts")
}

async fn app(engine: Engine, allow_private: bool) -> TestApp {
    TestApp::with(engine, |c| c.webhook_allow_private = allow_private).await
}

/// Subscribes `url` for `owner` and confirms through the emailed link; returns the signing secret
/// the confirmation shows (once).
async fn webhook_subscriber(t: &TestApp, host: &str, owner: &str, url: &str, extra: Value) -> String {
    let mut body = extra;
    body["email"] = json!(owner);
    body["webhook_url"] = json!(url);
    let r = t.send(Req::post(host, "/api/v1/subscribers").json(body)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let link = crate::subscribers::link_token(t, owner, host).await;
    let r = t.send(Req::post(host, "/api/v1/manage/session").header("x-magic-token", &link)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["subscription"]["channel"], "webhook");
    assert_eq!(r.json["subscription"]["webhook_url"], url);
    r.json["webhook_secret"].as_str().expect("the secret is shown at confirmation").to_string()
}

async fn incident(t: &TestApp, host: &str, admin: &str, title: &str) -> i64 {
    let body = json!({"title": title, "description": "Looking into it.", "status": "major_outage"});
    let r = t.send(Req::post(host, "/api/v1/admin/incidents").bearer(admin).json(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.json["id"].as_i64().unwrap()
}

fn report(sent: usize, retried: usize, failed: usize) -> DeliveryReport {
    DeliveryReport { sent, retried, failed }
}

async fn hygiene_of(t: &TestApp, email: &str) -> String {
    sqlx::query("SELECT hygiene FROM subscribers WHERE email = $1")
        .bind(email)
        .fetch_one(&t.app.db.pool)
        .await
        .unwrap()
        .get(0)
}

async fn a_confirmed_webhook_gets_one_signed_call_per_event(engine: Engine) {
    let t = app(engine, true).await;
    let a = t.tenant("acme").await;
    let admin = t.page_token(&a, "write", "page_manager").await;
    let hook = Receiver::start(&[]).await;

    // Unconfirmed: nothing is called.
    let body = json!({"email": "ops@example.org", "webhook_url": hook.url});
    let r = t.send(Req::post(&a.host, "/api/v1/subscribers").json(body)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    incident(&t, &a.host, &admin, "Before confirming").await;
    fan_out_due(&t.app).await.unwrap();
    assert_eq!(deliver_due(&t.app).await.unwrap(), report(0, 0, 0));
    assert!(hook.calls().is_empty());

    // Someone else typing the same address cannot point the unconfirmed subscription elsewhere,
    // and the confirmation mail says where notifications will go.
    let body = json!({"email": "ops@example.org", "webhook_url": "http://127.0.0.1:9/attacker"});
    let r = t.send(Req::post(&a.host, "/api/v1/subscribers").json(body)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let url: String = sqlx::query("SELECT webhook_url FROM subscribers WHERE email = 'ops@example.org'")
        .fetch_one(&t.app.db.pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(url, hook.url);
    let mail: String = sqlx::query("SELECT body_text FROM outbox WHERE recipient = 'ops@example.org' ORDER BY id DESC")
        .fetch_one(&t.app.db.pool)
        .await
        .unwrap()
        .get(0);
    assert!(mail.contains(&format!("Notifications will be sent by webhook to {}", hook.url)), "{mail}");

    let secret = webhook_subscriber(&t, &a.host, "ops@example.org", &hook.url, json!({})).await;
    let id = incident(&t, &a.host, &admin, "Database down").await;
    fan_out_due(&t.app).await.unwrap();
    assert_eq!(deliver_due(&t.app).await.unwrap(), report(1, 0, 0));
    assert_eq!(deliver_due(&t.app).await.unwrap(), report(0, 0, 0), "nothing twice");

    let calls = hook.calls();
    assert_eq!(calls.len(), 1);
    let c = &calls[0];
    assert!(verify(&secret, c), "signature verifies with the secret shown at confirmation: {c:?}");
    assert!(!verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", c), "and not with another");
    assert!(c.id.starts_with("msg_"), "{}", c.id);
    assert_eq!(c.timestamp, (T0 / 1000).to_string(), "Unix seconds of the attempt");
    assert_eq!(c.content_type, "application/json");
    let payload: Value = serde_json::from_str(&c.body).unwrap();
    assert_eq!(payload["type"], "incident.created");
    assert_eq!(payload["data"]["incident"]["id"], id);
    assert_eq!(payload["data"]["incident"]["title"], "Database down");
    assert_eq!(payload["data"]["page"]["url"], format!("http://{}", a.host));
    // The owner's address gets no notification mail: the channel is the webhook.
    let mails: i64 = sqlx::query("SELECT COUNT(*) FROM outbox WHERE channel = 'email' AND dedupe_key LIKE 'event:%'")
        .fetch_one(&t.app.db.pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(mails, 0);

    // Rotating the secret: the next call is signed with the new one only.
    let link = {
        let r =
            t.send(Req::post(&a.host, "/api/v1/subscribers/access").json(json!({"email": "ops@example.org"}))).await;
        assert_eq!(r.status, StatusCode::ACCEPTED);
        crate::subscribers::link_token(&t, "ops@example.org", &a.host).await
    };
    let r = t.send(Req::post(&a.host, "/api/v1/manage/session").header("x-magic-token", &link)).await;
    assert!(r.json.get("webhook_secret").is_none(), "a secret is shown once: {}", r.text);
    let session = r.json["token"].as_str().unwrap().to_string();
    let r = t
        .send(Req::post(&a.host, "/api/v1/manage/subscriptions/webhook-secret").header("x-magic-token", &session))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let rotated = r.json["webhook_secret"].as_str().unwrap().to_string();
    assert_ne!(rotated, secret);
    incident(&t, &a.host, &admin, "Cache down").await;
    fan_out_due(&t.app).await.unwrap();
    assert_eq!(deliver_due(&t.app).await.unwrap(), report(1, 0, 0));
    let last = hook.calls().pop().unwrap();
    assert!(verify(&rotated, &last) && !verify(&secret, &last));
}
both!(a_confirmed_webhook_gets_one_signed_call_per_event);

async fn a_receiver_that_fails_twice_gets_the_event_exactly_once(engine: Engine) {
    let t = app(engine, true).await;
    let a = t.tenant("acme").await;
    let admin = t.page_token(&a, "write", "page_manager").await;
    let hook = Receiver::start(&[500, 503]).await;
    let secret = webhook_subscriber(&t, &a.host, "ops@example.org", &hook.url, json!({})).await;
    incident(&t, &a.host, &admin, "Flaky receiver").await;
    fan_out_due(&t.app).await.unwrap();

    assert_eq!(deliver_due(&t.app).await.unwrap(), report(0, 1, 0), "500: retried later");
    assert_eq!(deliver_due(&t.app).await.unwrap(), report(0, 0, 0), "not before the backoff");
    t.clock.advance(30 * SECOND);
    assert_eq!(deliver_due(&t.app).await.unwrap(), report(0, 1, 0), "503: retried later");
    t.clock.advance(59 * SECOND);
    assert_eq!(deliver_due(&t.app).await.unwrap(), report(0, 0, 0), "the backoff doubled");
    t.clock.advance(SECOND);
    assert_eq!(deliver_due(&t.app).await.unwrap(), report(1, 0, 0));
    t.clock.advance(60 * MINUTE);
    assert_eq!(deliver_due(&t.app).await.unwrap(), report(0, 0, 0));

    let calls = hook.calls();
    assert_eq!(calls.len(), 3, "three attempts");
    assert!(calls.iter().all(|c| c.id == calls[0].id && c.body == calls[0].body), "same webhook-id and body");
    assert!(calls.iter().all(|c| verify(&secret, c)));
    // What the receiving app processed: the calls it accepted (2xx), de-duplicated by webhook-id.
    let accepted: Vec<&Call> = calls.iter().filter(|c| (200..300).contains(&c.answered)).collect();
    assert_eq!(accepted.len(), 1, "accepted once: {:?}", calls.iter().map(|c| c.answered).collect::<Vec<_>>());
    let processed: std::collections::HashSet<_> = accepted.iter().map(|c| c.id.clone()).collect();
    assert_eq!(processed.len(), 1);

    let row = sqlx::query("SELECT id, state, attempts FROM outbox WHERE channel = 'webhook'")
        .fetch_one(&t.app.db.pool)
        .await
        .unwrap();
    assert_eq!((row.get::<String, _>(1), row.get::<i64, _>(2)), ("sent".to_string(), 3));
    let attempts: Vec<(Option<i64>, String, i64, i64)> = sqlx::query(
        "SELECT status_code, error, attempted_at, final FROM outbox_attempts WHERE outbox_id = $1 ORDER BY id",
    )
    .bind(row.get::<i64, _>(0))
    .fetch_all(&t.app.db.pool)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.try_get(0).unwrap(), r.get(1), r.get(2), r.get(3)))
    .collect();
    assert_eq!(
        attempts,
        vec![
            (Some(500), "http_status".to_string(), T0, 0),
            (Some(503), "http_status".to_string(), T0 + 30 * SECOND, 0),
        ],
        "failed attempts are recorded"
    );
    assert_eq!(hygiene_of(&t, "ops@example.org").await, "ok");

    // The admin sees the same record over the API.
    let sub: i64 = sqlx::query("SELECT id FROM subscribers WHERE email = 'ops@example.org'")
        .fetch_one(&t.app.db.pool)
        .await
        .unwrap()
        .get(0);
    let path = format!("/api/v1/admin/subscribers/{sub}/deliveries");
    let r = t.send(Req::get(&a.host, &path).bearer(&admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let d = &r.json["data"][0];
    assert_eq!(
        (d["channel"].as_str(), d["state"].as_str(), d["attempts"].as_i64()),
        (Some("webhook"), Some("sent"), Some(3))
    );
    assert_eq!(d["subject"], "incident.created");
    let statuses: Vec<i64> =
        d["failed_attempts"].as_array().unwrap().iter().map(|a| a["status_code"].as_i64().unwrap()).collect();
    assert_eq!(statuses, vec![500, 503]);
    assert_eq!(r.json["data"].as_array().unwrap().len(), 1);
    // Another page's subscriber is not there.
    let b = t.tenant("bravo").await;
    let other = t.page_token(&b, "write", "page_manager").await;
    assert_eq!(t.send(Req::get(&b.host, &path).bearer(&other)).await.status, StatusCode::NOT_FOUND);
}
both!(a_receiver_that_fails_twice_gets_the_event_exactly_once);

async fn private_targets_are_refused_unless_allowed(engine: Engine) {
    let t = app(engine, false).await;
    let a = t.tenant("acme").await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://[::1]/hook",
        "http://localhost:8080/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.7/hook",
        "ftp://example.com/hook",
        "https://user:pw@example.com/hook",
    ] {
        let body = json!({"email": "ops@example.org", "webhook_url": url});
        let r = t.send(Req::post(&a.host, "/api/v1/subscribers").json(body)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{url}: {}", r.text);
        assert_eq!(r.json["field"], "webhook_url", "{url}");
    }
    assert_eq!(t.count("subscribers").await, 0, "nothing written");
    assert_eq!(t.count("outbox").await, 0, "nobody mailed");

    // A name that resolves to loopback passes the form check but is refused at delivery. Like a
    // name that does not resolve (DNS can change, and the two must not be told apart), it is
    // tried again with backoff; after the last attempt the subscription is quarantined for a
    // person to look at.
    let admin = t.page_token(&a, "write", "page_manager").await;
    let hook = Receiver::start(&[]).await;
    let sneaky = hook.url.replace("127.0.0.1", &loopback_alias());
    webhook_subscriber(&t, &a.host, "ops@example.org", &sneaky, json!({})).await;
    incident(&t, &a.host, &admin, "Internal probe").await;
    fan_out_due(&t.app).await.unwrap();
    for _ in 1..statibeat::jobs::outbox::MAX_ATTEMPTS {
        assert_eq!(deliver_due(&t.app).await.unwrap(), report(0, 1, 0));
        assert_eq!(hygiene_of(&t, "ops@example.org").await, "ok", "not before the last attempt");
        t.clock.advance(60 * MINUTE);
    }
    assert_eq!(deliver_due(&t.app).await.unwrap(), report(0, 0, 1));
    assert!(hook.calls().is_empty(), "the private address was never called");
    let err: String = sqlx::query("SELECT last_error FROM outbox WHERE channel = 'webhook'")
        .fetch_one(&t.app.db.pool)
        .await
        .unwrap()
        .get(0);
    assert!(err.contains("not a public address"), "{err}");
    assert_eq!(hygiene_of(&t, "ops@example.org").await, "quarantined");
    assert!(t.audit_actions().await.contains(&"subscriber.hygiene_changed".to_string()));
}
both!(private_targets_are_refused_unless_allowed);

async fn gone_endpoints_and_bounced_addresses_leave_the_deliverable_list(engine: Engine) {
    let sink = Sink::start().await;
    let smtp = sink.url();
    let t = TestApp::with(engine, |c| {
        c.webhook_allow_private = true;
        c.smtp_url = Some(smtp);
    })
    .await;
    let a = t.tenant("acme").await;
    let admin = t.page_token(&a, "write", "page_manager").await;
    let hook = Receiver::start(&[410]).await;
    webhook_subscriber(&t, &a.host, "ops@example.org", &hook.url, json!({})).await;
    crate::notifications::confirmed(&t, &a.host, "gone@example.org").await;
    crate::notifications::confirmed(&t, &a.host, "here@example.org").await;
    deliver_due(&t.app).await.unwrap(); // the confirmation mails
    sink.reject("gone@example.org");
    let before = sink.received().len();

    incident(&t, &a.host, &admin, "Outage").await;
    fan_out_due(&t.app).await.unwrap();
    assert_eq!(deliver_due(&t.app).await.unwrap(), report(1, 0, 2), "410 and 550 are final; one mail sent");
    assert_eq!(hook.calls().len(), 1);
    assert_eq!(sink.received().len(), before + 1);
    assert_eq!(hygiene_of(&t, "ops@example.org").await, "bounced");
    assert_eq!(hygiene_of(&t, "gone@example.org").await, "bounced");
    assert_eq!(hygiene_of(&t, "here@example.org").await, "ok");

    let counts = t.send(Req::get(&a.host, "/api/v1/admin/subscribers/counts").bearer(&admin)).await;
    assert_eq!(counts.status, StatusCode::OK, "{}", counts.text);
    assert_eq!(counts.json["deliverable"], 1);
    assert_eq!(counts.json["by_hygiene"]["bounced"], 2);

    // The next event reaches only the deliverable subscriber.
    incident(&t, &a.host, &admin, "Second outage").await;
    assert_eq!(fan_out_due(&t.app).await.unwrap(), 1);
    assert_eq!(deliver_due(&t.app).await.unwrap(), report(1, 0, 0));
    assert_eq!(hook.calls().len(), 1);
}
both!(gone_endpoints_and_bounced_addresses_leave_the_deliverable_list);

async fn webhook_subscriptions_are_managed_from_the_magic_session(engine: Engine) {
    let t = app(engine, true).await;
    let a = t.tenant("acme").await;
    let hook = Receiver::start(&[]).await;
    crate::notifications::confirmed(&t, &a.host, "reader@example.org").await;
    let link = {
        t.send(Req::post(&a.host, "/api/v1/subscribers/access").json(json!({"email": "reader@example.org"}))).await;
        crate::subscribers::link_token(&t, "reader@example.org", &a.host).await
    };
    let r = t.send(Req::post(&a.host, "/api/v1/manage/session").header("x-magic-token", &link)).await;
    let session = r.json["token"].as_str().unwrap().to_string();
    let patch = |body: Value| {
        Req::new(axum::http::Method::PATCH, &a.host, "/api/v1/manage/subscriptions")
            .header("x-magic-token", &session)
            .json(body)
    };

    let r = t.send(patch(json!({"channel": "webhook"}))).await;
    assert_eq!((r.status, r.json["field"].clone()), (StatusCode::BAD_REQUEST, json!("webhook_url")), "{}", r.text);
    let r = t.send(patch(json!({"channel": "pigeon"}))).await;
    assert_eq!((r.status, r.json["field"].clone()), (StatusCode::BAD_REQUEST, json!("channel")));
    let r = t.send(patch(json!({"webhook_url": 7}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    let r = t.send(patch(json!({"channel": "webhook", "webhook_url": hook.url}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["channel"], "webhook");
    let secret = r.json["webhook_secret"].as_str().expect("a new URL gets a secret, shown once").to_string();
    let r = t.send(patch(json!({"incidents": true}))).await;
    assert!(r.json.get("webhook_secret").is_none(), "{}", r.text);

    let admin = t.page_token(&a, "write", "page_manager").await;
    incident(&t, &a.host, &admin, "Now by webhook").await;
    fan_out_due(&t.app).await.unwrap();
    assert_eq!(deliver_due(&t.app).await.unwrap(), report(1, 0, 0));
    assert!(verify(&secret, &hook.calls()[0]));

    // Back to email: no more calls.
    let r = t.send(patch(json!({"channel": "email"}))).await;
    assert_eq!((r.status, r.json["channel"].clone()), (StatusCode::OK, json!("email")));
    incident(&t, &a.host, &admin, "Now by mail").await;
    fan_out_due(&t.app).await.unwrap();
    deliver_due(&t.app).await.unwrap();
    assert_eq!(hook.calls().len(), 1);
}
both!(webhook_subscriptions_are_managed_from_the_magic_session);

async fn rotating_a_secret_needs_the_owners_magic_session(engine: Engine) {
    let t = app(engine, true).await;
    let a = t.tenant("acme").await;
    let b = t.tenant("bravo").await;
    let api = t.page_token(&a, "admin", "page_admin").await;
    let hook = Receiver::start(&[]).await;
    webhook_subscriber(&t, &a.host, "ops@example.org", &hook.url, json!({})).await;
    let session = |host: String, email: &'static str| {
        let t = &t;
        async move {
            t.send(Req::post(&host, "/api/v1/subscribers/access").json(json!({"email": email}))).await;
            let link = crate::subscribers::link_token(t, email, &host).await;
            let r = t.send(Req::post(&host, "/api/v1/manage/session").header("x-magic-token", &link)).await;
            r.json["token"].as_str().unwrap().to_string()
        }
    };
    let own = session(a.host.clone(), "ops@example.org").await;
    crate::notifications::confirmed(&t, &b.host, "ops@example.org").await;
    let foreign = session(b.host.clone(), "ops@example.org").await;
    crate::notifications::confirmed(&t, &a.host, "mail@example.org").await;
    let mail_only = session(a.host.clone(), "mail@example.org").await;
    let path = "/api/v1/manage/subscriptions/webhook-secret";
    let cases: Vec<(&str, Req, u16)> = vec![
        ("none", Req::post(&a.host, path), 401),
        ("bearer", Req::post(&a.host, path).bearer(&api), 401),
        ("session cookie", Req::post(&a.host, path).header("cookie", &a.admin_cookie), 401),
        ("other page's session", Req::post(&a.host, path).header("x-magic-token", &foreign), 401),
        ("in the query", Req::post(&a.host, &format!("{path}?token={own}")), 400),
        ("an email subscription", Req::post(&a.host, path).header("x-magic-token", &mail_only), 409),
        ("the owner", Req::post(&a.host, path).header("x-magic-token", &own), 200),
    ];
    for (what, req, want) in cases {
        let r = t.send(req).await;
        assert_eq!(r.status.as_u16(), want, "{what}: {}", r.text);
    }
}
both!(rotating_a_secret_needs_the_owners_magic_session);

async fn queued_notifications_are_dropped_when_a_subscriber_leaves_or_is_suppressed(engine: Engine) {
    let sink = Sink::start().await;
    let smtp = sink.url();
    let t = TestApp::with(engine, |c| c.smtp_url = Some(smtp)).await;
    let a = t.tenant("acme").await;
    let admin = t.page_token(&a, "write", "page_manager").await;
    for who in ["leaver@example.org", "suppressed@example.org", "stayer@example.org"] {
        crate::notifications::confirmed(&t, &a.host, who).await;
    }
    deliver_due(&t.app).await.unwrap(); // the confirmation mails
    let before = sink.count();
    incident(&t, &a.host, &admin, "Queued outage").await;
    assert_eq!(fan_out_due(&t.app).await.unwrap(), 3, "three notifications queued, none sent yet");

    // One reader unsubscribes with one click, the admin suppresses another, before delivery.
    let leaver = crate::notifications::one_click_url(&t, "leaver@example.org", &a.host).await;
    let path = &leaver[leaver.find("/u/").unwrap()..];
    let r = t.send(Req::post(&a.host, path)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let suppressed: i64 = sqlx::query("SELECT id FROM subscribers WHERE email = 'suppressed@example.org'")
        .fetch_one(&t.app.db.pool)
        .await
        .unwrap()
        .get(0);
    let body = json!({"ids": [suppressed], "hygiene": "suppressed"});
    let r = t.send(Req::post(&a.host, "/api/v1/admin/subscribers/hygiene").bearer(&admin).json(body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    assert_eq!(deliver_due(&t.app).await.unwrap(), report(1, 0, 0));
    let to: Vec<String> = sink.received()[before..].iter().flat_map(|m| m.to.clone()).collect();
    assert_eq!(to, vec!["stayer@example.org".to_string()]);
}
both!(queued_notifications_are_dropped_when_a_subscriber_leaves_or_is_suppressed);

async fn an_https_webhook_is_called_over_verified_tls(engine: Engine) {
    let hook = Receiver::start_tls(&[]).await;
    assert!(hook.url.starts_with("https://localhost:"));
    let t = TestApp::with(engine, |c| {
        c.webhook_allow_private = true;
        c.tls_ca_file = Some(crate::smtp_sink::tls_fixture("ca.pem"));
    })
    .await;
    let a = t.tenant("acme").await;
    let admin = t.page_token(&a, "write", "page_manager").await;
    let secret = webhook_subscriber(&t, &a.host, "ops@example.org", &hook.url, json!({})).await;
    incident(&t, &a.host, &admin, "Database down").await;
    fan_out_due(&t.app).await.unwrap();
    assert_eq!(deliver_due(&t.app).await.unwrap(), report(1, 0, 0));
    let calls = hook.calls();
    assert_eq!(calls.len(), 1);
    assert!(verify(&secret, &calls[0]), "{:?}", calls[0]);
    let payload: Value = serde_json::from_str(&calls[0].body).unwrap();
    assert_eq!(payload["data"]["incident"]["title"], "Database down");

    // A receiver whose certificate does not verify (its CA is not trusted here) is not called;
    // the attempt is retried later like any network failure.
    let untrusted = Receiver::start_tls(&[]).await;
    let t = app(t.engine, true).await;
    let a = t.tenant("acme").await;
    let admin = t.page_token(&a, "write", "page_manager").await;
    webhook_subscriber(&t, &a.host, "ops@example.org", &untrusted.url, json!({})).await;
    incident(&t, &a.host, &admin, "Database down").await;
    fan_out_due(&t.app).await.unwrap();
    assert_eq!(deliver_due(&t.app).await.unwrap(), report(0, 1, 0));
    assert_eq!((untrusted.calls().len(), untrusted.failed_handshakes()), (0, 1));
    let err: String = sqlx::query("SELECT last_error FROM outbox WHERE channel = 'webhook'")
        .fetch_one(&t.app.db.pool)
        .await
        .unwrap()
        .get(0);
    assert!(err.contains("certificate"), "{err}");
}
both!(an_https_webhook_is_called_over_verified_tls);

async fn a_gone_endpoint_with_more_calls_queued_ends_the_pass_cleanly(engine: Engine) {
    let t = app(engine, true).await;
    let a = t.tenant("acme").await;
    let admin = t.page_token(&a, "write", "page_manager").await;
    let hook = Receiver::start(&[410; 20]).await;
    webhook_subscriber(&t, &a.host, "ops@example.org", &hook.url, json!({})).await;
    // More calls than there are webhook lanes, so one lane holds two calls to the same endpoint.
    let n = statibeat::jobs::outbox::WEBHOOK_LANES + 1;
    for i in 0..n {
        incident(&t, &a.host, &admin, &format!("Outage {i}")).await;
    }
    assert_eq!(fan_out_due(&t.app).await.unwrap(), n);
    // The first 410 bounces the subscriber and drops its other queued calls, some of them in the
    // middle of this very pass: the pass still ends cleanly and nothing is left to send.
    let r = deliver_due(&t.app).await.expect("the pass ends without an error");
    assert_eq!(r.sent, 0);
    assert!(hook.calls().len() < n, "the dropped calls were not made: {}", hook.calls().len());
    assert_eq!(hygiene_of(&t, "ops@example.org").await, "bounced");
    let left: i64 = sqlx::query("SELECT COUNT(*) FROM outbox WHERE channel = 'webhook' AND state = 'pending'")
        .fetch_one(&t.app.db.pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
}
both!(a_gone_endpoint_with_more_calls_queued_ends_the_pass_cleanly);
