//! Accounts by invitation only (issue 8, findings 1 and 2): adding someone who is not a member of
//! the org mails them a single-use, expiring link; only the owner of the address chooses the
//! password; the answer is the same whether or not the address has an account.

use crate::both;
use crate::harness::*;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::Row;

/// The invitee routes; the API auth matrix counts them as covered by the matrix below.
pub const INVITEE_ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/v1/invitations/current"),
    ("POST", "/api/v1/invitations/accept"),
    ("GET", "/admin/invite"),
    ("GET", "/static/invite.js"),
    ("GET", "/static/invite.css"),
];

/// The invitation link mailed to `email` most recently (from the outbox), and its token.
pub async fn invitation_link(t: &TestApp, email: &str) -> (String, String) {
    let row = sqlx::query(
        "SELECT body_text FROM outbox WHERE recipient = $1 AND dedupe_key LIKE 'invitation:%' ORDER BY id DESC LIMIT 1",
    )
    .bind(email)
    .fetch_one(&t.app.db.pool)
    .await
    .expect("an invitation mail");
    let text: String = row.get(0);
    let link = text.lines().find(|l| l.contains("/admin/invite#token=")).expect("the link").trim().to_string();
    let token = link.split("#token=").nth(1).unwrap().to_string();
    (link, token)
}

async fn one_text(t: &TestApp, sql: &str) -> String {
    sqlx::query(sql).fetch_one(&t.app.db.pool).await.unwrap().get::<String, _>(0)
}

async fn users_named(t: &TestApp, email: &str) -> i64 {
    sqlx::query("SELECT COUNT(*) FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(&t.app.db.pool)
        .await
        .unwrap()
        .get(0)
}

fn current(token: &str) -> Req {
    Req::get(ADMIN, "/api/v1/invitations/current").header("x-magic-token", token)
}

fn accept(token: &str, body: Value) -> Req {
    Req::post(ADMIN, "/api/v1/invitations/accept").header("x-magic-token", token).json(body)
}

/// The keys of an answer, with the values that differ from call to call left out.
fn shape(v: &Value) -> Vec<(String, Value)> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| match k.as_str() {
            "id" | "email" | "created_at" | "expires_at" | "invited_by" | "page_id" => (k.clone(), Value::Null),
            _ => (k.clone(), v.clone()),
        })
        .collect()
}

