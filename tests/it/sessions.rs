//! People signing in to the web app: session cookies, logout, timeouts, password change, `me`,
//! CSRF on cookie-authenticated writes, no user enumeration, and login throttling (SPEC §2.2).

use crate::both;
use crate::harness::*;
use crate::process::database_text;
use axum::http::StatusCode;
use serde_json::{json, Value};
use sqlx::Row;
use statibeat::auth::token::{PlainToken, TokenKind};
use statibeat::clock::{DAY, HOUR, MINUTE, SECOND};
use statibeat::service::org::bootstrap;
use statibeat::store;

const PASSWORD: &str = "correct horse battery";

/// Posts a login on the admin host (optionally from a given client address).
async fn login_attempt(t: &TestApp, email: &str, password: &str, ip: &str) -> Resp {
    t.send(Req::post(ADMIN, "/api/v1/auth/login").json(json!({"email": email, "password": password})).from_ip(ip)).await
}

/// `name=value` of the first `Set-Cookie`, and its attributes (trimmed).
fn set_cookie(r: &Resp) -> (String, String, Vec<String>) {
    let raw = r.header("set-cookie").unwrap_or_else(|| panic!("no Set-Cookie: {:?}", r.headers)).to_string();
    let mut parts = raw.split(';').map(|s| s.trim().to_string());
    let pair = parts.next().unwrap();
    let (name, value) = pair.split_once('=').map(|(n, v)| (n.to_string(), v.to_string())).unwrap();
    (name, value, parts.collect())
}

/// The signed-in user as `/api/v1/auth/me` sees this cookie (`name=value`).
async fn me(t: &TestApp, host: &str, cookie: &str) -> Resp {
    t.send(Req::get(host, "/api/v1/auth/me").header("cookie", cookie)).await
}

