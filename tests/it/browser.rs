//! The pages people open, in a real browser: Debian's chromium, headless, driven through
//! chromedriver's W3C WebDriver HTTP API by the tiny client below (plain HTTP/1.1 JSON, no crate).
//! No mock stands in for the browser.
//!
//! Each scenario starts the real binary on 127.0.0.1 (port 0) and one chromium per session;
//! chromium resolves every host to 127.0.0.1 (`--host-resolver-rules`), so
//! `http://acme.status.test:<port>/manage` reaches the server with the page's Host header. What
//! a scenario asserts is what a user sees: the rendered text of the page (`innerText`) and which
//! controls are visible, plus the database rows the clicks changed.
//!
//! These scenarios run on SQLite only: what the browser does does not depend on the engine, and
//! the HTTP behaviour behind each click is tested on both engines by the other modules. Scenarios
//! take turns (one chromium at a time); every wait is a poll bounded by [`WAIT`].
//!
//! Without `/usr/bin/chromium` and `/usr/bin/chromedriver` (`apt-get install chromium
//! chromium-driver`; `STATIBEAT_TEST_CHROMIUM` / `STATIBEAT_TEST_CHROMEDRIVER` override the
//! paths) the scenarios print `SKIPPED: browser tests (chromium/chromedriver not installed)` and
//! pass, unless `STATIBEAT_REQUIRE_BROWSER=1` (CI) makes that a failure.

