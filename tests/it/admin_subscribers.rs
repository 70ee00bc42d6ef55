//! Admin subscriber management (SPEC §5): list and search, counts, bulk hygiene that stops
//! fan-out, hard delete, CSV export and import (consent, one transaction, formula cells).

use crate::both;
use crate::harness::*;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::Row;
use statibeat::service::readers::notify::fan_out_due;

const HEADER: &str = "email,state,hygiene,incidents,maintenances,components,created_at,confirmed_at";

fn csv(rows: &[&str]) -> String {
    let mut s = format!("{HEADER}\r\n");
    for r in rows {
        s.push_str(r);
        s.push_str("\r\n");
    }
    s
}

async fn import(t: &TestApp, host: &str, token: &str, text: &str, consent: &str) -> Resp {
    t.send(
        Req::post(host, "/api/v1/admin/subscribers/import")
            .bearer(token)
            .json(json!({"csv": text, "consent": consent})),
    )
    .await
}

async fn list(t: &TestApp, host: &str, token: &str, query: &str) -> Value {
    let r = t.send(Req::get(host, &format!("/api/v1/admin/subscribers{query}")).bearer(token)).await;
    assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.text);
    r.json
}

fn emails(v: &Value) -> Vec<String> {
    v["data"].as_array().unwrap().iter().map(|s| s["email"].as_str().unwrap().to_string()).collect()
}

async fn id_of(t: &TestApp, page_id: i64, email: &str) -> i64 {
    sqlx::query("SELECT id FROM subscribers WHERE page_id = $1 AND email = $2")
        .bind(page_id)
        .bind(email)
        .fetch_one(&t.app.db.pool)
        .await
        .unwrap()
        .get(0)
}

