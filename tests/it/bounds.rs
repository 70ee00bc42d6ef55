//! Bounded work per request (issue 8, finding 3; decision 0011): every collection a page can grow
//! has a cap that refuses the next row with 400 `limit_reached` and writes nothing, and every list
//! answers at most `limit` rows with a cursor that walks the rest exactly once.

use crate::both;
use crate::harness::*;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use statibeat::clock::HOUR;
use std::collections::HashSet;

/// Inserts `n` top-level components `seed-1`..`seed-n` straight into the store (creating 1,000
/// over HTTP would make the test slow); the page must already have level 1.
async fn seed_components(t: &TestApp, page_id: i64, n: i64) {
    let sql = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n}) \
         INSERT INTO hierarchy_items (page_id, depth, parent_id, identifier, name, abbreviation, description, \
         display_order, metadata, visible, created_at, updated_at) \
         SELECT {page_id}, 1, NULL, 'seed-' || i, 'Seed ' || i, '', '', i, '{{}}', 1, {T0}, {T0} FROM n"
    );
    sqlx::query(&sql).execute(&t.app.db.pool).await.unwrap();
}

/// Inserts `n` views of the page owned by `owner` (or by `owner-<i>@<owner>` when `spread`);
/// `tag` keeps the short codes of several calls apart.
async fn seed_views(t: &TestApp, page_id: i64, n: i64, owner: &str, spread: bool, tag: &str) {
    let owner_sql = if spread { format!("'owner-' || i || '@{owner}'") } else { format!("'{owner}'") };
    let sql = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n}) \
         INSERT INTO custom_views (page_id, short_code, alias, name, description, access_mode, allowed_domains, \
         allowed_emails, owner_email, created_at, updated_at) \
         SELECT {page_id}, '{tag}' || i, NULL, 'View ' || i, '', 'public', '[]', '[]', {owner_sql}, {T0}, {T0} FROM n"
    );
    sqlx::query(&sql).execute(&t.app.db.pool).await.unwrap();
}

/// Inserts `n` feeds of the page, like [`seed_views`].
async fn seed_feeds(t: &TestApp, page_id: i64, n: i64, owner: &str, spread: bool, tag: &str) {
    let owner_sql = if spread { format!("'owner-' || i || '@{owner}'") } else { format!("'{owner}'") };
    let sql = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n}) \
         INSERT INTO reader_feeds (page_id, name, short_code, capability_hash, owner_email, all_components, incidents, \
         maintenances, max_items, max_age_days, format, cache_version, fetch_count, last_fetched_at, created_at, updated_at) \
         SELECT {page_id}, 'Feed ' || i, '{tag}' || i, NULL, {owner_sql}, 1, 1, 1, 50, NULL, 'atom', 0, 0, NULL, {T0}, {T0} FROM n"
    );
    sqlx::query(&sql).execute(&t.app.db.pool).await.unwrap();
}

async fn level_one(t: &TestApp, a: &Tenant, admin: &str) {
    let r = t
        .send(
            Req::post(&a.host, "/api/v1/admin/hierarchy/levels")
                .bearer(admin)
                .json(json!({"depth": 1, "singular": "Service", "plural": "Services"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}

async fn create_component(t: &TestApp, a: &Tenant, admin: &str, body: Value) -> Resp {
    t.send(Req::post(&a.host, "/api/v1/admin/hierarchy/items").bearer(admin).json(body)).await
}

fn assert_limit_reached(r: &Resp, field: Option<&str>) {
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.json["code"], "limit_reached", "{}", r.text);
    assert!(r.json["error"].as_str().is_some_and(|e| !e.is_empty()), "{}", r.text);
    match field {
        Some(f) => assert_eq!(r.json["field"], f, "{}", r.text),
        None => assert!(r.json.get("field").is_none_or(Value::is_null), "{}", r.text),
    }
}

/// Follows `next_cursor` from `path` (which carries `limit`), returning every page's `data`.
async fn walk(t: &TestApp, req: impl Fn(&str) -> Req, path: &str, limit: usize) -> Vec<Vec<Value>> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let p = match &cursor {
            Some(c) => format!("{path}&cursor={c}"),
            None => path.to_string(),
        };
        let r = t.send(req(&p)).await;
        assert_eq!(r.status, StatusCode::OK, "{p}: {}", r.text);
        let data = r.json["data"].as_array().unwrap().clone();
        assert!(data.len() <= limit, "{p} answered {} rows", data.len());
        pages.push(data);
        match r.json["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return pages,
        }
        assert!(pages.len() < 1000, "the cursor never ends");
    }
}

fn identifiers(pages: &[Vec<Value>]) -> Vec<String> {
    pages.iter().flatten().map(|v| v["identifier"].as_str().unwrap().to_string()).collect()
}

fn assert_each_once(seen: &[String], expected: &HashSet<String>) {
    let unique: HashSet<String> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "a row came twice: {seen:?}");
    assert_eq!(&unique, expected);
}

