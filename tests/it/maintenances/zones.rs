//! Windows in IANA time zones: stored in UTC, shown in their zone, across the DST changes.

use super::{ms, setup};
use crate::both;
use crate::harness::*;
use axum::http::{Method, StatusCode};
use serde_json::json;
use statibeat::clock::{parse_rfc3339, HOUR, SECOND};

async fn windows_in_london_cross_the_clock_changes_in_real_time(engine: Engine) {
    let s = setup(engine).await;
    // Spring forward (28 March 2027, 01:00 GMT → 02:00 BST): 00:30 to 03:30 local is two hours.
    let spring = s
        .schedule(json!({
            "title": "Spring", "time_zone": "Europe/London", "auto_start": false,
            "starts_at": "2027-03-28T00:30:00", "ends_at": "2027-03-28T03:30:00"
        }))
        .await;
    assert_eq!(spring["time_zone"], "Europe/London");
    assert_eq!(
        (spring["starts_at"].as_str(), spring["ends_at"].as_str()),
        (Some("2027-03-28T00:30:00.000Z"), Some("2027-03-28T02:30:00.000Z"))
    );
    assert_eq!(spring["starts_at_local"], "2027-03-28T00:30:00+00:00");
    assert_eq!(spring["ends_at_local"], "2027-03-28T03:30:00+01:00");
    assert_eq!(ms(&spring["ends_at"]) - ms(&spring["starts_at"]), 2 * HOUR);

    // Fall back (31 October 2027, 02:00 BST → 01:00 GMT): 00:30 to 03:30 local is four hours.
    let autumn = s
        .schedule(json!({
            "title": "Autumn", "time_zone": "Europe/London", "reminder_minutes": 0,
            "starts_at": "2027-10-31T00:30:00", "ends_at": "2027-10-31T03:30:00"
        }))
        .await;
    assert_eq!(
        (autumn["starts_at"].as_str(), autumn["ends_at"].as_str()),
        (Some("2027-10-30T23:30:00.000Z"), Some("2027-10-31T03:30:00.000Z"))
    );
    assert_eq!(
        (autumn["starts_at_local"].as_str(), autumn["ends_at_local"].as_str()),
        (Some("2027-10-31T00:30:00+01:00"), Some("2027-10-31T03:30:00+00:00"))
    );
    let public = s.t.send(Req::get(&s.a.host, &format!("/api/v1/maintenances/{}", autumn["id"]))).await;
    assert_eq!(public.json["ends_at_local"], "2027-10-31T03:30:00+00:00", "{}", public.text);

    // The scheduler follows the real instants, not the wall clock.
    let start = parse_rfc3339("2027-10-30T23:30:00Z").unwrap();
    s.clock_to(start - SECOND);
    assert!(s.run().await.started.is_empty());
    s.clock_to(start);
    assert_eq!(s.run().await.started, vec![autumn["id"].as_i64().unwrap()]);
    s.clock_to(start + 4 * HOUR - SECOND);
    assert!(s.run().await.completed.is_empty(), "the repeated hour is part of the window");
    s.clock_to(start + 4 * HOUR);
    assert_eq!(s.run().await.completed, vec![autumn["id"].as_i64().unwrap()]);

    // Local times the clocks skip, or pass twice, must be made explicit.
    for (when, needle) in [("2028-03-26T01:30:00", "does not exist"), ("2028-10-29T01:30:00", "happens twice")] {
        let r = s
            .post("maintenances", json!({"title": "x", "time_zone": "Europe/London", "starts_at": when, "ends_at": "2028-12-01T00:00:00Z"}))
            .await;
        assert_eq!((r.status, r.json["field"].as_str()), (StatusCode::BAD_REQUEST, Some("starts_at")), "{}", r.text);
        assert!(r.json["error"].as_str().unwrap().contains(needle), "{}", r.text);
    }
    let r = s
        .post(
            "maintenances",
            json!({"title": "Explicit", "time_zone": "Europe/London", "starts_at": "2028-10-29T01:30:00+00:00", "ends_at": "2028-10-29T03:00:00"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "an offset settles the repeated hour: {}", r.text);
    assert_eq!(r.json["starts_at"], "2028-10-29T01:30:00.000Z");
}
both!(windows_in_london_cross_the_clock_changes_in_real_time);

async fn windows_default_to_the_pages_time_zone(engine: Engine) {
    let s = setup(engine).await;
    let r =
        s.t.send(
            Req::new(Method::PUT, &s.a.host, "/api/v1/admin/site-settings")
                .bearer(&s.admin)
                .json(json!({"time_zone": "America/New_York"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let m = s
        .schedule(json!({"title": "Local", "starts_at": "2027-01-15T09:00:00", "ends_at": "2027-01-15T10:00:00"}))
        .await;
    assert_eq!(
        (m["time_zone"].as_str(), m["starts_at"].as_str()),
        (Some("America/New_York"), Some("2027-01-15T14:00:00.000Z"))
    );
    assert_eq!(m["starts_at_local"], "2027-01-15T09:00:00-05:00");
    // RFC 3339 with an offset means that instant, whatever the zone.
    let m = s
        .schedule(json!({"title": "Offset", "starts_at": "2027-01-15T09:00:00Z", "ends_at": "2027-01-15T10:00:00Z"}))
        .await;
    assert_eq!(
        (m["starts_at"].as_str(), m["starts_at_local"].as_str()),
        (Some("2027-01-15T09:00:00.000Z"), Some("2027-01-15T04:00:00-05:00"))
    );
}
both!(windows_default_to_the_pages_time_zone);

async fn a_past_window_is_backfilled_in_its_zone_without_notifying(engine: Engine) {
    let s = setup(engine).await;
    let body = json!({
        "external_id": "maint-2026-03-29",
        "title": "Storage migration",
        "affected_items": [{"external_id": "api-gateway"}],
        "time_zone": "Europe/London",
        "starts_at": "2026-03-29T00:30:00",
        "ends_at": "2026-03-29T03:30:00",
        "updates": [{"message": "Half the volumes are moved.", "created_at": "2026-03-29T02:30:00"}]
    });
    let r =
        s.t.send(Req::post(&s.a.host, "/api/v1/admin/maintenances/backfill").bearer(&s.bot).json(body.clone())).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "backfill is configuration-level work: {}", r.text);
    let r =
        s.t.send(Req::post(&s.a.host, "/api/v1/admin/maintenances/backfill").bearer(&s.admin).json(body.clone())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let m = &r.json;
    assert_eq!((m["state"].as_str(), m["stage"].as_str()), (Some("completed"), Some("completed")));
    assert_eq!(
        (m["starts_at"].as_str(), m["ends_at"].as_str()),
        (Some("2026-03-29T00:30:00.000Z"), Some("2026-03-29T02:30:00.000Z"))
    );
    assert_eq!((m["started_at"].clone(), m["completed_at"].clone()), (m["starts_at"].clone(), m["ends_at"].clone()));
    assert_eq!(m["ends_at_local"], "2026-03-29T03:30:00+01:00");
    let updates: Vec<(&str, &str)> = m["updates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["created_at"].as_str().unwrap(), u["stage"].as_str().unwrap()))
        .collect();
    assert_eq!(
        updates,
        [
            ("2026-03-29T02:30:00.000Z", "completed"),
            ("2026-03-29T01:30:00.000Z", "in_progress"),
            ("2026-03-29T00:30:00.000Z", "in_progress")
        ]
    );
    let retry = s.t.send(Req::post(&s.a.host, "/api/v1/admin/maintenances/backfill").bearer(&s.admin).json(body)).await;
    assert_eq!((retry.status, retry.json["id"].clone()), (StatusCode::OK, m["id"].clone()));
    assert_eq!(s.events().await, vec![], "backfill never notifies");
    assert_eq!(s.run().await, Default::default(), "nothing for the scheduler to do");
    let future = json!({"title": "Not past", "starts_at": super::at(-HOUR), "ends_at": super::at(HOUR)});
    let r = s.t.send(Req::post(&s.a.host, "/api/v1/admin/maintenances/backfill").bearer(&s.admin).json(future)).await;
    assert_eq!((r.status, r.json["field"].as_str()), (StatusCode::BAD_REQUEST, Some("ends_at")), "{}", r.text);
    assert_eq!(s.t.count("maintenances").await, 1);
}
both!(a_past_window_is_backfilled_in_its_zone_without_notifying);
