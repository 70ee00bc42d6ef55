//! Black-box scenarios against the real binary on a real port: crash safety (kill -9) and
//! secret hygiene of the database file and the logs.

use crate::both;
use crate::harness::*;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The real binary on a kernel-chosen port of 127.0.0.1 (also driven by the browser scenarios).
pub(crate) struct Server {
    child: Child,
    pub(crate) port: u16,
    pub(crate) stdout: PathBuf,
    pub(crate) stderr: PathBuf,
}

fn log_paths(tag: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join("statibeat-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let n = format!("{}-{}-{}", tag, std::process::id(), rand::random::<u32>());
    (dir.join(format!("{n}.out")), dir.join(format!("{n}.err")))
}

impl Server {
    pub(crate) fn start(url: &str, tag: &str) -> Server {
        Server::start_with(url, tag, &[])
    }

    pub(crate) fn start_with(url: &str, tag: &str, env: &[(&str, &str)]) -> Server {
        let (stdout, stderr) = log_paths(tag);
        let child = Command::new(env!("CARGO_BIN_EXE_statibeat"))
            .arg("serve")
            .envs(env.iter().copied())
            .env("STATIBEAT_DATABASE_URL", url)
            // Port 0: the kernel picks a free port and the server prints it, so parallel tests
            // can never talk to each other's servers.
            .env("STATIBEAT_LISTEN", "127.0.0.1:0")
            .env("STATIBEAT_BASE_DOMAIN", BASE)
            .env("STATIBEAT_ADMIN_HOST", ADMIN)
            .env("RUST_LOG", std::env::var("STATIBEAT_TEST_SERVER_LOG").unwrap_or_else(|_| "debug".into()))
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("start statibeat");
        let mut s = Server { child, port: 0, stdout, stderr };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let out = std::fs::read_to_string(&s.stdout).unwrap_or_default();
            if let Some(addr) = out.lines().find_map(|l| l.strip_prefix("listening on ")) {
                s.port = addr.trim().rsplit(':').next().unwrap().parse().unwrap();
                if s.call("GET", ADMIN, "/healthz", &[], None).is_some_and(|r| r.0 == 200) {
                    return s;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("server did not start: {}", std::fs::read_to_string(&s.stderr).unwrap_or_default());
    }

    /// One HTTP/1.1 request over a fresh connection: (status, headers, body).
    pub(crate) fn call(
        &self,
        method: &str,
        host: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Option<(u16, String, Value)> {
        http_call(self.port, method, host, path, headers, body, Duration::from_secs(10))
    }

    fn kill9(mut self) -> (String, String) {
        self.child.kill().unwrap(); // SIGKILL on Unix
        self.child.wait().unwrap();
        (std::fs::read_to_string(&self.stdout).unwrap(), std::fs::read_to_string(&self.stderr).unwrap())
    }
}

/// A test that fails half-way must not leave its server running.
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request with a JSON body (if any) to 127.0.0.1:`port` over a fresh connection:
/// (status, head, body parsed as JSON or `Null`). The body is read by `Content-Length` (or to the
/// end of the stream), so a peer that keeps the connection open does not stall the caller.
pub(crate) fn http_call(
    port: u16,
    method: &str,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
    timeout: Duration,
) -> Option<(u16, String, Value)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut req =
        format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    if !body.is_empty() {
        req.push_str("Content-Type: application/json; charset=utf-8\r\n");
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(&body);
    stream.write_all(req.as_bytes()).ok()?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let (head, start) = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break (String::from_utf8_lossy(&raw[..i]).into_owned(), i + 4);
        }
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        raw.extend_from_slice(&buf[..n]);
    };
    match header(&head, "content-length").and_then(|v| v.parse::<usize>().ok()) {
        Some(len) => {
            while raw.len() < start + len {
                let n = stream.read(&mut buf).ok()?;
                if n == 0 {
                    break;
                }
                raw.extend_from_slice(&buf[..n]);
            }
        }
        None => {
            stream.read_to_end(&mut raw).ok()?;
        }
    }
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, head, serde_json::from_slice(&raw[start..]).unwrap_or(Value::Null)))
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim()))
}

/// The one-time admin password a first start prints on stdout.
pub(crate) fn first_start_password(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("admin password:"))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("first start prints the admin password")
        .to_string()
}

