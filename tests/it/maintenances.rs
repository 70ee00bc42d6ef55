//! Maintenance windows as operators and automation drive them: scheduling, the scheduler moving
//! windows at their times (exactly once, catching up after downtime), reminders, time zones,
//! retries, and what readers see.

mod changes;
mod scheduler;
mod zones;

use crate::both;
use crate::harness::*;
use crate::status_model::components;
use axum::http::StatusCode;
use serde_json::{json, Value};
use sqlx::Row;
use statibeat::clock::{parse_rfc3339, rfc3339, HOUR, MINUTE};
use statibeat::jobs::{run_due, DueReport};

/// A page with components, a page-admin token and an automation token (`write` ∩ `page_manager`).
pub struct Setup {
    pub t: TestApp,
    pub a: Tenant,
    pub admin: String,
    pub bot: String,
}

pub async fn setup(engine: Engine) -> Setup {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let admin = components(&t, &a).await;
    let bot = t.page_token(&a, "write", "page_manager").await;
    Setup { t, a, admin, bot }
}

impl Setup {
    /// `POST /api/v1/admin/<path>` as the automation token.
    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.t.send(Req::post(&self.a.host, &format!("/api/v1/admin/{path}")).bearer(&self.bot).json(body)).await
    }

    /// `POST /api/v1/admin/<path>` without a body.
    pub async fn post_empty(&self, path: &str) -> Resp {
        self.t.send(Req::post(&self.a.host, &format!("/api/v1/admin/{path}")).bearer(&self.bot)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        let r = Req::new(axum::http::Method::PATCH, &self.a.host, &format!("/api/v1/admin/{path}"));
        self.t.send(r.bearer(&self.bot).json(body)).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.t.send(Req::get(&self.a.host, &format!("/api/v1/admin/{path}")).bearer(&self.bot)).await
    }

    /// Schedules a window and returns its view (201 expected).
    pub async fn schedule(&self, body: Value) -> Value {
        let r = self.post("maintenances", body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.json
    }

    /// One scheduler pass at the manual clock's time.
    pub async fn run(&self) -> DueReport {
        let r = run_due(&self.t.app).await.unwrap();
        assert_eq!(r.failed, 0, "{r:?}");
        r
    }

    /// Moves the manual clock to an instant (never backwards).
    pub fn clock_to(&self, at: i64) {
        let now = self.t.app.now();
        assert!(at >= now, "the clock only moves forward");
        self.t.clock.advance(at - now);
    }

    /// Every maintenance event as (kind, window id), in the order they were recorded.
    pub async fn events(&self) -> Vec<(String, i64)> {
        sqlx::query("SELECT kind, subject_id FROM events WHERE subject_kind = 'maintenance' ORDER BY id")
            .fetch_all(&self.t.app.db.pool)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get::<String, _>(0), r.get::<i64, _>(1)))
            .collect()
    }

    /// The event kinds recorded for one window, in order.
    pub async fn events_of(&self, id: i64) -> Vec<String> {
        self.events().await.into_iter().filter(|(_, s)| *s == id).map(|(k, _)| k).collect()
    }

    /// A component's computed status in the public summary.
    pub async fn status_of(&self, identifier: &str) -> String {
        let s = self.t.send(Req::get(&self.a.host, "/api/v1/summary")).await;
        assert_eq!(s.status, StatusCode::OK, "{}", s.text);
        fn find(nodes: &Value, id: &str) -> Option<String> {
            nodes.as_array()?.iter().find_map(|n| {
                if n["identifier"] == id {
                    n["status"].as_str().map(String::from)
                } else {
                    find(&n["children"], id)
                }
            })
        }
        find(&s.json["components"], identifier).unwrap_or_else(|| panic!("{identifier} not in {}", s.json))
    }
}

/// An instant `ms` after the test's start, as RFC 3339.
pub fn at(ms: i64) -> String {
    rfc3339(T0 + ms)
}

/// Epoch milliseconds of an RFC 3339 string from a response.
pub fn ms(v: &Value) -> i64 {
    parse_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a time: {v}"))).unwrap()
}

