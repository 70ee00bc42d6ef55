//! Custom views: readers build them in the manage workspace and share them with co-managers;
//! anyone opens a public view by code or alias; protected views open with an emailed link
//! exchanged once for a viewer token; page admins list, count and delete them.

use crate::both;
use crate::harness::*;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use statibeat::clock::{rfc3339, DAY, HOUR, MINUTE};

/// The reader routes of custom views; the API auth matrix counts them as covered by the
/// credential cases of this module (`view_routes_answer_every_credential_kind` and the flows).
pub const READER_ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/v1/manage/views"),
    ("POST", "/api/v1/manage/views"),
    ("GET", "/api/v1/manage/views/{id}"),
    ("PATCH", "/api/v1/manage/views/{id}"),
    ("DELETE", "/api/v1/manage/views/{id}"),
    ("POST", "/api/v1/manage/views/{id}/managers"),
    ("DELETE", "/api/v1/manage/views/{id}/managers/{email}"),
    ("GET", "/views/{code}"),
    ("GET", "/views/{code}/data"),
    ("POST", "/views/{code}/viewer-access/request"),
    ("POST", "/views/{code}/viewer-access/exchange"),
    ("GET", "/views/{code}/viewer-access/status"),
    ("GET", "/v/{code}"),
    ("GET", "/static/view.js"),
];

/// A confirmed subscriber's magic session on `host`.
async fn session_for(t: &TestApp, host: &str, email: &str) -> String {
    let r = t.send(Req::post(host, "/api/v1/subscribers").json(json!({ "email": email }))).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    exchange_manage_link(t, host, email).await
}