use crate::harness::*;
use crate::process::{first_start_password, http_call, Server};
use axum::http::StatusCode;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The bound of every wait for the page to show something.
const WAIT: Duration = Duration::from_secs(10);
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// One chromium at a time: the scenarios are short, and parallel browsers on a small CI
/// machine only make every wait longer.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The chromium and chromedriver binaries, or `None` (SKIPPED) when they are not installed.
fn binaries() -> Option<(PathBuf, PathBuf)> {
    let path = |var: &str, default: &str| PathBuf::from(std::env::var(var).unwrap_or_else(|_| default.into()));
    let chromium = path("STATIBEAT_TEST_CHROMIUM", "/usr/bin/chromium");
    let driver = path("STATIBEAT_TEST_CHROMEDRIVER", "/usr/bin/chromedriver");
    if chromium.is_file() && driver.is_file() {
        return Some((chromium, driver));
    }
    if std::env::var("STATIBEAT_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
        panic!(
            "STATIBEAT_REQUIRE_BROWSER=1 but {} or {} is missing (apt-get install chromium chromium-driver)",
            chromium.display(),
            driver.display()
        );
    }
    crate::skips::skipped(crate::skips::BROWSER, "browser tests (chromium/chromedriver not installed)");
    None
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A chromedriver child process with one headless chromium session. Dropping it (also when a
/// scenario panics) ends the session, kills chromedriver and anything left of chromium, and
/// removes the profile directory.
struct Browser {
    driver: Child,
    port: u16,
    session: String,
    dir: PathBuf,
}

impl Browser {
    fn start((chromium, driver): &(PathBuf, PathBuf)) -> Browser {
        let dir = std::env::temp_dir().join("statibeat-tests").join(format!(
            "browser-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(dir.join("profile")).unwrap();
        let port = free_port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", dir.join("chromedriver.log").display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let mut b = Browser { driver: child, port, session: String::new(), dir };
        let deadline = Instant::now() + WAIT;
        loop {
            let ready = http_call(port, "GET", "127.0.0.1", "/status", &[], None, Duration::from_secs(2))
                .is_some_and(|(s, _, v)| s == 200 && v["value"]["ready"] == true);
            if ready {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not answer on port {port}: {}", b.log());
            std::thread::sleep(Duration::from_millis(50));
        }
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--host-resolver-rules=MAP * 127.0.0.1",
        ]
        .iter()
        .map(|a| a.to_string())
        .chain([format!("--user-data-dir={}", b.dir.join("profile").display())])
        .collect::<Vec<_>>();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "timeouts": {"pageLoad": WAIT.as_millis() as u64, "script": WAIT.as_millis() as u64, "implicit": 0},
            "goog:chromeOptions": {"binary": chromium, "args": args},
        }}});
        let v = b.raw("POST", "/session", Some(&caps), Duration::from_secs(30));
        b.session =
            v["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {v}\n{}", b.log())).to_string();
        b
    }

    fn log(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("chromedriver.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    }

    /// One WebDriver command; its `value`, or a panic naming the WebDriver error.
    fn raw(&self, method: &str, path: &str, body: Option<&Value>, timeout: Duration) -> Value {
        let host = format!("127.0.0.1:{}", self.port);
        let Some((status, _, v)) = http_call(self.port, method, &host, path, &[], body, timeout) else {
            panic!("WebDriver {method} {path}: no answer within {timeout:?}\n{}", self.log());
        };
        assert_eq!(status, 200, "WebDriver {method} {path}: {v}");
        v
    }

    fn cmd(&self, method: &str, path: &str, body: Value) -> Value {
        let path = format!("/session/{}{path}", self.session);
        let body = if method == "POST" { Some(&body) } else { None };
        let mut v = self.raw(method, &path, body, WAIT + Duration::from_secs(5));
        v["value"].take()
    }

    fn open(&self, url: &str) {
        self.cmd("POST", "/url", json!({ "url": url }));
    }

    fn reload(&self) {
        self.cmd("POST", "/refresh", json!({}));
    }

    fn js(&self, script: &str) -> Value {
        self.cmd("POST", "/execute/sync", json!({"script": script, "args": []}))
    }

    /// What the user sees: the rendered text of the page (hidden elements have none).
    fn text(&self) -> String {
        self.js("return document.body ? document.body.innerText : ''").as_str().unwrap_or("").to_string()
    }

    fn element(&self, css: &str) -> String {
        let v = self.cmd("POST", "/element", json!({"using": "css selector", "value": css}));
        v[ELEMENT].as_str().unwrap_or_else(|| panic!("no element {css}: {v}")).to_string()
    }

    /// Clicks like a user: WebDriver refuses an element that is hidden.
    fn click(&self, css: &str) {
        let id = self.element(css);
        self.cmd("POST", &format!("/element/{id}/click"), json!({}));
    }

    fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.cmd("POST", &format!("/element/{id}/clear"), json!({}));
        self.cmd("POST", &format!("/element/{id}/value"), json!({ "text": text }));
    }

    fn visible(&self, css: &str) -> bool {
        let id = self.element(css);
        self.cmd("GET", &format!("/element/{id}/displayed"), json!({})) == true
    }

    /// Waits until the page shows `needle`; returns the page text.
    fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let text = self.text();
            if text.contains(needle) {
                return text;
            }
            assert!(Instant::now() < deadline, "the page never showed {needle:?}; it shows:\n{text}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let path = format!("/session/{}", self.session);
            let host = format!("127.0.0.1:{}", self.port);
            let _ = http_call(self.port, "DELETE", &host, &path, &[], None, Duration::from_secs(5));
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        // Chromium processes left behind (a crash, a session that never ended) are recognised by
        // this browser's own profile directory in their command line, and ended by pid.
        let marker = self.dir.join("profile").display().to_string();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains(&marker) {
                let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `http://<host>:<port><path>` for a host the browser maps to the test server.
fn url(s: &Server, host: &str, path: &str) -> String {
    format!("http://{host}:{}{path}", s.port)
}

async fn row(t: &TestApp, email: &str) -> (String, i64, i64) {
    use sqlx::Row;
    let r = sqlx::query("SELECT state, incidents, maintenances FROM subscribers WHERE email = $1")
        .bind(email)
        .fetch_one(&t.app.db.pool)
        .await
        .unwrap();
    (r.get(0), r.get(1), r.get(2))
}

/// The management link: the reader subscribes a webhook, opens the emailed link, sees the
/// signing secret once, changes a preference and unsubscribes; the link works once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_management_page_confirms_shows_the_secret_once_saves_and_unsubscribes() {
    let Some(bins) = binaries() else { return };
    let _turn = TURN.lock().await;
    let t = TestApp::new(Engine::Sqlite).await;
    let a = t.tenant("acme").await;
    crate::status_model::components(&t, &a).await;
    let s = Server::start_with(&t.url, "browser-manage", &[("STATIBEAT_WEBHOOK_ALLOW_PRIVATE", "true")]);
    let email = "ops@example.org";
    let body = json!({"email": email, "webhook_url": "http://127.0.0.1:9/statibeat-hook"});
    let (status, _, v) = s.call("POST", &a.host, "/api/v1/subscribers", &[], Some(&body)).unwrap();
    assert_eq!(status, 202, "{v}");
    // The mail's link (checked to carry the token only after '#'), on the test server's port.
    let token = crate::subscribers::link_token(&t, email, &a.host).await;
    let link = url(&s, &a.host, &format!("/manage#token={token}"));

    let b = Browser::start(&bins);
    b.open(&link);
    let text = b.wait_for("Continue to confirm or manage your updates.");
    assert!(b.visible("#go") && text.contains("Continue"), "{text}");
    // Before anything is clicked the token has left the address bar (and the history entry).
    assert_eq!(b.js("return location.hash"), json!(""));
    let shown = b.cmd("GET", "/url", json!({}));
    assert!(!shown.as_str().unwrap().contains("sbm_"), "{shown}");
    assert_eq!(row(&t, email).await.0, "unconfirmed", "opening the link changes nothing");

    b.click("#go");
    let text = b.wait_for("Subscribed as ops@example.org");
    assert!(text.contains("webhook http://127.0.0.1:9/statibeat-hook"), "{text}");
    assert!(text.contains("Webhook signing secret"), "{text}");
    let secret = b.js("return document.getElementById('secretval').innerText");
    assert!(secret.as_str().unwrap().starts_with("whsec_"), "{secret}");
    assert!(text.contains(secret.as_str().unwrap()), "the secret is on screen");
    assert!(!b.visible("#go"), "Continue is gone");
    assert_eq!(row(&t, email).await, ("active".into(), 1, 1));

    // Shown once: after a reload the subscription still loads (sessionStorage), the secret not.
    b.reload();
    let text = b.wait_for("Subscribed as ops@example.org");
    assert!(!text.contains("whsec_") && !text.contains("Webhook signing secret"), "{text}");
    assert!(!b.visible("#secret"));
    assert_eq!(b.js("return document.querySelector('#prefs [name=maintenances]').checked"), json!(true));

    b.click("#prefs [name=maintenances]");
    b.click("#prefs button");
    b.wait_for("Saved.");
    assert_eq!(row(&t, email).await, ("active".into(), 1, 0));

    // The reader makes a feed and a view from the page (the manage workspace).
    b.type_into("#newfeed [name=name]", "Everything");
    b.click("#newfeed button");
    let text = b.wait_for("Feed created: ");
    assert!(text.contains(&format!("http://{}/feeds/", a.host)), "{text}");
    b.type_into("#newview [name=name]", "Auth only");
    b.click("#newview button");
    b.wait_for("View not created: ");
    b.click("#newview [name=components][value=auth]");
    b.click("#newview button");
    let text = b.wait_for("View created: ");
    assert!(text.contains("View: Auth only") && text.contains("Feed: Everything"), "{text}");
    let owned: (i64, i64) = (
        sqlx::query_scalar("SELECT COUNT(*) FROM reader_feeds WHERE owner_email = $1 AND all_components = 1")
            .bind(email)
            .fetch_one(&t.app.db.pool)
            .await
            .unwrap(),
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM custom_views v JOIN custom_view_components c ON c.view_id = v.id \
             WHERE v.owner_email = $1 AND c.identifier = 'auth'",
        )
        .bind(email)
        .fetch_one(&t.app.db.pool)
        .await
        .unwrap(),
    );
    assert_eq!(owned, (1, 1));

    // The session ends (idle timeout, expiry): Unsubscribe says so instead of claiming success.
    sqlx::query("UPDATE magic_tokens SET expires_at = 1, idle_until = 1 WHERE email = $1")
        .bind(email)
        .execute(&t.app.db.pool)
        .await
        .unwrap();
    b.click("#unsub");
    let text = b.wait_for("This link has expired. Ask for a new one.");
    assert!(!text.contains("You are unsubscribed."), "{text}");
    assert_eq!(row(&t, email).await.0, "active");

    // A new link (asked for on the page's API), opened as a new page: Unsubscribe works.
    let (status, _, v) =
        s.call("POST", &a.host, "/api/v1/subscribers/access", &[], Some(&json!({ "email": email }))).unwrap();
    assert_eq!(status, 202, "{v}");
    let fresh = crate::subscribers::link_token(&t, email, &a.host).await;
    assert_ne!(fresh, token);
    b.open("about:blank");
    b.open(&url(&s, &a.host, &format!("/manage#token={fresh}")));
    b.wait_for("Continue to confirm or manage your updates.");
    b.click("#go");
    let text = b.wait_for("Subscribed as ops@example.org");
    assert!(!text.contains("whsec_"), "an existing webhook's secret is not shown again: {text}");
    b.click("#unsub");
    let text = b.wait_for("You are unsubscribed.");
    assert!(!b.visible("#unsub") && !b.visible("#prefs"), "{text}");
    assert_eq!(row(&t, email).await.0, "unsubscribed");
    drop(b);

    // The same link in a fresh browser session: used already.
    let b = Browser::start(&bins);
    b.open(&link);
    b.wait_for("Continue to confirm or manage your updates.");
    b.click("#go");
    let text = b.wait_for("This link has expired or was used already. Ask for a new one.");
    assert!(!text.contains("Subscribed as"), "{text}");
}

/// A magic session for `email` on the page (subscribe, emailed link, exchange), in-process.
async fn magic_session(t: &TestApp, host: &str, email: &str) -> String {
    let r = t.send(Req::post(host, "/api/v1/subscribers").json(json!({ "email": email }))).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let link = crate::subscribers::link_token(t, email, host).await;
    let r = t.send(Req::post(host, "/api/v1/manage/session").header("x-magic-token", &link)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json["token"].as_str().unwrap().to_string()
}

async fn create_view(t: &TestApp, host: &str, session: &str, body: Value) -> String {
    let r = t.send(Req::post(host, "/api/v1/manage/views").header("x-magic-token", session).json(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.json["short_code"].as_str().unwrap().to_string()
}

async fn incident(t: &TestApp, host: &str, admin: &str, title: &str, item: &str) {
    let body =
        json!({"title": title, "status": "major_outage", "affected_items": [{"external_id": item}], "notify": false});
    let r = t.send(Req::post(host, "/api/v1/admin/incidents").bearer(admin).json(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}

/// `/v/{code}`: a public view renders its name and only its components; a protected one shows
/// nothing of its data until the reader follows the emailed link.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_view_pages_show_their_components_and_protected_ones_nothing_before_access() {
    let Some(bins) = binaries() else { return };
    let _turn = TURN.lock().await;
    let t = TestApp::new(Engine::Sqlite).await;
    let a = t.tenant("acme").await;
    let admin = crate::status_model::components(&t, &a).await;
    incident(&t, &a.host, &admin, "Login failures", "auth").await;
    let owner = magic_session(&t, &a.host, "owner@corp.example").await;
    let public = create_view(
        &t,
        &a.host,
        &owner,
        json!({"name": "EU platform", "components": ["platform"], "description": "What our EU team runs"}),
    )
    .await;
    let protected = create_view(
        &t,
        &a.host,
        &owner,
        json!({"name": "Corp web", "components": ["web"], "access_mode": "allowed_domains",
               "allowed_domains": ["corp.example"], "description": "For Corp only"}),
    )
    .await;
    let s = Server::start(&t.url, "browser-views");
    let b = Browser::start(&bins);

    b.open(&url(&s, &a.host, &format!("/v/{public}")));
    let text = b.wait_for("EU platform");
    for shown in ["What our EU team runs", "Components", "Platform", "API Gateway", "Auth", "Login failures"] {
        assert!(text.contains(shown), "{shown:?} missing:\n{text}");
    }
    assert!(!text.contains("Website"), "a component outside the view:\n{text}");

    b.open(&url(&s, &a.host, &format!("/v/{protected}")));
    let text = b.wait_for("A protected status view");
    assert!(text.contains("Enter your email address to get a link"), "{text}");
    for hidden in ["Corp web", "For Corp only", "Website", "Components"] {
        assert!(!text.contains(hidden), "{hidden:?} shown before access:\n{text}");
    }
    assert!(b.visible("#ask") && !b.visible("#go"));

    // Asking for a link, then following it, opens the view.
    b.type_into("#ask [name=email]", "ann@corp.example");
    b.click("#ask button");
    b.wait_for("a link is on its way");
    let token = {
        use sqlx::Row;
        let mut found = None;
        let deadline = Instant::now() + WAIT;
        while found.is_none() {
            assert!(Instant::now() < deadline, "no viewer-access mail");
            found = sqlx::query("SELECT body_text FROM outbox WHERE recipient = $1 ORDER BY id DESC")
                .bind("ann@corp.example")
                .fetch_optional(&t.app.db.pool)
                .await
                .unwrap()
                .map(|r| r.get::<String, _>(0));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let text = found.unwrap();
        let line = text.lines().find(|l| l.contains("#token=")).expect("a link").trim().to_string();
        assert!(line.starts_with(&format!("http://{}/v/{protected}#token=sbm_", a.host)), "{line}");
        line.split("#token=").nth(1).unwrap().to_string()
    };
    // The mail's link opened in the tab that already shows the view changes only the fragment:
    // the page starts over and offers to continue.
    b.open(&url(&s, &a.host, &format!("/v/{protected}#token={token}")));
    b.wait_for("Continue to open the view.");
    assert_eq!(b.js("return location.hash"), json!(""));
    b.click("#go");
    let text = b.wait_for("Corp web: ");
    assert!(text.contains("Website") && text.contains("For Corp only"), "{text}");
    assert!(!text.contains("API Gateway"), "{text}");
}

/// `/`: the status page shows its components and the active incident; a private page asks for
/// its password, refuses a wrong one and opens with the right one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_shows_incidents_and_a_private_page_opens_with_its_password() {
    let Some(bins) = binaries() else { return };
    let _turn = TURN.lock().await;
    let t = TestApp::new(Engine::Sqlite).await;
    let a = t.tenant("acme").await;
    let admin = crate::status_model::components(&t, &a).await;
    incident(&t, &a.host, &admin, "Payments degraded", "api-gateway").await;
    let password = "let me in please";
    let r = t
        .send(Req::post(ADMIN, "/api/v1/org/pages").session(&a.admin_cookie).json(json!({
            "name": "Staff status", "url_prefix": "staff", "visibility": "private", "viewer_password": password,
        })))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let staff = format!("staff.{BASE}");
    let s = Server::start(&t.url, "browser-site");
    let b = Browser::start(&bins);

    b.open(&url(&s, &a.host, "/"));
    let text = b.wait_for("Page acme");
    for shown in ["Active incidents", "Payments degraded", "Components", "Platform", "API Gateway", "Website"] {
        assert!(text.contains(shown), "{shown:?} missing:\n{text}");
    }
    assert!(!text.contains("All systems operational"), "{text}");

    b.open(&url(&s, &staff, "/"));
    let text = b.wait_for("This status page is private");
    assert!(!text.contains("Staff status"), "{text}");
    b.type_into("#gate-password", "not the password");
    b.click("#gate button");
    b.wait_for("Wrong password");
    b.type_into("#gate-password", password);
    b.click("#gate button");
    let text = b.wait_for("Staff status");
    assert!(text.contains("All systems operational") && !text.contains("This status page is private"), "{text}");
    // The grant is a cookie: the page stays open on the next visit.
    b.reload();
    b.wait_for("Staff status");
}

/// `/admin/login` on the admin host: a wrong password is refused on the form; the first-start
/// password signs in and `/admin` shows the workspace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_signs_in_with_the_first_start_password() {
    let Some(bins) = binaries() else { return };
    let _turn = TURN.lock().await;
    let db = fresh_database(Engine::Sqlite).await;
    let s = Server::start(&db, "browser-admin");
    let password = first_start_password(&std::fs::read_to_string(&s.stdout).unwrap());
    let b = Browser::start(&bins);

    b.open(&url(&s, ADMIN, "/admin"));
    b.wait_for("Sign in");
    let here = b.cmd("GET", "/url", json!({}));
    assert!(here.as_str().unwrap().ends_with("/admin/login"), "signed out, /admin sends to the form: {here}");
    b.type_into("[name=email]", "admin@example.com");
    b.type_into("[name=password]", "not the password");
    b.click("form button");
    let text = b.wait_for("Email or password is wrong.");
    assert!(!text.contains("Workspace"), "{text}");

    b.type_into("[name=email]", "admin@example.com");
    b.type_into("[name=password]", &password);
    b.click("form button");
    let text = b.wait_for("Workspace");
    assert!(text.contains("Signed in as admin@example.com."), "{text}");
    assert!(text.contains("Demo Org") && text.contains("demo"), "{text}");
    let here = b.cmd("GET", "/url", json!({}));
    assert_eq!(here, json!(url(&s, ADMIN, "/admin")));
}

/// `/admin/invite` on the admin host: the invitee opens the emailed link, sees what they are
/// invited to, chooses their own name and password, and lands signed in on the workspace; the
/// link works once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitee_opens_the_link_chooses_a_password_and_lands_in_the_workspace() {
    let Some(bins) = binaries() else { return };
    let _turn = TURN.lock().await;
    let t = TestApp::new(Engine::Sqlite).await;
    let a = t.tenant("acme").await;
    let s = Server::start(&t.url, "browser-invite");
    // The server's clock is the real one: issue the invitation at the real time.
    t.clock.advance(jiff::Timestamp::now().as_millisecond() - t.app.now());
    let (admin, _) = t.login(&a.admin_email, "correct horse battery").await;
    let email = "newbie@example.org";
    let r = t
        .send(
            Req::post(ADMIN, "/api/v1/org/members").session(&admin).json(json!({"email": email, "role": "org_member"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let (_, token) = crate::invitations::invitation_link(&t, email).await;
    let link = url(&s, ADMIN, &format!("/admin/invite#token={token}"));

    let b = Browser::start(&bins);
    b.open(&link);
    let text = b.wait_for("Join Org acme as an org member.");
    assert!(text.contains("Choose your name and a password"), "{text}");
    assert_eq!(b.js("return location.hash"), json!(""), "the token left the address bar");
    assert_eq!(t.count("users").await, 1, "opening the link changes nothing");

    b.type_into("#accept [name=name]", "New Bie");
    b.type_into("#accept [name=password]", "my very own password");
    b.click("#accept button");
    b.wait_for("You joined Org acme. You are signed in.");
    b.click("#done a");
    let text = b.wait_for("Workspace");
    assert!(text.contains(&format!("Signed in as {email}.")) && text.contains("Org acme"), "{text}");
    t.login(email, "my very own password").await;

    b.open(&link);
    b.wait_for("This invitation has expired, was withdrawn, or was used already.");
}