/// Signs in as the first-start admin and creates a page token; returns (token, session cookie,
/// admin password).
fn sign_in_and_create_token(s: &Server, stdout: &str) -> (String, String, String) {
    let password = first_start_password(stdout);
    let (status, head, body) = s
        .call(
            "POST",
            ADMIN,
            "/api/v1/auth/login",
            &[],
            Some(&json!({"email": "admin@example.com", "password": password})),
        )
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let cookie = header(&head, "set-cookie").unwrap().split(';').next().unwrap().to_string();
    let csrf = body["csrf_token"].as_str().unwrap().to_string();
    let (status, _, body) = s
        .call(
            "POST",
            ADMIN,
            "/status/demo/api/v1/admin/api-tokens",
            &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
            Some(&json!({"name": "ci-bot", "permission": "write", "role_key": "page_manager"})),
        )
        .unwrap();
    assert_eq!(status, 201, "{body}");
    (body["token"].as_str().unwrap().to_string(), cookie, password)
}

async fn acknowledged_token_survives_kill_9(engine: Engine) {
    let url = fresh_database(engine).await;
    let s = Server::start(&url, "crash");
    let stdout = std::fs::read_to_string(&s.stdout).unwrap();
    let (token, _, _) = sign_in_and_create_token(&s, &stdout);
    // 201 received: kill the server at once, without any chance to flush or shut down.
    let _ = s.kill9();
    let s = Server::start(&url, "crash-restart");
    let (status, _, body) = s
        .call("GET", &format!("demo.{BASE}"), "/api/v1/context", &[("Authorization", &format!("Bearer {token}"))], None)
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["principal"]["name"], "ci-bot");
    let _ = s.kill9();
}
both!(acknowledged_token_survives_kill_9);

/// Every table's rows as text (PostgreSQL), or the database files' bytes (SQLite).
pub async fn database_text(engine: Engine, url: &str) -> String {
    match engine {
        Engine::Sqlite => {
            let path = sqlite_path(url).unwrap();
            let mut all = Vec::new();
            for suffix in ["", "-wal", "-shm"] {
                if let Ok(b) = std::fs::read(format!("{}{suffix}", path.display())) {
                    all.extend(b);
                }
            }
            String::from_utf8_lossy(&all).into_owned()
        }
        Engine::Postgres => {
            use sqlx::Row;
            let db = statibeat::store::Db::connect(url).await.unwrap();
            let tables: Vec<String> = sqlx::query(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema()",
            )
            .fetch_all(&db.pool)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
            assert!(tables.contains(&"api_tokens".to_string()), "{tables:?}");
            let mut text = String::new();
            for t in tables {
                let rows = sqlx::query(&format!("SELECT t::text FROM {t} t")).fetch_all(&db.pool).await.unwrap();
                for r in rows {
                    text.push_str(&r.get::<String, _>(0));
                    text.push('\n');
                }
            }
            text
        }
    }
}

async fn secrets_never_reach_the_database_or_the_logs(engine: Engine) {
    let url = fresh_database(engine).await;
    let s = Server::start(&url, "secrets");
    let banner = std::fs::read_to_string(&s.stdout).unwrap();
    let (token, cookie, password) = sign_in_and_create_token(&s, &banner);
    let session = cookie.split_once('=').unwrap().1.to_string();
    let bearer = format!("Bearer {token}");
    // Use every credential, including in the places that must refuse it.
    let host = format!("demo.{BASE}");
    assert_eq!(s.call("GET", &host, "/api/v1/context", &[("Authorization", &bearer)], None).unwrap().0, 200);
    assert_eq!(s.call("GET", &host, &format!("/api/v1/settings?access_token={token}"), &[], None).unwrap().0, 400);
    assert_eq!(s.call("GET", &host, &format!("/api/v1/context?q={token}"), &[], None).unwrap().0, 400);
    assert_eq!(s.call("GET", ADMIN, "/api/v1/auth/me", &[("Cookie", &cookie)], None).unwrap().0, 200);
    let (_, _, list) =
        s.call("GET", &host, "/api/v1/admin/api-tokens?view=full", &[("Cookie", &cookie)], None).unwrap();
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert!(!list.to_string().contains(&token), "a list response showed the secret");
    let (stdout, stderr) = s.kill9();
    assert!(stderr.contains("/api/v1/context"), "the access log is there: {stderr}");
    let db = database_text(engine, &url).await;
    assert!(db.contains("ci-bot"), "the scan sees the token row");
    for (what, secret) in
        [("API token", token.as_str()), ("session id", session.as_str()), ("password", password.as_str())]
    {
        assert!(!db.contains(secret), "{what} found in the database");
        assert!(!stderr.contains(secret), "{what} found in the logs");
    }
    // The one-time banner is the only place the password ever appears.
    assert!(!stdout.contains(&token) && !stdout.contains(&session));
}
both!(secrets_never_reach_the_database_or_the_logs);

