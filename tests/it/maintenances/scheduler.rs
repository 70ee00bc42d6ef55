//! The scheduler: exactly once across instances, catching up after downtime, reminders.

use super::{at, ms, setup, Setup};
use crate::both;
use crate::harness::*;
use serde_json::json;
use statibeat::app::App;
use statibeat::clock::{HOUR, MINUTE};
use statibeat::jobs::{run_due, DueReport};
use statibeat::service::status::maintenances::{self, Due};
use statibeat::store::Db;

/// A second server instance on the same database and clock.
async fn second_instance(s: &Setup) -> App {
    let db = Db::connect(&s.t.url).await.unwrap();
    App::new(s.t.app.config.clone(), db, s.t.clock.clone())
}

/// Runs a pass on both instances at the same time; returns both reports.
async fn race(a: &App, b: &App) -> (DueReport, DueReport) {
    let (a, b) = (a.clone(), b.clone());
    let one = tokio::spawn(async move { run_due(&a).await.unwrap() });
    let two = tokio::spawn(async move { run_due(&b).await.unwrap() });
    (one.await.unwrap(), two.await.unwrap())
}

async fn the_scheduler_moves_each_window_exactly_once(engine: Engine) {
    let s = setup(engine).await;
    let other = second_instance(&s).await;
    let mut ids = Vec::new();
    for i in 0..4 {
        let m = s
            .schedule(json!({
                "title": format!("Window {i}"), "affected_items": [{"external_id": "web"}],
                "starts_at": at(HOUR), "ends_at": at(2 * HOUR), "reminder_minutes": 0
            }))
            .await;
        ids.push(m["id"].as_i64().unwrap());
    }
    s.t.clock.advance(HOUR);
    // What a slow instance would still hold after the others moved on.
    let stale = maintenances::due(&s.t.app, Due::Start, s.t.app.now(), 10).await.unwrap();
    assert_eq!(stale.len(), ids.len());
    let (a, b) = race(&s.t.app, &other).await;
    for m in &stale {
        assert!(!maintenances::start_due(&other, m, s.t.app.now()).await.unwrap(), "a stale claim changes nothing");
    }
    let mut started = [a.started.clone(), b.started.clone()].concat();
    started.sort();
    assert_eq!(started, ids, "every window started by exactly one instance: {a:?} {b:?}");
    assert_eq!(s.run().await, DueReport::default(), "a later pass finds nothing left to do");

    s.t.clock.advance(HOUR);
    let (a, b) = race(&s.t.app, &other).await;
    let mut completed = [a.completed.clone(), b.completed.clone()].concat();
    completed.sort();
    assert_eq!(completed, ids, "{a:?} {b:?}");
    assert_eq!(s.run().await, DueReport::default());
    for id in &ids {
        assert_eq!(s.events_of(*id).await, ["maintenance.scheduled", "maintenance.started", "maintenance.completed"]);
        let m = s.get(&format!("maintenances/{id}")).await.json;
        assert_eq!(m["updates"].as_array().map(Vec::len), Some(3), "one update per transition: {m}");
    }
    let audit = s.t.audit_actions().await;
    assert_eq!(audit.iter().filter(|a| *a == "maintenance.started").count(), ids.len());
}
both!(the_scheduler_moves_each_window_exactly_once);

async fn a_person_and_the_scheduler_never_both_start_a_window(engine: Engine) {
    let s = setup(engine).await;
    let m = s.schedule(json!({"title": "Deploy", "starts_at": at(HOUR), "ends_at": at(2 * HOUR)})).await;
    let id = m["id"].as_i64().unwrap();
    s.t.clock.advance(HOUR);
    let path = format!("maintenances/{id}/start");
    let (person, pass) = tokio::join!(s.post_empty(&path), run_due(&s.t.app));
    let pass = pass.unwrap();
    let by_person = person.status == axum::http::StatusCode::OK;
    assert!(by_person != pass.started.contains(&id), "exactly one of them: {} / {pass:?}", person.text);
    if !by_person {
        assert_eq!(person.status, axum::http::StatusCode::CONFLICT, "{}", person.text);
    }
    assert_eq!(s.events_of(id).await, ["maintenance.scheduled", "maintenance.started"]);
}
both!(a_person_and_the_scheduler_never_both_start_a_window);

