use crate::both;
use crate::harness::*;
use axum::http::StatusCode;

async fn automation_reads_its_context(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let token = t.page_token(&a, "write", "page_manager").await;
    let r = t.send(Req::get(&a.host, "/api/v1/context").bearer(&token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["page"]["url_prefix"], "acme");
    assert_eq!(r.json["org"]["id"], a.org_id);
    assert_eq!(r.json["principal"]["kind"], "api_token");
    assert_eq!(r.json["permission"], "write");
    assert_eq!(r.json["role_key"], "page_manager");
    assert_eq!(r.json["capabilities"], serde_json::json!(["read", "write_operational"]));
}
both!(automation_reads_its_context);