/// The reported takeover: org B's page-admin token tried to create a platform account for the
/// CFO of org A with a password of its choosing; when A's admin later added that address, the
/// attacker signed in with that password. Now the attacker never holds a credential for it.
async fn a_foreign_tenant_never_obtains_a_credential_for_someone_elses_address(engine: Engine) {
    let t = TestApp::new(engine).await;
    let victim_org = t.tenant("victim").await;
    let attacker = t.tenant("attacker").await;
    let token = t.page_token(&attacker, "admin", "page_admin").await;
    let cfo = "cfo@victimcorp.example.com";
    let users = t.count("users").await;

    // The reported request: an account with the attacker's password. Refused, nothing written.
    let r = t
        .send(Req::post(&attacker.host, "/api/v1/admin/members").bearer(&token).json(json!({
            "email": cfo, "name": "CFO", "password": "AttackerKnows123!", "role": "page_viewer"
        })))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.json["error"].as_str().unwrap().contains("name"), "names the unknown field: {}", r.text);
    assert_eq!((t.count("users").await, t.count("invitations").await), (users, 0));

    // What a page token may do: invite. No account, no membership, no link in the answer.
    let r = t
        .send(
            Req::post(&attacker.host, "/api/v1/admin/members")
                .bearer(&token)
                .json(json!({"email": cfo, "role": "page_viewer"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!((r.json["status"].as_str(), r.json["email"].as_str()), (Some("pending"), Some(cfo)));
    assert!(!r.text.contains("sbi_"), "the answer never carries the link: {}", r.text);
    assert_eq!(users_named(&t, cfo).await, 0, "no account is made by an invitation");
    let (_, attackers_link) = invitation_link(&t, cfo).await;

    // The victim org's admin adds the same address: an invitation too, no 409 "exists" hint.
    let r = t
        .send(
            Req::post(ADMIN, "/api/v1/org/members")
                .session(&victim_org.admin_cookie)
                .json(json!({"email": cfo, "role": "org_admin"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let (link, victims_link) = invitation_link(&t, cfo).await;
    assert!(link.starts_with(&format!("http://{ADMIN}/admin/invite#token=sbi_")), "{link}");
    assert_ne!(attackers_link, victims_link);

    // The owner of the address opens A's link and chooses their own password.
    let r = t.send(current(&victims_link)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (&r.json["org"], &r.json["role"], &r.json["account_exists"], &r.json["page"]),
        (&json!("Org victim"), &json!("org_admin"), &json!(false), &Value::Null)
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let r = t.send(accept(&victims_link, json!({"name": "The CFO", "password": "only the cfo knows this"}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["account_created"], true);
    let cookie = r.header("set-cookie").expect("signed in").split(';').next().unwrap().to_string();
    let me = t.send(Req::get(ADMIN, "/api/v1/org").session(&cookie)).await;
    assert_eq!((me.status, &me.json["id"]), (StatusCode::OK, &json!(victim_org.org_id)), "{}", me.text);

    // The attacker's password opens nothing; the owner's does. The link works once.
    let r = t
        .send(Req::post(ADMIN, "/api/v1/auth/login").json(json!({"email": cfo, "password": "AttackerKnows123!"})))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    t.login(cfo, "only the cfo knows this").await;
    assert_eq!(t.send(accept(&victims_link, json!({}))).await.status, StatusCode::UNAUTHORIZED);
    // The attacker's invitation joined the CFO to nothing: it waits for the CFO's own answer.
    let orgs = one_text(
        &t,
        &format!(
            "SELECT CAST(COUNT(*) AS TEXT) FROM org_members m JOIN users u ON u.id = m.user_id \
             WHERE u.email = '{cfo}' AND m.org_id = {}",
            attacker.org_id
        ),
    )
    .await;
    assert_eq!(orgs, "0");
    let audit = t.audit_actions().await;
    assert_eq!(audit.iter().filter(|a| *a == "member.invited").count(), 2, "{audit:?}");
    assert!(audit.contains(&"member.invitation_accepted".to_string()), "{audit:?}");
}
both!(a_foreign_tenant_never_obtains_a_credential_for_someone_elses_address);

/// Finding 2: adding an unknown address answered 404 and a known one 201 (account discovery), and
/// the known person was joined to the org without their consent.
async fn adding_someone_tells_nothing_about_their_account_and_joins_only_with_consent(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let b = t.tenant("beta").await;
    let add = |email: &str| {
        Req::post(ADMIN, "/api/v1/org/members")
            .session(&a.admin_cookie)
            .json(json!({"email": email, "role": "org_member"}))
    };
    let known = t.send(add(&b.admin_email)).await;
    let unknown = t.send(add("nobody-yet@example.org")).await;
    assert_eq!((known.status, unknown.status), (StatusCode::ACCEPTED, StatusCode::ACCEPTED), "{}", known.text);
    assert_eq!(shape(&known.json), shape(&unknown.json), "{} vs {}", known.text, unknown.text);
    // B's admin is not in org A until they accept: their org is unambiguous and A's members list
    // does not name them.
    let r = t.send(Req::get(ADMIN, "/api/v1/org").session(&b.admin_cookie)).await;
    assert_eq!((r.status, &r.json["id"]), (StatusCode::OK, &json!(b.org_id)), "{}", r.text);
    let members = t.send(Req::get(ADMIN, "/api/v1/org/members").session(&a.admin_cookie)).await;
    assert!(!members.text.contains(&b.admin_email), "{}", members.text);

    // The link's holder learns that their own address has an account, and accepts without one.
    let (_, link) = invitation_link(&t, &b.admin_email).await;
    let r = t.send(current(&link)).await;
    assert_eq!((r.status, &r.json["account_exists"]), (StatusCode::OK, &json!(true)), "{}", r.text);
    let r = t.send(accept(&link, json!({"name": "Someone", "password": "a new password here"}))).await;
    assert_eq!((r.status, r.json["code"].as_str()), (StatusCode::CONFLICT, Some("account_exists")), "{}", r.text);
    let r = t.send(accept(&link, json!({}))).await;
    assert_eq!((r.status, &r.json["account_created"]), (StatusCode::OK, &json!(false)), "{}", r.text);
    assert!(r.header("set-cookie").is_none(), "an existing account signs in with its own password");
    t.login(&b.admin_email, "correct horse battery").await;
    let members = t.send(Req::get(ADMIN, "/api/v1/org/members").session(&a.admin_cookie)).await;
    assert!(members.text.contains(&b.admin_email), "joined after consenting: {}", members.text);

    // A second add of a member is a conflict the admin can see anyway (they list members).
    let r = t.send(add(&b.admin_email)).await;
    assert_eq!((r.status, r.json["code"].as_str()), (StatusCode::CONFLICT, Some("already_member")), "{}", r.text);
    // A new account needs both a name and a password.
    let (_, link) = invitation_link(&t, "nobody-yet@example.org").await;
    let r = t.send(accept(&link, json!({}))).await;
    assert_eq!((r.status, r.json["field"].as_str()), (StatusCode::BAD_REQUEST, Some("password")), "{}", r.text);
    let r = t.send(accept(&link, json!({"name": "N", "password": "short"}))).await;
    assert_eq!((r.status, r.json["field"].as_str()), (StatusCode::BAD_REQUEST, Some("password")), "{}", r.text);
    assert_eq!(users_named(&t, "nobody-yet@example.org").await, 0, "a refused answer changes nothing");
    let r = t.send(current(&link)).await;
    assert_eq!(r.status, StatusCode::OK, "a refused answer leaves the link usable: {}", r.text);
}
both!(adding_someone_tells_nothing_about_their_account_and_joins_only_with_consent);

/// Page admins invite to their page, see and withdraw their page's invitations; org admins see
/// all of the org's; a member of the org joins a page at once; links expire and are replaced.
async fn invitations_are_listed_withdrawn_replaced_and_expire(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let b = t.tenant("beta").await;
    let token = t.page_token(&a, "admin", "page_admin").await;
    let invite = |email: &str, role: &str| {
        Req::post(&a.host, "/api/v1/admin/members").bearer(&token).json(json!({"email": email, "role": role}))
    };
    let r = t.send(invite("first@example.org", "page_manager")).await;
    assert_eq!((r.status, &r.json["page_id"]), (StatusCode::ACCEPTED, &json!(a.page_id)), "{}", r.text);
    let first = r.json["id"].as_i64().unwrap();
    let (_, old_link) = invitation_link(&t, "first@example.org").await;
    // Inviting again replaces the link: the old one stops working.
    let r = t.send(invite("first@example.org", "page_admin")).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let second = r.json["id"].as_i64().unwrap();
    assert_eq!(t.send(current(&old_link)).await.status, StatusCode::UNAUTHORIZED);
    let (_, link) = invitation_link(&t, "first@example.org").await;
    assert_eq!(t.send(current(&link)).await.json["role"], "page_admin");

    // Lists: the page's (newest first, paged), and the org's holding every page's.
    t.send(Req::post(ADMIN, "/api/v1/org/members").session(&a.admin_cookie).json(json!({
        "email": "orgwide@example.org", "role": "org_member"
    })))
    .await;
    let r = t.send(Req::get(&a.host, "/api/v1/admin/invitations?limit=1").bearer(&token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["data"][0]["id"], second);
    assert_eq!(r.json["data"][0]["status"], "pending");
    let next = r.json["next_cursor"].as_str().unwrap().to_string();
    let r = t.send(Req::get(&a.host, &format!("/api/v1/admin/invitations?limit=1&cursor={next}")).bearer(&token)).await;
    assert_eq!((&r.json["data"][0]["id"], &r.json["data"][0]["status"]), (&json!(first), &json!("revoked")));
    assert_eq!(r.json["next_cursor"], Value::Null, "the org-level invitation is not the page's");
    let r = t.send(Req::get(ADMIN, "/api/v1/org/invitations").session(&a.admin_cookie)).await;
    assert_eq!(r.json["data"].as_array().unwrap().len(), 3, "{}", r.text);
    assert!(!r.text.contains("sbi_") && !r.text.contains("token"), "{}", r.text);

    // Withdrawing: another org sees nothing (404); the page admin withdraws; the link dies.
    let r = t
        .send(Req::new(Method::DELETE, ADMIN, &format!("/api/v1/org/invitations/{second}")).session(&b.admin_cookie))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r =
        t.send(Req::new(Method::DELETE, &a.host, &format!("/api/v1/admin/invitations/{second}")).bearer(&token)).await;
    assert_eq!((r.status, &r.json["status"]), (StatusCode::OK, &json!("revoked")), "{}", r.text);
    assert_eq!(t.send(current(&link)).await.status, StatusCode::UNAUTHORIZED);
    let r =
        t.send(Req::new(Method::DELETE, &a.host, &format!("/api/v1/admin/invitations/{second}")).bearer(&token)).await;
    assert_eq!((r.status, r.json["code"].as_str()), (StatusCode::CONFLICT, Some("not_pending")));

    // Links expire after 7 days.
    let (_, orgwide) = invitation_link(&t, "orgwide@example.org").await;
    t.clock.advance(7 * 24 * 3600 * 1000);
    assert_eq!(t.send(current(&orgwide)).await.status, StatusCode::UNAUTHORIZED);
    let r = t.send(accept(&orgwide, json!({"name": "Late", "password": "too late by a day"}))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(users_named(&t, "orgwide@example.org").await, 0);

    // A member of the org joins a page at once (they consented to the org); twice is a conflict.
    let (member_cookie, _) = t.member(a.org_id, None, "org_member").await;
    let me = t.send(Req::get(ADMIN, "/api/v1/auth/me").session(&member_cookie)).await;
    let member_email = me.json["user"]["email"].as_str().unwrap().to_string();
    let r = t.send(invite(&member_email, "page_viewer")).await;
    assert_eq!((r.status, &r.json["role"]), (StatusCode::CREATED, &json!("page_viewer")), "{}", r.text);
    let r = t.send(invite(&member_email, "page_admin")).await;
    assert_eq!((r.status, r.json["code"].as_str()), (StatusCode::CONFLICT, Some("already_member")));
    let r = t.send(Req::get(&a.host, "/api/v1/admin/members").bearer(&token)).await;
    assert!(r.text.contains(&member_email), "{}", r.text);
}
both!(invitations_are_listed_withdrawn_replaced_and_expire);

/// The invitee routes × every credential kind: only a live `sbi_` token in `X-Magic-Token`, on
/// the admin host, opens them; a credential in the query string is refused before anything.
async fn only_a_live_invitation_token_opens_the_invitee_routes(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let api = t.page_token(&a, "admin", "page_admin").await;
    let invite = |email: &str| {
        Req::post(ADMIN, "/api/v1/org/members")
            .session(&a.admin_cookie)
            .json(json!({"email": email, "role": "org_member"}))
    };
    t.send(invite("live@example.org")).await;
    let (_, live) = invitation_link(&t, "live@example.org").await;
    t.send(invite("revoked@example.org")).await;
    let (_, revoked) = invitation_link(&t, "revoked@example.org").await;
    let id = t.send(Req::get(ADMIN, "/api/v1/org/invitations").session(&a.admin_cookie)).await.json["data"][0]["id"]
        .as_i64()
        .unwrap();
    t.send(Req::new(Method::DELETE, ADMIN, &format!("/api/v1/org/invitations/{id}")).session(&a.admin_cookie)).await;
    t.send(invite("used@example.org")).await;
    let (_, used) = invitation_link(&t, "used@example.org").await;
    let r = t.send(accept(&used, json!({"name": "U", "password": "a fine password"}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mut bad_checksum = live.clone();
    bad_checksum.pop();
    bad_checksum.push(if live.ends_with('A') { 'B' } else { 'A' });
    let other_kind = live.replacen("sbi_", "sbm_", 1);

    let refused: Vec<(&str, Req)> = vec![
        ("nothing", Req::get(ADMIN, "/api/v1/invitations/current")),
        ("api token as bearer", Req::get(ADMIN, "/api/v1/invitations/current").bearer(&api)),
        ("api token as magic token", current(&api)),
        ("session cookie", Req::get(ADMIN, "/api/v1/invitations/current").session(&a.admin_cookie)),
        ("invitation as bearer", Req::get(ADMIN, "/api/v1/invitations/current").bearer(&live)),
        ("another kind's prefix", current(&other_kind)),
        ("bad checksum", current(&bad_checksum)),
        ("malformed", current("sbi_nope")),
        ("revoked", current(&revoked)),
        ("used", current(&used)),
    ];
    for (what, req) in refused {
        let r = t.send(req).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what}: {}", r.text);
        assert!(r.json["error"].is_string(), "{what}: {}", r.text);
    }
    for (what, token) in [("revoked", &revoked), ("used", &used), ("api token", &api)] {
        let r = t.send(accept(token, json!({"name": "X", "password": "another password"}))).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what}: {}", r.text);
    }
    // On a page host the invitee routes do not exist.
    assert_eq!(
        t.send(Req::get(&a.host, "/api/v1/invitations/current").header("x-magic-token", &live)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(t.send(Req::get(&a.host, "/admin/invite")).await.status, StatusCode::NOT_FOUND);
    // Never in a query string.
    let r = t.send(Req::get(ADMIN, &format!("/api/v1/invitations/current?token={live}"))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    // The live token still works after all that, and the page and its script are served.
    let r = t.send(current(&live)).await;
    assert_eq!((r.status, &r.json["email"]), (StatusCode::OK, &json!("live@example.org")), "{}", r.text);
    let page = t.send(Req::get(ADMIN, "/admin/invite")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("/static/invite.js") && !page.text.contains("<script>"), "no inline script");
    assert!(page.header("content-security-policy").unwrap().contains("frame-ancestors 'none'"));
    for path in ["/static/invite.js", "/static/invite.css"] {
        assert_eq!(t.send(Req::get(ADMIN, path)).await.status, StatusCode::OK, "{path}");
    }
    // Each refused token was an authentication failure, audited without the secret.
    t.wait_for_audit_count("auth.failed", 8).await;
    let rows = sqlx::query("SELECT target_kind, detail FROM audit_log WHERE action = 'auth.failed'")
        .fetch_all(&t.app.db.pool)
        .await
        .unwrap();
    assert!(rows.iter().any(|r| r.get::<String, _>(0) == "invitation"));
    for r in &rows {
        let detail: String = r.get(1);
        assert!(!detail.contains("sbi_") && !detail.contains(&live[4..]), "{detail}");
    }
}
both!(only_a_live_invitation_token_opens_the_invitee_routes);

/// Migration 14 lets mail about no page (an org invitation) into the outbox; on SQLite it rebuilds
/// the table. Mail already queued, its failed attempts and the id sequence survive it.
async fn the_outbox_migration_keeps_queued_mail_and_its_attempts(engine: Engine) {
    let db = one_page_before_migration(engine, 13).await;
    let run = |sql: &'static str| sqlx::query(sql).execute(&db.pool);
    for key in ["a", "b", "c"] {
        sqlx::query(
            "INSERT INTO outbox (page_id, channel, dedupe_key, recipient, subject, body_text, body_html, headers, \
             state, attempts, next_attempt_at, last_error, created_at, locked_until, subscriber_id) \
             VALUES (1, 'email', $1, 'r@example.org', 's', 't', 'h', '{}', 'pending', 1, 5, 'timed out', 1, 0, NULL)",
        )
        .bind(key)
        .execute(&db.pool)
        .await
        .unwrap();
    }
    for outbox_id in [2, 3] {
        sqlx::query(
            "INSERT INTO outbox_attempts (outbox_id, attempted_at, status_code, error, duration_ms, final) \
             VALUES ($1, 3, NULL, 'timed out', 7, 0)",
        )
        .bind(outbox_id)
        .execute(&db.pool)
        .await
        .unwrap();
    }
    // The newest mail (and with it its attempt) is gone before the migration: its ids stay used.
    run("DELETE FROM outbox WHERE id = 3").await.unwrap();
    assert_eq!(db.migrate_up_to(14).await.unwrap(), vec![14]);
    let kept: Vec<(i64, String, Option<i64>)> =
        sqlx::query_as("SELECT id, dedupe_key, page_id FROM outbox ORDER BY id").fetch_all(&db.pool).await.unwrap();
    assert_eq!(kept, vec![(1, "a".into(), Some(1)), (2, "b".into(), Some(1))]);
    let attempt = sqlx::query("SELECT outbox_id, error FROM outbox_attempts").fetch_one(&db.pool).await.unwrap();
    assert_eq!((attempt.get::<i64, _>(0), attempt.get::<String, _>(1)), (2, "timed out".to_string()));
    // Mail about no page goes in now, after every id ever used; deleting the page still takes
    // its mail (and attempts) with it.
    let id: i64 = sqlx::query(
        "INSERT INTO outbox (page_id, channel, dedupe_key, recipient, subject, body_text, body_html, headers, \
         state, attempts, next_attempt_at, last_error, created_at) \
         VALUES (NULL, 'email', 'org', 'r@example.org', 's', 't', 'h', '{}', 'pending', 0, 1, '', 1) RETURNING id",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap()
    .get(0);
    assert_eq!(id, 4, "id 3 was used before the migration");
    let attempt_id: i64 = sqlx::query(
        "INSERT INTO outbox_attempts (outbox_id, attempted_at, status_code, error, duration_ms, final) \
         VALUES (2, 4, 503, 'x', 1, 0) RETURNING id",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap()
    .get(0);
    assert_eq!(attempt_id, 3, "attempt 2 was used before the migration");
    run("DELETE FROM pages WHERE id = 1").await.unwrap();
    let left: i64 = sqlx::query("SELECT COUNT(*) FROM outbox").fetch_one(&db.pool).await.unwrap().get(0);
    let attempts: i64 = sqlx::query("SELECT COUNT(*) FROM outbox_attempts").fetch_one(&db.pool).await.unwrap().get(0);
    assert_eq!((left, attempts), (1, 0));
}
both!(the_outbox_migration_keeps_queued_mail_and_its_attempts);

async fn pending_mail_to(t: &TestApp, email: &str) -> i64 {
    sqlx::query("SELECT COUNT(*) FROM outbox WHERE recipient = $1 AND state = 'pending'")
        .bind(email)
        .fetch_one(&t.app.db.pool)
        .await
        .unwrap()
        .get(0)
}

/// An org cannot use invitations to flood a mailbox: a new invitation replaces the unsent mail of
/// the old one, a withdrawn one is never sent, and three mails a day to one address is the most.
async fn invitations_cannot_flood_a_mailbox(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let token = t.org_token(&a, "admin", "org_admin").await;
    let invite = || {
        Req::post(&a.host, "/api/v1/org/members")
            .bearer(&token)
            .json(json!({"email": "target@example.org", "role": "org_member"}))
    };
    for _ in 0..3 {
        let r = t.send(invite()).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        assert_eq!(pending_mail_to(&t, "target@example.org").await, 1, "only the newest link waits to be sent");
    }
    let r = t.send(invite()).await;
    assert_eq!(
        (r.status, r.json["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")),
        "{}",
        r.text
    );
    assert_eq!(r.header("retry-after"), Some("86400"), "the oldest of the day's three ages out first");
    assert_eq!(t.count("invitations").await, 3, "the refused one wrote nothing");
    // Withdrawing takes the unsent link out of the outbox.
    let id = t.send(Req::get(&a.host, "/api/v1/org/invitations").bearer(&token)).await.json["data"][0]["id"]
        .as_i64()
        .unwrap();
    let r = t.send(Req::new(Method::DELETE, &a.host, &format!("/api/v1/org/invitations/{id}")).bearer(&token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(pending_mail_to(&t, "target@example.org").await, 0);
    // A day later the address may be invited again.
    t.clock.advance(24 * 3600 * 1000);
    assert_eq!(t.send(invite()).await.status, StatusCode::ACCEPTED);
}
both!(invitations_cannot_flood_a_mailbox);

/// Accepting gives the invited role, keeps a higher one already held, and says which is held:
/// a page invitation accepted first (org member), then an org-admin invitation, makes an org
/// admin; an org-member invitation accepted by an org admin changes nothing.
async fn accepting_raises_a_role_but_never_lowers_one(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let send_invite = |path: &str, role: &str| {
        Req::post(ADMIN, path).session(&a.admin_cookie).json(json!({"email": "x@example.org", "role": role}))
    };
    let page_path = format!("/api/v1/orgs/{}/pages/{}/admin/members", a.org_id, a.page_id);
    assert_eq!(t.send(send_invite(&page_path, "page_viewer")).await.status, StatusCode::ACCEPTED);
    let (_, page_link) = invitation_link(&t, "x@example.org").await;
    assert_eq!(t.send(send_invite("/api/v1/org/members", "org_admin")).await.status, StatusCode::ACCEPTED);
    let (_, org_link) = invitation_link(&t, "x@example.org").await;
    let r = t.send(accept(&page_link, json!({"name": "X", "password": "x's own password"}))).await;
    assert_eq!((r.status, &r.json["role"]), (StatusCode::OK, &json!("page_viewer")), "{}", r.text);
    let r = t.send(accept(&org_link, json!({}))).await;
    assert_eq!((r.status, &r.json["role"]), (StatusCode::OK, &json!("org_admin")), "{}", r.text);
    let role = one_text(
        &t,
        &format!("SELECT m.role FROM org_members m JOIN users u ON u.id = m.user_id WHERE u.email = 'x@example.org' AND m.org_id = {}", a.org_id),
    )
    .await;
    assert_eq!(role, "org_admin");
    // An invitation to a lower role is accepted without lowering anything. (The org admin removes
    // x first only from the page, so that the page invitation is not refused as already_member.)
    let (x_cookie, _) = t.login("x@example.org", "x's own password").await;
    let x_id = t.send(Req::get(ADMIN, "/api/v1/auth/me").session(&x_cookie)).await.json["user"]["id"].as_i64().unwrap();
    let r = t.send(Req::new(Method::DELETE, ADMIN, &format!("{page_path}/{x_id}")).session(&a.admin_cookie)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = t.send(send_invite(&page_path, "page_manager")).await;
    assert_eq!(
        (r.status, &r.json["role"]),
        (StatusCode::CREATED, &json!("page_manager")),
        "an org member joins a page at once"
    );
    let r = t.send(send_invite("/api/v1/org/members", "org_member")).await;
    assert_eq!(r.json["code"], "already_member", "{}", r.text);
}
both!(accepting_raises_a_role_but_never_lowers_one);

/// At most 200 invitations wait at once per org (400 `limit_reached`), and an org mails at most
/// 500 invitations a day (429); refused invitations write nothing.
async fn an_org_has_bounded_pending_invitations_and_daily_mail(engine: Engine) {
    use statibeat::store::invitations::{insert, NewInvitation};
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let now = t.app.now();
    let seed = |n: usize, revoked: bool| {
        let t = &t;
        async move {
            for i in 0..n {
                let (email, hash) = (format!("seed{revoked}{i}@example.org"), format!("{revoked}{i:060}"));
                let new = NewInvitation {
                    org_id: a.org_id,
                    page_id: None,
                    email: &email,
                    role: "org_member",
                    token_hash: &hash,
                    invited_by: "seed",
                    expires_at: now + 86_400_000,
                };
                let row = insert(&t.app.db.pool, &new, now).await.unwrap();
                if revoked {
                    statibeat::store::invitations::revoke(&t.app.db.pool, row.id, now).await.unwrap();
                }
            }
        }
    };
    seed(200, false).await;
    let invite = |email: &str| {
        Req::post(ADMIN, "/api/v1/org/members")
            .session(&a.admin_cookie)
            .json(json!({"email": email, "role": "org_member"}))
    };
    let r = t.send(invite("one-more@example.org")).await;
    assert_eq!((r.status, r.json["code"].as_str()), (StatusCode::BAD_REQUEST, Some("limit_reached")), "{}", r.text);
    // Re-inviting someone already invited replaces their link, so it is not refused.
    let r = t.send(invite("seedfalse7@example.org")).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    seed(299, true).await;
    let r = t.send(invite("seedfalse8@example.org")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "the day's 500th mail was sent: {}", r.text);
    assert_eq!(t.count("invitations").await, 500);
}
both!(an_org_has_bounded_pending_invitations_and_daily_mail);