/// Two instances starting together on one empty database: both serve, the schema is migrated
/// once, and exactly one of them creates the demo org (and prints its one-time password).
async fn two_instances_starting_together_bootstrap_once(engine: Engine) {
    let url = fresh_database(engine).await;
    let (u1, u2) = (url.clone(), url.clone());
    let one = std::thread::spawn(move || Server::start(&u1, "twin-a"));
    let two = std::thread::spawn(move || Server::start(&u2, "twin-b"));
    let (one, two) = (one.join().expect("first instance starts"), two.join().expect("second instance starts"));
    for s in [&one, &two] {
        assert_eq!(
            s.call("GET", &format!("demo.{BASE}"), "/api/v1/pages/public/current-host", &[], None).unwrap().0,
            200
        );
    }
    let (out1, _) = one.kill9();
    let (out2, _) = two.kill9();
    let banners = [&out1, &out2].iter().filter(|o| o.contains("admin password:")).count();
    assert_eq!(banners, 1, "exactly one instance bootstrapped:\n{out1}\n---\n{out2}");
    let db = statibeat::store::Db::connect(&url).await.unwrap();
    use sqlx::Row;
    let orgs: i64 = sqlx::query("SELECT COUNT(*) FROM orgs").fetch_one(&db.pool).await.unwrap().get(0);
    let users: i64 = sqlx::query("SELECT COUNT(*) FROM users").fetch_one(&db.pool).await.unwrap().get(0);
    assert_eq!((orgs, users), (1, 1));
}
both!(two_instances_starting_together_bootstrap_once);

/// SPEC §5: a crash never loses a notification. 10,000 subscribers, one incident; the server is
/// killed (SIGKILL) while it delivers to a real SMTP server on loopback, then started again:
/// every subscriber gets the mail, and at most 0.1% get it twice.
async fn no_notification_is_lost_when_the_server_is_killed_mid_delivery(engine: Engine) {
    const SUBSCRIBERS: usize = 10_000;
    let sink = crate::smtp_sink::Sink::start().await;
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let token = t.page_token(&a, "write", "page_manager").await;
    // Confirmed subscribers, written in bulk (the subscribe flow itself is tested elsewhere).
    for chunk in (0..SUBSCRIBERS).collect::<Vec<_>>().chunks(500) {
        let values: Vec<String> = chunk
            .iter()
            .map(|i| {
                format!("({}, 'email', 'reader{i}@example.org', 'active', 'ok', 1, 1, 1, {T0}, {T0}, {T0})", a.page_id)
            })
            .collect();
        sqlx::query(&format!(
            "INSERT INTO subscribers (page_id, channel, email, state, hygiene, incidents, maintenances, \
             all_components, created_at, updated_at, confirmed_at) VALUES {}",
            values.join(", ")
        ))
        .execute(&t.app.db.pool)
        .await
        .unwrap();
    }
    let r = t
        .send(Req::post(&a.host, "/api/v1/admin/incidents").bearer(&token).json(json!({
            "title": "Payments degraded", "description": "Investigating.", "status": "degraded"
        })))
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);

    let smtp = sink.url();
    let env = [("STATIBEAT_SMTP_URL", smtp.as_str())];
    let s = Server::start_with(&t.url, "no-loss", &env);
    let started = Instant::now();
    // A bound against hanging, not a speed check: alone this takes under a minute, but CI runs it
    // beside the rest of the suite on two cores.
    let deadline = started + Duration::from_secs(900);
    while sink.count() < SUBSCRIBERS / 4 {
        assert!(Instant::now() < deadline, "delivery did not start: {}", std::fs::read_to_string(&s.stderr).unwrap());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = s.kill9();
    let at_kill = sink.count();
    assert!(at_kill < SUBSCRIBERS, "the kill must land mid-delivery ({at_kill} delivered)");

    let s = Server::start_with(&t.url, "no-loss-restart", &env);
    while sink.distinct_recipients() < SUBSCRIBERS {
        assert!(
            Instant::now() < deadline,
            "only {} of {SUBSCRIBERS} subscribers got the mail: {}",
            sink.distinct_recipients(),
            std::fs::read_to_string(&s.stderr).unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Give a straggler the chance to show up as a duplicate before counting.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let total = sink.count();
    let duplicates = total - SUBSCRIBERS;
    eprintln!(
        "no-loss ({engine:?}): {at_kill} delivered before the kill, {total} messages for {SUBSCRIBERS} subscribers \
         ({duplicates} duplicates) after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(duplicates * 1000 <= SUBSCRIBERS, "{duplicates} duplicates is more than 0.1%");
    let _ = s.kill9();
    let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE state <> 'sent'")
        .fetch_one(&t.app.db.pool)
        .await
        .unwrap();
    assert_eq!(pending, 0, "every outbox row is marked sent");
}
both!(no_notification_is_lost_when_the_server_is_killed_mid_delivery);
