//! Security hardening (issue 8): password throttling that strangers cannot turn against an
//! owner, delivery errors in generic words, look-alike prefixes and domains, mailbox syntax,
//! and org members seeing only the pages they can open.

use crate::both;
use crate::harness::*;
use axum::http::StatusCode;
use serde_json::json;
use statibeat::clock::{MINUTE, SECOND};

const PASSWORD: &str = "correct horse battery";

async fn login(t: &TestApp, email: &str, password: &str, ip: &str) -> Resp {
    t.send(Req::post(ADMIN, "/api/v1/auth/login").json(json!({"email": email, "password": password})).from_ip(ip)).await
}

fn retry_after(r: &Resp) -> i64 {
    r.header("retry-after").expect("a 429 carries Retry-After").parse().unwrap()
}

/// A stranger's wrong password from `ip`; when that address is told to wait, it waits exactly
/// as long as it is told and tries again (the attack of the report).
async fn patient_wrong_guess(t: &TestApp, email: &str, ip: &str) {
    for _ in 0..3 {
        let r = login(t, email, "Winter2026!", ip).await;
        match r.status {
            StatusCode::UNAUTHORIZED => return,
            StatusCode::TOO_MANY_REQUESTS => t.clock.advance(retry_after(&r) * SECOND),
            s => panic!("unexpected {s}: {}", r.text),
        }
    }
    panic!("{ip} never got to make its guess");
}

/// The owner signs in and the session works.
async fn owner_signs_in(t: &TestApp, email: &str, ip: &str) {
    let r = login(t, email, PASSWORD, ip).await;
    assert_eq!(r.status, StatusCode::OK, "the owner from {ip} is refused: {} {:?}", r.text, r.header("retry-after"));
    let cookie = r.header("set-cookie").expect("a session cookie").split(';').next().unwrap().to_string();
    let me = t.send(Req::get(ADMIN, "/api/v1/auth/me").session(&cookie)).await;
    assert_eq!((me.status, me.json["user"]["email"].as_str()), (StatusCode::OK, Some(email)));
}

async fn strangers_guessing_from_many_addresses_cannot_lock_the_owner_out(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    // Eleven wrong passwords from eleven addresses, spaced by whatever Retry-After says.
    for i in 0..11 {
        patient_wrong_guess(&t, &a.admin_email, &format!("198.51.100.{}", 10 + i)).await;
    }
    // The right password from an address that has not failed goes straight in.
    owner_signs_in(&t, &a.admin_email, "192.0.2.200").await;

    // One guess every 15 minutes for two hours cannot keep the account locked either: after
    // each, the owner signs in, from their usual address and from a new one.
    for round in 0..8 {
        t.clock.advance(15 * MINUTE);
        let r = login(&t, &a.admin_email, "Winter2026!", "203.0.113.50").await;
        assert!(matches!(r.status, StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS), "{}", r.text);
        owner_signs_in(&t, &a.admin_email, "192.0.2.200").await;
        owner_signs_in(&t, &a.admin_email, &format!("192.0.2.{}", 201 + round)).await;
    }

    // An owner who mistypes while the account is under attack is slowed a little, never locked:
    // the wait is bounded (30 s) and the right password works after it.
    let r = login(&t, &a.admin_email, "correct horse batery", "192.0.2.200").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = login(&t, &a.admin_email, PASSWORD, "192.0.2.200").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    let wait = retry_after(&r);
    assert!((1..=30).contains(&wait), "bounded account slowdown, got {wait}");
    t.clock.advance(wait * SECOND);
    owner_signs_in(&t, &a.admin_email, "192.0.2.200").await;
}
both!(strangers_guessing_from_many_addresses_cannot_lock_the_owner_out);

