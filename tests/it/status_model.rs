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