async fn a_window_starts_and_completes_by_itself(engine: Engine) {
    let s = setup(engine).await;
    let m = s
        .schedule(json!({
            "title": "Database upgrade",
            "description": "We are upgrading the primary database.",
            "affected_items": [{"external_id": "api-gateway"}],
            "starts_at": at(2 * HOUR),
            "ends_at": at(4 * HOUR),
            "time_zone": "UTC",
            "reminder_minutes": 0
        }))
        .await;
    let id = m["id"].as_i64().unwrap();
    assert_eq!((m["state"].as_str(), m["stage"].as_str()), (Some("scheduled"), Some("scheduled")));
    assert_eq!((m["auto_start"].as_bool(), m["auto_complete"].as_bool()), (Some(true), Some(true)));
    assert_eq!(s.run().await, DueReport::default(), "nothing is due yet");
    assert_eq!(s.status_of("api-gateway").await, "operational");
    let summary = s.t.send(Req::get(&s.a.host, "/api/v1/summary")).await;
    assert_eq!(summary.json["maintenances"]["upcoming"][0]["id"], id, "{}", summary.text);

    s.t.clock.advance(2 * HOUR);
    assert_eq!(s.run().await.started, vec![id]);
    let m = s.get(&format!("maintenances/{id}")).await.json;
    assert_eq!((m["state"].as_str(), m["stage"].as_str()), (Some("in_progress"), Some("in_progress")));
    assert_eq!(m["started_at"], at(2 * HOUR));
    assert_eq!(m["updates"][0]["message"], "Scheduled maintenance is now in progress.");
    assert_eq!(s.status_of("api-gateway").await, "maintenance");
    assert_eq!(s.status_of("platform").await, "maintenance", "parents roll up");
    assert_eq!(s.status_of("web").await, "operational");
    let active = s.t.send(Req::get(&s.a.host, "/api/v1/maintenances?status=active")).await;
    assert_eq!(active.json["data"][0]["id"], id, "{}", active.text);

    s.t.clock.advance(2 * HOUR);
    assert_eq!(s.run().await.completed, vec![id]);
    assert_eq!(s.status_of("api-gateway").await, "operational");
    assert_eq!(s.status_of("platform").await, "operational");
    let public = s.t.send(Req::get(&s.a.host, &format!("/api/v1/maintenances/{id}"))).await;
    assert_eq!(public.status, StatusCode::OK, "{}", public.text);
    assert_eq!(
        (public.json["state"].as_str(), public.json["completed_at"].clone()),
        (Some("completed"), json!(at(4 * HOUR)))
    );
    let messages: Vec<&str> =
        public.json["updates"].as_array().unwrap().iter().map(|u| u["message"].as_str().unwrap()).collect();
    assert_eq!(
        messages,
        [
            "Scheduled maintenance has been completed.",
            "Scheduled maintenance is now in progress.",
            "We are upgrading the primary database."
        ]
    );
    assert_eq!(s.events_of(id).await, ["maintenance.scheduled", "maintenance.started", "maintenance.completed"]);
    let audit = s.t.audit_actions().await;
    assert!(audit.contains(&"maintenance.started".to_string()) && audit.contains(&"maintenance.completed".to_string()));
}
both!(a_window_starts_and_completes_by_itself);