async fn a_page_refuses_its_1001st_component_and_writes_nothing(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let admin = t.page_token(&a, "admin", "page_admin").await;
    level_one(&t, &a, &admin).await;
    seed_components(&t, a.page_id, 999).await;
    let r = create_component(&t, &a, &admin, json!({"name": "The thousandth", "identifier": "last"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "the 1,000th component fits: {}", r.text);
    let r = create_component(&t, &a, &admin, json!({"name": "One too many", "identifier": "too-many"})).await;
    assert_limit_reached(&r, None);
    assert!(r.json["error"].as_str().unwrap().contains("1000"), "the message names the cap: {}", r.text);
    assert_eq!(t.count("hierarchy_items").await, 1000);
    // Another page of the same deployment is not affected.
    let b = t.tenant("bravo").await;
    let admin_b = t.page_token(&b, "admin", "page_admin").await;
    level_one(&t, &b, &admin_b).await;
    let r = create_component(&t, &b, &admin_b, json!({"name": "Fine", "identifier": "fine"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}
both!(a_page_refuses_its_1001st_component_and_writes_nothing);

async fn concurrent_creates_never_overshoot_the_component_cap(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let admin = t.page_token(&a, "admin", "page_admin").await;
    level_one(&t, &a, &admin).await;
    seed_components(&t, a.page_id, 995).await;
    let t = std::sync::Arc::new(t);
    let mut racers = tokio::task::JoinSet::new();
    for i in 0..12 {
        let req = Req::post(&a.host, "/api/v1/admin/hierarchy/items")
            .bearer(&admin)
            .json(json!({"name": format!("Racer {i}"), "identifier": format!("racer-{i}")}));
        let t = t.clone();
        racers.spawn(async move { t.send(req).await });
    }
    let answers: Vec<Resp> = racers.join_all().await;
    let created = answers.iter().filter(|r| r.status == StatusCode::CREATED).count();
    for r in answers.iter().filter(|r| r.status != StatusCode::CREATED) {
        assert_limit_reached(r, None);
    }
    assert_eq!(created, 5, "exactly the room left is used");
    assert_eq!(t.count("hierarchy_items").await, 1000);
}
both!(concurrent_creates_never_overshoot_the_component_cap);

async fn limit_5_walks_components_and_hierarchy_items_once(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let admin = t.page_token(&a, "admin", "page_admin").await;
    level_one(&t, &a, &admin).await;
    seed_components(&t, a.page_id, 60).await;
    let r = create_component(&t, &a, &admin, json!({"name": "Hidden", "identifier": "hidden", "visible": false})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let visible: HashSet<String> = (1..=60).map(|i| format!("seed-{i}")).collect();
    let mut all = visible.clone();
    all.insert("hidden".into());

    // The known offenders: `limit=5` answers 5 rows and a cursor that walks every row once.
    let r = t.send(Req::get(&a.host, "/api/v1/components?view=full&limit=5")).await;
    assert_eq!(r.json["data"].as_array().unwrap().len(), 5, "{}", r.text);
    assert!(r.json["next_cursor"].is_string(), "{}", r.text);
    let public = walk(&t, |p| Req::get(&a.host, p), "/api/v1/components?view=full&limit=5", 5).await;
    assert_eq!(public.len(), 12);
    assert_each_once(&identifiers(&public), &visible);
    let tree = walk(&t, |p| Req::get(&a.host, p), "/api/v1/components?limit=5", 5).await;
    assert_each_once(&identifiers(&tree), &visible);
    let path = "/api/v1/admin/hierarchy/items?limit=5";
    let admin_pages = walk(&t, |p| Req::get(&a.host, p).bearer(&admin), path, 5).await;
    assert_eq!(admin_pages[0].len(), 5);
    assert_each_once(&identifiers(&admin_pages), &all);

    // Without `limit`: 50 and a cursor; past 200: a 400 naming the field.
    let r = t.send(Req::get(&a.host, "/api/v1/components?view=full")).await;
    assert_eq!(r.json["data"].as_array().unwrap().len(), 50);
    assert!(r.json["next_cursor"].is_string());
    let r = t.send(Req::get(&a.host, "/api/v1/admin/hierarchy/items").bearer(&admin)).await;
    assert_eq!(r.json["data"].as_array().unwrap().len(), 50);
    let r = t.send(Req::get(&a.host, "/api/v1/components?limit=201")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.json["field"], "limit");

    // The short vocabulary lists honour `limit` too.
    let statuses = walk(&t, |p| Req::get(&a.host, p).bearer(&admin), "/api/v1/admin/statuses?limit=2", 2).await;
    let keys: Vec<&str> = statuses.iter().flatten().map(|s| s["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["operational", "degraded", "partial_outage", "major_outage", "maintenance"]);
    let stages =
        walk(&t, |p| Req::get(&a.host, p).bearer(&admin), "/api/v1/admin/lifecycles/incident?limit=3", 3).await;
    assert_eq!(stages.iter().flatten().count(), 4);
    let levels = walk(&t, |p| Req::get(&a.host, p).bearer(&admin), "/api/v1/admin/hierarchy/levels?limit=1", 1).await;
    assert_eq!(levels.iter().flatten().count(), 1);
}
both!(limit_5_walks_components_and_hierarchy_items_once);

async fn uptime_pages_walk_every_component_and_cap_days_at_90(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let admin = t.page_token(&a, "admin", "page_admin").await;
    level_one(&t, &a, &admin).await;
    let r = t
        .send(
            Req::post(&a.host, "/api/v1/admin/hierarchy/levels")
                .bearer(&admin)
                .json(json!({"depth": 2, "singular": "Part", "plural": "Parts"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // The parent comes first in id order, its child last: they land on different pages.
    let r = create_component(&t, &a, &admin, json!({"name": "Platform", "identifier": "platform"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    seed_components(&t, a.page_id, 5).await;
    let r = create_component(
        &t,
        &a,
        &admin,
        json!({"name": "Database", "identifier": "database", "parent": {"external_id": "platform"}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = t
        .send(Req::post(&a.host, "/api/v1/admin/incidents").bearer(&admin).json(json!({
            "title": "Database down", "status": "major_outage", "affected_items": [{"external_id": "database"}],
        })))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    t.clock.advance(6 * HOUR);

    let pages = walk(&t, |p| Req::get(&a.host, p), "/api/v1/uptime?days=3&limit=3", 3).await;
    assert_eq!(pages.len(), 3);
    let mut expected: HashSet<String> = (1..=5).map(|i| format!("seed-{i}")).collect();
    expected.extend(["platform".to_string(), "database".to_string()]);
    assert_each_once(&identifiers(&pages), &expected);
    let by_id = |id: &str| pages.iter().flatten().find(|c| c["identifier"] == id).unwrap().clone();
    for c in pages.iter().flatten() {
        assert_eq!(c["days"].as_array().unwrap().len(), 3, "{c}");
    }
    // Today so far is 18 h, the last 6 of them down (12:00 → 18:00); a parent counts its child's
    // downtime even when the child is on another page of the answer.
    let today = |c: &Value| c["days"][2]["uptime"].as_f64().unwrap();
    assert_eq!(today(&by_id("database")), 66.667);
    assert_eq!(today(&by_id("platform")), today(&by_id("database")));
    assert_eq!(today(&by_id("seed-1")), 100.0);

    // `days`: the 90 bars a page shows; more is refused with the field named.
    let r = t.send(Req::get(&a.host, "/api/v1/uptime?days=90&limit=1")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["days"], 90);
    assert_eq!(r.json["data"][0]["days"].as_array().unwrap().len(), 90);
    let r = t.send(Req::get(&a.host, "/api/v1/uptime")).await;
    assert_eq!(r.json["days"], 90, "90 by default");
    for days in ["91", "365"] {
        let r = t.send(Req::get(&a.host, &format!("/api/v1/uptime?days={days}"))).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
        assert_eq!(r.json["field"], "days", "{}", r.text);
    }
}
both!(uptime_pages_walk_every_component_and_cap_days_at_90);

async fn vocabulary_caps_refuse_past_their_number(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let admin = t.page_token(&a, "admin", "page_admin").await;
    let r = t
        .send(
            Req::post(&a.host, "/api/v1/admin/hierarchy/levels")
                .bearer(&admin)
                .json(json!({"depth": 11, "singular": "Deep", "plural": "Deeps"})),
        )
        .await;
    assert_limit_reached(&r, Some("depth"));
    assert_eq!(t.count("hierarchy_levels").await, 0);

    let before = t.count("status_definitions").await;
    let statuses: Vec<Value> = (0..21)
        .map(|i| json!({"key": format!("s{i}"), "name": format!("S {i}"), "color": "#123456", "downtime_weight": if i == 0 { 0.0 } else { 0.5 }}))
        .collect();
    let r = t
        .send(
            Req::new(Method::PUT, &a.host, "/api/v1/admin/statuses").bearer(&admin).json(json!({"statuses": statuses})),
        )
        .await;
    assert_limit_reached(&r, Some("statuses"));
    assert_eq!(t.count("status_definitions").await, before);

    let before = t.count("lifecycle_stages").await;
    let stages: Vec<Value> = (0..21).map(|i| json!({"key": format!("st{i}"), "name": format!("Stage {i}")})).collect();
    let r = t
        .send(
            Req::new(Method::PUT, &a.host, "/api/v1/admin/lifecycles/incident")
                .bearer(&admin)
                .json(json!({"stages": stages})),
        )
        .await;
    assert_limit_reached(&r, Some("stages"));
    assert_eq!(t.count("lifecycle_stages").await, before);
}
both!(vocabulary_caps_refuse_past_their_number);

async fn affected_items_and_import_rows_are_capped(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let admin = t.page_token(&a, "admin", "page_admin").await;
    level_one(&t, &a, &admin).await;
    seed_components(&t, a.page_id, 501).await;
    let affected: Vec<Value> = (1..=501).map(|i| json!({"external_id": format!("seed-{i}")})).collect();
    let r = t
        .send(Req::post(&a.host, "/api/v1/admin/incidents").bearer(&admin).json(json!({
            "title": "Everything", "status": "major_outage", "affected_items": affected,
        })))
        .await;
    assert_limit_reached(&r, Some("affected_items"));
    assert_eq!(t.count("incidents").await, 0);
    let refs: Vec<Value> = (1..=501).map(|i| json!({"external_id": format!("seed-{i}")})).collect();
    let r = t
        .send(Req::post(&a.host, "/api/v1/admin/maintenances").bearer(&admin).json(json!({
            "title": "Everything", "starts_at": "2026-12-01T10:00:00Z", "ends_at": "2026-12-01T11:00:00Z",
            "affected_items": refs,
        })))
        .await;
    assert_limit_reached(&r, Some("affected_items"));
    assert_eq!(t.count("maintenances").await, 0);

    let mut csv = String::from("email,state,hygiene,incidents,maintenances,components,created_at,confirmed_at\n");
    for i in 0..5001 {
        csv.push_str(&format!("r{i}@example.com,,,,,,,\n"));
    }
    let r = t
        .send(
            Req::post(&a.host, "/api/v1/admin/subscribers/import")
                .bearer(&admin)
                .json(json!({"csv": csv, "consent": "attested"})),
        )
        .await;
    assert_limit_reached(&r, Some("csv"));
    assert_eq!(t.count("subscribers").await, 0);
}
both!(affected_items_and_import_rows_are_capped);

/// A confirmed subscriber's magic session on the tenant's page.
async fn magic_session(t: &TestApp, host: &str, email: &str) -> String {
    let r = t.send(Req::post(host, "/api/v1/subscribers").json(json!({ "email": email }))).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let link = crate::subscribers::link_token(t, email, host).await;
    let r = t.send(Req::post(host, "/api/v1/manage/session").header("x-magic-token", &link)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json["token"].as_str().unwrap().to_string()
}

fn manage(method: Method, host: &str, path: &str, session: &str) -> Req {
    Req::new(method, host, path).header("x-magic-token", session)
}

async fn views_are_capped_per_owner_per_page_and_in_co_managers(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let admin = t.page_token(&a, "admin", "page_admin").await;
    level_one(&t, &a, &admin).await;
    seed_components(&t, a.page_id, 1).await;
    let view = json!({"name": "Mine", "components": ["seed-1"]});
    let owner = "owner@example.com";
    let s = magic_session(&t, &a.host, owner).await;
    let r = t.send(manage(Method::POST, &a.host, "/api/v1/manage/views", &s).json(view.clone())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.json["id"].as_i64().unwrap();

    // 20 co-managers, then the 21st is refused.
    sqlx::query(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20) \
         INSERT INTO custom_view_managers (view_id, email, added_at) SELECT {id}, 'm' || i || '@example.com', {T0} FROM n"
    ))
    .execute(&t.app.db.pool)
    .await
    .unwrap();
    let path = format!("/api/v1/manage/views/{id}/managers");
    let r = t.send(manage(Method::POST, &a.host, &path, &s).json(json!({"email": "extra@example.com"}))).await;
    assert_limit_reached(&r, Some("email"));
    assert_eq!(t.count("custom_view_managers").await, 20);

    // 50 per owner.
    seed_views(&t, a.page_id, 49, owner, false, "own").await;
    let r = t.send(manage(Method::POST, &a.host, "/api/v1/manage/views", &s).json(view.clone())).await;
    assert_limit_reached(&r, None);
    assert_eq!(t.count("custom_views").await, 50);

    // 5,000 per page, whoever owns them.
    seed_views(&t, a.page_id, 4950, "others.example.com", true, "many").await;
    let newcomer = magic_session(&t, &a.host, "newcomer@example.com").await;
    let r = t.send(manage(Method::POST, &a.host, "/api/v1/manage/views", &newcomer).json(view)).await;
    assert_limit_reached(&r, None);
    assert_eq!(t.count("custom_views").await, 5000);
}
both!(views_are_capped_per_owner_per_page_and_in_co_managers);

async fn feeds_are_capped_per_owner_per_page_and_in_co_managers(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let owner = "owner@example.com";
    let s = magic_session(&t, &a.host, owner).await;
    let r = t.send(manage(Method::POST, &a.host, "/api/v1/manage/feeds", &s).json(json!({"name": "Mine"}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.json["id"].as_i64().unwrap();

    sqlx::query(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20) \
         INSERT INTO reader_feed_managers (feed_id, email, added_at) SELECT {id}, 'm' || i || '@example.com', {T0} FROM n"
    ))
    .execute(&t.app.db.pool)
    .await
    .unwrap();
    let path = format!("/api/v1/manage/feeds/{id}/managers");
    let r = t.send(manage(Method::POST, &a.host, &path, &s).json(json!({"email": "extra@example.com"}))).await;
    assert_limit_reached(&r, Some("email"));
    assert_eq!(t.count("reader_feed_managers").await, 20);

    seed_feeds(&t, a.page_id, 49, owner, false, "own").await;
    let r = t.send(manage(Method::POST, &a.host, "/api/v1/manage/feeds", &s).json(json!({"name": "One more"}))).await;
    assert_limit_reached(&r, None);
    assert_eq!(t.count("reader_feeds").await, 50);
    // The owner's list is paged like every other list.
    let pages = walk(&t, |p| manage(Method::GET, &a.host, p, &s), "/api/v1/manage/feeds?limit=20", 20).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [20, 20, 10]);

    seed_feeds(&t, a.page_id, 4950, "others.example.com", true, "many").await;
    let newcomer = magic_session(&t, &a.host, "newcomer@example.com").await;
    let r =
        t.send(manage(Method::POST, &a.host, "/api/v1/manage/feeds", &newcomer).json(json!({"name": "Late"}))).await;
    assert_limit_reached(&r, None);
    assert_eq!(t.count("reader_feeds").await, 5000);
}
both!(feeds_are_capped_per_owner_per_page_and_in_co_managers);