async fn exchange_manage_link(t: &TestApp, host: &str, email: &str) -> String {
    let link = crate::subscribers::link_token(t, email, host).await;
    let r = t.send(Req::post(host, "/api/v1/manage/session").header("x-magic-token", &link)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json["token"].as_str().unwrap().to_string()
}

fn manage(method: Method, host: &str, path: &str, session: &str) -> Req {
    Req::new(method, host, path).header("x-magic-token", session)
}

async fn create_view(t: &TestApp, host: &str, session: &str, body: Value) -> Value {
    let r = t.send(manage(Method::POST, host, "/api/v1/manage/views", session).json(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.json
}

/// Every mail in the outbox: (recipient, text).
async fn mails(t: &TestApp) -> Vec<(String, String)> {
    use sqlx::Row;
    sqlx::query("SELECT recipient, body_text FROM outbox ORDER BY id")
        .fetch_all(&t.app.db.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// The viewer-access token in the newest mail to `to`, checking it sits only after `#`.
async fn view_link(t: &TestApp, to: &str, host: &str, code: &str) -> String {
    let (_, text) = mails(t).await.into_iter().rev().find(|(r, _)| r == to).expect("a mail");
    let url = text.lines().find(|l| l.contains("#token=")).expect("a link").trim().to_string();
    assert!(url.starts_with(&format!("http://{host}/v/{code}#token=sbm_")), "{url}");
    assert_eq!(text.matches("sbm_").count(), 1, "the token appears once, after '#': {text}");
    url.split("#token=").nth(1).unwrap().to_string()
}

fn ask(host: &str, code: &str, email: &str) -> Req {
    Req::post(host, &format!("/views/{code}/viewer-access/request")).json(json!({ "email": email }))
}

fn exchange(host: &str, code: &str, link: &str) -> Req {
    Req::post(host, &format!("/views/{code}/viewer-access/exchange")).header("x-magic-token", link)
}

fn read(host: &str, path: &str, viewer: &str) -> Req {
    Req::get(host, path).header("x-magic-token", viewer)
}

async fn incident(t: &TestApp, host: &str, admin: &str, title: &str, item: &str, status: &str) -> i64 {
    let body = json!({"title": title, "status": status, "affected_items": [{"external_id": item}], "notify": false});
    let r = t.send(Req::post(host, "/api/v1/admin/incidents").bearer(admin).json(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.json["id"].as_i64().unwrap()
}

fn titles(list: &Value) -> Vec<String> {
    list.as_array().unwrap().iter().map(|i| i["title"].as_str().unwrap().to_string()).collect()
}

async fn a_reader_creates_a_view_and_shares_it_with_a_co_manager(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    crate::status_model::components(&t, &a).await;
    let owner = session_for(&t, &a.host, "owner@example.org").await;
    let v = create_view(
        &t,
        &a.host,
        &owner,
        json!({"name": "EU platform", "components": ["platform"], "alias": "team-eu", "description": "Ours"}),
    )
    .await;
    let (id, code) = (v["id"].as_i64().unwrap(), v["short_code"].as_str().unwrap().to_string());
    assert_eq!(code.len(), 10);
    assert_eq!(v["url"], format!("http://{}/v/{code}", a.host));
    assert_eq!((v["owner"].as_str(), v["access_mode"].as_str()), (Some("owner@example.org"), Some("public")));
    assert_eq!(v["managers"], json!([]));

    // Bad input is a precise 400 and creates nothing.
    let bad = |body: Value| manage(Method::POST, &a.host, "/api/v1/manage/views", &owner).json(body);
    let cases = [
        (json!({"name": "x", "components": ["web"], "colour": "red"}), "colour"),
        (json!({"name": "x", "components": ["web"], "alias": "admin"}), "alias"),
        (json!({"name": "x", "components": ["web"], "alias": "eu-billing"}), "alias"),
        (json!({"name": "x", "components": ["web"], "alias": "No Caps"}), "alias"),
        (json!({"name": "x", "components": []}), "components"),
        (json!({"name": "x", "components": ["nope"]}), "components[0]"),
        (json!({"components": ["web"]}), "name"),
        (json!({"name": "x", "components": ["web"], "access_mode": "everyone"}), "access_mode"),
        (json!({"name": "x", "components": ["web"], "access_mode": "allowed_domains"}), "allowed_domains"),
        (json!({"name": "x", "components": ["web"], "allowed_emails": ["nope"]}), "allowed_emails[0]"),
    ];
    for (body, field) in cases {
        let r = t.send(bad(body.clone())).await;
        assert_eq!((r.status, r.json["field"].as_str()), (StatusCode::BAD_REQUEST, Some(field)), "{body}: {}", r.text);
    }
    let r = t.send(bad(json!({"name": "Copy", "components": ["web"], "alias": "team-eu"}))).await;
    assert_eq!((r.status, r.json["code"].as_str()), (StatusCode::CONFLICT, Some("alias_taken")));
    assert_eq!(t.count("custom_views").await, 1);

    // The owner adds a co-manager, who may ask for a management link without subscribing.
    let path = format!("/api/v1/manage/views/{id}");
    let managers = format!("{path}/managers");
    let r = t.send(manage(Method::POST, &a.host, &managers, &owner).json(json!({"email": "Co@Example.org"}))).await;
    assert_eq!((r.status, r.json["managers"].clone()), (StatusCode::OK, json!(["co@example.org"])), "{}", r.text);
    let r = t.send(Req::post(&a.host, "/api/v1/subscribers/access").json(json!({"email": "co@example.org"}))).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let co = exchange_manage_link(&t, &a.host, "co@example.org").await;
    let r = t.send(manage(Method::GET, &a.host, "/api/v1/manage/views", &co)).await;
    assert_eq!(r.json["data"].as_array().unwrap().len(), 1, "{}", r.text);
    let r = t.send(manage(Method::PATCH, &a.host, &path, &co).json(json!({"name": "EU platform (renamed)"}))).await;
    assert_eq!((r.status, r.json["name"].as_str()), (StatusCode::OK, Some("EU platform (renamed)")), "{}", r.text);
    // Only the owner deletes the view or changes its managers.
    assert_eq!(t.send(manage(Method::DELETE, &a.host, &path, &co)).await.status, StatusCode::FORBIDDEN);
    let r = t.send(manage(Method::POST, &a.host, &managers, &co).json(json!({"email": "x@example.org"}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let owner_path = format!("{managers}/owner@example.org");
    assert_eq!(t.send(manage(Method::DELETE, &a.host, &owner_path, &co)).await.status, StatusCode::CONFLICT);
    assert_eq!(t.send(manage(Method::DELETE, &a.host, &owner_path, &owner)).await.status, StatusCode::CONFLICT);

    // Someone else's session does not see the view at all.
    let stranger = session_for(&t, &a.host, "stranger@example.org").await;
    for method in [Method::GET, Method::PATCH, Method::DELETE] {
        let req = manage(method.clone(), &a.host, &path, &stranger);
        let req = if method == Method::PATCH { req.json(json!({"name": "mine"})) } else { req };
        assert_eq!(t.send(req).await.status, StatusCode::NOT_FOUND, "{method}");
    }
    let r = t.send(manage(Method::POST, &a.host, &managers, &stranger).json(json!({"email": "s@example.org"}))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = t.send(manage(Method::GET, &a.host, "/api/v1/manage/views", &stranger)).await;
    assert_eq!(r.json["data"], json!([]));
    // Someone with no view and no subscription gets no management link.
    let before = mails(&t).await.len();
    t.send(Req::post(&a.host, "/api/v1/subscribers/access").json(json!({"email": "nobody@example.org"}))).await;
    assert_eq!(mails(&t).await.len(), before);

    // The owner removes the co-manager; the view is gone from their workspace.
    let co_path = format!("{managers}/co@example.org");
    assert_eq!(t.send(manage(Method::DELETE, &a.host, &co_path, &owner)).await.status, StatusCode::NO_CONTENT);
    assert_eq!(t.send(manage(Method::GET, &a.host, &path, &co)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.send(manage(Method::DELETE, &a.host, &co_path, &owner)).await.status, StatusCode::NOT_FOUND);
    // Clearing the alias, then deleting the view.
    let r = t.send(manage(Method::PATCH, &a.host, &path, &owner).json(json!({"alias": null}))).await;
    assert_eq!((r.status, r.json["alias"].clone()), (StatusCode::OK, Value::Null));
    assert_eq!(t.send(Req::get(&a.host, "/views/team-eu")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.send(Req::get(&a.host, &format!("/views/{code}"))).await.status, StatusCode::OK);
    assert_eq!(t.send(manage(Method::DELETE, &a.host, &path, &owner)).await.status, StatusCode::NO_CONTENT);
    assert_eq!(t.send(Req::get(&a.host, &format!("/views/{code}"))).await.status, StatusCode::NOT_FOUND);
    for action in ["view.created", "view.updated", "view.manager_added", "view.manager_removed", "view.deleted"] {
        assert!(t.audit_actions().await.iter().any(|a| a == action), "{action}");
    }
}
both!(a_reader_creates_a_view_and_shares_it_with_a_co_manager);

async fn view_data_is_scoped_to_the_selected_components(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let admin = crate::status_model::components(&t, &a).await;
    let r = t
        .send(Req::post(&a.host, "/api/v1/admin/hierarchy/items").bearer(&admin).json(json!({
            "name": "Legacy", "identifier": "legacy"
        })))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let owner = session_for(&t, &a.host, "owner@example.org").await;
    let v = create_view(
        &t,
        &a.host,
        &owner,
        json!({"name": "Team <Platform>", "components": ["platform", "legacy"], "alias": "platform-team"}),
    )
    .await;
    let code = v["short_code"].as_str().unwrap().to_string();
    incident(&t, &a.host, &admin, "Logins fail", "auth", "major_outage").await;
    incident(&t, &a.host, &admin, "Website slow", "web", "degraded").await;

    let r = t.send(Req::get(&a.host, &format!("/views/{code}/data"))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["status"]["key"], "major_outage");
    assert_eq!(titles(&r.json["active_incidents"]), vec!["Logins fail"], "the child's incident, not the website's");
    let roots: Vec<&str> =
        r.json["components"].as_array().unwrap().iter().map(|c| c["identifier"].as_str().unwrap()).collect();
    assert_eq!(roots, vec!["platform", "legacy"]);
    let kids: Vec<&str> = r.json["components"][0]["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["identifier"].as_str().unwrap())
        .collect();
    assert_eq!(kids, vec!["api-gateway", "auth"]);
    assert_eq!(r.json["component_count"], 4);
    assert_eq!(r.json["warnings"], json!([]));
    assert!(!r.text.contains("owner@example.org"), "no owner address in public data");
    assert!(r.header("cache-control").unwrap().starts_with("public"), "a public view of a public page is cacheable");
    let etag = r.header("etag").unwrap().to_string();
    let r = t.send(Req::get(&a.host, &format!("/views/{code}/data")).header("if-none-match", &etag)).await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    // Maintenance: a window on a selected component's child is listed, one on the website is not.
    for (title, item) in [("Gateway upgrade", "api-gateway"), ("Website move", "web")] {
        let body = json!({
            "title": title, "affected_items": [{"external_id": item}], "notify": false,
            "starts_at": rfc3339(T0 + DAY), "ends_at": rfc3339(T0 + DAY + 2 * HOUR), "time_zone": "UTC",
        });
        let r = t.send(Req::post(&a.host, "/api/v1/admin/maintenances").bearer(&admin).json(body)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    let r = t.send(Req::get(&a.host, &format!("/views/{code}/data"))).await;
    assert_eq!(titles(&r.json["maintenances"]["upcoming"]), vec!["Gateway upgrade"]);
    assert_eq!(r.json["maintenances"]["active"], json!([]));
    // The alias opens the same view; the definition shows no people.
    let r = t.send(Req::get(&a.host, "/views/platform-team")).await;
    assert_eq!((r.status, r.json["short_code"].as_str()), (StatusCode::OK, Some(code.as_str())));
    assert!(!r.text.contains("owner@example.org") && r.json.get("managers").is_none());
    // The same view under /status/<prefix>/.
    let r = t.send(Req::get(BASE, &format!("/status/acme/views/{code}/data"))).await;
    assert_eq!(r.status, StatusCode::OK);

    // A view of the website only: the platform incident is absent, the page-wide one present.
    let web = create_view(&t, &a.host, &owner, json!({"name": "Web", "components": ["web"]})).await;
    let web_code = web["short_code"].as_str().unwrap().to_string();
    let body = json!({"title": "Everything is down", "status": "partial_outage", "notify": false});
    let r = t.send(Req::post(&a.host, "/api/v1/admin/incidents").bearer(&admin).json(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = t.send(Req::get(&a.host, &format!("/views/{web_code}/data"))).await;
    assert_eq!(titles(&r.json["active_incidents"]), vec!["Everything is down", "Website slow"]);
    assert_eq!(r.json["status"]["key"], "partial_outage", "the page-wide incident outranks the website's");

    // Resolved incidents stay as recent ones; a deleted component becomes a warning.
    let auth_incident = incident(&t, &a.host, &admin, "Tokens expire early", "auth", "degraded").await;
    let r = t
        .send(
            Req::post(&a.host, &format!("/api/v1/admin/incidents/{auth_incident}/resolve"))
                .bearer(&admin)
                .json(json!({"resolution_message": "Fixed", "notify": false})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r =
        t.send(Req::new(Method::DELETE, &a.host, "/api/v1/admin/hierarchy/items/external/legacy").bearer(&admin)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = t.send(Req::get(&a.host, &format!("/views/{code}/data"))).await;
    assert_eq!(titles(&r.json["recent_incidents"]), vec!["Tokens expire early"]);
    assert_eq!(r.json["warnings"][0]["component"], "legacy");
    assert_eq!(r.json["warnings"][0]["problem"], "deleted");
    let r = t.send(Req::get(&a.host, "/api/v1/admin/views/stats").bearer(&admin)).await;
    assert_eq!(r.json["with_deleted_components"], 1, "{}", r.text);

    // The page for people: server-rendered, escaped, no inline script.
    let r = t.send(Req::get(&a.host, &format!("/v/{code}"))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains("Team &lt;Platform&gt;") && !r.text.contains("Team <Platform>"), "{}", r.text);
    assert!(r.text.contains("Logins fail") && !r.text.contains("Website slow"));
    assert!(r.text.contains("legacy") && !r.text.contains("<script"));
    assert!(r.header("content-security-policy").unwrap().contains("script-src 'self'"));
    assert_eq!(t.send(Req::get(&a.host, "/v/NoSuchCode1")).await.status, StatusCode::NOT_FOUND);
}
both!(view_data_is_scoped_to_the_selected_components);

async fn a_protected_view_opens_with_an_emailed_link_once(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let b = t.tenant("bravo").await;
    crate::status_model::components(&t, &a).await;
    let owner = session_for(&t, &a.host, "owner@corp.example").await;
    let v = create_view(
        &t,
        &a.host,
        &owner,
        json!({"name": "Corp", "components": ["platform"], "access_mode": "allowed_domains",
               "allowed_domains": ["Corp.Example"]}),
    )
    .await;
    assert_eq!(v["allowed_domains"], json!(["corp.example"]));
    let code = v["short_code"].as_str().unwrap().to_string();
    let other = create_view(
        &t,
        &a.host,
        &owner,
        json!({"name": "Other", "components": ["web"], "access_mode": "verified_email"}),
    )
    .await;
    let other_code = other["short_code"].as_str().unwrap().to_string();

    // Without a viewer token: 401, saying how to get access.
    for path in [format!("/views/{code}"), format!("/views/{code}/data")] {
        let r = t.send(Req::get(&a.host, &path)).await;
        assert_eq!((r.status, r.json["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("view_access_required")));
        assert!(r.json["error"].as_str().unwrap().contains("viewer-access/request"));
        assert!(!r.text.contains("Corp"));
    }
    let r = t.send(Req::get(&a.host, &format!("/views/{code}/viewer-access/status"))).await;
    assert_eq!((r.status, r.json["granted"].clone()), (StatusCode::OK, json!(false)));

    // Asking: the same 202 for an allowed and a refused domain; only the allowed one gets mail.
    let before = mails(&t).await.len();
    let allowed = t.send(ask(&a.host, &code, "ann@corp.example")).await;
    let refused = t.send(ask(&a.host, &code, "eve@evil.example")).await;
    assert_eq!(allowed.status, StatusCode::ACCEPTED);
    assert_eq!((allowed.status, &allowed.text), (refused.status, &refused.text));
    let after = mails(&t).await;
    assert_eq!(after.len(), before + 1);
    assert!(after.iter().all(|(to, _)| to != "eve@evil.example"));
    let r = t.send(ask(&a.host, &code, "not an address")).await;
    assert_eq!((r.status, r.json["field"].as_str()), (StatusCode::BAD_REQUEST, Some("email")));
    let link = view_link(&t, "ann@corp.example", &a.host, &code).await;

    // A mail scanner opening the page changes nothing; the page tells nothing before access; the
    // link is not a manage link.
    let page = t.send(Req::get(&a.host, &format!("/v/{code}"))).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert!(page.text.contains("<script src=\"/static/view.js\"></script>") && !page.text.contains("Corp"));
    let script = t.send(Req::get(&a.host, "/static/view.js")).await;
    assert!(script.text.contains("history.replaceState") && script.text.contains("X-Magic-Token"));
    let r = t.send(Req::post(&a.host, "/api/v1/manage/session").header("x-magic-token", &link)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "a view link does not open the manage workspace");
    assert_eq!(t.send(exchange(&a.host, &other_code, &link)).await.status, StatusCode::UNAUTHORIZED, "view A's link");
    // Exchange once.
    let r = t.send(exchange(&a.host, &code, &link)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let viewer = r.json["token"].as_str().unwrap().to_string();
    assert!(viewer.starts_with("sbx_"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(t.send(exchange(&a.host, &code, &link)).await.status, StatusCode::UNAUTHORIZED, "single use");

    // The viewer token opens this view, and nothing else.
    let r = t.send(read(&a.host, &format!("/views/{code}/data"), &viewer)).await;
    assert_eq!((r.status, r.json["view"]["name"].as_str()), (StatusCode::OK, Some("Corp")), "{}", r.text);
    assert_eq!(r.header("cache-control"), Some("private, no-store"));
    assert_eq!(t.send(read(&a.host, &format!("/views/{code}"), &viewer)).await.status, StatusCode::OK);
    let r = t.send(read(&a.host, &format!("/views/{code}/viewer-access/status"), &viewer)).await;
    assert_eq!(r.json["granted"], true);
    let r = t.send(read(&a.host, &format!("/views/{other_code}/data"), &viewer)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "view B");
    let r = t.send(read(&b.host, &format!("/views/{code}/data"), &viewer)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "another page has no such view");
    let r = t.send(read(&a.host, "/api/v1/manage/views", &viewer)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "a viewer token is no manage session");
    let r = t.send(read(&a.host, &format!("/views/{code}/data"), &owner)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "a manage session is no viewer token");
    let r = t.send(Req::get(&a.host, &format!("/views/{code}/data?magic_token={viewer}"))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "never in a query string");

    // Links expire after 30 minutes, viewer tokens after a day.
    t.send(ask(&a.host, &code, "bob@corp.example")).await;
    let late = view_link(&t, "bob@corp.example", &a.host, &code).await;
    t.clock.advance(31 * MINUTE);
    assert_eq!(t.send(exchange(&a.host, &code, &late)).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(t.send(read(&a.host, &format!("/views/{code}/data"), &viewer)).await.status, StatusCode::OK);
    t.clock.advance(DAY);
    let r = t.send(read(&a.host, &format!("/views/{code}/data"), &viewer)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "expired");

    // Changing who may open the view ends every viewer token.
    t.send(ask(&a.host, &code, "ann@corp.example")).await;
    let link = view_link(&t, "ann@corp.example", &a.host, &code).await;
    let viewer = t.send(exchange(&a.host, &code, &link)).await.json["token"].as_str().unwrap().to_string();
    assert_eq!(t.send(read(&a.host, &format!("/views/{code}"), &viewer)).await.status, StatusCode::OK);
    let owner = session_for(&t, &a.host, "owner@corp.example").await;
    let r = t
        .send(
            manage(Method::PATCH, &a.host, &format!("/api/v1/manage/views/{}", v["id"]), &owner)
                .json(json!({"access_mode": "allowed_emails", "allowed_emails": ["ann@corp.example"]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(t.send(read(&a.host, &format!("/views/{code}"), &viewer)).await.status, StatusCode::UNAUTHORIZED);
    let before = mails(&t).await.len();
    t.send(ask(&a.host, &code, "bob@corp.example")).await;
    assert_eq!(mails(&t).await.len(), before, "the domain no longer suffices");
    t.send(ask(&a.host, &code, "ann@corp.example")).await;
    assert_eq!(mails(&t).await.len(), before + 1);
    t.wait_for_audit("auth.failed").await;
}
both!(a_protected_view_opens_with_an_emailed_link_once);

async fn views_of_a_private_page_need_the_page_gate_too(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let (host, cookie, page_id) = t.private_staff_page(&a).await;
    let token = t
        .token(
            statibeat::service::credentials::tokens::TokenScope::Page { org_id: a.org_id, page_id },
            "admin",
            "page_admin",
            None,
        )
        .await;
    for (path, body) in [
        ("/api/v1/admin/hierarchy/levels", json!({"depth": 1, "singular": "Service", "plural": "Services"})),
        ("/api/v1/admin/hierarchy/items", json!({"name": "Core", "identifier": "core"})),
    ] {
        let r = t.send(Req::post(&host, path).bearer(&token).json(body)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    let r = t
        .send(Req::post(&host, "/api/v1/subscribers").header("cookie", &cookie).json(json!({"email": "o@example.org"})))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let owner = exchange_manage_link(&t, &host, "o@example.org").await;
    let v = create_view(&t, &host, &owner, json!({"name": "Core", "components": ["core"]})).await;
    let code = v["short_code"].as_str().unwrap();
    let r = t.send(Req::get(&host, &format!("/views/{code}"))).await;
    assert_eq!((r.status, r.json["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("viewer_access_required")));
    assert_eq!(t.send(Req::get(&host, &format!("/v/{code}"))).await.status, StatusCode::UNAUTHORIZED);
    let r = t.send(Req::get(&host, &format!("/views/{code}/data")).header("cookie", &cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.header("cache-control"), Some("private, no-store"));
}
both!(views_of_a_private_page_need_the_page_gate_too);

async fn page_admins_list_count_and_delete_views(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let b = t.tenant("bravo").await;
    crate::status_model::components(&t, &a).await;
    crate::status_model::components(&t, &b).await;
    let owner = session_for(&t, &a.host, "owner@example.org").await;
    let mut ids = Vec::new();
    for (name, mode) in [("One", "public"), ("Two", "verified_email"), ("Three", "public")] {
        let v =
            create_view(&t, &a.host, &owner, json!({"name": name, "components": ["web"], "access_mode": mode})).await;
        ids.push(v["id"].as_i64().unwrap());
    }
    let b_owner = session_for(&t, &b.host, "owner@example.org").await;
    let b_view = create_view(&t, &b.host, &b_owner, json!({"name": "Bravo", "components": ["web"]})).await;

    let manager = t.page_token(&a, "write", "page_manager").await;
    let reader = t.page_token(&a, "read", "page_admin").await;
    let r = t.send(Req::get(&a.host, "/api/v1/admin/views?limit=2").bearer(&manager)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["data"].as_array().unwrap().len(), 2);
    assert!(r.json["data"][0].get("owner").is_none(), "compact by default");
    assert_eq!(r.json["data"][0]["name"], "Three", "newest first");
    let next = r.json["next_cursor"].as_str().unwrap().to_string();
    let r = t.send(Req::get(&a.host, &format!("/api/v1/admin/views?view=full&cursor={next}")).bearer(&manager)).await;
    assert_eq!(r.json["data"].as_array().unwrap().len(), 1);
    assert_eq!(
        (r.json["data"][0]["name"].as_str(), r.json["data"][0]["owner"].as_str()),
        (Some("One"), Some("owner@example.org"))
    );
    assert_eq!(r.json["next_cursor"], Value::Null);
    let r = t.send(Req::get(&a.host, "/api/v1/admin/views?access_mode=verified_email").bearer(&manager)).await;
    assert_eq!(titles_of(&r.json), vec!["Two"]);
    let r = t.send(Req::get(&a.host, "/api/v1/admin/views?access_mode=nope").bearer(&manager)).await;
    assert_eq!((r.status, r.json["field"].as_str()), (StatusCode::BAD_REQUEST, Some("access_mode")));
    let r = t.send(Req::get(&a.host, "/api/v1/admin/views/stats").bearer(&manager)).await;
    assert_eq!(r.json["total"], 3);
    assert_eq!(
        r.json["by_access_mode"],
        json!({"allowed_domains": 0, "allowed_emails": 0, "public": 2, "verified_email": 1})
    );
    // Views name people: a read token may not list them.
    for path in ["/api/v1/admin/views", "/api/v1/admin/views/stats", &format!("/api/v1/admin/views/{}", ids[0])] {
        assert_eq!(t.send(Req::get(&a.host, path).bearer(&reader)).await.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(t.send(Req::get(&a.host, path)).await.status, StatusCode::UNAUTHORIZED, "{path}");
    }
    // Another page's view does not exist here, for admins and readers alike.
    let b_id = b_view["id"].as_i64().unwrap();
    let b_code = b_view["short_code"].as_str().unwrap();
    let r = t.send(Req::get(&a.host, &format!("/api/v1/admin/views/{b_id}")).bearer(&manager)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = t.send(Req::new(Method::DELETE, &a.host, &format!("/api/v1/admin/views/{b_id}")).bearer(&manager)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(t.send(Req::get(&a.host, &format!("/views/{b_code}"))).await.status, StatusCode::NOT_FOUND);
    let r = t.send(manage(Method::GET, &a.host, &format!("/api/v1/manage/views/{b_id}"), &owner)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "same address, other page");
    let r = t.send(manage(Method::GET, &b.host, &format!("/api/v1/manage/views/{b_id}"), &owner)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "a session of page A on page B's host");

    // Delete: gone for everyone; the audit entry names the view, not its people.
    let r = t.send(Req::get(&a.host, &format!("/api/v1/admin/views/{}", ids[1])).bearer(&manager)).await;
    assert_eq!((r.status, r.json["managers"].clone()), (StatusCode::OK, json!([])));
    let code = r.json["short_code"].as_str().unwrap().to_string();
    let del = Req::new(Method::DELETE, &a.host, &format!("/api/v1/admin/views/{}", ids[1]));
    assert_eq!(t.send(del.bearer(&reader)).await.status, StatusCode::FORBIDDEN);
    let del = Req::new(Method::DELETE, &a.host, &format!("/api/v1/admin/views/{}", ids[1]));
    assert_eq!(t.send(del.bearer(&manager)).await.status, StatusCode::NO_CONTENT);
    assert_eq!(
        t.send(Req::get(&a.host, &format!("/views/{code}/viewer-access/status"))).await.status,
        StatusCode::NOT_FOUND
    );
    let r = t.send(manage(Method::GET, &a.host, "/api/v1/manage/views", &owner)).await;
    assert_eq!(r.json["data"].as_array().unwrap().len(), 2);
    use sqlx::Row;
    let detail: String = sqlx::query("SELECT detail FROM audit_log WHERE action = 'view.deleted'")
        .fetch_one(&t.app.db.pool)
        .await
        .unwrap()
        .get(0);
    assert!(detail.contains(&code) && !detail.contains("owner@example.org"), "{detail}");
}
both!(page_admins_list_count_and_delete_views);

fn titles_of(list: &Value) -> Vec<String> {
    list["data"].as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap().to_string()).collect()
}

/// Every credential kind on the manage and public view routes.
async fn view_routes_answer_every_credential_kind(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let b = t.tenant("bravo").await;
    crate::status_model::components(&t, &a).await;
    crate::status_model::components(&t, &b).await;
    let api = t.page_token(&a, "admin", "page_admin").await;
    let other_session = session_for(&t, &b.host, "other@example.org").await;
    let owner = session_for(&t, &a.host, "owner@example.org").await;
    let v = create_view(&t, &a.host, &owner, json!({"name": "V", "components": ["web"]})).await;
    let id = v["id"].as_i64().unwrap();
    let code = v["short_code"].as_str().unwrap().to_string();
    t.send(Req::post(&a.host, "/api/v1/subscribers").json(json!({"email": "owner@example.org"}))).await;
    let link = crate::subscribers::link_token(&t, "owner@example.org", &a.host).await;
    let routes: Vec<(Method, String, Option<Value>, u16)> = vec![
        (Method::GET, "/api/v1/manage/views".into(), None, 200),
        (Method::POST, "/api/v1/manage/views".into(), Some(json!({"name": "W", "components": ["web"]})), 201),
        (Method::GET, format!("/api/v1/manage/views/{id}"), None, 200),
        (Method::PATCH, format!("/api/v1/manage/views/{id}"), Some(json!({"description": "d"})), 200),
        (Method::POST, format!("/api/v1/manage/views/{id}/managers"), Some(json!({"email": "m@example.org"})), 200),
        (Method::DELETE, format!("/api/v1/manage/views/{id}/managers/m@example.org"), None, 204),
    ];
    for (method, path, body, ok) in routes {
        let cases: Vec<(&str, Req, u16)> = vec![
            ("none", Req::new(method.clone(), &a.host, &path), 401),
            ("malformed", manage(method.clone(), &a.host, &path, "sbx_nope"), 401),
            ("api token as magic", manage(method.clone(), &a.host, &path, &api), 401),
            ("link token as session", manage(method.clone(), &a.host, &path, &link), 401),
            ("other page's session", manage(method.clone(), &a.host, &path, &other_session), 401),
            ("bearer only", Req::new(method.clone(), &a.host, &path).bearer(&api), 401),
            ("session cookie only", Req::new(method.clone(), &a.host, &path).header("cookie", &a.admin_cookie), 401),
            ("in the query", Req::new(method.clone(), &a.host, &format!("{path}?x={owner}")), 400),
            ("its own session", manage(method.clone(), &a.host, &path, &owner), ok),
        ];
        for (what, req, want) in cases {
            let req = match &body {
                Some(b) => req.json(b.clone()),
                None => req,
            };
            let r = t.send(req).await;
            assert_eq!(r.status.as_u16(), want, "{method} {path} with {what}: {}", r.text);
        }
    }
    let path = format!("/api/v1/manage/views/{id}");
    assert_eq!(t.send(manage(Method::DELETE, &a.host, &path, &api)).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(t.send(manage(Method::DELETE, &a.host, &path, &owner)).await.status, StatusCode::NO_CONTENT);

    // Public routes of a public view ignore credentials, refuse them in the query, and reject a
    // token of the wrong kind presented as a viewer token.
    let v = create_view(&t, &a.host, &owner, json!({"name": "V2", "components": ["web"]})).await;
    let code2 = v["short_code"].as_str().unwrap().to_string();
    let _ = code;
    for path in
        [format!("/views/{code2}"), format!("/views/{code2}/data"), format!("/v/{code2}"), "/static/view.js".into()]
    {
        assert_eq!(t.send(Req::get(&a.host, &path).bearer(&api)).await.status, StatusCode::OK, "{path}");
        assert_eq!(t.send(Req::get(&a.host, &path).session(&a.admin_cookie)).await.status, StatusCode::OK, "{path}");
        assert_eq!(t.send(Req::get(&a.host, &format!("{path}?token=x"))).await.status, StatusCode::BAD_REQUEST);
    }
    let r = t.send(read(&a.host, &format!("/views/{code2}/data"), &api)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "an API token is no viewer token");
    let r = t.send(read(&a.host, &format!("/views/{code2}/viewer-access/status"), &api)).await;
    assert_eq!((r.status, r.json["granted"].clone()), (StatusCode::OK, json!(false)));
    let r = t.send(Req::get(&a.host, &format!("/views/{code2}/viewer-access/status"))).await;
    assert_eq!(r.json["granted"], true, "a public view needs nothing");
    let r = t.send(ask(&a.host, &code2, "x@example.org").bearer(&api)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    for token in ["", "sbm_nope", api.as_str(), owner.as_str()] {
        let r = t.send(exchange(&a.host, &code2, token)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "exchange with {token:?}");
    }
    assert_eq!(
        t.send(Req::post(&a.host, &format!("/views/{code2}/viewer-access/exchange"))).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(t.send(Req::get(&b.host, &format!("/views/{code2}"))).await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.send(Req::get(ADMIN, &format!("/views/{code2}"))).await.status, StatusCode::NOT_FOUND);
}
both!(view_routes_answer_every_credential_kind);

async fn viewer_access_requests_and_exchanges_are_rate_limited(engine: Engine) {
    use statibeat::config::RateLimits;
    let t = TestApp::with(engine, |c| c.rate_limits = RateLimits { subscribe: 3, magic: 10, ..c.rate_limits }).await;
    let a = t.tenant("acme").await;
    crate::status_model::components(&t, &a).await;
    let owner = session_for(&t, &a.host, "owner@example.org").await;
    let v =
        create_view(&t, &a.host, &owner, json!({"name": "V", "components": ["web"], "access_mode": "verified_email"}))
            .await;
    let code = v["short_code"].as_str().unwrap().to_string();
    for _ in 0..2 {
        let r = t.send(ask(&a.host, &code, "ann@example.org")).await;
        assert_eq!((r.status, r.header("x-ratelimit-tier")), (StatusCode::ACCEPTED, Some("subscribe")));
    }
    let r = t.send(ask(&a.host, &code, "ann@example.org")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "the subscribe tier: 10 a minute by default");
    let link = view_link(&t, "ann@example.org", &a.host, &code).await;
    let r = t.send(exchange(&a.host, &code, &link)).await;
    assert_eq!((r.status, r.header("x-ratelimit-tier")), (StatusCode::OK, Some("magic")));
}
both!(viewer_access_requests_and_exchanges_are_rate_limited);
