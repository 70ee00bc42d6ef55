//! Mail leaves the outbox over SMTP: once per message, with retries and backoff on temporary
//! failures, never again after a permanent one, and without leaving magic links at rest.

use crate::both;
use crate::harness::*;
use crate::smtp_sink::Sink;
use axum::http::StatusCode;
use serde_json::json;
use sqlx::Row;
use statibeat::clock::{MINUTE, SECOND};
use statibeat::jobs::{deliver_due, DeliveryReport};

/// An outbox row as the tests look at it.
#[derive(Debug)]
struct Row_ {
    recipient: String,
    subject: String,
    body_text: String,
    body_html: String,
    state: String,
    attempts: i64,
    last_error: String,
    next_attempt_at: i64,
    sent_at: Option<i64>,
}

async fn outbox(t: &TestApp) -> Vec<Row_> {
    sqlx::query(
        "SELECT recipient, subject, body_text, body_html, state, attempts, last_error, next_attempt_at, sent_at \
         FROM outbox ORDER BY id",
    )
    .fetch_all(&t.app.db.pool)
    .await
    .unwrap()
    .iter()
    .map(|r| Row_ {
        recipient: r.get("recipient"),
        subject: r.get("subject"),
        body_text: r.get("body_text"),
        body_html: r.get("body_html"),
        state: r.get("state"),
        attempts: r.get("attempts"),
        last_error: r.get("last_error"),
        next_attempt_at: r.get("next_attempt_at"),
        sent_at: r.try_get::<Option<i64>, _>("sent_at").unwrap(),
    })
    .collect()
}

async fn app_with_sink(engine: Engine) -> (TestApp, Sink) {
    let sink = Sink::start().await;
    let url = sink.url();
    let t = TestApp::with(engine, |c| c.smtp_url = Some(url)).await;
    (t, sink)
}

async fn subscribe(t: &TestApp, host: &str, email: &str) {
    let r = t.send(Req::post(host, "/api/v1/subscribers").json(json!({"email": email}))).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
}

fn report(sent: usize, retried: usize, failed: usize) -> DeliveryReport {
    DeliveryReport { sent, retried, failed }
}

