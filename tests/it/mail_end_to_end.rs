//! The whole mail path against a real SMTP server on loopback: subscribe, confirm from the mail,
//! get exactly one notification with one-click unsubscribe headers, unsubscribe with that one
//! POST, and receive nothing for the next incident.

use crate::both;
use crate::harness::*;
use crate::smtp_sink::Sink;
use axum::http::StatusCode;
use serde_json::json;
use statibeat::jobs::deliver_due;
use statibeat::service::readers::notify::fan_out_due;

async fn deliver(t: &TestApp) {
    fan_out_due(&t.app).await.unwrap();
    deliver_due(&t.app).await.unwrap();
}

async fn a_reader_gets_one_notification_and_unsubscribes_in_one_click(engine: Engine) {
    let sink = Sink::start().await;
    let url = sink.url();
    let t = TestApp::with(engine, |c| c.smtp_url = Some(url)).await;
    let a = t.tenant("acme").await;
    crate::status_model::components(&t, &a).await;
    let reader = "reader@example.org";
    let r = t.send(Req::post(&a.host, "/api/v1/subscribers").json(json!({"email": reader}))).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    deliver(&t).await;
    let mails = sink.received();
    assert_eq!(mails.len(), 1, "the confirmation mail");
    assert_eq!(mails[0].to, vec![reader.to_string()]);
    let text = mails[0].part("text/plain").unwrap();
    let link = text.lines().find(|l| l.contains("/manage#token=")).unwrap().trim().to_string();
    let token = link.split("#token=").nth(1).unwrap();
    // Before confirming, an incident mails nobody.
    let bot = t.page_token(&a, "write", "page_manager").await;
    let create = |title: &str| {
        Req::post(&a.host, "/api/v1/admin/incidents")
            .bearer(&bot)
            .json(json!({"title": title, "status": "major_outage", "affected_items": [{"external_id": "auth"}]}))
    };
    t.send(create("Before confirmation")).await;
    deliver(&t).await;
    assert_eq!(sink.received().len(), 1);
    let r = t.send(Req::post(&a.host, "/api/v1/manage/session").header("x-magic-token", token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Confirmed: exactly one notification for the next incident, with RFC 8058 headers.
    assert_eq!(t.send(create("Login failures")).await.status, StatusCode::CREATED);
    deliver(&t).await;
    deliver(&t).await;
    let mails = sink.received();
    assert_eq!(mails.len(), 2, "one notification, however often the workers run");
    let note = &mails[1];
    assert!(note.part("text/plain").unwrap().contains("Login failures"));
    let html = note.part("text/html").expect("multipart: text and HTML");
    assert!(html.contains("solid #2563eb") && html.contains("<h1>Page acme</h1>"), "page branding: {html}");
    let unsubscribe = note.header("List-Unsubscribe").expect("List-Unsubscribe");
    assert_eq!(note.header("List-Unsubscribe-Post").as_deref(), Some("List-Unsubscribe=One-Click"));
    let one_click = unsubscribe.trim_start_matches('<').trim_end_matches('>').to_string();
    let path = one_click.split_once(&a.host).unwrap().1.to_string();
    assert!(path.starts_with("/u/sbu_"), "{one_click}");
    // The one-click POST needs no cookie and no header.
    // As a mail provider sends it (RFC 8058): a form body, no cookie, no credential header.
    let mut one_click_post = Req::post(&a.host, &path).header("content-type", "application/x-www-form-urlencoded");
    one_click_post.raw = Some(b"List-Unsubscribe=One-Click".to_vec());
    let r = t.send(one_click_post).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    t.send(create("After unsubscribing")).await;
    deliver(&t).await;
    assert_eq!(sink.received().len(), 2, "nothing more for that address");
}
both!(a_reader_gets_one_notification_and_unsubscribes_in_one_click);
