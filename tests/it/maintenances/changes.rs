//! Operators changing windows: cancel, extend, complete early, updates and their stages, silent
//! windows, and bad input refused precisely with nothing written.

use super::{at, ms, setup};
use crate::both;
use crate::harness::*;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use statibeat::clock::{HOUR, MINUTE};

fn assert_refused(r: &Resp, status: StatusCode, code: &str, field: Option<&str>) {
    assert_eq!(
        (r.status, r.json["code"].as_str(), r.json["field"].as_str()),
        (status, Some(code), field),
        "{}",
        r.text
    );
}

async fn bad_input_is_refused_precisely_and_writes_nothing(engine: Engine) {
    let s = setup(engine).await;
    let ok = json!({"title": "Upgrade", "starts_at": at(HOUR), "ends_at": at(2 * HOUR)});
    let with = |k: &str, v: Value| {
        let mut b = ok.clone();
        b[k] = v;
        b
    };
    for (body, code, field) in [
        (with("ends_at", json!(at(30 * MINUTE))), "invalid", "ends_at"),
        (with("ends_at", json!(at(HOUR))), "invalid", "ends_at"),
        (with("ends_at", json!(at(HOUR + 31 * 24 * HOUR))), "invalid", "ends_at"),
        (with("time_zone", json!("Europe/Atlantis")), "invalid", "time_zone"),
        (with("affected_items", json!([{"external_id": "no-such-component"}])), "invalid", "affected_items[0]"),
        (
            with("affected_items", json!([{"external_id": "web"}, {"external_id": "web"}])),
            "invalid",
            "affected_items[1]",
        ),
        (
            with("affected_items", json!([{"external_id": "web", "status": "degraded"}])),
            "unknown_field",
            "affected_items[0].status",
        ),
        (with("colour", json!("blue")), "unknown_field", "colour"),
        (with("starts_at", json!("tomorrow morning")), "invalid", "starts_at"),
        (with("reminder_minutes", json!(10_081)), "invalid", "reminder_minutes"),
        (with("reminder_minutes", json!(-5)), "invalid", "reminder_minutes"),
        (with("title", json!("  ")), "invalid", "title"),
        (with("external_id", json!("has spaces")), "invalid", "external_id"),
        (json!({"title": "Past", "starts_at": at(-2 * HOUR), "ends_at": at(-HOUR)}), "invalid", "ends_at"),
        (json!({"title": "No end", "starts_at": at(HOUR)}), "missing_field", "ends_at"),
    ] {
        let r = s.post("maintenances", body.clone()).await;
        assert_refused(&r, StatusCode::BAD_REQUEST, code, Some(field));
    }
    for table in ["maintenances", "maintenance_items", "maintenance_updates", "events"] {
        assert_eq!(s.t.count(table).await, 0, "{table} after refused creates");
    }

    // Stages only move forward, within the in-progress band.
    let r = s
        .t
        .send(Req::new(Method::PUT, &s.a.host, "/api/v1/admin/lifecycles/maintenance").bearer(&s.admin).json(json!({
            "stages": [
                {"key": "scheduled", "name": "Scheduled"}, {"key": "in_progress", "name": "In progress"},
                {"key": "verifying", "name": "Verifying"}, {"key": "completed", "name": "Completed"},
                {"key": "cancelled", "name": "Cancelled"}
            ]
        })))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let id = s.schedule(ok.clone()).await["id"].as_i64().unwrap();
    let r = s.post(&format!("maintenances/{id}/updates"), json!({"message": "Go", "stage": "in_progress"})).await;
    assert_refused(&r, StatusCode::BAD_REQUEST, "invalid", Some("stage"));
    s.post_empty(&format!("maintenances/{id}/start")).await;
    let r = s.post(&format!("maintenances/{id}/updates"), json!({"message": "Checking", "stage": "verifying"})).await;
    assert_eq!((r.status, r.json["stage"].as_str()), (StatusCode::CREATED, Some("verifying")), "{}", r.text);
    let (updates, events) = (s.t.count("maintenance_updates").await, s.t.count("events").await);
    for (stage, needle) in [
        ("in_progress", "forward"),
        ("scheduled", "forward"),
        ("completed", "complete"),
        ("cancelled", "cancel"),
        ("nope", "unknown"),
    ] {
        let r = s.post(&format!("maintenances/{id}/updates"), json!({"message": "Back", "stage": stage})).await;
        assert_refused(&r, StatusCode::BAD_REQUEST, "invalid", Some("stage"));
        assert!(r.json["error"].as_str().unwrap().contains(needle), "{stage}: {}", r.text);
    }
    let r = s.patch(&format!("maintenances/{id}"), json!({"starts_at": at(90 * MINUTE)})).await;
    assert_refused(&r, StatusCode::BAD_REQUEST, "invalid", Some("starts_at"));
    let r = s.post(&format!("maintenances/{id}/extend"), json!({"ends_at": at(HOUR + 30 * MINUTE)})).await;
    assert_refused(&r, StatusCode::BAD_REQUEST, "invalid", Some("ends_at"));
    let r = s.post(&format!("maintenances/{id}/updates"), json!({"message": "x", "mood": "calm"})).await;
    assert_refused(&r, StatusCode::BAD_REQUEST, "unknown_field", Some("mood"));
    assert_eq!((s.t.count("maintenance_updates").await, s.t.count("events").await), (updates, events));
    let m = s.get(&format!("maintenances/{id}")).await.json;
    assert_eq!((m["stage"].as_str(), ms(&m["ends_at"])), (Some("verifying"), T0 + 2 * HOUR));
}
both!(bad_input_is_refused_precisely_and_writes_nothing);