/// Outbox rows: (recipient, dedupe key).
async fn outbox(t: &TestApp) -> Vec<(String, String)> {
    sqlx::query("SELECT recipient, dedupe_key FROM outbox ORDER BY id")
        .fetch_all(&t.app.db.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// Five subscribers of page `a` in known states (imported with attested consent).
async fn five(t: &TestApp, a: &Tenant, token: &str) {
    let text = csv(&[
        "Alpha.One@example.org,active,ok,true,true,,,",
        "alpha.two@example.org,active,bounced,true,false,auth web,,",
        "beta@example.org,unsubscribed,ok,true,true,,,",
        "gamma@example.org,active,suppressed,true,true,,,",
        "delta_x@example.org,active,ok,false,true,platform,,",
    ]);
    let r = import(t, &a.host, token, &text, "attested").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json, json!({"rows": 5, "created": 5, "existing": 0, "mailed": 0}));
}

async fn admins_list_search_filter_and_page_through_subscribers(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    crate::status_model::components(&t, &a).await;
    let token = t.page_token(&a, "write", "page_manager").await;
    five(&t, &a, &token).await;
    let all = list(&t, &a.host, &token, "").await;
    assert_eq!(all["data"].as_array().unwrap().len(), 5);
    assert_eq!(all["next_cursor"], Value::Null);
    let first = &all["data"][0];
    assert_eq!(first["email"], "delta_x@example.org", "newest first");
    assert!(first.get("components").is_none(), "compact by default: {first}");
    let full = list(&t, &a.host, &token, "?view=full&q=ALPHA.TWO").await;
    assert_eq!(full["data"].as_array().unwrap().len(), 1);
    let s = &full["data"][0];
    assert_eq!((s["components"].clone(), s["maintenances"].clone()), (json!(["auth", "web"]), json!(false)));
    assert_eq!(s["hygiene"], "bounced");
    let r = list(&t, &a.host, &token, "?view=full&q=alpha.one").await;
    assert_eq!(r["data"][0]["components"], Value::Null, "every component");
    assert_eq!(emails(&list(&t, &a.host, &token, "?q=Alpha").await).len(), 2, "case-insensitive");
    assert_eq!(emails(&list(&t, &a.host, &token, "?q=a_x").await), vec!["delta_x@example.org"], "_ is literal");
    assert!(emails(&list(&t, &a.host, &token, "?q=%25").await).is_empty(), "% is literal");
    assert_eq!(emails(&list(&t, &a.host, &token, "?state=unsubscribed").await), vec!["beta@example.org"]);
    assert_eq!(emails(&list(&t, &a.host, &token, "?hygiene=suppressed").await), vec!["gamma@example.org"]);
    assert_eq!(emails(&list(&t, &a.host, &token, "?state=active&hygiene=ok").await).len(), 2);
    for bad in ["?state=gone", "?hygiene=dirty", "?limit=0", "?cursor=nope"] {
        let r = t.send(Req::get(&a.host, &format!("/api/v1/admin/subscribers{bad}")).bearer(&token)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text);
    }
    // Pagination: two at a time, each exactly once.
    let mut seen = Vec::new();
    let mut query = "?limit=2".to_string();
    loop {
        let page = list(&t, &a.host, &token, &query).await;
        seen.extend(emails(&page));
        match page["next_cursor"].as_str() {
            Some(c) => query = format!("?limit=2&cursor={c}"),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!((seen.len(), sorted.len()), (5, 5), "{seen:?}");
    // A reader token cannot see personal data.
    let reader = t.page_token(&a, "read", "page_viewer").await;
    let r = t.send(Req::get(&a.host, "/api/v1/admin/subscribers").bearer(&reader)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}
both!(admins_list_search_filter_and_page_through_subscribers);

async fn counts_report_totals_deliverable_and_hygiene(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    crate::status_model::components(&t, &a).await;
    let token = t.page_token(&a, "write", "page_manager").await;
    let r = t.send(Req::get(&a.host, "/api/v1/admin/subscribers/counts").bearer(&token)).await;
    assert_eq!(r.json["total"], 0, "{}", r.text);
    five(&t, &a, &token).await;
    t.send(Req::post(&a.host, "/api/v1/subscribers").json(json!({"email": "new@example.org"}))).await;
    let r = t.send(Req::get(&a.host, "/api/v1/admin/subscribers/counts").bearer(&token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.json,
        json!({"total": 6, "deliverable": 2, "active": 4, "unconfirmed": 1, "unsubscribed": 1,
               "by_hygiene": {"ok": 4, "suppressed": 1, "bounced": 1, "complained": 0, "quarantined": 0}})
    );
}
both!(counts_report_totals_deliverable_and_hygiene);

async fn suppressing_subscribers_stops_their_notifications(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let b = t.tenant("bravo").await;
    let token = t.page_token(&a, "write", "page_manager").await;
    let b_token = t.page_token(&b, "write", "page_manager").await;
    let rows = csv(&["keep@example.org,active,ok,,,,,", "quiet@example.org,active,ok,,,,,"]);
    assert_eq!(import(&t, &a.host, &token, &rows, "attested").await.status, StatusCode::OK);
    assert_eq!(
        import(&t, &b.host, &b_token, &csv(&["other@example.org,,,,,,,"]), "attested").await.status,
        StatusCode::OK
    );
    let quiet = id_of(&t, a.page_id, "quiet@example.org").await;
    let other = id_of(&t, b.page_id, "other@example.org").await;
    let body = json!({"ids": [quiet, other, 999_999, quiet], "hygiene": "suppressed"});
    let r = t.send(Req::post(&a.host, "/api/v1/admin/subscribers/hygiene").bearer(&token).json(body.clone())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json, json!({"requested": 3, "updated": 1, "unchanged": 0, "not_found": 2}));
    let r = t.send(Req::post(&a.host, "/api/v1/admin/subscribers/hygiene").bearer(&token).json(body)).await;
    assert_eq!(r.json, json!({"requested": 3, "updated": 0, "unchanged": 1, "not_found": 2}));
    let hygiene_of_other: String = sqlx::query("SELECT hygiene FROM subscribers WHERE id = $1")
        .bind(other)
        .fetch_one(&t.app.db.pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(hygiene_of_other, "ok", "another page's subscriber is untouched");
    for bad in
        [json!({"ids": [quiet], "hygiene": "dirty"}), json!({"ids": (0..1001).collect::<Vec<i64>>(), "hygiene": "ok"})]
    {
        let r = t.send(Req::post(&a.host, "/api/v1/admin/subscribers/hygiene").bearer(&token).json(bad)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    }
    // An incident for the whole page reaches only the deliverable subscriber.
    let r = t
        .send(
            Req::post(&a.host, "/api/v1/admin/incidents")
                .bearer(&token)
                .json(json!({"title": "Everything is down", "status": "major_outage"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    fan_out_due(&t.app).await.unwrap();
    let notices: Vec<String> =
        outbox(&t).await.into_iter().filter(|(_, k)| k.starts_with("event:")).map(|(to, _)| to).collect();
    assert_eq!(notices, vec!["keep@example.org".to_string()]);
    assert!(t.audit_actions().await.contains(&"subscribers.hygiene_changed".to_string()));
}
both!(suppressing_subscribers_stops_their_notifications);

async fn deleting_a_subscriber_is_final_and_ends_its_magic_tokens(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let token = t.page_token(&a, "write", "page_manager").await;
    let r = t.send(Req::post(&a.host, "/api/v1/subscribers").json(json!({"email": "gone@example.org"}))).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let link = crate::subscribers::link_token(&t, "gone@example.org", &a.host).await;
    let r = t.send(Req::post(&a.host, "/api/v1/manage/session").header("x-magic-token", &link)).await;
    let session = r.json["token"].as_str().unwrap().to_string();
    let id = id_of(&t, a.page_id, "gone@example.org").await;
    let path = format!("/api/v1/admin/subscribers/{id}");
    let r = t.send(Req::get(&a.host, &path).bearer(&token)).await;
    assert_eq!((r.status, r.json["state"].as_str()), (StatusCode::OK, Some("active")), "{}", r.text);
    assert_eq!(r.json["components"], Value::Null);
    let r = t.send(Req::new(Method::DELETE, &a.host, &path).bearer(&token)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(t.send(Req::get(&a.host, &path).bearer(&token)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.send(Req::new(Method::DELETE, &a.host, &path).bearer(&token)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.count("subscribers").await, 0);
    let r = t.send(Req::get(&a.host, "/api/v1/manage/subscriptions").header("x-magic-token", &session)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "the magic session ended: {}", r.text);
    assert!(t.audit_actions().await.contains(&"subscriber.deleted".to_string()));
    let r = t.send(Req::get(&a.host, "/api/v1/admin/subscribers/nope").bearer(&token)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}
both!(deleting_a_subscriber_is_final_and_ends_its_magic_tokens);

async fn export(t: &TestApp, host: &str, token: &str) -> String {
    let r = t.send(Req::get(host, "/api/v1/admin/subscribers/export").bearer(token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(r.text.starts_with(&format!("{HEADER}\r\n")), "{}", r.text);
    r.text
}

async fn the_csv_export_round_trips_through_import_on_another_page(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let b = t.tenant("bravo").await;
    crate::status_model::components(&t, &a).await;
    crate::status_model::components(&t, &b).await;
    let token = t.page_token(&a, "write", "page_manager").await;
    let b_token = t.page_token(&b, "write", "page_manager").await;
    let text = csv(&[
        "one@example.org,active,ok,true,false,auth web,2026-01-02T03:04:05Z,2026-01-03T00:00:00Z",
        "two@example.org,unsubscribed,bounced,false,true,,2026-02-01T00:00:00Z,",
    ]);
    assert_eq!(import(&t, &a.host, &token, &text, "attested").await.status, StatusCode::OK);
    let from_a = export(&t, &a.host, &token).await;
    assert!(
        from_a.contains(
            "one@example.org,active,ok,true,false,auth web,2026-01-02T03:04:05.000Z,2026-01-03T00:00:00.000Z"
        ),
        "{from_a}"
    );
    let r = import(&t, &b.host, &b_token, &from_a, "attested").await;
    assert_eq!(r.json, json!({"rows": 2, "created": 2, "existing": 0, "mailed": 0}), "{}", r.text);
    assert_eq!(export(&t, &b.host, &b_token).await, from_a, "same rows on the other page");
    // Importing again changes nothing and says so.
    let r = import(&t, &b.host, &b_token, &from_a, "none").await;
    assert_eq!(r.json, json!({"rows": 2, "created": 0, "existing": 2, "mailed": 0}), "{}", r.text);
    assert!(outbox(&t).await.is_empty());
}
both!(the_csv_export_round_trips_through_import_on_another_page);

async fn import_without_consent_mails_confirmations_and_with_consent_none(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let token = t.page_token(&a, "write", "page_manager").await;
    t.send(Req::post(&a.host, "/api/v1/subscribers").json(json!({"email": "known@example.org"}))).await;
    let before = outbox(&t).await.len();
    let text = csv(&[
        "fresh@example.org,active,ok,,,,,",
        "bounced@example.org,,bounced,,,,,",
        "KNOWN@example.org,active,ok,,,,,",
        "fresh@example.org,,,,,,,",
    ]);
    let r = import(&t, &a.host, &token, &text, "none").await;
    assert_eq!(r.json, json!({"rows": 4, "created": 2, "existing": 2, "mailed": 1}), "{}", r.text);
    let mails = outbox(&t).await;
    assert_eq!(mails.len(), before + 1);
    assert_eq!(mails.last().unwrap().0, "fresh@example.org");
    assert!(mails.last().unwrap().1.starts_with("magic-link:"));
    let r = list(&t, &a.host, &token, "?state=unconfirmed").await;
    assert_eq!(emails(&r).len(), 3, "imported without consent: unconfirmed; the known one unchanged");
    // The confirmation link works like any other.
    let link = crate::subscribers::link_token(&t, "fresh@example.org", &a.host).await;
    let r = t.send(Req::post(&a.host, "/api/v1/manage/session").header("x-magic-token", &link)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // With attested consent: active, and nobody is mailed.
    let r = import(&t, &a.host, &token, &csv(&["vouched@example.org,,,,,,,"]), "attested").await;
    assert_eq!(r.json["mailed"], 0, "{}", r.text);
    assert_eq!(outbox(&t).await.len(), before + 1);
    assert_eq!(emails(&list(&t, &a.host, &token, "?q=vouched&state=active").await).len(), 1);
    assert!(t.audit_actions().await.contains(&"subscribers.imported".to_string()));
}
both!(import_without_consent_mails_confirmations_and_with_consent_none);

async fn a_bad_row_refuses_the_whole_import_and_names_its_line(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    crate::status_model::components(&t, &a).await;
    let token = t.page_token(&a, "write", "page_manager").await;
    let cases = [
        (csv(&["ok@example.org,,,,,,,", "not-an-address,,,,,,,"]), "line 3"),
        (csv(&["ok@example.org,,,,,nope,,"]), "line 2"),
        (csv(&["ok@example.org,,,maybe,,,,"]), "line 2"),
        (csv(&["ok@example.org,,,,,,yesterday,"]), "line 2"),
        (csv(&["ok@example.org,sleeping,,,,,,"]), "line 2"),
        (csv(&["ok@example.org,,,,,"]), "line 2"),
        (csv(&["\"ok@example.org\",,,,,,,", "a\"b@example.org,,,,,,,"]), "line 3"),
        ("mail,state\r\nok@example.org,active\r\n".to_string(), "line 1"),
    ];
    for (text, line) in cases {
        let r = import(&t, &a.host, &token, &text, "none").await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{text}: {}", r.text);
        assert_eq!(r.json["field"], "csv");
        assert!(r.json["error"].as_str().unwrap().contains(line), "{text}: {}", r.text);
    }
    let many = csv(&vec!["x@example.org,,,,,,,"; 5001]);
    assert_eq!(import(&t, &a.host, &token, &many, "none").await.status, StatusCode::BAD_REQUEST);
    for body in [
        json!({"csv": csv(&[])}),
        json!({"csv": csv(&[]), "consent": "maybe"}),
        json!({"csv": "", "consent": "none", "x": 1}),
    ] {
        let r = t.send(Req::post(&a.host, "/api/v1/admin/subscribers/import").bearer(&token).json(body)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    }
    assert_eq!((t.count("subscribers").await, t.count("outbox").await), (0, 0), "nothing written");
}
both!(a_bad_row_refuses_the_whole_import_and_names_its_line);

async fn another_pages_subscribers_are_not_found(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let b = t.tenant("bravo").await;
    let token = t.page_token(&a, "write", "page_manager").await;
    let b_token = t.page_token(&b, "admin", "page_admin").await;
    assert_eq!(
        import(&t, &a.host, &token, &csv(&["mine@example.org,,,,,,,"]), "attested").await.status,
        StatusCode::OK
    );
    let id = id_of(&t, a.page_id, "mine@example.org").await;
    let path = format!("/api/v1/admin/subscribers/{id}");
    assert_eq!(t.send(Req::get(&b.host, &path).bearer(&b_token)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.send(Req::new(Method::DELETE, &b.host, &path).bearer(&b_token)).await.status, StatusCode::NOT_FOUND);
    let numeric = format!("/api/v1/orgs/{}/pages/{}/admin/subscribers/{id}", b.org_id, b.page_id);
    assert_eq!(t.send(Req::get(ADMIN, &numeric).bearer(&b_token)).await.status, StatusCode::NOT_FOUND);
    assert!(emails(&list(&t, &b.host, &b_token, "").await).is_empty());
    assert!(!export(&t, &b.host, &b_token).await.contains("mine@example.org"));
    assert_eq!(t.send(Req::get(&a.host, &path).bearer(&b_token)).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(t.count("subscribers").await, 1);
}
both!(another_pages_subscribers_are_not_found);

async fn formula_cells_are_neutralised_in_the_export(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let b = t.tenant("bravo").await;
    let token = t.page_token(&a, "write", "page_manager").await;
    let b_token = t.page_token(&b, "write", "page_manager").await;
    let text = csv(&[
        "=cmd@example.org,,,,,,,",
        "+1@example.org,,,,,,,",
        "-x@example.org,,,,,,,",
        // A quoted local part (RFC 5321) with a comma and quotes: the cell needs CSV quoting.
        "\"\"\"a,b\"\"@example.org\",,,,,,,",
    ]);
    let r = import(&t, &a.host, &token, &text, "attested").await;
    assert_eq!(r.json["created"], 4, "{}", r.text);
    let out = export(&t, &a.host, &token).await;
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.iter().any(|l| l.starts_with("'=cmd@example.org,")), "{out}");
    assert!(lines.iter().any(|l| l.starts_with("'+1@example.org,")), "{out}");
    assert!(lines.iter().any(|l| l.starts_with("'-x@example.org,")), "{out}");
    assert!(lines.iter().any(|l| l.starts_with("\"\"\"a,b\"\"@example.org\",")), "{out}");
    assert!(!lines.iter().any(|l| l.starts_with(['=', '+', '-', '@'])), "{out}");
    // The neutralising quote is undone on import.
    assert_eq!(import(&t, &b.host, &b_token, &out, "attested").await.json["created"], 4);
    assert_eq!(emails(&list(&t, &b.host, &b_token, "?q=%3Dcmd").await), vec!["=cmd@example.org"]);
    assert_eq!(emails(&list(&t, &b.host, &b_token, "?q=a%2Cb").await), vec!["\"a,b\"@example.org"]);
}
both!(formula_cells_are_neutralised_in_the_export);