async fn a_confirmation_mail_is_delivered_once_and_its_link_is_not_kept(engine: Engine) {
    let (t, sink) = app_with_sink(engine).await;
    let a = t.tenant("acme").await;
    subscribe(&t, &a.host, "reader@example.org").await;
    assert_eq!(deliver_due(&t.app).await.unwrap(), report(1, 0, 0));
    assert_eq!(deliver_due(&t.app).await.unwrap(), report(0, 0, 0), "nothing left to send");

    let got = sink.received();
    assert_eq!(got.len(), 1);
    let mail = &got[0];
    assert_eq!((mail.from.as_str(), mail.to.clone()), ("noreply@status.test", vec!["reader@example.org".to_string()]));
    assert!(mail.header("content-type").unwrap().starts_with("multipart/alternative;"), "{}", mail.data);
    assert_eq!(mail.header("to").as_deref(), Some("reader@example.org"));
    assert_eq!(mail.header("from").as_deref(), Some("StatiBeat <noreply@status.test>"));
    assert_eq!(mail.header("subject").as_deref(), Some("Confirm your subscription to Page acme"));
    assert!(mail.header("message-id").unwrap().ends_with("@status.test>"));
    assert!(mail.header("date").is_some());
    let text = mail.part("text/plain").expect("a text part");
    let link = text.lines().find(|l| l.contains("/manage#token=")).expect("the link").trim();
    assert!(link.starts_with("http://acme.status.test/manage#token=sbm_"), "{link}");
    let html = mail.part("text/html").expect("an html part");
    assert!(html.contains("/manage#token=sbm_"), "{html}");

    // The link still works (delivery did not consume it), but the outbox no longer holds it.
    let token = link.split("#token=").nth(1).unwrap();
    let rows = outbox(&t).await;
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!((row.state.as_str(), row.attempts, row.sent_at), ("sent", 1, Some(T0)));
    assert_eq!(
        (row.recipient.as_str(), row.subject.as_str()),
        ("reader@example.org", "Confirm your subscription to Page acme")
    );
    assert!(!row.body_text.contains(token) && !row.body_html.contains(token), "{row:?}");
    let r = t.send(Req::post(&a.host, "/api/v1/manage/session").header("x-magic-token", token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}
both!(a_confirmation_mail_is_delivered_once_and_its_link_is_not_kept);

/// An invitation to an org belongs to no page; it goes out over SMTP all the same, with the
/// admin host's link, and its token does not stay in the outbox once sent.
async fn an_org_invitation_is_mailed_and_its_link_is_not_kept(engine: Engine) {
    let (t, sink) = app_with_sink(engine).await;
    let a = t.tenant("acme").await;
    let r = t
        .send(
            Req::post(ADMIN, "/api/v1/org/members")
                .session(&a.admin_cookie)
                .json(json!({"email": "colleague@example.org", "role": "org_admin"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(deliver_due(&t.app).await.unwrap(), report(1, 0, 0));
    let got = sink.received();
    assert_eq!(got[0].to, vec!["colleague@example.org".to_string()]);
    assert_eq!(got[0].header("subject").as_deref(), Some("You are invited to Org acme on StatiBeat"));
    let text = got[0].part("text/plain").expect("a text part");
    assert!(text.contains("join Org acme on StatiBeat as an org admin"), "{text}");
    let link = text.lines().find(|l| l.contains("/admin/invite#token=")).expect("the link").trim();
    assert!(link.starts_with(&format!("http://{ADMIN}/admin/invite#token=sbi_")), "{link}");
    let token = link.split("#token=").nth(1).unwrap();
    let row = &outbox(&t).await[0];
    assert_eq!(row.state, "sent");
    assert!(!row.body_text.contains(token) && !row.body_html.contains(token), "{row:?}");
    let r = t.send(Req::get(ADMIN, "/api/v1/invitations/current").header("x-magic-token", token)).await;
    assert_eq!((r.status, &r.json["role"]), (StatusCode::OK, &json!("org_admin")), "{}", r.text);
}
both!(an_org_invitation_is_mailed_and_its_link_is_not_kept);

async fn a_temporary_failure_is_retried_after_the_backoff(engine: Engine) {
    let (t, sink) = app_with_sink(engine).await;
    let a = t.tenant("acme").await;
    sink.fail_next(2);
    subscribe(&t, &a.host, "reader@example.org").await;

    assert_eq!(deliver_due(&t.app).await.unwrap(), report(0, 1, 0));
    let row = &outbox(&t).await[0];
    assert_eq!((row.state.as_str(), row.attempts, row.next_attempt_at), ("pending", 1, T0 + 30 * SECOND));
    assert!(row.last_error.contains("451"), "{}", row.last_error);
    // Not before the backoff has passed.
    t.clock.advance(29 * SECOND);
    assert_eq!(deliver_due(&t.app).await.unwrap(), report(0, 0, 0));
    t.clock.advance(SECOND);
    assert_eq!(deliver_due(&t.app).await.unwrap(), report(0, 1, 0));
    let row = &outbox(&t).await[0];
    assert_eq!((row.attempts, row.next_attempt_at), (2, T0 + 30 * SECOND + MINUTE), "the wait doubles");
    t.clock.advance(MINUTE - SECOND);
    assert_eq!(deliver_due(&t.app).await.unwrap(), report(0, 0, 0));
    t.clock.advance(SECOND);
    assert_eq!(deliver_due(&t.app).await.unwrap(), report(1, 0, 0));

    assert_eq!(sink.received().len(), 1, "delivered once");
    let row = &outbox(&t).await[0];
    assert_eq!((row.state.as_str(), row.attempts, row.last_error.as_str()), ("sent", 3, ""));
    assert_eq!(row.sent_at, Some(T0 + 30 * SECOND + MINUTE));
}
both!(a_temporary_failure_is_retried_after_the_backoff);

async fn a_permanent_failure_is_never_retried(engine: Engine) {
    let (t, sink) = app_with_sink(engine).await;
    let a = t.tenant("acme").await;
    sink.reject("gone@example.org");
    subscribe(&t, &a.host, "gone@example.org").await;
    subscribe(&t, &a.host, "here@example.org").await;

    assert_eq!(deliver_due(&t.app).await.unwrap(), report(1, 0, 1));
    let rows = outbox(&t).await;
    assert_eq!((rows[0].state.as_str(), rows[0].attempts), ("failed", 1));
    assert!(rows[0].last_error.starts_with("recipient rejected: RCPT TO: 550"), "{}", rows[0].last_error);
    // The link it carried will never be delivered: it is not kept either.
    assert_eq!((rows[0].body_text.as_str(), rows[0].body_html.as_str()), ("", ""), "{:?}", rows[0]);
    assert_eq!(rows[0].subject, "Confirm your subscription to Page acme", "what was sent stays readable");
    assert_eq!(rows[1].state, "sent");
    t.clock.advance(24 * 60 * MINUTE);
    assert_eq!(deliver_due(&t.app).await.unwrap(), report(0, 0, 0));
    assert_eq!(outbox(&t).await[0].attempts, 1);
    let to: Vec<_> = sink.received().into_iter().flat_map(|m| m.to).collect();
    assert_eq!(to, vec!["here@example.org".to_string()]);
}
both!(a_permanent_failure_is_never_retried);

async fn two_workers_at_once_send_each_message_once(engine: Engine) {
    let (t, sink) = app_with_sink(engine).await;
    let a = t.tenant("acme").await;
    let emails: Vec<String> = (0..30).map(|i| format!("reader{i}@example.org")).collect();
    for e in &emails {
        subscribe(&t, &a.host, e).await;
    }
    let (one, two) = tokio::join!(deliver_due(&t.app), deliver_due(&t.app));
    let (one, two) = (one.unwrap(), two.unwrap());
    assert_eq!(one.sent + two.sent, 30, "{one:?} {two:?}");
    let mut to: Vec<String> = sink.received().into_iter().flat_map(|m| m.to).collect();
    to.sort();
    let mut want = emails.clone();
    want.sort();
    assert_eq!(to, want, "each address exactly once");
    assert!(outbox(&t).await.iter().all(|r| r.state == "sent" && r.attempts == 1));
}
both!(two_workers_at_once_send_each_message_once);

async fn without_smtp_mail_stays_in_the_outbox(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    subscribe(&t, &a.host, "reader@example.org").await;
    assert_eq!(deliver_due(&t.app).await.unwrap(), report(0, 0, 0));
    let row = &outbox(&t).await[0];
    assert_eq!((row.state.as_str(), row.attempts, row.sent_at), ("pending", 0, None));
    assert!(row.body_text.contains("/manage#token=sbm_"), "readable with `mail list`");
}
both!(without_smtp_mail_stays_in_the_outbox);

// TLS and authentication: the sink plays a relay with STARTTLS, implicit TLS and AUTH, using the
// test certificate of tests/fixtures/tls (for `localhost` and `127.0.0.1`).

use crate::smtp_sink::{tls_fixture, Login, Options};

/// An app sending to `url`, trusting the test CA when `trust_test_ca`.
async fn app_for(engine: Engine, url: String, trust_test_ca: bool) -> TestApp {
    TestApp::with(engine, |c| {
        c.smtp_url = Some(url);
        c.tls_ca_file = trust_test_ca.then(|| tls_fixture("ca.pem"));
    })
    .await
}

fn auth(mechanisms: &[&'static str]) -> Option<(Vec<&'static str>, String, String)> {
    Some((mechanisms.to_vec(), "mailer".into(), "p@ss:w0rd".into()))
}

async fn mail_goes_over_starttls_when_the_relay_offers_it(engine: Engine) {
    let sink = Sink::start_with(0, Options { starttls: true, ..Default::default() }).await;
    let t = app_for(engine, sink.url(), true).await;
    let a = t.tenant("acme").await;
    subscribe(&t, &a.host, "one@example.org").await;
    subscribe(&t, &a.host, "two@example.org").await;
    assert_eq!(deliver_due(&t.app).await.unwrap(), report(2, 0, 0));
    let got = sink.received();
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|m| m.encrypted), "both arrived on the encrypted session");
    assert!(got[0].part("text/plain").unwrap().contains("/manage#token=sbm_"));
}
both!(mail_goes_over_starttls_when_the_relay_offers_it);

async fn smtps_with_auth_plain_delivers_as_the_configured_user(engine: Engine) {
    let sink =
        Sink::start_with(0, Options { implicit_tls: true, auth: auth(&["PLAIN", "LOGIN"]), ..Default::default() })
            .await;
    // The certificate is checked for the name in the URL: `localhost` here, an IP address elsewhere.
    let url = format!("smtps://mailer:p%40ss%3Aw0rd@localhost:{}", sink.addr.port());
    let t = app_for(engine, url, true).await;
    let a = t.tenant("acme").await;
    subscribe(&t, &a.host, "reader@example.org").await;
    assert_eq!(deliver_due(&t.app).await.unwrap(), report(1, 0, 0));
    let got = sink.received();
    assert_eq!(got.len(), 1);
    assert!(got[0].encrypted);
    assert_eq!(got[0].user.as_deref(), Some("mailer"));
    let login = Login { mechanism: "PLAIN".into(), user: "mailer".into(), ok: true, encrypted: true };
    assert_eq!(sink.logins(), vec![login]);
}
both!(smtps_with_auth_plain_delivers_as_the_configured_user);

async fn after_starttls_the_client_greets_again_and_uses_auth_login(engine: Engine) {
    // AUTH is only offered on the encrypted session: the client must ask again after STARTTLS.
    let sink = Sink::start_with(0, Options { starttls: true, auth: auth(&["LOGIN"]), ..Default::default() }).await;
    let url = format!("smtp://mailer:p%40ss%3Aw0rd@127.0.0.1:{}?tls=required", sink.addr.port());
    let t = app_for(engine, url, true).await;
    let a = t.tenant("acme").await;
    subscribe(&t, &a.host, "reader@example.org").await;
    assert_eq!(deliver_due(&t.app).await.unwrap(), report(1, 0, 0));
    let got = sink.received();
    assert_eq!((got.len(), got[0].encrypted, got[0].user.as_deref()), (1, true, Some("mailer")));
    let login = Login { mechanism: "LOGIN".into(), user: "mailer".into(), ok: true, encrypted: true };
    assert_eq!(sink.logins(), vec![login]);
}
both!(after_starttls_the_client_greets_again_and_uses_auth_login);

async fn tls_required_without_starttls_is_retried_and_not_sent(engine: Engine) {
    let sink = Sink::start().await;
    let t = app_for(engine, format!("{}?tls=required", sink.url()), true).await;
    let a = t.tenant("acme").await;
    subscribe(&t, &a.host, "reader@example.org").await;
    assert_eq!(deliver_due(&t.app).await.unwrap(), report(0, 1, 0));
    assert_eq!(sink.count(), 0);
    let row = &outbox(&t).await[0];
    assert_eq!((row.state.as_str(), row.attempts), ("pending", 1));
    assert!(row.last_error.contains("does not offer STARTTLS"), "{}", row.last_error);
}
both!(tls_required_without_starttls_is_retried_and_not_sent);

async fn a_certificate_from_an_unknown_ca_is_refused(engine: Engine) {
    // Without `tls_ca_file` only the web's roots are trusted, and the test CA is not one of them.
    let smtps = Sink::start_with(0, Options { implicit_tls: true, ..Default::default() }).await;
    let t = app_for(engine, format!("smtps://{}", smtps.addr), false).await;
    let a = t.tenant("acme").await;
    subscribe(&t, &a.host, "reader@example.org").await;
    assert_eq!(deliver_due(&t.app).await.unwrap(), report(0, 1, 0));
    assert_eq!((smtps.count(), smtps.failed_handshakes()), (0, 1));
    let row = &outbox(&t).await[0];
    assert!(row.last_error.contains("certificate"), "{}", row.last_error);

    // Opportunistic STARTTLS does not fall back to plain text when the certificate fails.
    let starttls = Sink::start_with(0, Options { starttls: true, ..Default::default() }).await;
    let t = app_for(t.engine, starttls.url(), false).await;
    let a = t.tenant("acme").await;
    subscribe(&t, &a.host, "reader@example.org").await;
    assert_eq!(deliver_due(&t.app).await.unwrap(), report(0, 1, 0));
    assert_eq!((starttls.count(), starttls.failed_handshakes()), (0, 1));
    assert!(outbox(&t).await[0].last_error.contains("certificate"));
}
both!(a_certificate_from_an_unknown_ca_is_refused);

async fn credentials_go_in_plain_text_to_a_loopback_relay_only(engine: Engine) {
    // A relay without TLS on 127.0.0.1: credentials may go (same machine).
    let sink = Sink::start_with(0, Options { auth: auth(&["PLAIN"]), ..Default::default() }).await;
    let url = format!("smtp://mailer:p%40ss%3Aw0rd@127.0.0.1:{}", sink.addr.port());
    let t = app_for(engine, url, true).await;
    let a = t.tenant("acme").await;
    subscribe(&t, &a.host, "reader@example.org").await;
    assert_eq!(deliver_due(&t.app).await.unwrap(), report(1, 0, 0));
    assert_eq!(sink.received()[0].user.as_deref(), Some("mailer"));
    assert!(!sink.logins()[0].encrypted);

    // The same relay under another name is not known to be local: nothing is sent (a
    // configuration problem: retried later, so the mail waits for the fix), and the error does
    // not show the password.
    let sink = Sink::start_with(0, Options { auth: auth(&["PLAIN"]), ..Default::default() }).await;
    let alias = crate::webhooks::loopback_alias();
    let url = format!("smtp://mailer:p%40ss%3Aw0rd@{alias}:{}", sink.addr.port());
    let t = app_for(t.engine, url, true).await;
    let a = t.tenant("acme").await;
    subscribe(&t, &a.host, "reader@example.org").await;
    assert_eq!(deliver_due(&t.app).await.unwrap(), report(0, 1, 0));
    assert_eq!((sink.count(), sink.logins().len()), (0, 0), "no AUTH was tried");
    let row = &outbox(&t).await[0];
    assert_eq!(row.state, "pending");
    assert!(row.last_error.contains("never sent in plain text"), "{}", row.last_error);
    assert!(!row.last_error.contains("w0rd"), "{}", row.last_error);
}
both!(credentials_go_in_plain_text_to_a_loopback_relay_only);

async fn a_wrong_password_keeps_mail_queued_without_showing_it(engine: Engine) {
    let sink = Sink::start_with(0, Options { implicit_tls: true, auth: auth(&["PLAIN"]), ..Default::default() }).await;
    let url = format!("smtps://mailer:Wr0ngSecret@127.0.0.1:{}", sink.addr.port());
    let t = app_for(engine, url, true).await;
    let a = t.tenant("acme").await;
    subscribe(&t, &a.host, "reader@example.org").await;
    assert_eq!(deliver_due(&t.app).await.unwrap(), report(0, 1, 0), "retried, not failed for good");
    assert_eq!(sink.count(), 0);
    assert_eq!(sink.logins().iter().map(|l| l.ok).collect::<Vec<_>>(), vec![false]);
    let row = &outbox(&t).await[0];
    assert_eq!((row.state.as_str(), row.attempts), ("pending", 1));
    assert!(row.last_error.contains("AUTH: 535"), "{}", row.last_error);
    assert!(!row.last_error.contains("Wr0ngSecret"), "{}", row.last_error);
}
both!(a_wrong_password_keeps_mail_queued_without_showing_it);
