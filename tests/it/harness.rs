//! The integration harness: a fresh database per test (a SQLite file, or a PostgreSQL schema),
//! the real router driven in-process, a manual clock, and ready-made tenants and credentials.

#![allow(dead_code)]

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode};
use serde_json::{json, Value};
use statibeat::app::App;
use statibeat::clock::Clock;
use statibeat::config::{Config, ConfigArgs, RateLimits};
use statibeat::service::audit::Actor;
use statibeat::service::credentials::tokens::{self, NewToken, TokenScope};
use statibeat::service::org::{bootstrap, pages};
use statibeat::store::{self, Db};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use tower::ServiceExt;

/// Runs a scenario on SQLite and on PostgreSQL as two tests.
#[macro_export]
macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::harness::Engine::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::harness::postgres_url().is_none() {
                    $crate::harness::note_postgres_skipped();
                    return;
                }
                super::$name($crate::harness::Engine::Postgres).await
            }
        }
    };
}

/// Which engine a scenario runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server for the PostgreSQL half (`STATIBEAT_TEST_POSTGRES_URL`).
pub fn postgres_url() -> Option<String> {
    std::env::var("STATIBEAT_TEST_POSTGRES_URL").ok().filter(|s| !s.is_empty())
}

pub fn note_postgres_skipped() {
    if std::env::var("STATIBEAT_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
        panic!("STATIBEAT_REQUIRE_POSTGRES=1 but STATIBEAT_TEST_POSTGRES_URL is not set");
    }
    crate::skips::skipped(crate::skips::POSTGRES, "PostgreSQL half (set STATIBEAT_TEST_POSTGRES_URL to run it)");
}

static SEQ: AtomicU64 = AtomicU64::new(0);

fn unique(prefix: &str) -> String {
    format!("{prefix}_{}_{}_{}", std::process::id(), SEQ.fetch_add(1, Ordering::SeqCst), rand::random::<u32>())
}

/// A fresh database migrated up to migration `last` only, holding org 1 with page 1: the
/// starting point of a test of a later migration over existing rows.
pub async fn one_page_before_migration(engine: Engine, last: i64) -> Db {
    let db = Db::connect(&fresh_database(engine).await).await.unwrap();
    db.migrate_up_to(last).await.unwrap();
    sqlx::query("INSERT INTO orgs (name, slug, created_at) VALUES ('O', 'o', 1)").execute(&db.pool).await.unwrap();
    sqlx::query(
        "INSERT INTO pages (org_id, name, internal_key, url_prefix, visibility, settings, created_at) \
         VALUES (1, 'P', 'p', 'pp', 'public', '{}', 1)",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    db
}

/// A fresh, empty, migrated database URL for one test.
pub async fn fresh_database(engine: Engine) -> String {
    match engine {
        Engine::Sqlite => {
            let dir = std::env::temp_dir().join("statibeat-tests");
            std::fs::create_dir_all(&dir).unwrap();
            format!("sqlite://{}", dir.join(format!("{}.db", unique("t"))).display())
        }
        Engine::Postgres => {
            let base = postgres_url().expect("postgres url");
            let schema = unique("t");
            let admin = Db::connect(&base).await.expect("reach PostgreSQL");
            sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&admin.pool).await.unwrap();
            admin.pool.close().await;
            let sep = if base.contains('?') { '&' } else { '?' };
            format!("{base}{sep}options=-c%20search_path%3D{schema}")
        }
    }
}

/// The SQLite file behind a URL (for scanning its bytes).
pub fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    url.strip_prefix("sqlite://").map(|p| p.split('?').next().unwrap().into())
}

pub const BASE: &str = "status.test";
pub const ADMIN: &str = "admin.test";
/// 2026-11-30T12:00:00Z.
pub const T0: i64 = 1_796_040_000_000;

/// A running application on a fresh database.
pub struct TestApp {
    pub app: App,
    pub router: axum::Router,
    pub engine: Engine,
    pub url: String,
    pub clock: Clock,
}

/// Everything about one tenant a test needs.
pub struct Tenant {
    pub org_id: i64,
    pub page_id: i64,
    pub prefix: String,
    pub host: String,
    pub admin_email: String,
    pub admin_cookie: String,
    pub admin_csrf: String,
}

impl TestApp {
    pub async fn new(engine: Engine) -> TestApp {
        Self::with(engine, |_| {}).await
    }