async fn retrying_a_create_with_the_same_external_id_makes_one_window(engine: Engine) {
    let s = setup(engine).await;
    let body = json!({
        "external_id": "maint-db-2026-12",
        "title": "Database upgrade",
        "affected_items": [{"external_id": "auth"}],
        "starts_at": at(24 * HOUR),
        "ends_at": at(26 * HOUR)
    });
    let mut ids = Vec::new();
    for attempt in 0..3 {
        let r = s.post("maintenances", body.clone()).await;
        let want = if attempt == 0 { StatusCode::CREATED } else { StatusCode::OK };
        assert_eq!(r.status, want, "attempt {attempt}: {}", r.text);
        ids.push(r.json["id"].as_i64().unwrap());
    }
    assert!(ids.iter().all(|i| *i == ids[0]), "{ids:?}");
    // Spelling out the defaults is still the same request.
    let mut explicit = body.clone();
    explicit["notify"] = json!(true);
    explicit["reminder_minutes"] = json!(60);
    assert_eq!(s.post("maintenances", explicit).await.status, StatusCode::OK);
    assert_eq!(s.t.count("maintenances").await, 1);
    assert_eq!(s.events().await.len(), 1, "one announcement, not one per retry");
    let mut different = body.clone();
    different["title"] = json!("Something else");
    let r = s.post("maintenances", different).await;
    assert_eq!((r.status, r.json["code"].as_str()), (StatusCode::CONFLICT, Some("external_id_conflict")), "{}", r.text);
    let r = s.get("maintenances/external/maint-db-2026-12").await;
    assert_eq!((r.status, r.json["id"].as_i64()), (StatusCode::OK, Some(ids[0])));

    // Concurrent retries race on the unique external_id; still one window.
    let mut racing = body.clone();
    racing["external_id"] = json!("maint-race");
    let (r1, r2, r3) = tokio::join!(
        s.post("maintenances", racing.clone()),
        s.post("maintenances", racing.clone()),
        s.post("maintenances", racing.clone())
    );
    let mut codes = vec![r1.status, r2.status, r3.status];
    codes.sort();
    assert_eq!(codes, [StatusCode::OK, StatusCode::OK, StatusCode::CREATED], "{} {} {}", r1.text, r2.text, r3.text);
    assert_eq!(s.t.count("maintenances").await, 2);
    assert_eq!(s.events().await.len(), 2);
}
both!(retrying_a_create_with_the_same_external_id_makes_one_window);

async fn readers_page_through_windows_without_internal_fields(engine: Engine) {
    let s = setup(engine).await;
    for (i, h) in [(0, 30), (1, 10), (2, 20)] {
        s.schedule(json!({
            "external_id": format!("w{i}"), "title": format!("Window {i}"),
            "starts_at": at(h * HOUR), "ends_at": at((h + 1) * HOUR)
        }))
        .await;
    }
    let page1 = s.t.send(Req::get(&s.a.host, "/api/v1/maintenances?status=upcoming&limit=2")).await;
    assert_eq!(page1.status, StatusCode::OK, "{}", page1.text);
    let titles = |r: &Resp| -> Vec<String> {
        r.json["data"].as_array().unwrap().iter().map(|m| m["title"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(titles(&page1), ["Window 1", "Window 2"], "soonest first");
    let first = &page1.json["data"][0];
    for private in ["external_id", "notify", "reminder_minutes", "auto_start", "updates", "description"] {
        assert!(first.get(private).is_none(), "compact public view shows {private}: {first}");
    }
    let cursor = page1.json["next_cursor"].as_str().unwrap();
    let page2 =
        s.t.send(Req::get(&s.a.host, &format!("/api/v1/maintenances?status=upcoming&limit=2&cursor={cursor}"))).await;
    assert_eq!((titles(&page2), page2.json["next_cursor"].clone()), (vec!["Window 0".to_string()], Value::Null));
    let full = s.t.send(Req::get(&s.a.host, "/api/v1/maintenances?view=full")).await;
    assert_eq!(full.json["data"][0]["updates"].as_array().map(Vec::len), Some(1), "{}", full.text);
    assert!(full.json["data"][0]["updates"][0].get("notify").is_none());
    assert_eq!(s.t.send(Req::get(&s.a.host, "/api/v1/maintenances?status=active")).await.json["data"], json!([]));
    assert_eq!(s.t.send(Req::get(&s.a.host, "/api/v1/maintenances?status=soon")).await.status, StatusCode::BAD_REQUEST);
    // Conditional GET for caches.
    let etag = page1.header("etag").unwrap().to_string();
    assert!(page1.header("cache-control").unwrap().contains("max-age"));
    let again =
        s.t.send(Req::get(&s.a.host, "/api/v1/maintenances?status=upcoming&limit=2").header("if-none-match", &etag))
            .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    // Admins see their fields, and lists under the admin route.
    let admin = s.get("maintenances?status=upcoming").await;
    assert_eq!(admin.json["data"][0]["external_id"], "w1", "{}", admin.text);
    let other = s.t.tenant("other").await;
    let r = s.t.send(Req::get(&other.host, &format!("/api/v1/maintenances/{}", first["id"]))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "another page's window does not exist there");
    let _ = MINUTE;
}
both!(readers_page_through_windows_without_internal_fields);