/// Waits until the asynchronous audit writer has stored `n` entries of `action`.
async fn wait_for_audit_count(t: &TestApp, action: &str, n: usize) -> Vec<String> {
    for _ in 0..150 {
        let a = t.audit_actions().await;
        if a.iter().filter(|x| *x == action).count() >= n {
            return a;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("expected {n} × {action}; have {:?}", t.audit_actions().await);
}

async fn session_row(t: &TestApp, secret: &str) -> (i64, i64, Option<i64>) {
    let hash = PlainToken::parse_kind(secret, TokenKind::Session).unwrap().hash().to_hex();
    let r = sqlx::query("SELECT id, last_seen_at, revoked_at FROM sessions WHERE token_hash = $1")
        .bind(hash)
        .fetch_one(&t.app.db.pool)
        .await
        .unwrap();
    (r.get(0), r.get(1), r.try_get::<Option<i64>, _>(2).unwrap())
}

// ---- the cookie -------------------------------------------------------------------------------

async fn signing_in_over_http_sets_a_host_only_http_only_lax_cookie(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let r = login_attempt(&t, &a.admin_email, PASSWORD, "127.0.0.1").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let (name, value, attrs) = set_cookie(&r);
    assert_eq!(name, "statibeat_session");
    assert!(value.starts_with("sbs_"), "{value}");
    // Exactly HttpOnly, SameSite=Lax and Path=/ (plus a lifetime); no Domain, no Secure.
    let mut flags: Vec<&str> = attrs.iter().map(String::as_str).filter(|a| !a.starts_with("Max-Age=")).collect();
    flags.sort();
    assert_eq!(flags, vec!["HttpOnly", "Path=/", "SameSite=Lax"], "{attrs:?}");
    assert!(!attrs.iter().any(|a| a.to_ascii_lowercase().starts_with("domain")), "{attrs:?}");
    assert!(!attrs.iter().any(|a| a.eq_ignore_ascii_case("secure")), "{attrs:?}");
    // The lifetime is the absolute timeout (7 days).
    assert!(attrs.contains(&format!("Max-Age={}", 7 * DAY / 1000)), "{attrs:?}");
    assert_eq!(r.json["user"]["email"], a.admin_email.as_str());
    assert_eq!(r.json["csrf_token"].as_str().unwrap().len(), 32);

    // A session is a user, not a page: the cookie works on the admin host and on a page host.
    let cookie = format!("{name}={value}");
    assert_eq!(me(&t, ADMIN, &cookie).await.status, StatusCode::OK);
    assert_eq!(me(&t, &a.host, &cookie).await.status, StatusCode::OK);
}
both!(signing_in_over_http_sets_a_host_only_http_only_lax_cookie);

async fn signing_in_over_https_sets_a_host_prefixed_secure_cookie(engine: Engine) {
    let t = TestApp::with(engine, |c| c.public_scheme = "https".into()).await;
    let a = t.tenant("acme").await;
    let r = login_attempt(&t, &a.admin_email, PASSWORD, "127.0.0.1").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let (name, value, attrs) = set_cookie(&r);
    assert_eq!(name, "__Host-statibeat_session");
    let mut flags: Vec<&str> = attrs.iter().map(String::as_str).filter(|a| !a.starts_with("Max-Age=")).collect();
    flags.sort();
    assert_eq!(flags, vec!["HttpOnly", "Path=/", "SameSite=Lax", "Secure"], "{attrs:?}");
    assert!(!attrs.iter().any(|a| a.to_ascii_lowercase().starts_with("domain")), "{attrs:?}");

    assert_eq!(me(&t, ADMIN, &format!("{name}={value}")).await.status, StatusCode::OK);
    // Over https only the prefixed name counts: the same value under the bare name is no session.
    let bare = me(&t, ADMIN, &format!("statibeat_session={value}")).await;
    assert_eq!(bare.status, StatusCode::UNAUTHORIZED, "{}", bare.text);

    // Logging out clears the prefixed cookie with the same attributes.
    let out = t.send(Req::post(ADMIN, "/api/v1/auth/logout").session(&format!("{name}={value}"))).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT, "{}", out.text);
    let (cname, cvalue, cattrs) = set_cookie(&out);
    assert_eq!((cname.as_str(), cvalue.as_str()), ("__Host-statibeat_session", ""));
    assert!(cattrs.contains(&"Secure".to_string()) && cattrs.contains(&"Path=/".to_string()), "{cattrs:?}");
    assert!(cattrs.contains(&"Max-Age=0".to_string()), "{cattrs:?}");
}
both!(signing_in_over_https_sets_a_host_prefixed_secure_cookie);

async fn every_login_gets_a_new_session_whose_secret_is_stored_only_as_a_hash(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let before = t.count("sessions").await;
    let r1 = login_attempt(&t, &a.admin_email, PASSWORD, "127.0.0.1").await;
    let r2 = login_attempt(&t, &a.admin_email, PASSWORD, "127.0.0.1").await;
    let (_, s1, _) = set_cookie(&r1);
    let (_, s2, _) = set_cookie(&r2);
    let s0 = a.admin_cookie.split_once('=').unwrap().1.to_string();
    assert_ne!(s1, s2);
    assert_ne!(s1, s0);
    assert_ne!(r1.json["csrf_token"], r2.json["csrf_token"]);
    assert_eq!(t.count("sessions").await, before + 2);
    // Both sessions live side by side.
    assert_eq!(me(&t, ADMIN, &format!("statibeat_session={s1}")).await.status, StatusCode::OK);
    assert_eq!(me(&t, ADMIN, &format!("statibeat_session={s2}")).await.status, StatusCode::OK);

    // What someone with a copy of the database finds: each live cookie's SHA-256 in its own
    // session row, and no cookie, nor its random part, anywhere (every row of every table on
    // PostgreSQL, the database and WAL files on SQLite).
    let dump = database_text(t.engine, &t.url).await;
    for secret in [&s0, &s1, &s2] {
        let hash = PlainToken::parse_kind(secret, TokenKind::Session).unwrap().hash().to_hex();
        assert_eq!(t.count(&format!("sessions WHERE token_hash = '{hash}'")).await, 1, "the session's hash is its key");
        assert!(dump.contains(&hash), "the scan reads the sessions table");
        assert!(!dump.contains(&secret[4..]), "a session secret is stored in clear");
    }
}
both!(every_login_gets_a_new_session_whose_secret_is_stored_only_as_a_hash);

// ---- logout, timeouts, password change ---------------------------------------------------------

async fn logging_out_ends_the_session_for_good(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let (cookie, _) = t.login(&a.admin_email, PASSWORD).await;
    assert_eq!(me(&t, ADMIN, &cookie).await.status, StatusCode::OK);

    let r = t.send(Req::post(ADMIN, "/api/v1/auth/logout").session(&cookie)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let (name, value, attrs) = set_cookie(&r);
    assert_eq!((name.as_str(), value.as_str()), ("statibeat_session", ""));
    assert!(attrs.contains(&"Max-Age=0".to_string()), "{attrs:?}");

    // The old cookie is dead server-side, even if a browser kept it.
    let after = me(&t, ADMIN, &cookie).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED, "{}", after.text);
    assert_eq!(after.json["code"], "unauthorized");
    let again = t.send(Req::post(ADMIN, "/api/v1/auth/logout").session(&cookie)).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    let (_, _, revoked_at) = session_row(&t, cookie.split_once('=').unwrap().1).await;
    assert_eq!(revoked_at, Some(T0));
    // Other sessions of the same user are untouched.
    assert_eq!(me(&t, ADMIN, &a.admin_cookie).await.status, StatusCode::OK);

    let actions = t.wait_for_audit("session.revoked").await;
    assert!(actions.iter().any(|x| x == "session.created"), "{actions:?}");
    let revoked = actions.iter().filter(|x| *x == "session.revoked").count();
    assert_eq!(revoked, 1, "{actions:?}");
    // The refused reuse is an authentication failure, recorded too.
    t.wait_for_audit("auth.failed").await;
}
both!(logging_out_ends_the_session_for_good);

async fn a_session_left_idle_for_twelve_hours_expires(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let (cookie, _) = t.login(&a.admin_email, PASSWORD).await;
    t.clock.advance(12 * HOUR - SECOND);
    assert_eq!(me(&t, ADMIN, &cookie).await.status, StatusCode::OK, "used just inside the idle window");
    // That use restarted the idle window; now leave it alone for 12 hours.
    t.clock.advance(12 * HOUR);
    let r = me(&t, ADMIN, &cookie).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    // It stays dead: a later use does not revive it.
    assert_eq!(me(&t, ADMIN, &cookie).await.status, StatusCode::UNAUTHORIZED);
    // The harness session from the start was never used, so it has long expired as well.
    assert_eq!(me(&t, ADMIN, &a.admin_cookie).await.status, StatusCode::UNAUTHORIZED);
}
both!(a_session_left_idle_for_twelve_hours_expires);

async fn activity_is_recorded_at_most_once_a_minute(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let (cookie, _) = t.login(&a.admin_email, PASSWORD).await;
    let secret = cookie.split_once('=').unwrap().1.to_string();
    assert_eq!(session_row(&t, &secret).await.1, T0);
    // A use 30 s after the login is not written…
    t.clock.advance(30 * SECOND);
    assert_eq!(me(&t, ADMIN, &cookie).await.status, StatusCode::OK);
    assert_eq!(session_row(&t, &secret).await.1, T0);
    // …one 61 s after the last write is.
    t.clock.advance(31 * SECOND);
    assert_eq!(me(&t, ADMIN, &cookie).await.status, StatusCode::OK);
    assert_eq!(session_row(&t, &secret).await.1, T0 + 61 * SECOND);
    // So the idle timeout counts from the last recorded use.
    t.clock.advance(12 * HOUR - SECOND);
    assert_eq!(me(&t, ADMIN, &cookie).await.status, StatusCode::OK);
    assert_eq!(session_row(&t, &secret).await.1, T0 + 61 * SECOND + 12 * HOUR - SECOND);
}
both!(activity_is_recorded_at_most_once_a_minute);

async fn an_active_session_still_ends_after_seven_days(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let (cookie, _) = t.login(&a.admin_email, PASSWORD).await;
    // Used every four hours, the session never goes idle…
    let mut elapsed = 0;
    while elapsed + 4 * HOUR < 7 * DAY {
        t.clock.advance(4 * HOUR);
        elapsed += 4 * HOUR;
        let r = me(&t, ADMIN, &cookie).await;
        assert_eq!(r.status, StatusCode::OK, "after {} h: {}", elapsed / HOUR, r.text);
    }
    // …up to the last minute of its seventh day…
    t.clock.advance(7 * DAY - elapsed - MINUTE);
    assert_eq!(me(&t, ADMIN, &cookie).await.status, StatusCode::OK);
    // …and then it is over, however busy it was.
    t.clock.advance(MINUTE);
    let r = me(&t, ADMIN, &cookie).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    // Signing in again gives a fresh week.
    let (fresh, _) = t.login(&a.admin_email, PASSWORD).await;
    assert_eq!(me(&t, ADMIN, &fresh).await.status, StatusCode::OK);
}
both!(an_active_session_still_ends_after_seven_days);

async fn changing_the_password_signs_out_every_other_session(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let (laptop, _) = t.login(&a.admin_email, PASSWORD).await;
    let (phone, _) = t.login(&a.admin_email, PASSWORD).await;

    // A wrong current password changes nothing.
    let wrong = t
        .send(
            Req::post(ADMIN, "/api/v1/auth/password")
                .session(&laptop)
                .json(json!({"current_password": "not it at all", "new_password": "a much better secret"})),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN, "{}", wrong.text);
    assert_eq!(me(&t, ADMIN, &phone).await.status, StatusCode::OK);
    // Too short a new password is a 400 naming the field.
    let short = t
        .send(
            Req::post(ADMIN, "/api/v1/auth/password")
                .session(&laptop)
                .json(json!({"current_password": PASSWORD, "new_password": "short"})),
        )
        .await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST, "{}", short.text);
    assert_eq!(short.json["field"], "new_password");

    let r = t
        .send(
            Req::post(ADMIN, "/api/v1/auth/password")
                .session(&laptop)
                .json(json!({"current_password": PASSWORD, "new_password": "a much better secret"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let (name, value, _) = set_cookie(&r);
    assert_eq!(name, "statibeat_session");
    let renewed = format!("{name}={value}");
    assert_ne!(renewed, laptop);

    // Every other session is gone (and so is the one that asked: it was replaced by a new id).
    assert_eq!(me(&t, ADMIN, &phone).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&t, ADMIN, &a.admin_cookie).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&t, ADMIN, &laptop).await.status, StatusCode::UNAUTHORIZED);
    // The new cookie works, and its CSRF token is the one the change returned.
    let now = me(&t, ADMIN, &renewed).await;
    assert_eq!(now.status, StatusCode::OK, "{}", now.text);
    assert_eq!(now.json["csrf_token"], r.json["csrf_token"]);
    use sqlx::Row as _;
    let live: i64 = sqlx::query("SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL")
        .fetch_one(&t.app.db.pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(live, 1);

    // The old password no longer signs in; the new one does.
    assert_eq!(login_attempt(&t, &a.admin_email, PASSWORD, "127.0.0.1").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(login_attempt(&t, &a.admin_email, "a much better secret", "127.0.0.1").await.status, StatusCode::OK);
    t.wait_for_audit("user.password_changed").await;
}
both!(changing_the_password_signs_out_every_other_session);

// ---- me ---------------------------------------------------------------------------------------

async fn me_describes_the_user_their_orgs_and_page_roles(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let b = t.tenant("bolt").await;
    let email = "mia@people.example.com";
    let user = bootstrap::create_user(&t.app, email, "Mia Manager", PASSWORD).await.unwrap();
    store::members::upsert(&t.app.db.pool, store::members::Group::Org(a.org_id), user, "org_member", T0).await.unwrap();
    store::members::upsert(&t.app.db.pool, store::members::Group::Page(a.page_id), user, "page_manager", T0)
        .await
        .unwrap();
    store::members::upsert(&t.app.db.pool, store::members::Group::Org(b.org_id), user, "org_admin", T0).await.unwrap();
    let (cookie, csrf) = t.login(email, PASSWORD).await;

    let r = me(&t, ADMIN, &cookie).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["user"], json!({"id": user, "email": email, "name": "Mia Manager"}));
    assert_eq!(
        r.json["orgs"],
        json!([
            {"id": a.org_id, "name": "Org acme", "slug": "org-acme", "role": "org_member"},
            {"id": b.org_id, "name": "Org bolt", "slug": "org-bolt", "role": "org_admin"},
        ])
    );
    assert_eq!(r.json["page_roles"], json!([{"org_id": a.org_id, "page_id": a.page_id, "role": "page_manager"}]));
    assert_eq!(r.json["csrf_token"], csrf.as_str());
    // No secret is echoed back.
    assert!(!r.text.contains(cookie.split_once('=').unwrap().1));

    // Without a cookie: 401.
    let anon = t.send(Req::get(ADMIN, "/api/v1/auth/me")).await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
}
both!(me_describes_the_user_their_orgs_and_page_roles);

// ---- CSRF -------------------------------------------------------------------------------------

fn new_token_body(name: &str) -> Value {
    json!({"name": name, "permission": "read", "role_key": "page_viewer"})
}

async fn cookie_writes_from_another_origin_are_refused(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let create = |name: &str| {
        Req::post(&a.host, "/api/v1/admin/api-tokens").header("cookie", &a.admin_cookie).json(new_token_body(name))
    };

    let refused = [
        ("cross-site fetch", create("x1").header("sec-fetch-site", "cross-site")),
        ("sibling tenant (same-site) fetch", create("x2").header("sec-fetch-site", "same-site")),
        ("foreign Origin", create("x3").header("origin", "http://evil.example")),
        ("Origin of another tenant", create("x4").header("origin", "http://bolt.status.test")),
        ("Origin with the wrong scheme", create("x5").header("origin", &format!("https://{}", a.host))),
        ("no Origin, no Fetch Metadata, no token", create("x6")),
        ("a wrong X-CSRF-Token", create("x7").header("x-csrf-token", "00000000000000000000000000000000")),
        (
            "cross-site even with the right token",
            create("x8").header("sec-fetch-site", "cross-site").header("x-csrf-token", &a.admin_csrf),
        ),
    ];
    for (what, req) in refused {
        let r = t.send(req).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{what}: {}", r.text);
        assert_eq!(r.json["code"], "csrf", "{what}");
        assert_eq!(t.count("api_tokens").await, 0, "{what} wrote a row");
    }

    // Non-browser clients prove themselves with the session's CSRF token.
    let r = t.send(create("with-token").header("x-csrf-token", &a.admin_csrf)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // A browser on the page's own origin.
    let r = t.send(create("same-origin").header("origin", &format!("http://{}", a.host))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = t.send(create("fetch-metadata").header("sec-fetch-site", "same-origin")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(t.count("api_tokens").await, 3);

    // Reads need no CSRF proof, even cross-site.
    let list = t.send(Req::get(&a.host, "/api/v1/admin/api-tokens").header("cookie", &a.admin_cookie)).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert_eq!(list.json["data"].as_array().unwrap().len(), 3);
    let list = t
        .send(
            Req::get(&a.host, "/api/v1/admin/api-tokens")
                .header("cookie", &a.admin_cookie)
                .header("sec-fetch-site", "cross-site"),
        )
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);

    // The CSRF token belongs to one session: another session's token does not pass.
    let (_, other_csrf) = t.login(&a.admin_email, PASSWORD).await;
    let r = t.send(create("other-session-token").header("x-csrf-token", &other_csrf)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(t.count("api_tokens").await, 3);
}
both!(cookie_writes_from_another_origin_are_refused);

async fn logging_out_needs_the_same_origin_too(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let r = t
        .send(
            Req::post(ADMIN, "/api/v1/auth/logout")
                .header("cookie", &a.admin_cookie)
                .header("sec-fetch-site", "cross-site"),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(me(&t, ADMIN, &a.admin_cookie).await.status, StatusCode::OK, "a forged logout must not end the session");
}
both!(logging_out_needs_the_same_origin_too);

// ---- login answers --------------------------------------------------------------------------

async fn unknown_email_and_wrong_password_look_the_same(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let unknown = login_attempt(&t, "nobody@acme.example.com", "whatever password", "192.0.2.10").await;
    let wrong = login_attempt(&t, &a.admin_email, "whatever password", "192.0.2.11").await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED, "{}", unknown.text);
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.text);
    assert_eq!(unknown.text, wrong.text);
    assert_eq!(unknown.json["error"], "email or password is wrong");
    let names = |r: &Resp| {
        let mut v: Vec<String> = r.headers.keys().map(|k| k.as_str().to_string()).collect();
        v.sort();
        v
    };
    assert_eq!(names(&unknown), names(&wrong));
    assert!(unknown.header("set-cookie").is_none() && wrong.header("set-cookie").is_none());
    // A malformed email gets the very same answer.
    let odd = login_attempt(&t, "not-an-email", "whatever password", "192.0.2.12").await;
    assert_eq!((odd.status, odd.text.as_str()), (StatusCode::UNAUTHORIZED, wrong.text.as_str()));

    wait_for_audit_count(&t, "auth.login_failed", 3).await;
    let rows = sqlx::query("SELECT ip, detail FROM audit_log WHERE action = 'auth.login_failed' ORDER BY id")
        .fetch_all(&t.app.db.pool)
        .await
        .unwrap();
    let mut ips: Vec<String> = rows.iter().map(|r| r.get::<String, _>(0)).collect();
    ips.sort();
    assert_eq!(ips, vec!["192.0.2.10", "192.0.2.11", "192.0.2.12"]);
    for r in &rows {
        let detail: String = r.get(1);
        assert!(!detail.contains("whatever password"), "password in audit detail: {detail}");
    }
    // No session was opened by a failure.
    assert_eq!(t.count("sessions").await, 1);
}
both!(unknown_email_and_wrong_password_look_the_same);

async fn repeated_wrong_passwords_slow_down_that_account(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let b = t.tenant("bolt").await;
    for i in 1..=5 {
        let r = login_attempt(&t, &a.admin_email, "guess guess guess", "192.0.2.20").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}: {}", r.text);
    }
    // The sixth attempt from that address waits, even with the right password (another
    // address is never held back by it: see hardening.rs).
    let r = login_attempt(&t, &a.admin_email, PASSWORD, "192.0.2.20").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert!(r.header("set-cookie").is_none());
    let retry: i64 = r.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!(retry >= 1, "{retry}");
    // The account name is matched case-insensitively, so case games do not get around it.
    let upper = login_attempt(&t, &a.admin_email.to_uppercase(), PASSWORD, "192.0.2.20").await;
    assert_eq!(upper.status, StatusCode::TOO_MANY_REQUESTS, "{}", upper.text);
    // Another account from the same address is not held back.
    assert_eq!(login_attempt(&t, &b.admin_email, PASSWORD, "192.0.2.20").await.status, StatusCode::OK);

    // Past the delay the right password works again.
    t.clock.advance(retry * SECOND);
    let r = login_attempt(&t, &a.admin_email, PASSWORD, "192.0.2.20").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Five wrong passwords and two throttled attempts, all audited.
    wait_for_audit_count(&t, "auth.login_failed", 7).await;
    let details: Vec<String> = sqlx::query("SELECT detail FROM audit_log WHERE action = 'auth.login_failed'")
        .fetch_all(&t.app.db.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(details.iter().filter(|d| d.contains("throttled")).count(), 2, "{details:?}");

    // Success clears the account's count: five fresh failures are allowed again.
    for i in 1..=5 {
        let r = login_attempt(&t, &a.admin_email, "guess guess guess", "192.0.2.22").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i} after success: {}", r.text);
    }
    // And the delay grows with further failures.
    let r = login_attempt(&t, &a.admin_email, PASSWORD, "192.0.2.22").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let first: i64 = r.header("retry-after").unwrap().parse().unwrap();
    t.clock.advance(first * SECOND);
    assert_eq!(
        login_attempt(&t, &a.admin_email, "guess guess guess", "192.0.2.22").await.status,
        StatusCode::UNAUTHORIZED
    );
    let r = login_attempt(&t, &a.admin_email, PASSWORD, "192.0.2.22").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let second: i64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!(second > first, "delay should grow: {first} then {second}");
}
both!(repeated_wrong_passwords_slow_down_that_account);

async fn password_spraying_from_one_address_slows_that_address_down(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let sprayer = "203.0.113.7";
    let mut answers = Vec::new();
    for i in 0..25 {
        let r = login_attempt(&t, &format!("user{i}@spray.example.com"), "Summer2026!", sprayer).await;
        answers.push((r.status, r.header("retry-after").map(str::to_string)));
    }
    // Twenty free failures per address, then the address has to wait.
    for (i, (status, _)) in answers.iter().enumerate().take(20) {
        assert_eq!(*status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    for (i, (status, retry)) in answers.iter().enumerate().skip(20) {
        assert_eq!(*status, StatusCode::TOO_MANY_REQUESTS, "attempt {i}");
        assert!(retry.is_some(), "attempt {i} has no Retry-After");
    }
    // Even a real user with the right password waits when coming from that address…
    let r = login_attempt(&t, &a.admin_email, PASSWORD, sprayer).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    let retry: i64 = r.header("retry-after").unwrap().parse().unwrap();
    // …while the same user from elsewhere is unaffected.
    assert_eq!(login_attempt(&t, &a.admin_email, PASSWORD, "198.51.100.1").await.status, StatusCode::OK);
    // Every attempt is in the audit log, from that address: 20 checked and refused, and the
    // 6 turned away by the throttle without a password check, marked as such.
    wait_for_audit_count(&t, "auth.login_failed", 26).await;
    let rows = sqlx::query("SELECT ip, detail FROM audit_log WHERE action = 'auth.login_failed' ORDER BY id")
        .fetch_all(&t.app.db.pool)
        .await
        .unwrap();
    assert_eq!(rows.len(), 26);
    assert!(rows.iter().all(|r| r.get::<String, _>(0) == sprayer));
    let throttled = rows
        .iter()
        .filter(|r| serde_json::from_str::<Value>(&r.get::<String, _>(1)).unwrap()["reason"] == "throttled")
        .count();
    assert_eq!(throttled, 6);

    t.clock.advance(retry * SECOND);
    assert_eq!(login_attempt(&t, &a.admin_email, PASSWORD, sprayer).await.status, StatusCode::OK);
}
both!(password_spraying_from_one_address_slows_that_address_down);

// ---- sessions only ----------------------------------------------------------------------------

async fn api_tokens_cannot_use_session_routes_or_be_mixed_with_a_cookie(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let token = t.page_token(&a, "admin", "page_admin").await;

    let r = t.send(Req::get(&a.host, "/api/v1/auth/me").bearer(&token)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = t.send(Req::post(&a.host, "/api/v1/auth/logout").bearer(&token)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = t
        .send(
            Req::post(&a.host, "/api/v1/auth/password")
                .bearer(&token)
                .json(json!({"current_password": PASSWORD, "new_password": "a much better secret"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    // Both credentials at once: ambiguous, refused before either is used.
    let sessions_before = t.count("sessions").await;
    let r = t.send(Req::get(&a.host, "/api/v1/auth/me").bearer(&token).session(&a.admin_cookie)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.json["code"], "ambiguous_credentials");
    let r = t
        .send(
            Req::post(&a.host, "/api/v1/admin/api-tokens")
                .bearer(&token)
                .session(&a.admin_cookie)
                .json(new_token_body("mixed")),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(t.count("api_tokens").await, 1);
    let r = t.send(Req::post(ADMIN, "/api/v1/auth/logout").bearer(&token).session(&a.admin_cookie)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    // The session survived all of that.
    assert_eq!(me(&t, ADMIN, &a.admin_cookie).await.status, StatusCode::OK);
    assert_eq!(t.count("sessions").await, sessions_before);
}
both!(api_tokens_cannot_use_session_routes_or_be_mixed_with_a_cookie);