    /// A test app with adjusted configuration.
    pub async fn with(engine: Engine, tweak: impl FnOnce(&mut Config)) -> TestApp {
        let url = fresh_database(engine).await;
        let args = ConfigArgs {
            database_url: Some(url.clone()),
            base_domain: Some(BASE.into()),
            admin_host: Some(ADMIN.into()),
            ..Default::default()
        };
        let mut config = Config::load(&args).unwrap();
        config.rate_limits = RateLimits { public_read: 0, internal_read: 0, admin_write: 0, subscribe: 0, magic: 0 };
        tweak(&mut config);
        let db = Db::connect(&url).await.unwrap();
        db.migrate().await.unwrap();
        let clock = Clock::manual(T0);
        let app = App::new(config, db, clock.clone());
        let router = statibeat::http::router(app.clone());
        TestApp { app, router, engine, url, clock }
    }

    /// Sends a request through the real router.
    pub async fn send(&self, r: Req) -> Resp {
        let mut builder = Request::builder().method(r.method).uri(&r.path);
        if let Some(h) = &r.host {
            builder = builder.header("host", h);
        }
        for (k, v) in &r.headers {
            builder = builder.header(k, v);
        }
        let body = match r.body {
            Some(v) => {
                builder = builder.header("content-type", "application/json");
                Body::from(serde_json::to_vec(&v).unwrap())
            }
            None => match r.raw {
                Some(raw) => Body::from(raw),
                None => Body::empty(),
            },
        };
        let mut req = builder.body(body).unwrap();
        req.extensions_mut().insert(ConnectInfo(r.peer));
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp { status, headers, json, text }
    }

    /// Creates an org with an org admin (signed in) and one page `<prefix>`.
    pub async fn tenant(&self, prefix: &str) -> Tenant {
        let org_id =
            bootstrap::create_org(&self.app, &format!("Org {prefix}"), &format!("org-{prefix}")).await.unwrap();
        let email = format!("admin@{prefix}.example.com");
        let user = bootstrap::create_user(&self.app, &email, "Admin", "correct horse battery").await.unwrap();
        store::members::upsert(&self.app.db.pool, store::members::Group::Org(org_id), user, "org_admin", T0)
            .await
            .unwrap();
        let page = pages::create(
            &self.app,
            &Actor::system("test"),
            org_id,
            pages::NewPageInput {
                name: format!("Page {prefix}"),
                url_prefix: prefix.into(),
                internal_key: None,
                visibility: None,
                viewer_password: None,
            },
        )
        .await
        .unwrap();
        let (cookie, csrf) = self.login(&email, "correct horse battery").await;
        Tenant {
            org_id,
            page_id: page.id,
            prefix: prefix.into(),
            host: format!("{prefix}.{BASE}"),
            admin_email: email,
            admin_cookie: cookie,
            admin_csrf: csrf,
        }
    }

    /// Creates the private page `staff` in the tenant's org (viewer password `let me in please`,
    /// made by the org admin over the API) and unlocks it; returns (host, viewer cookie, page id).
    pub async fn private_staff_page(&self, a: &Tenant) -> (String, String, i64) {
        let r = self
            .send(Req::post(ADMIN, "/api/v1/org/pages").session(&a.admin_cookie).json(json!({
                "name": "Staff", "url_prefix": "staff", "visibility": "private", "viewer_password": "let me in please",
            })))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let host = format!("staff.{BASE}");
        let unlock =
            self.send(Req::post(&host, "/api/v1/viewer-access").json(json!({"password": "let me in please"}))).await;
        assert_eq!(unlock.status, StatusCode::OK, "{}", unlock.text);
        let cookie = unlock.header("set-cookie").unwrap().split(';').next().unwrap().to_string();
        (host, cookie, r.json["id"].as_i64().unwrap())
    }

    /// Creates a user who is an org member of `org_id`, with a page role if given; returns a
    /// signed-in (cookie, csrf) pair.
    pub async fn member(&self, org_id: i64, page_role: Option<(i64, &str)>, org_role: &str) -> (String, String) {
        let email = format!("{}@people.example.com", unique("u").to_lowercase());
        let user = bootstrap::create_user(&self.app, &email, "Member", "correct horse battery").await.unwrap();
        store::members::upsert(&self.app.db.pool, store::members::Group::Org(org_id), user, org_role, T0)
            .await
            .unwrap();
        if let Some((page_id, role)) = page_role {
            store::members::upsert(&self.app.db.pool, store::members::Group::Page(page_id), user, role, T0)
                .await
                .unwrap();
        }
        self.login(&email, "correct horse battery").await
    }

