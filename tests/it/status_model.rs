//! The status model as automation drives it: components, incidents, computed status.

use crate::both;
use crate::harness::*;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

/// A page admin token and a two-level hierarchy: platform › (api-gateway, auth), plus web.
pub async fn components(t: &TestApp, a: &Tenant) -> String {
    let admin = t.page_token(a, "admin", "page_admin").await;
    for (depth, s, p) in [(1, "Service", "Services"), (2, "Component", "Components")] {
        let r = t
            .send(
                Req::post(&a.host, "/api/v1/admin/hierarchy/levels")
                    .bearer(&admin)
                    .json(json!({"depth": depth, "singular": s, "plural": p})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    for body in [
        json!({"name": "Platform", "identifier": "platform"}),
        json!({"name": "API Gateway", "identifier": "api-gateway", "parent": {"external_id": "platform"}}),
        json!({"name": "Auth", "identifier": "auth", "parent": {"external_id": "platform"}}),
        json!({"name": "Website", "identifier": "web"}),
    ] {
        let r = t.send(Req::post(&a.host, "/api/v1/admin/hierarchy/items").bearer(&admin).json(body)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    admin
}

fn status_of(summary: &Value, identifier: &str) -> String {
    fn find(nodes: &Value, id: &str) -> Option<String> {
        nodes.as_array()?.iter().find_map(|n| {
            if n["identifier"] == id {
                n["status"].as_str().map(String::from)
            } else {
                find(&n["children"], id)
            }
        })
    }
    find(&summary["components"], identifier).unwrap_or_else(|| panic!("{identifier} not in {summary}"))
}

async fn the_quickstart_works_verbatim(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let admin = components(&t, &a).await;
    let bot = t.page_token(&a, "write", "page_manager").await;
    let r = t
        .send(Req::post(&a.host, "/api/v1/admin/incidents").bearer(&bot).json(json!({
            "external_id": "incident-api-latency-2026-03-22",
            "title": "Elevated API latency",
            "description": "We are investigating elevated latency on the public API.",
            "status": "degraded",
            "affected_items": [{"external_id": "api-gateway"}]
        })))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["stage"], "investigating");
    let s = t.send(Req::get(&a.host, "/api/v1/summary")).await;
    assert_eq!(s.status, StatusCode::OK, "{}", s.text);
    assert_eq!(s.json["status"]["key"], "degraded");
    assert_eq!(status_of(&s.json, "api-gateway"), "degraded");
    assert_eq!(status_of(&s.json, "platform"), "degraded");
    assert_eq!(status_of(&s.json, "web"), "operational");
    let r = t
        .send(
            Req::post(&a.host, "/api/v1/admin/incidents/external/incident-api-latency-2026-03-22/resolve")
                .bearer(&bot)
                .json(json!({"resolution_message": "Latency is back to normal."})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["stage"], "resolved");
    let s = t.send(Req::get(&a.host, "/api/v1/summary")).await;
    assert_eq!(s.json["status"]["key"], "operational");
    assert_eq!(status_of(&s.json, "platform"), "operational");
    // The minimal form.
    let r = t
        .send(Req::post(&a.host, "/api/v1/admin/incidents").bearer(&bot).json(json!({
            "title": "Checkout errors", "description": "Some payments fail.", "status": "partial_outage",
            "affected_items_freetext": "Public API"
        })))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let s = t.send(Req::get(&a.host, "/api/v1/summary")).await;
    assert_eq!(s.json["status"]["key"], "partial_outage", "an incident without items still sets the page status");
    let _ = admin;
    let _ = Method::GET;
}
both!(the_quickstart_works_verbatim);

async fn events(t: &TestApp) -> Vec<String> {
    use sqlx::Row;
    sqlx::query("SELECT kind FROM events ORDER BY id")
        .fetch_all(&t.app.db.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>(0))
        .collect()
}

fn create_body() -> Value {
    json!({
        "external_id": "deploy-42",
        "title": "Elevated API latency",
        "description": "Investigating.",
        "status": "degraded",
        "affected_items": [{"external_id": "api-gateway"}]
    })
}

async fn retrying_a_create_three_times_makes_one_incident(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    components(&t, &a).await;
    let bot = t.page_token(&a, "write", "page_manager").await;
    let mut ids = Vec::new();
    for (i, want) in [StatusCode::CREATED, StatusCode::OK, StatusCode::OK].into_iter().enumerate() {
        let r = t.send(Req::post(&a.host, "/api/v1/admin/incidents").bearer(&bot).json(create_body())).await;
        assert_eq!(r.status, want, "attempt {i}: {}", r.text);
        ids.push(r.json["id"].as_i64().unwrap());
    }
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert_eq!(t.count("incidents").await, 1);
    assert_eq!(events(&t).await, ["incident.created"], "a retry notifies nobody again");
    let mut different = create_body();
    different["title"] = json!("Something else");
    let r = t.send(Req::post(&a.host, "/api/v1/admin/incidents").bearer(&bot).json(different)).await;
    assert_eq!((r.status, r.json["code"].as_str()), (StatusCode::CONFLICT, Some("external_id_conflict")));
    assert_eq!(t.count("incidents").await, 1);
}
both!(retrying_a_create_three_times_makes_one_incident);

async fn a_partial_outage_on_a_child_rolls_up_and_clears_on_resolve(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    components(&t, &a).await;
    let bot = t.page_token(&a, "write", "page_manager").await;
    let r = t
        .send(Req::post(&a.host, "/api/v1/admin/incidents").bearer(&bot).json(json!({
            "title": "Login failures", "status": "partial_outage", "affected_items": [{"external_id": "auth"}]
        })))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.json["id"].as_i64().unwrap();
    let s = t.send(Req::get(&a.host, "/api/v1/summary")).await;
    assert_eq!(
        (
            status_of(&s.json, "auth").as_str(),
            status_of(&s.json, "platform").as_str(),
            s.json["status"]["key"].as_str()
        ),
        ("partial_outage", "partial_outage", Some("partial_outage"))
    );
    assert_eq!(status_of(&s.json, "api-gateway"), "operational", "siblings are unaffected");
    // A more severe update on one item only.
    let r = t
        .send(Req::post(&a.host, &format!("/api/v1/admin/incidents/{id}/updates")).bearer(&bot).json(json!({
            "message": "Auth is down.", "stage": "identified",
            "affected_items": [{"external_id": "auth", "status": "major_outage"}, {"external_id": "api-gateway"}]
        })))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let s = t.send(Req::get(&a.host, "/api/v1/summary")).await;
    assert_eq!(status_of(&s.json, "auth"), "major_outage");
    assert_eq!(status_of(&s.json, "api-gateway"), "partial_outage");
    assert_eq!(status_of(&s.json, "platform"), "major_outage");
    let r = t.send(Req::post(&a.host, &format!("/api/v1/admin/incidents/{id}/resolve")).bearer(&bot)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let s = t.send(Req::get(&a.host, "/api/v1/summary")).await;
    for id in ["auth", "api-gateway", "platform", "web"] {
        assert_eq!(status_of(&s.json, id), "operational", "{id}");
    }
    assert_eq!(s.json["status"]["key"], "operational");
    assert_eq!(events(&t).await, ["incident.created", "incident.updated", "incident.resolved"]);
    // Reopen brings the impact back.
    let r = t.send(Req::post(&a.host, &format!("/api/v1/admin/incidents/{id}/reopen")).bearer(&bot)).await;
    assert_eq!((r.status, r.json["stage"].as_str()), (StatusCode::OK, Some("investigating")));
    let s = t.send(Req::get(&a.host, "/api/v1/summary")).await;
    assert_eq!(status_of(&s.json, "auth"), "major_outage");
}
both!(a_partial_outage_on_a_child_rolls_up_and_clears_on_resolve);

async fn a_backfilled_incident_shows_in_history_and_notifies_nobody(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let admin = components(&t, &a).await;
    let r = t
        .send(Req::post(&a.host, "/api/v1/admin/incidents/backfill").bearer(&admin).json(json!({
            "title": "Database failover", "status": "major_outage",
            "affected_items": [{"external_id": "api-gateway"}],
            "started_at": "2026-11-29T10:00:00Z", "acknowledged_at": "2026-11-29T10:05:00Z",
            "resolved_at": "2026-11-29T12:00:00Z", "resolution_message": "Failover complete.",
            "updates": [
                {"message": "Primary database unreachable.", "stage": "investigating", "created_at": "2026-11-29T10:01:00Z"},
                {"message": "Failing over.", "stage": "identified", "created_at": "2026-11-29T10:30:00Z"}
            ]
        })))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["stage"], "resolved");
    assert_eq!(r.json["updates"].as_array().unwrap().len(), 3);
    assert!(events(&t).await.is_empty(), "a backfill records no event rows");
    let h = t.send(Req::get(&a.host, "/api/v1/incidents?status=resolved&view=full")).await;
    assert_eq!(h.json["data"][0]["title"], "Database failover");
    assert_eq!(h.json["data"][0]["started_at"], "2026-11-29T10:00:00.000Z");
    // Two hours of major outage yesterday: 100 × (1 − 2/24) for api-gateway, and its parent.
    let u = t.send(Req::get(&a.host, "/api/v1/uptime?days=2")).await;
    let gw = u.json["data"].as_array().unwrap().iter().find(|d| d["identifier"] == "api-gateway").unwrap().clone();
    assert_eq!(gw["days"][0]["date"], "2026-11-29");
    assert_eq!(gw["days"][0]["uptime"], 91.667);
    assert_eq!(gw["days"][1]["uptime"], 100.0);
    let platform = u.json["data"].as_array().unwrap().iter().find(|d| d["identifier"] == "platform").unwrap().clone();
    assert_eq!(platform["days"][0]["uptime"], 91.667, "a parent counts its children's downtime");
    // Stages out of order are refused, and nothing is written.
    let before = t.count("incidents").await;
    let r = t
        .send(Req::post(&a.host, "/api/v1/admin/incidents/backfill").bearer(&admin).json(json!({
            "title": "Out of order", "started_at": "2026-11-29T10:00:00Z", "resolved_at": "2026-11-29T12:00:00Z",
            "updates": [
                {"message": "b", "stage": "monitoring", "created_at": "2026-11-29T10:01:00Z"},
                {"message": "a", "stage": "investigating", "created_at": "2026-11-29T10:02:00Z"}
            ]
        })))
        .await;
    assert_eq!((r.status, r.json["field"].as_str()), (StatusCode::BAD_REQUEST, Some("updates[1]")));
    assert_eq!(t.count("incidents").await, before);
}
both!(a_backfilled_incident_shows_in_history_and_notifies_nobody);

async fn bad_incident_input_is_refused_precisely_and_writes_nothing(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    components(&t, &a).await;
    let bot = t.page_token(&a, "write", "page_manager").await;
    let cases = [
        (json!({"title": "x", "org_id": 1}), "org_id"),
        (json!({"title": "x", "affected_items": [{"external_id": "nope"}]}), "affected_items[0]"),
        (json!({"title": "x", "status": "on_fire"}), "status"),
        (json!({"title": "x", "status": "maintenance"}), "status"),
        (json!({"title": "x", "stage": "resolved"}), "stage"),
        (json!({"title": "x".repeat(301)}), "title"),
        (json!({"title": "x", "description": "y".repeat(20_001)}), "description"),
        (json!({"title": "x", "started_at": "yesterday"}), "started_at"),
        (json!({"title": "x", "visibility": "secret"}), "visibility"),
        (json!({"title": "x", "external_id": "has spaces"}), "external_id"),
        (json!({"title": "x", "affected_items": [{"external_id": "auth", "id": 1}]}), "affected_items[0]"),
        (json!({"title": 5}), "title"),
    ];
    for (body, field) in cases {
        let r = t.send(Req::post(&a.host, "/api/v1/admin/incidents").bearer(&bot).json(body.clone())).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text);
        assert_eq!(r.json["field"].as_str(), Some(field), "{body}: {}", r.text);
    }
    assert_eq!(t.count("incidents").await, 0);
    assert!(events(&t).await.is_empty());
    // Stages only move forward in updates.
    let r = t
        .send(
            Req::post(&a.host, "/api/v1/admin/incidents")
                .bearer(&bot)
                .json(json!({"title": "x", "stage": "monitoring"})),
        )
        .await;
    let id = r.json["id"].as_i64().unwrap();
    let r = t
        .send(
            Req::post(&a.host, &format!("/api/v1/admin/incidents/{id}/updates"))
                .bearer(&bot)
                .json(json!({"message": "m", "stage": "investigating"})),
        )
        .await;
    assert_eq!((r.status, r.json["field"].as_str()), (StatusCode::BAD_REQUEST, Some("stage")));
    assert_eq!(t.count("incident_updates").await, 1);
}
both!(bad_incident_input_is_refused_precisely_and_writes_nothing);

async fn internal_incidents_and_draft_reports_never_reach_the_public(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    components(&t, &a).await;
    let bot = t.page_token(&a, "write", "page_manager").await;
    let r = t
        .send(Req::post(&a.host, "/api/v1/admin/incidents").bearer(&bot).json(json!({
            "title": "Internal canary drill", "status": "major_outage", "visibility": "internal",
            "affected_items": [{"external_id": "web"}]
        })))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let internal = r.json["id"].as_i64().unwrap();
    let r = t
        .send(
            Req::post(&a.host, "/api/v1/admin/incidents")
                .bearer(&bot)
                .json(json!({"title": "Public outage", "external_id": "pub-1"})),
        )
        .await;
    let public = r.json["id"].as_i64().unwrap();
    let path = format!("/api/v1/admin/incidents/{public}/report");
    let r =
        t.send(Req::new(Method::PUT, &a.host, &path).bearer(&bot).json(json!({"body": "Draft: root cause TBD"}))).await;
    assert_eq!((r.status, r.json["report"]["state"].as_str()), (StatusCode::OK, Some("draft")));
    let r = t.send(Req::post(&a.host, &format!("{path}/publish")).bearer(&bot)).await;
    assert_eq!(
        (r.status, r.json["code"].as_str()),
        (StatusCode::CONFLICT, Some("incident_open")),
        "only resolved incidents publish"
    );
    for path in ["/api/v1/summary", "/api/v1/incidents?view=full", "/api/v1/components"] {
        let r = t.send(Req::get(&a.host, path)).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(
            !r.text.contains("Internal canary drill") && !r.text.contains("Draft: root cause"),
            "{path}: {}",
            r.text
        );
        assert!(!r.text.contains("pub-1") && !r.text.contains("\"visibility\""), "{path}: {}", r.text);
    }
    let s = t.send(Req::get(&a.host, "/api/v1/summary")).await;
    assert_eq!(status_of(&s.json, "web"), "operational", "internal incidents do not change public status");
    assert_eq!(t.send(Req::get(&a.host, &format!("/api/v1/incidents/{internal}"))).await.status, StatusCode::NOT_FOUND);
    assert_eq!(events(&t).await, ["incident.created"], "only the public incident notifies");
    // Published once resolved: then it is public.
    t.send(Req::post(&a.host, &format!("/api/v1/admin/incidents/{public}/resolve")).bearer(&bot)).await;
    let r = t.send(Req::post(&a.host, &format!("{path}/publish")).bearer(&bot)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = t.send(Req::get(&a.host, &format!("/api/v1/incidents/{public}"))).await;
    assert_eq!(r.json["report"]["body"], "Draft: root cause TBD");
    // Reopening hides it again (public only while resolved).
    t.send(Req::post(&a.host, &format!("/api/v1/admin/incidents/{public}/reopen")).bearer(&bot)).await;
    let r = t.send(Req::get(&a.host, &format!("/api/v1/incidents/{public}"))).await;
    assert_eq!(r.json["report"], Value::Null);
}
both!(internal_incidents_and_draft_reports_never_reach_the_public);

/// The public page renders the overall banner, the component tree and active incidents.
async fn the_public_page_shows_components_and_active_incidents(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    components(&t, &a).await;
    let r = t.send(Req::get(&a.host, "/")).await;
    assert!(r.text.contains("All systems operational") && r.text.contains("API Gateway"), "{}", r.text);
    let bot = t.page_token(&a, "write", "page_manager").await;
    t.send(Req::post(&a.host, "/api/v1/admin/incidents").bearer(&bot).json(json!({
        "title": "Elevated <API> latency", "description": "Investigating.", "status": "major_outage",
        "affected_items": [{"external_id": "auth"}]
    })))
    .await;
    let r = t.send(Req::get(&a.host, "/")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains("Major outage"), "{}", r.text);
    assert!(r.text.contains("Elevated &#60;API&#62; latency"), "titles are escaped: {}", r.text);
    assert!(!r.text.contains("All systems operational"));
}
both!(the_public_page_shows_components_and_active_incidents);

async fn open_incident(t: &TestApp, a: &Tenant, bot: &str, title: &str) -> i64 {
    let r = t.send(Req::post(&a.host, "/api/v1/admin/incidents").bearer(bot).json(json!({"title": title}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.json["id"].as_i64().unwrap()
}

async fn resolutions_announced(t: &TestApp, incident: i64) -> i64 {
    t.count(&format!("events WHERE kind = 'incident.resolved' AND subject_id = {incident}")).await
}

/// A 409 that gives one of these reasons.
fn refused(r: &Resp, codes: &[&str]) -> bool {
    r.status == StatusCode::CONFLICT && codes.contains(&r.json["code"].as_str().unwrap_or_default())
}

/// A resolve and an update sent at once, then two resolves sent at once. Whichever lands first,
/// a user finds every acknowledged write kept and every refused one without a trace: a 409 means
/// the other write got there first (so one of the two always lands), a resolved incident is never
/// silently reopened, and a resolution is announced exactly once. Several incidents, with the
/// requests sent in both orders, so that more than one interleaving is exercised.
async fn concurrent_writes_to_an_incident_never_undo_each_other(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    components(&t, &a).await;
    let bot = t.page_token(&a, "write", "page_manager").await;
    let resolve = |id: i64| Req::post(&a.host, &format!("/api/v1/admin/incidents/{id}/resolve")).bearer(&bot);
    let read = |id: i64| Req::get(&a.host, &format!("/api/v1/admin/incidents/{id}")).bearer(&bot);

    for round in 0..8 {
        let id = open_incident(&t, &a, &bot, "Race").await;
        let update = Req::post(&a.host, &format!("/api/v1/admin/incidents/{id}/updates"))
            .bearer(&bot)
            .json(json!({"message": "Still looking", "stage": "identified"}));
        let (resolved, updated) = if round % 2 == 0 {
            tokio::join!(t.send(resolve(id)), t.send(update))
        } else {
            let (u, r) = tokio::join!(t.send(update), t.send(resolve(id)));
            (r, u)
        };
        let (resolve_ok, update_ok) = (resolved.status == StatusCode::OK, updated.status == StatusCode::CREATED);
        assert!(
            resolve_ok || refused(&resolved, &["incident_changed"]),
            "resolve: {} {}",
            resolved.status,
            resolved.text
        );
        assert!(
            update_ok || refused(&updated, &["incident_changed", "incident_resolved"]),
            "update: {} {}",
            updated.status,
            updated.text
        );
        assert!(resolve_ok || update_ok, "a 409 means the other write landed; neither did: {}", updated.text);

        let r = t.send(read(id)).await;
        // Newest first.
        let timeline: Vec<&str> =
            r.json["updates"].as_array().unwrap().iter().map(|u| u["message"].as_str().unwrap()).collect();
        let resolution = "This incident has been resolved.";
        assert_eq!(
            r.json["resolved_at"].is_string(),
            resolve_ok,
            "resolved exactly when the resolve was acknowledged: {}",
            r.text
        );
        assert_eq!(
            timeline.contains(&"Still looking"),
            update_ok,
            "the update is kept exactly when acknowledged: {timeline:?}"
        );
        assert_eq!(timeline.iter().filter(|m| **m == resolution).count(), usize::from(resolve_ok), "{timeline:?}");
        if resolve_ok {
            assert_eq!(timeline.first(), Some(&resolution), "the resolution is the latest entry: {timeline:?}");
            assert_eq!(r.json["stage"], "resolved", "{}", r.text);
        } else {
            assert_eq!(r.json["stage"], "identified", "{}", r.text);
        }
        assert_eq!(
            resolutions_announced(&t, id).await,
            i64::from(resolve_ok),
            "one announcement per acknowledged resolve"
        );
    }

    // Two resolves of an open incident: exactly one lands and is announced; the other is told why.
    for _ in 0..4 {
        let id = open_incident(&t, &a, &bot, "Double resolve").await;
        let (one, two) = tokio::join!(t.send(resolve(id)), t.send(resolve(id)));
        let oks = [&one, &two].iter().filter(|r| r.status == StatusCode::OK).count();
        assert_eq!(oks, 1, "exactly one resolve lands: {} {} / {} {}", one.status, one.text, two.status, two.text);
        let loser = if one.status == StatusCode::OK { &two } else { &one };
        assert!(refused(loser, &["incident_changed", "incident_resolved"]), "{} {}", loser.status, loser.text);
        let r = t.send(read(id)).await;
        assert!(r.json["resolved_at"].is_string(), "{}", r.text);
        let resolutions = r.json["updates"].as_array().unwrap().iter().filter(|u| u["stage"] == "resolved").count();
        assert_eq!(resolutions, 1, "one resolution in the timeline: {}", r.text);
        assert_eq!(resolutions_announced(&t, id).await, 1, "the resolution is announced once");
    }
}
both!(concurrent_writes_to_an_incident_never_undo_each_other);

/// Changing an incident's status moves the components that carried it; explicit ones stay.
async fn a_status_change_reaches_the_components(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    components(&t, &a).await;
    let bot = t.page_token(&a, "write", "page_manager").await;
    let r = t
        .send(Req::post(&a.host, "/api/v1/admin/incidents").bearer(&bot).json(json!({
            "title": "Slow", "status": "degraded",
            "affected_items": [{"external_id": "api-gateway"}, {"external_id": "auth", "status": "partial_outage"}]
        })))
        .await;
    let id = r.json["id"].as_i64().unwrap();
    let r = t
        .send(Req::post(&a.host, &format!("/api/v1/admin/incidents/{id}/updates")).bearer(&bot).json(json!({
            "message": "Worse now.", "status": "major_outage"
        })))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let s = t.send(Req::get(&a.host, "/api/v1/summary")).await;
    assert_eq!(status_of(&s.json, "api-gateway"), "major_outage", "the item that followed the incident moves");
    assert_eq!(status_of(&s.json, "auth"), "partial_outage", "an item with its own status keeps it");
    assert_eq!(s.json["status"]["key"], "major_outage");
}
both!(a_status_change_reaches_the_components);

/// Revising a published report takes it back to draft: nothing unreviewed goes public.
async fn revising_a_published_report_unpublishes_it_until_published_again(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let bot = t.page_token(&a, "write", "page_manager").await;
    let r = t.send(Req::post(&a.host, "/api/v1/admin/incidents").bearer(&bot).json(json!({"title": "Outage"}))).await;
    let id = r.json["id"].as_i64().unwrap();
    t.send(Req::post(&a.host, &format!("/api/v1/admin/incidents/{id}/resolve")).bearer(&bot)).await;
    let report = format!("/api/v1/admin/incidents/{id}/report");
    t.send(Req::new(Method::PUT, &a.host, &report).bearer(&bot).json(json!({"body": "Root cause: disk full."}))).await;
    assert_eq!(t.send(Req::post(&a.host, &format!("{report}/publish")).bearer(&bot)).await.status, StatusCode::OK);
    let r = t
        .send(Req::new(Method::PUT, &a.host, &report).bearer(&bot).json(json!({"body": "Draft: blame vendor?"})))
        .await;
    assert_eq!(r.json["report"]["state"], "draft");
    let public = t.send(Req::get(&a.host, &format!("/api/v1/incidents/{id}"))).await;
    assert_eq!(public.json["report"], Value::Null, "{}", public.text);
    assert!(!public.text.contains("blame vendor"));
    t.send(Req::post(&a.host, &format!("{report}/publish")).bearer(&bot)).await;
    let public = t.send(Req::get(&a.host, &format!("/api/v1/incidents/{id}"))).await;
    assert_eq!(public.json["report"]["body"], "Draft: blame vendor?");
}
both!(revising_a_published_report_unpublishes_it_until_published_again);

/// Hidden components never show publicly, not even as an incident's affected item; a retry that
/// spells out defaults is the same request; NUL characters are refused on both engines.
async fn public_views_leave_hidden_components_out(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let admin = components(&t, &a).await;
    let r = t
        .send(Req::post(&a.host, "/api/v1/admin/hierarchy/items").bearer(&admin).json(json!({
            "name": "Secret backend", "identifier": "secret-backend", "visible": false
        })))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let bot = t.page_token(&a, "write", "page_manager").await;
    let body = json!({"title": "Errors", "external_id": "e-1", "affected_items": [{"external_id": "secret-backend"}, {"external_id": "web"}]});
    let r = t.send(Req::post(&a.host, "/api/v1/admin/incidents").bearer(&bot).json(body.clone())).await;
    assert_eq!(r.status, StatusCode::CREATED);
    for path in ["/api/v1/summary", "/api/v1/incidents?view=full", "/api/v1/components?view=full", "/"] {
        let r = t.send(Req::get(&a.host, path)).await;
        assert!(!r.text.contains("secret-backend") && !r.text.contains("Secret backend"), "{path}: {}", r.text);
    }
    let mut spelled = body;
    spelled["status"] = json!("degraded");
    spelled["visibility"] = json!("public");
    spelled["notify"] = json!(true);
    let r = t.send(Req::post(&a.host, "/api/v1/admin/incidents").bearer(&bot).json(spelled)).await;
    assert_eq!(r.status, StatusCode::OK, "defaults spelled out are the same request: {}", r.text);
    let r = t
        .send(
            Req::post(&a.host, "/api/v1/admin/incidents")
                .bearer(&bot)
                .json(json!({"title": "x", "description": "a\u{0}b"})),
        )
        .await;
    assert_eq!((r.status, r.json["field"].as_str()), (StatusCode::BAD_REQUEST, Some("description")));
    assert_eq!(t.count("incidents").await, 1);
}
both!(public_views_leave_hidden_components_out);

/// Deleting a component hands its outage history to its parent: past uptime does not change.
async fn deleting_a_component_keeps_its_parents_history(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let admin = components(&t, &a).await;
    t.send(Req::post(&a.host, "/api/v1/admin/incidents/backfill").bearer(&admin).json(json!({
        "title": "Auth down", "status": "major_outage", "affected_items": [{"external_id": "auth"}],
        "started_at": "2026-11-29T00:00:00Z", "resolved_at": "2026-11-29T06:00:00Z"
    })))
    .await;
    let uptime = |r: &Resp, id: &str| {
        r.json["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["identifier"] == id)
            .map(|d| d["days"][0]["uptime"].clone())
    };
    let before = t.send(Req::get(&a.host, "/api/v1/uptime?days=2")).await;
    assert_eq!(uptime(&before, "platform"), Some(json!(75.0)));
    let r =
        t.send(Req::new(Method::DELETE, &a.host, "/api/v1/admin/hierarchy/items/external/auth").bearer(&admin)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let after = t.send(Req::get(&a.host, "/api/v1/uptime?days=2")).await;
    assert_eq!(uptime(&after, "platform"), Some(json!(75.0)));
    assert_eq!(uptime(&after, "auth"), None);
}
both!(deleting_a_component_keeps_its_parents_history);

/// A maintenance retry that spells out defaults, or names the same instant differently, is the
/// same request.
async fn a_maintenance_retry_with_defaults_spelled_out_is_the_same_request(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let bot = t.page_token(&a, "write", "page_manager").await;
    let first = json!({"external_id": "mw-1", "title": "Upgrade", "starts_at": "2026-12-01T10:00:00Z", "ends_at": "2026-12-01T12:00:00Z"});
    let r = t.send(Req::post(&a.host, "/api/v1/admin/maintenances").bearer(&bot).json(first)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let retry = json!({
        "external_id": "mw-1", "title": "Upgrade", "starts_at": "2026-12-01T11:00:00+01:00",
        "ends_at": "2026-12-01T12:00:00", "time_zone": "UTC", "auto_start": true, "auto_complete": true,
        "reminder_minutes": 60, "notify": true
    });
    let r = t.send(Req::post(&a.host, "/api/v1/admin/maintenances").bearer(&bot).json(retry)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let changed = json!({"external_id": "mw-1", "title": "Upgrade", "starts_at": "2026-12-01T09:00:00Z", "ends_at": "2026-12-01T12:00:00Z"});
    let r = t.send(Req::post(&a.host, "/api/v1/admin/maintenances").bearer(&bot).json(changed)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(t.count("maintenances").await, 1);
}
both!(a_maintenance_retry_with_defaults_spelled_out_is_the_same_request);