async fn guessing_is_still_slowed_per_address_and_per_account_and_address(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;

    // One address guessing one account: five tries, then it waits, even with the right
    // password; the same account from elsewhere is not held back.
    let guesser = "203.0.113.7";
    for i in 0..5 {
        assert_eq!(login(&t, &a.admin_email, "guess guess", guesser).await.status, StatusCode::UNAUTHORIZED, "{i}");
    }
    let r = login(&t, &a.admin_email, PASSWORD, guesser).await;
    assert_eq!((r.status, r.json["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")));
    assert!(r.header("set-cookie").is_none());
    let first = retry_after(&r);
    owner_signs_in(&t, &a.admin_email, "192.0.2.1").await;
    // Its delay grows with each further failure.
    t.clock.advance(first * SECOND);
    assert_eq!(login(&t, &a.admin_email, "guess guess", guesser).await.status, StatusCode::UNAUTHORIZED);
    let second = retry_after(&login(&t, &a.admin_email, "guess guess", guesser).await);
    assert!(second > first, "growing delay: {first} then {second}");

    // One address spraying many accounts, existing or not: twenty tries, then it waits.
    let sprayer = "203.0.113.8";
    for i in 0..20 {
        let r = login(&t, &format!("user{i}@spray.example.com"), "Summer2026!", sprayer).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let r = login(&t, &a.admin_email, PASSWORD, sprayer).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert!(retry_after(&r) >= 1);

    // Throttling says nothing about which accounts exist: an unknown address and a known one
    // (with the same history: none) get the same answers, with the same waits.
    let b = t.tenant("bolt").await;
    let mut answers = Vec::new();
    for (email, ip) in [(b.admin_email.as_str(), "203.0.113.20"), ("nobody@bolt.example.com", "203.0.113.21")] {
        let mut seen = Vec::new();
        for _ in 0..7 {
            let r = login(&t, email, "guess guess", ip).await;
            seen.push((r.status, r.header("retry-after").map(str::to_string), r.text.clone()));
        }
        answers.push(seen);
    }
    assert_eq!(answers[0], answers[1]);
}
both!(guessing_is_still_slowed_per_address_and_per_account_and_address);

async fn strangers_guessing_a_viewer_password_cannot_lock_readers_out(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let (host, _, _) = t.private_staff_page(&a).await;
    let unlock = |password: &str, ip: &str| {
        Req::post(&host, "/api/v1/viewer-access").json(json!({ "password": password })).from_ip(ip)
    };
    // Wrong guesses, each made once the address is allowed to (waiting out any Retry-After).
    let patient_guesses = |ip: String, n: usize| {
        let (t, unlock) = (&t, &unlock);
        async move {
            for _ in 0..n {
                let mut r = t.send(unlock("a wrong guess", &ip)).await;
                while r.status == StatusCode::TOO_MANY_REQUESTS {
                    t.clock.advance(retry_after(&r) * SECOND);
                    r = t.send(unlock("a wrong guess", &ip)).await;
                }
                assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
            }
        }
    };
    for i in 0..11 {
        patient_guesses(format!("198.51.100.{}", 10 + i), 1).await;
    }
    let r = t.send(unlock("let me in please", "192.0.2.99")).await;
    assert_eq!(r.status, StatusCode::OK, "a reader with the password is refused: {}", r.text);
    assert!(r.header("set-cookie").is_some());
    // The guessing address itself is still slowed down.
    let guesser = "203.0.113.9";
    patient_guesses(guesser.to_string(), 5).await;
    let r = t.send(unlock("let me in please", guesser)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after(&r) >= 1);
}
both!(strangers_guessing_a_viewer_password_cannot_lock_readers_out);

// ---- IPv6 clients are budgeted by their /64 ---------------------------------------------------

/// One host holds a whole IPv6 /64: a new address per guess must not buy a new budget.
async fn ipv6_guessers_are_throttled_by_their_64_not_per_address(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    // Sixty-four addresses of one /64 (2001:db8::1 to 2001:db8::40), one wrong guess each, no waiting:
    // the first five are checked, every later one is told to wait.
    let mut statuses = Vec::new();
    for i in 1..=0x40 {
        let r = login(&t, &a.admin_email, "Winter2026!", &format!("2001:db8::{i:x}")).await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            assert!(retry_after(&r) >= 1, "{:?}", r.headers);
            assert_eq!(r.json["code"], "rate_limited");
        }
        statuses.push(r.status.as_u16());
    }
    let mut expected = vec![401; 5];
    expected.resize(0x40, 429);
    assert_eq!(statuses, expected, "one /64 gets one pair budget");
    // The right password from the same /64 waits too; from another /64, or over IPv4, it goes in.
    let r = login(&t, &a.admin_email, PASSWORD, "2001:db8::ffff:1").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    owner_signs_in(&t, &a.admin_email, "2001:db8:0:1::1").await;
    owner_signs_in(&t, &a.admin_email, "192.0.2.10").await;

    // Spraying many accounts from one /64: twenty tries, then it waits, whatever the address.
    for i in 0..20 {
        let r = login(&t, &format!("user{i}@spray.example.com"), "Summer2026!", &format!("2001:db8:0:5::{i:x}")).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let r = login(&t, "user99@spray.example.com", "Summer2026!", "2001:db8:0:5:1:2:3:4").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);

    // An IPv4 peer seen through a dual-stack socket is the same client as over IPv4. (A quiet
    // account: the one above is under attack, which slows every address that failed on it.)
    for _ in 0..5 {
        assert_eq!(
            login(&t, "quiet@acme.example.com", "guess", "198.51.100.77").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let r = login(&t, "quiet@acme.example.com", "guess", "::ffff:198.51.100.77").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);

    // The audit log keeps each real address, not the /64.
    t.wait_for_audit_count("auth.login_failed", 0x40).await;
    let ips: Vec<String> = sqlx::query_scalar("SELECT ip FROM audit_log WHERE action = 'auth.login_failed'")
        .fetch_all(&t.app.db.pool)
        .await
        .unwrap();
    assert!(ips.iter().any(|ip| ip == "2001:db8::1") && ips.iter().any(|ip| ip == "2001:db8::40"), "{ips:?}");
    assert!(!ips.iter().any(|ip| ip.contains("/64")), "{ips:?}");

    // Viewer passwords of private pages likewise.
    let (host, _, _) = t.private_staff_page(&a).await;
    let unlock = |password: &str, ip: String| {
        Req::post(&host, "/api/v1/viewer-access").json(json!({ "password": password })).from_ip(&ip)
    };
    for i in 1..=5 {
        let r = t.send(unlock("a wrong guess", format!("2001:db8:0:7::{i}"))).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    }
    let r = t.send(unlock("let me in please", "2001:db8:0:7::6".into())).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert!(retry_after(&r) >= 1);
    let r = t.send(unlock("let me in please", "2001:db8:0:8::6".into())).await;
    assert_eq!(r.status, StatusCode::OK, "another /64 gets in: {}", r.text);
}
both!(ipv6_guessers_are_throttled_by_their_64_not_per_address);

/// The front door's rate limits, and its budget of failed credentials, count an IPv6 /64 as
/// one client too.
async fn ipv6_clients_share_one_rate_budget_per_64(engine: Engine) {
    let t = TestApp::with(engine, |c| {
        c.rate_limits = statibeat::config::RateLimits { public_read: 2, magic: 3, ..c.rate_limits }
    })
    .await;
    let a = t.tenant("acme").await;
    let settings = |ip: &str| Req::get(&a.host, "/api/v1/settings").from_ip(ip);
    for ip in ["2001:db8::1", "2001:db8::2"] {
        assert_eq!(t.send(settings(ip)).await.status, StatusCode::OK);
    }
    let r = t.send(settings("2001:db8::3")).await;
    assert_eq!((r.status, r.header("x-ratelimit-tier")), (StatusCode::TOO_MANY_REQUESTS, Some("public_read")));
    assert!(r.header("retry-after").is_some());
    assert_eq!(t.send(settings("2001:db8:0:1::1")).await.status, StatusCode::OK, "another /64");

    // The sign-in tier.
    for i in 1..=3 {
        let r = login(&t, &a.admin_email, "guess", &format!("2001:db8:0:2::{i}")).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    }
    let r = login(&t, &a.admin_email, PASSWORD, "2001:db8:0:2::4").await;
    assert_eq!((r.status, r.header("x-ratelimit-tier")), (StatusCode::TOO_MANY_REQUESTS, Some("magic")));

    // Invented credentials: a new address per token buys no new budget.
    let invented = || {
        statibeat::auth::token::PlainToken::generate(statibeat::auth::token::TokenKind::Api, &mut rand::thread_rng())
            .expose()
            .to_string()
    };
    for i in 1..=3 {
        let r = t.send(Req::get(&a.host, "/api/v1/context").bearer(&invented()).from_ip(&format!("2001:db8:0:3::{i}")));
        assert_eq!(r.await.status, StatusCode::UNAUTHORIZED);
    }
    let good = t.page_token(&a, "read", "page_viewer").await;
    let r = t.send(Req::get(&a.host, "/api/v1/context").bearer(&good).from_ip("2001:db8:0:3::99")).await;
    assert_eq!((r.status, r.header("x-ratelimit-tier")), (StatusCode::TOO_MANY_REQUESTS, Some("magic")));
    let r = t.send(Req::get(&a.host, "/api/v1/context").bearer(&good).from_ip("2001:db8:0:4::99")).await;
    assert_eq!(r.status, StatusCode::OK, "another /64 is not affected: {}", r.text);
}
both!(ipv6_clients_share_one_rate_budget_per_64);

// ---- look-alike prefixes and domains (finding 8) ----------------------------------------------

async fn punycode_prefixes_and_invalid_punycode_domains_are_refused(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("demo").await;
    // "dеmo" with a Cyrillic е, and a label that is not even valid punycode.
    for prefix in ["xn--dmo-rdd", "xn--dmo-jcd"] {
        let body = json!({"name": "Look-alike", "url_prefix": prefix});
        let r = t.send(Req::post(ADMIN, "/api/v1/org/pages").session(&a.admin_cookie).json(body)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{prefix}: {}", r.text);
        assert_eq!((r.json["field"].as_str(), r.json["code"].as_str()), (Some("url_prefix"), Some("invalid")));
    }
    assert_eq!(t.count("pages").await, 1, "no page was created");

    // The operator's CLI goes through the same rule.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_statibeat"))
        .args(["page", "create", "--org", "org-demo", "--name", "Look-alike", "--url-prefix", "xn--dmo-rdd"])
        .env("STATIBEAT_DATABASE_URL", &t.url)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("url_prefix"), "{stderr}");
    assert_eq!(t.count("pages").await, 1);

    // Custom domains: invalid punycode is refused; a valid internationalised name is kept.
    let admin = t.page_token(&a, "admin", "page_admin").await;
    let put = |domain: &str| {
        Req::new(axum::http::Method::PUT, &a.host, "/api/v1/admin/domain")
            .bearer(&admin)
            .json(json!({"domain": domain}))
    };
    let r = t.send(put("xn--dmo-jcd.example.com")).await;
    assert_eq!((r.status, r.json["field"].as_str()), (StatusCode::BAD_REQUEST, Some("domain")), "{}", r.text);
    assert_eq!(t.count("custom_domains").await, 0);
    let r = t.send(put("status.xn--bcher-kva.example")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}
both!(punycode_prefixes_and_invalid_punycode_domains_are_refused);

// ---- mailbox syntax (finding 9) ---------------------------------------------------------------

/// A bare SMTP server on loopback that accepts everything and records every line it is sent.
struct WireRecorder {
    url: String,
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl WireRecorder {
    async fn start() -> WireRecorder {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("smtp://{}?tls=none", listener.local_addr().unwrap());
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = lines.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut io = BufReader::new(stream);
                    io.get_mut().write_all(b"220 recorder\r\n").await.ok()?;
                    let mut in_data = false;
                    loop {
                        let mut line = String::new();
                        if io.read_line(&mut line).await.ok()? == 0 {
                            return Some(());
                        }
                        seen.lock().unwrap().push(line.clone());
                        let reply: &[u8] = match (in_data, line.to_ascii_uppercase().trim_end()) {
                            (true, ".") => {
                                in_data = false;
                                b"250 queued\r\n"
                            }
                            (true, _) => continue,
                            (false, "DATA") => {
                                in_data = true;
                                b"354 go ahead\r\n"
                            }
                            (false, "QUIT") => b"221 bye\r\n",
                            _ => b"250 OK\r\n",
                        };
                        io.get_mut().write_all(reply).await.ok()?;
                    }
                });
            }
        });
        WireRecorder { url, lines }
    }

    /// The envelope commands sent so far.
    fn envelope(&self) -> Vec<String> {
        let lines = self.lines.lock().unwrap();
        lines.iter().filter(|l| l.starts_with("MAIL FROM:") || l.starts_with("RCPT TO:")).cloned().collect()
    }
}