    /// Logs in through the API; returns the cookie pair (`name=value`) and the CSRF token.
    pub async fn login(&self, email: &str, password: &str) -> (String, String) {
        let r =
            self.send(Req::post(ADMIN, "/api/v1/auth/login").json(json!({"email": email, "password": password}))).await;
        assert_eq!(r.status, StatusCode::OK, "login {email}: {}", r.text);
        let set = r.headers.get("set-cookie").unwrap().to_str().unwrap();
        (set.split(';').next().unwrap().to_string(), r.json["csrf_token"].as_str().unwrap().to_string())
    }

    /// Creates a page token through the service (the API path is tested separately).
    pub async fn page_token(&self, t: &Tenant, permission: &str, role: &str) -> String {
        self.token(TokenScope::Page { org_id: t.org_id, page_id: t.page_id }, permission, role, None).await
    }

    pub async fn org_token(&self, t: &Tenant, permission: &str, role: &str) -> String {
        self.token(TokenScope::Org { org_id: t.org_id }, permission, role, None).await
    }

    pub async fn token(&self, scope: TokenScope, permission: &str, role: &str, expires_at: Option<String>) -> String {
        let (_, secret) = tokens::create(
            &self.app,
            &Actor::system("test"),
            tokens::Holder { grant: statibeat::auth::policy::Access::ManageAccess, expires_at: None },
            scope,
            NewToken {
                name: format!("{permission}-{role}"),
                description: String::new(),
                notes: String::new(),
                permission: permission.into(),
                role_key: role.into(),
                terraform_managed: false,
                expires_at,
            },
        )
        .await
        .unwrap();
        secret.expose().to_string()
    }

    /// Counts rows of a table (to prove that refused writes changed nothing).
    pub async fn count(&self, table: &str) -> i64 {
        use sqlx::Row;
        sqlx::query(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(&self.app.db.pool).await.unwrap().get(0)
    }

    /// Waits until the background audit writer has stored an entry with this action.
    pub async fn audit_actions(&self) -> Vec<String> {
        use sqlx::Row;
        sqlx::query("SELECT action FROM audit_log ORDER BY id")
            .fetch_all(&self.app.db.pool)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect()
    }

    pub async fn wait_for_audit(&self, action: &str) -> Vec<String> {
        self.wait_for_audit_count(action, 1).await
    }

    /// Waits (up to 15 s: the writer is asynchronous and CI machines are busy) until at least `n`
    /// audit entries with this action exist.
    pub async fn wait_for_audit_count(&self, action: &str, n: usize) -> Vec<String> {
        for _ in 0..750 {
            let a = self.audit_actions().await;
            if a.iter().filter(|x| *x == action).count() >= n {
                return a;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("fewer than {n} audit entries {action}; have {:?}", self.audit_actions().await);
    }
}

/// A request under construction.
#[derive(Clone)]
pub struct Req {
    pub method: Method,
    pub host: Option<String>,
    pub path: String,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Option<Value>,
    pub raw: Option<Vec<u8>>,
    pub peer: SocketAddr,
}

impl Req {
    pub fn new(method: Method, host: &str, path: &str) -> Req {
        Req {
            method,
            host: Some(host.to_string()),
            path: path.to_string(),
            headers: Vec::new(),
            body: None,
            raw: None,
            peer: "127.0.0.1:40000".parse().unwrap(),
        }
    }
    pub fn get(host: &str, path: &str) -> Req {
        Self::new(Method::GET, host, path)
    }
    pub fn post(host: &str, path: &str) -> Req {
        Self::new(Method::POST, host, path)
    }
    pub fn json(mut self, v: Value) -> Req {
        self.body = Some(v);
        self
    }
    pub fn header(mut self, k: &str, v: &str) -> Req {
        self.headers.push((HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap()));
        self
    }
    pub fn bearer(self, token: &str) -> Req {
        self.header("authorization", &format!("Bearer {token}"))
    }
    /// A browser-like same-origin request with the session cookie.
    pub fn session(self, cookie: &str) -> Req {
        self.header("cookie", cookie).header("sec-fetch-site", "same-origin")
    }
    /// The request comes from `ip` (IPv4 or IPv6), port 40000.
    #[allow(clippy::wrong_self_convention)]
    pub fn from_ip(mut self, ip: &str) -> Req {
        self.peer = SocketAddr::new(ip.parse().unwrap_or_else(|_| panic!("not an IP address: {ip}")), 40000);
        self
    }
}

/// A response, with the body parsed as JSON when it is JSON.
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
    pub text: String,
}

impl Resp {
    pub fn header(&self, k: &str) -> Option<&str> {
        self.headers.get(k).and_then(|v| v.to_str().ok())
    }
}