async fn a_silent_window_records_no_events(engine: Engine) {
    let s = setup(engine).await;
    let m = s
        .schedule(json!({
            "title": "Quiet", "notify": false, "affected_items": [{"id": 1}],
            "starts_at": at(2 * HOUR), "ends_at": at(3 * HOUR), "reminder_minutes": 60
        }))
        .await;
    let id = m["id"].as_i64().unwrap();
    assert_eq!(m["notify"], false);
    s.clock_to(T0 + HOUR + 30 * MINUTE);
    s.run().await;
    let r = s.post(&format!("maintenances/{id}/updates"), json!({"message": "Preparing"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    s.clock_to(T0 + 2 * HOUR);
    assert_eq!(s.run().await.started, vec![id]);
    s.clock_to(T0 + 3 * HOUR);
    assert_eq!(s.run().await.completed, vec![id]);
    assert_eq!(s.events().await, vec![], "notify: false records no events");
    let m = s.get(&format!("maintenances/{id}")).await.json;
    assert_eq!(m["updates"].as_array().map(Vec::len), Some(4), "{m}");
    assert!(m["updates"].as_array().unwrap().iter().all(|u| u["notify"] == false));
    // One notifying action on a silent window is still possible when asked for.
    let loud = s
        .schedule(json!({"title": "Loud later", "notify": false, "starts_at": at(5 * HOUR), "ends_at": at(6 * HOUR)}))
        .await;
    let loud = loud["id"].as_i64().unwrap();
    let r = s.post(&format!("maintenances/{loud}/cancel"), json!({"notify": true})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(s.events_of(loud).await, ["maintenance.cancelled"]);
}
both!(a_silent_window_records_no_events);

async fn operators_cancel_extend_and_complete_early(engine: Engine) {
    let s = setup(engine).await;
    let body = |ext: &str| json!({"external_id": ext, "title": ext, "starts_at": at(HOUR), "ends_at": at(2 * HOUR), "reminder_minutes": 0});
    let cancelled = s.schedule(body("cancel-me")).await["id"].as_i64().unwrap();
    let early = s.schedule(body("early")).await["id"].as_i64().unwrap();
    let extended = s.schedule(body("extend-me")).await["id"].as_i64().unwrap();

    // Cancel: before completion only; the scheduler leaves it alone.
    let r = s.post("maintenances/external/cancel-me/cancel", json!({"message": "Postponed to next quarter."})).await;
    assert_eq!(
        (r.status, r.json["state"].as_str(), r.json["stage"].as_str()),
        (StatusCode::OK, Some("cancelled"), Some("cancelled")),
        "{}",
        r.text
    );
    assert_eq!(r.json["updates"][0]["message"], "Postponed to next quarter.");
    assert_refused(
        &s.post_empty("maintenances/external/cancel-me/cancel").await,
        StatusCode::CONFLICT,
        "maintenance_cancelled",
        None,
    );
    assert_refused(
        &s.patch("maintenances/external/cancel-me", json!({"title": "x"})).await,
        StatusCode::CONFLICT,
        "maintenance_cancelled",
        None,
    );
    assert_refused(
        &s.post_empty(&format!("maintenances/{early}/complete")).await,
        StatusCode::CONFLICT,
        "maintenance_not_started",
        None,
    );

    // Start early by hand, then complete early.
    let r = s.post_empty("maintenances/external/early/start").await;
    assert_eq!(
        (r.status, r.json["state"].as_str(), ms(&r.json["started_at"])),
        (StatusCode::OK, Some("in_progress"), T0),
        "{}",
        r.text
    );
    assert_refused(
        &s.post_empty("maintenances/external/early/start").await,
        StatusCode::CONFLICT,
        "maintenance_started",
        None,
    );
    let summary = s.t.send(Req::get(&s.a.host, "/api/v1/summary")).await;
    assert_eq!(
        summary.json["status"]["key"], "maintenance",
        "a window without items covers the page: {}",
        summary.text
    );
    s.t.clock.advance(30 * MINUTE);
    let r = s.post("maintenances/external/early/complete", json!({"message": "Done ahead of schedule."})).await;
    assert_eq!(
        (r.status, r.json["state"].as_str(), ms(&r.json["completed_at"])),
        (StatusCode::OK, Some("completed"), T0 + 30 * MINUTE),
        "{}",
        r.text
    );
    assert_refused(
        &s.post_empty(&format!("maintenances/{early}/cancel")).await,
        StatusCode::CONFLICT,
        "maintenance_completed",
        None,
    );
    assert_refused(
        &s.post(&format!("maintenances/{early}/extend"), json!({"ends_at": at(5 * HOUR)})).await,
        StatusCode::CONFLICT,
        "maintenance_completed",
        None,
    );
    assert_refused(
        &s.post(&format!("maintenances/{early}/updates"), json!({"message": "late"})).await,
        StatusCode::CONFLICT,
        "maintenance_completed",
        None,
    );

    // Extend: only later; the scheduler completes at the new end.
    s.clock_to(T0 + HOUR);
    assert_eq!(s.run().await.started, vec![extended]);
    let r = s.post("maintenances/external/extend-me/extend", json!({"ends_at": at(3 * HOUR)})).await;
    assert_eq!((r.status, ms(&r.json["ends_at"])), (StatusCode::OK, T0 + 3 * HOUR), "{}", r.text);
    assert!(
        r.json["updates"][0]["message"].as_str().unwrap().starts_with("The maintenance window has been extended until"),
        "{}",
        r.text
    );
    s.clock_to(T0 + 2 * HOUR);
    assert_eq!(s.run().await.completed, Vec::<i64>::new(), "not at the old end");
    s.clock_to(T0 + 3 * HOUR);
    assert_eq!(s.run().await.completed, vec![extended]);

    assert_eq!(s.events_of(cancelled).await, ["maintenance.scheduled", "maintenance.cancelled"]);
    assert_eq!(s.events_of(early).await, ["maintenance.scheduled", "maintenance.started", "maintenance.completed"]);
    assert_eq!(
        s.events_of(extended).await,
        ["maintenance.scheduled", "maintenance.started", "maintenance.extended", "maintenance.completed"]
    );

    // Delete removes the window (no notification); reads need read access, writes operate.
    let viewer = s.t.page_token(&s.a, "read", "page_viewer").await;
    let r = s.t.send(Req::get(&s.a.host, "/api/v1/admin/maintenances").bearer(&viewer)).await;
    assert_eq!((r.status, r.json["data"].as_array().map(Vec::len)), (StatusCode::OK, Some(3)), "{}", r.text);
    let r = s
        .t
        .send(Req::new(Method::DELETE, &s.a.host, &format!("/api/v1/admin/maintenances/{cancelled}")).bearer(&viewer))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = s
        .t
        .send(Req::new(Method::DELETE, &s.a.host, &format!("/api/v1/admin/maintenances/{cancelled}")).bearer(&s.bot))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(s.get(&format!("maintenances/{cancelled}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(s.events_of(cancelled).await.len(), 2, "deleting notifies nobody");
    assert!(s.t.audit_actions().await.contains(&"maintenance.deleted".to_string()));

    // Finished windows list most recently finished first, one page at a time.
    for (filter, want) in [("completed", [extended, early]), ("all", [extended, early])] {
        let mut seen = Vec::new();
        let mut path = format!("/api/v1/maintenances?status={filter}&limit=1");
        loop {
            let r = s.t.send(Req::get(&s.a.host, &path)).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            seen.extend(r.json["data"].as_array().unwrap().iter().map(|m| m["id"].as_i64().unwrap()));
            match r.json["next_cursor"].as_str() {
                Some(c) => path = format!("/api/v1/maintenances?status={filter}&limit=1&cursor={c}"),
                None => break,
            }
        }
        assert_eq!(seen, want, "{filter}");
    }
}
both!(operators_cancel_extend_and_complete_early);