async fn addresses_that_could_break_the_smtp_envelope_are_refused_and_never_sent(engine: Engine) {
    let wire = WireRecorder::start().await;
    let smtp = wire.url.clone();
    let t = TestApp::with(engine, |c| c.smtp_url = Some(smtp)).await;
    let a = t.tenant("acme").await;
    for bad in [
        "evil>@example.com",
        "<evil@example.com",
        "evil@example.com>",
        "a b@example.com",
        "a,b@example.com",
        "x@example.org>\r\nRCPT TO:<victim@example.org",
    ] {
        let r = t.send(Req::post(&a.host, "/api/v1/subscribers").json(json!({"email": bad}))).await;
        assert_eq!(
            (r.status, r.json["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some("email")),
            "{bad:?}: {}",
            r.text
        );
    }
    assert_eq!(t.count("subscribers").await, 0);
    assert_eq!(t.count("outbox").await, 0, "nobody was mailed");

    // A recipient that reached the outbox some other way (an older version, a hand-edited
    // row) is never put on the wire: the SMTP layer refuses it as a bounce.
    let r = t.send(Req::post(&a.host, "/api/v1/subscribers").json(json!({"email": "reader@example.org"}))).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    sqlx::query("UPDATE outbox SET recipient = $1")
        .bind("x@example.org>\r\nRCPT TO:<victim@example.org")
        .execute(&t.app.db.pool)
        .await
        .unwrap();
    let report = statibeat::jobs::deliver_due(&t.app).await.unwrap();
    assert_eq!((report.sent, report.failed), (0, 1));
    let envelope = wire.envelope();
    assert!(envelope.iter().all(|l| !l.contains("victim") && l.matches('>').count() <= 1), "{envelope:?}");
    assert!(!envelope.iter().any(|l| l.starts_with("RCPT TO:")), "no recipient was sent: {envelope:?}");
}
both!(addresses_that_could_break_the_smtp_envelope_are_refused_and_never_sent);

// ---- org members see only the pages they can open (finding 9) --------------------------------

async fn org_pages(t: &TestApp, path: &str, auth: &dyn Fn(Req) -> Req) -> Vec<String> {
    let r = t.send(auth(Req::get(ADMIN, path))).await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
    r.json["data"].as_array().unwrap().iter().map(|p| p["url_prefix"].as_str().unwrap().to_string()).collect()
}

async fn org_members_list_only_the_pages_they_can_open(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let body = json!({"name": "Operations", "url_prefix": "ops-internal", "internal_key": "secret-ops-key"});
    let r = t.send(Req::post(ADMIN, "/api/v1/org/pages").session(&a.admin_cookie).json(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let ops = r.json["id"].as_i64().unwrap();
    let (nobody, _) = t.member(a.org_id, None, "org_member").await;
    let (viewer, _) = t.member(a.org_id, Some((a.page_id, "page_viewer")), "org_member").await;
    let org_token = t.org_token(&a, "read", "org_member").await;
    let session = |c: &str| {
        let c = c.to_string();
        move |r: Req| r.session(&c)
    };

    // Org admins and org tokens (whose role reaches every page of the org) see every page.
    let both_pages = vec!["acme".to_string(), "ops-internal".to_string()];
    assert_eq!(org_pages(&t, "/api/v1/org/pages?view=full", &session(&a.admin_cookie)).await, both_pages);
    assert_eq!(org_pages(&t, "/api/v1/org/pages?view=full", &|r: Req| r.bearer(&org_token)).await, both_pages);
    // A member sees the pages they hold a role on, and nothing of the others.
    assert_eq!(org_pages(&t, "/api/v1/org/pages?view=full", &session(&viewer)).await, vec!["acme"]);
    assert!(org_pages(&t, "/api/v1/org/pages?view=full", &session(&nobody)).await.is_empty());
    let r = t.send(Req::get(ADMIN, "/api/v1/org/pages?view=full").session(&nobody)).await;
    assert!(!r.text.contains("secret-ops-key") && !r.text.contains("ops-internal"), "{}", r.text);
    // One page at a time, the same answer the page itself gives them: 404.
    let r = t.send(Req::get(ADMIN, &format!("/api/v1/org/pages/{ops}")).session(&viewer)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = t.send(Req::get(ADMIN, &format!("/api/v1/org/pages/{}", a.page_id)).session(&viewer)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = t.send(Req::get(ADMIN, &format!("/api/v1/org/pages/{ops}")).bearer(&org_token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // The numeric page routes agree.
    let r = t
        .send(Req::get(ADMIN, &format!("/api/v1/orgs/{}/pages/{ops}/api/v1/context", a.org_id)).session(&viewer))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);

    // The trash, likewise.
    let r = t
        .send(Req::new(axum::http::Method::DELETE, ADMIN, &format!("/api/v1/org/pages/{ops}")).session(&a.admin_cookie))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(org_pages(&t, "/api/v1/org/pages/trash", &session(&a.admin_cookie)).await, vec!["ops-internal"]);
    assert!(org_pages(&t, "/api/v1/org/pages/trash", &session(&viewer)).await.is_empty());

    // The signed-in workspace lists the same pages.
    let html = t.send(Req::get(ADMIN, "/admin").session(&nobody)).await;
    assert_eq!(html.status, StatusCode::OK);
    assert!(html.text.contains("Org acme") && !html.text.contains("<li>"), "{}", html.text);
    let html = t.send(Req::get(ADMIN, "/admin").session(&viewer)).await;
    assert!(html.text.contains("Page acme"), "{}", html.text);
}
both!(org_members_list_only_the_pages_they_can_open);

// ---- delivery errors in generic words (finding 6) ---------------------------------------------

/// A confirmed webhook subscriber on `a`'s page; its id.
async fn webhook_subscriber(t: &TestApp, a: &Tenant, owner: &str, hook: &str) -> i64 {
    let r = t.send(Req::post(&a.host, "/api/v1/subscribers").json(json!({"email": owner, "webhook_url": hook}))).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let link = crate::subscribers::link_token(t, owner, &a.host).await;
    let r = t.send(Req::post(&a.host, "/api/v1/manage/session").header("x-magic-token", &link)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    sqlx::query_scalar("SELECT id FROM subscribers WHERE email = $1")
        .bind(owner)
        .fetch_one(&t.app.db.pool)
        .await
        .unwrap()
}

/// Tenants read a failed delivery as a class and generic words, and a webhook host that resolves
/// inside the network reads exactly like one that does not resolve at all, attempt after attempt:
/// webhooks are no oracle for which internal names exist.
async fn tenants_read_delivery_failures_in_generic_words(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let alias = crate::webhooks::loopback_alias();
    let internal = webhook_subscriber(&t, &a, "ops@example.org", &format!("http://{alias}:9/hooks/statibeat")).await;
    let missing = webhook_subscriber(&t, &a, "dev@example.org", "http://no-such-host.invalid:9/hooks/statibeat").await;

    let admin = t.page_token(&a, "admin", "page_admin").await;
    let body = json!({"title": "Database down", "description": "Looking into it.", "status": "major_outage"});
    let r = t.send(Req::post(&a.host, "/api/v1/admin/incidents").bearer(&admin).json(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    statibeat::service::readers::notify::fan_out_due(&t.app).await.unwrap();

    // What the resolver said (the loopback address it gave, that a name has no address) is
    // nowhere a tenant looks; the class of failure is. (The URL itself is the tenant's own.)
    let leaks = |text: &str| {
        let told = ["127.0.0.1", "resolves to", "not a public address", "cannot resolve", "has no address"];
        told.into_iter().chain(["permanent:", "transient:"]).find(|w| text.contains(w))
    };
    // The deliveries log of a subscriber, without what differs by design (ids, the URL, times).
    let log_of = |sub: i64| {
        let (t, admin, host) = (&t, &admin, &a.host);
        async move {
            let r = t.send(Req::get(host, &format!("/api/v1/admin/subscribers/{sub}/deliveries")).bearer(admin)).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            assert_eq!(leaks(&r.text), None, "{}", r.text);
            let mut d = r.json["data"][0].clone();
            for field in ["id", "recipient", "created_at"] {
                d.as_object_mut().unwrap().remove(field);
            }
            for attempt in d["failed_attempts"].as_array_mut().unwrap() {
                attempt.as_object_mut().unwrap().remove("duration_ms");
            }
            d
        }
    };
    let max = statibeat::jobs::outbox::MAX_ATTEMPTS;
    for attempt in 1..=max {
        let report = statibeat::jobs::deliver_due(&t.app).await.unwrap();
        let last = attempt == max;
        assert_eq!(
            (report.sent, report.retried, report.failed),
            (0, if last { 0 } else { 2 }, if last { 2 } else { 0 })
        );
        let seen = log_of(internal).await;
        assert_eq!(seen, log_of(missing).await, "attempt {attempt}: an internal name reads like a missing one");
        let attempts = seen["failed_attempts"].as_array().unwrap();
        assert_eq!(attempts.len() as i64, attempt);
        let latest = attempts.last().unwrap();
        assert_eq!(latest["error_code"], "address_not_allowed", "{seen}");
        assert_eq!(latest["error"], "the webhook's host does not resolve to an allowed public address");
        assert_eq!(latest["final"], last);
        assert_eq!(seen["last_error"], latest["error"]);
        assert!(!latest["error"].as_str().unwrap().contains(&alias), "{seen}");
        t.clock.advance(60 * MINUTE);
    }
    for path in ["/api/v1/admin/subscribers?view=full".to_string(), format!("/api/v1/admin/subscribers/{internal}")] {
        let r = t.send(Req::get(&a.host, &path).bearer(&admin)).await;
        assert_eq!((r.status, leaks(&r.text)), (StatusCode::OK, None), "{}", r.text);
    }

    // Both are quarantined after the last attempt, and the audit entries say why in the same words.
    let r = t.send(Req::get(&a.host, "/api/v1/admin/audit-log").bearer(&admin)).await;
    let details: Vec<serde_json::Value> = r.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "subscriber.hygiene_changed")
        .map(|e| e["detail"].clone())
        .collect();
    assert_eq!(details.len(), 2, "{}", r.text);
    let text = serde_json::to_string(&details).unwrap();
    assert_eq!(leaks(&text), None, "{text}");
    assert!(!text.contains(&alias) && !text.contains("no-such-host"), "{text}");
    assert_eq!(details[0], details[1]);
    assert_eq!(details[0]["hygiene"], "quarantined");
    assert_eq!(details[0]["failure"], "address_not_allowed");
    assert_eq!(details[0]["reason"], "the webhook's host does not resolve to an allowed public address");
}
both!(tenants_read_delivery_failures_in_generic_words);

/// An account whose address predates the mailbox rules keeps signing in.
async fn an_account_with_an_address_the_new_rules_refuse_still_signs_in(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    sqlx::query("UPDATE users SET email = 'legacy,odd@acme.example.com' WHERE email = $1")
        .bind(&a.admin_email)
        .execute(&t.app.db.pool)
        .await
        .unwrap();
    owner_signs_in(&t, "legacy,odd@acme.example.com", "192.0.2.7").await;
    let r = login(&t, "legacy,odd@acme.example.com", "wrong password", "192.0.2.7").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}
both!(an_account_with_an_address_the_new_rules_refuse_still_signs_in);