async fn the_scheduler_catches_up_after_downtime(engine: Engine) {
    let s = setup(engine).await;
    let missed = s
        .schedule(json!({
            "title": "Missed while down", "affected_items": [{"external_id": "auth"}],
            "starts_at": at(HOUR), "ends_at": at(3 * HOUR), "reminder_minutes": 30
        }))
        .await;
    let manual = s
        .schedule(
            json!({"title": "Manual start", "starts_at": at(2 * HOUR), "ends_at": at(4 * HOUR), "auto_start": false}),
        )
        .await;
    let later = s
        .schedule(
            json!({"title": "Later", "starts_at": at(10 * HOUR), "ends_at": at(11 * HOUR), "reminder_minutes": 60}),
        )
        .await;
    let (missed, manual, later) =
        (missed["id"].as_i64().unwrap(), manual["id"].as_i64().unwrap(), later["id"].as_i64().unwrap());

    // The server is down for five hours; the first pass after the restart catches up.
    s.t.clock.advance(5 * HOUR);
    let before = s.events().await.len();
    let r = s.run().await;
    assert_eq!((r.started.clone(), r.completed.clone(), r.reminded.clone()), (vec![missed], vec![missed], vec![]));
    let new: Vec<_> = s.events().await.into_iter().skip(before).collect();
    assert_eq!(
        new,
        [("maintenance.started".to_string(), missed), ("maintenance.completed".to_string(), missed)],
        "started, then completed; no stale reminders for windows whose start has passed"
    );
    let m = s.get(&format!("maintenances/{missed}")).await.json;
    assert_eq!((ms(&m["started_at"]), ms(&m["completed_at"])), (T0 + HOUR, T0 + 3 * HOUR), "as scheduled: {m}");
    assert_eq!(s.status_of("auth").await, "operational");
    let m = s.get(&format!("maintenances/{manual}")).await.json;
    assert_eq!(m["state"], "scheduled", "a window that does not start by itself waits for a person");
    assert_eq!(s.events_of(manual).await, ["maintenance.scheduled"]);

    // The later window is still ahead: its reminder comes an hour before it, once.
    s.clock_to(T0 + 9 * HOUR + 30 * MINUTE);
    assert_eq!(s.run().await.reminded, vec![later]);
    assert_eq!(s.run().await, DueReport::default());
    s.clock_to(T0 + 10 * HOUR);
    assert_eq!(s.run().await.started, vec![later]);
    assert_eq!(s.events_of(later).await, ["maintenance.scheduled", "maintenance.reminder", "maintenance.started"]);
}
both!(the_scheduler_catches_up_after_downtime);

async fn reminders_are_sent_once_and_rearmed_by_a_reschedule(engine: Engine) {
    let s = setup(engine).await;
    let other = second_instance(&s).await;
    let m = s.schedule(json!({"title": "Network work", "starts_at": at(3 * HOUR), "ends_at": at(4 * HOUR)})).await;
    let id = m["id"].as_i64().unwrap();
    assert_eq!(m["reminder_minutes"], 60);
    let soon = s.schedule(json!({"title": "Soon", "starts_at": at(30 * MINUTE), "ends_at": at(HOUR)})).await;
    let soon = soon["id"].as_i64().unwrap();
    assert_eq!(s.run().await.reminded, Vec::<i64>::new(), "not due; and `soon` was announced inside its lead");

    s.clock_to(T0 + 2 * HOUR);
    let (a, b) = race(&s.t.app, &other).await;
    assert_eq!([a.reminded, b.reminded].concat(), vec![id], "one reminder from two instances");
    assert_eq!(s.run().await.reminded, Vec::<i64>::new());

    // Moving the window a day later announces the new time and re-arms the reminder.
    let r = s.patch(&format!("maintenances/{id}"), json!({"starts_at": at(27 * HOUR), "ends_at": at(28 * HOUR)})).await;
    assert_eq!(r.status, axum::http::StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["reminded_at"], serde_json::Value::Null);
    s.clock_to(T0 + 26 * HOUR);
    assert_eq!(s.run().await.reminded, vec![id]);
    s.clock_to(T0 + 27 * HOUR);
    s.run().await;
    assert_eq!(
        s.events_of(id).await,
        [
            "maintenance.scheduled",
            "maintenance.reminder",
            "maintenance.rescheduled",
            "maintenance.reminder",
            "maintenance.started"
        ]
    );
    assert!(!s.events_of(soon).await.contains(&"maintenance.reminder".to_string()));
}
both!(reminders_are_sent_once_and_rearmed_by_a_reschedule);
