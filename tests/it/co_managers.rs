//! Co-managers of custom views and readers' feeds: one scenario, run against both kinds of
//! resource, holds them to the same rules (`service::co_managers`, decisions 0006 and 0007):
//! the owner adds and removes, a co-manager may only leave, strangers and other pages see
//! nothing, a bad address is a 400 on `email` everywhere, at most 20 co-managers, and every
//! change is audited with the address it concerns.

use crate::both;
use crate::harness::*;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::Row;
use statibeat::clock::MINUTE;

/// What tells a view from a feed in this scenario; everything else is the same.
#[derive(Clone, Copy)]
struct Kind {
    /// The manage workspace's collection.
    base: &'static str,
    /// A body that creates one.
    create: fn() -> Value,
    table: &'static str,
    key: &'static str,
    added: &'static str,
    removed: &'static str,
    target_kind: &'static str,
    /// Whether the audit actor names the acting session's address (views do, feeds never).
    actor_named: bool,
}

const VIEW: Kind = Kind {
    base: "/api/v1/manage/views",
    create: || json!({"name": "Mine", "components": ["web"]}),
    table: "custom_view_managers",
    key: "view_id",
    added: "view.manager_added",
    removed: "view.manager_removed",
    target_kind: "view",
    actor_named: true,
};

const FEED: Kind = Kind {
    base: "/api/v1/manage/feeds",
    create: || json!({"name": "Mine"}),
    table: "reader_feed_managers",
    key: "feed_id",
    added: "reader_feed.manager_added",
    removed: "reader_feed.manager_removed",
    target_kind: "reader_feed",
    actor_named: false,
};

fn manage(method: Method, host: &str, path: &str, session: &str) -> Req {
    Req::new(method, host, path).header("x-magic-token", session)
}

/// A magic session for `email`: subscribing first when `subscribe`, else asking for a management
/// link, which only owners and co-managers of something get.
async fn session(t: &TestApp, host: &str, email: &str, subscribe: bool) -> String {
    let path = if subscribe { "/api/v1/subscribers" } else { "/api/v1/subscribers/access" };
    let r = t.send(Req::post(host, path).json(json!({ "email": email }))).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let link = crate::subscribers::link_token(t, email, host).await;
    let r = t.send(Req::post(host, "/api/v1/manage/session").header("x-magic-token", &link)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json["token"].as_str().unwrap().to_string()
}

async fn create(t: &TestApp, kind: Kind, host: &str, session: &str) -> i64 {
    let r = t.send(manage(Method::POST, host, kind.base, session).json((kind.create)())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.json["id"].as_i64().unwrap()
}

/// The manager audit entries of resource `id`: (action, actor name, detail).
async fn audited(t: &TestApp, kind: Kind, id: i64) -> Vec<(String, String, Value)> {
    sqlx::query(
        "SELECT action, actor_name, detail FROM audit_log WHERE target_kind = $1 AND target_id = $2 \
         AND action IN ($3, $4) ORDER BY id",
    )
    .bind(kind.target_kind)
    .bind(id)
    .bind(kind.added)
    .bind(kind.removed)
    .fetch_all(&t.app.db.pool)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), serde_json::from_str(&r.get::<String, _>(2)).unwrap()))
    .collect()
}

async fn managers_in_table(t: &TestApp, kind: Kind, id: i64) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {} WHERE {} = $1", kind.table, kind.key);
    sqlx::query(&sql).bind(id).fetch_one(&t.app.db.pool).await.unwrap().get(0)
}

async fn owner_shares_and_co_managers_only_leave(engine: Engine, kind: Kind) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let b = t.tenant("bravo").await;
    crate::status_model::components(&t, &a).await;
    crate::status_model::components(&t, &b).await;
    let owner = session(&t, &a.host, "owner@example.org", true).await;
    let stranger = session(&t, &a.host, "stranger@example.org", true).await;
    let id = create(&t, kind, &a.host, &owner).await;
    let one = format!("{}/{id}", kind.base);
    let managers = format!("{one}/managers");
    let add = |email: &str, who: &str| manage(Method::POST, &a.host, &managers, who).json(json!({ "email": email }));
    let remove = |email: &str, who: &str| manage(Method::DELETE, &a.host, &format!("{managers}/{email}"), who);

    // Adding: the address is normalised; the resource's `updated_at` moves.
    let before = t.send(manage(Method::GET, &a.host, &one, &owner)).await.json["updated_at"].clone();
    t.clock.advance(MINUTE);
    let r = t.send(add("Helper@Example.org", &owner)).await;
    assert_eq!((r.status, r.json["managers"].clone()), (StatusCode::OK, json!(["helper@example.org"])), "{}", r.text);
    let touched = r.json["updated_at"].clone();
    assert_ne!(touched, before, "adding a co-manager changes the resource");
    // Twice: the same answer, no change, no second audit entry.
    t.clock.advance(MINUTE);
    let r = t.send(add("helper@example.org", &owner)).await;
    assert_eq!((r.status, r.json["managers"].clone()), (StatusCode::OK, json!(["helper@example.org"])), "{}", r.text);
    assert_eq!(r.json["updated_at"], touched);
    // The owner's own address and malformed addresses: 400 on `email`, adding and removing alike.
    for r in [
        t.send(add("owner@example.org", &owner)).await,
        t.send(add("not-an-address", &owner)).await,
        t.send(remove("not-an-address", &owner)).await,
    ] {
        assert_eq!((r.status, r.json["field"].as_str()), (StatusCode::BAD_REQUEST, Some("email")), "{}", r.text);
    }

    // The co-manager, not a subscriber, may get a management link and sees the resource.
    let helper = session(&t, &a.host, "helper@example.org", false).await;
    assert_eq!(t.send(manage(Method::GET, &a.host, &one, &helper)).await.status, StatusCode::OK);
    // Only the owner adds or removes others; nobody removes the owner.
    assert_eq!(t.send(add("friend@example.org", &helper)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(t.send(add("friend@example.org", &owner)).await.status, StatusCode::OK);
    assert_eq!(t.send(remove("friend@example.org", &helper)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(t.send(remove("owner@example.org", &helper)).await.status, StatusCode::CONFLICT);
    assert_eq!(t.send(remove("owner@example.org", &owner)).await.status, StatusCode::CONFLICT);
    // Someone who neither owns nor co-manages it: the resource does not exist.
    assert_eq!(t.send(add("s@example.org", &stranger)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.send(remove("stranger@example.org", &stranger)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.send(remove("helper@example.org", &stranger)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(managers_in_table(&t, kind, id).await, 2);

    // Leaving: the co-manager removes themselves and no longer sees the resource, which changed.
    let before = t.send(manage(Method::GET, &a.host, &one, &owner)).await.json["updated_at"].clone();
    t.clock.advance(MINUTE);
    assert_eq!(t.send(remove("helper@example.org", &helper)).await.status, StatusCode::NO_CONTENT);
    let after = t.send(manage(Method::GET, &a.host, &one, &owner)).await.json["updated_at"].clone();
    assert_ne!(after, before, "removing a co-manager changes the resource");
    assert_eq!(t.send(manage(Method::GET, &a.host, &one, &helper)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.send(remove("helper@example.org", &owner)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.send(remove("friend@example.org", &owner)).await.status, StatusCode::NO_CONTENT);

    // Another page's resource, named by its id on this page's host: 404 for its own owner too.
    let theirs = session(&t, &b.host, "owner@example.org", true).await;
    let other = create(&t, kind, &b.host, &theirs).await;
    let elsewhere = format!("{}/{other}/managers", kind.base);
    let r = t.send(manage(Method::POST, &a.host, &elsewhere, &owner).json(json!({"email": "x@example.org"}))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = t.send(manage(Method::DELETE, &a.host, &format!("{elsewhere}/x@example.org"), &owner)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(managers_in_table(&t, kind, other).await, 0);

    // Every change is audited with the address it concerns; refusals and repeats are not.
    let actor = if kind.actor_named { "owner@example.org" } else { "" };
    let helper_actor = if kind.actor_named { "helper@example.org" } else { "" };
    let entry = |action: &str, who: &str, email: &str| (action.to_string(), who.to_string(), json!({ "email": email }));
    assert_eq!(
        audited(&t, kind, id).await,
        vec![
            entry(kind.added, actor, "helper@example.org"),
            entry(kind.added, actor, "friend@example.org"),
            entry(kind.removed, helper_actor, "helper@example.org"),
            entry(kind.removed, actor, "friend@example.org"),
        ]
    );
}

async fn views_follow_the_co_manager_rules(engine: Engine) {
    owner_shares_and_co_managers_only_leave(engine, VIEW).await
}
both!(views_follow_the_co_manager_rules);

async fn feeds_follow_the_co_manager_rules(engine: Engine) {
    owner_shares_and_co_managers_only_leave(engine, FEED).await
}
both!(feeds_follow_the_co_manager_rules);

/// At most 20 co-managers, counted under the page's lock; an address already there is still a
/// no-op 200 at the cap.
async fn at_most_twenty_co_managers(engine: Engine, kind: Kind) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    crate::status_model::components(&t, &a).await;
    let owner = session(&t, &a.host, "owner@example.org", true).await;
    let id = create(&t, kind, &a.host, &owner).await;
    let managers = format!("{}/{id}/managers", kind.base);
    let add = |email: &str| manage(Method::POST, &a.host, &managers, &owner).json(json!({ "email": email }));
    for i in 1..=20 {
        let r = t.send(add(&format!("m{i}@example.org"))).await;
        assert_eq!(r.status, StatusCode::OK, "{i}: {}", r.text);
    }
    let r = t.send(add("extra@example.org")).await;
    assert_eq!(
        (r.status, r.json["code"].as_str(), r.json["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("limit_reached"), Some("email")),
        "{}",
        r.text
    );
    assert_eq!(t.send(add("m7@example.org")).await.status, StatusCode::OK);
    assert_eq!(managers_in_table(&t, kind, id).await, 20);
    // Room again once one leaves.
    let r = t.send(manage(Method::DELETE, &a.host, &format!("{managers}/m1@example.org"), &owner)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(t.send(add("extra@example.org")).await.status, StatusCode::OK);
    assert_eq!(managers_in_table(&t, kind, id).await, 20);
}

async fn views_have_at_most_twenty_co_managers(engine: Engine) {
    at_most_twenty_co_managers(engine, VIEW).await
}
both!(views_have_at_most_twenty_co_managers);

async fn feeds_have_at_most_twenty_co_managers(engine: Engine) {
    at_most_twenty_co_managers(engine, FEED).await
}
both!(feeds_have_at_most_twenty_co_managers);

/// Migration 15 gives `reader_feed_managers` the shape of `custom_view_managers` (`created_at` is
/// now `added_at`). Co-managers added before it keep their address, time and order, and both
/// tables still lose their rows with their resource.
async fn the_co_manager_migration_keeps_feed_and_view_managers(engine: Engine) {
    use statibeat::store::co_managers::{self, Managed};
    let db = one_page_before_migration(engine, 14).await;
    let run = |sql: &'static str| sqlx::query(sql).execute(&db.pool);
    run("INSERT INTO reader_feeds (page_id, name, short_code, owner_email, all_components, incidents, maintenances, \
         max_items, format, cache_version, fetch_count, created_at, updated_at) \
         VALUES (1, 'F', 'abcdefghijkm', 'own@example.org', 1, 1, 1, 50, 'atom', 0, 0, 1, 1)")
    .await
    .unwrap();
    run("INSERT INTO custom_views (page_id, short_code, name, description, access_mode, allowed_domains, \
         allowed_emails, owner_email, created_at, updated_at) \
         VALUES (1, 'AbCdEfGhJk', 'V', '', 'public', '[]', '[]', 'own@example.org', 1, 1)")
    .await
    .unwrap();
    // Added out of alphabetical order: the order they were added in is what must survive.
    run("INSERT INTO reader_feed_managers (feed_id, email, created_at) VALUES (1, 'zed@example.org', 10)")
        .await
        .unwrap();
    run("INSERT INTO reader_feed_managers (feed_id, email, created_at) VALUES (1, 'amy@example.org', 20)")
        .await
        .unwrap();
    run("INSERT INTO custom_view_managers (view_id, email, added_at) VALUES (1, 'vic@example.org', 30)").await.unwrap();
    assert_eq!(db.migrate_up_to(15).await.unwrap(), vec![15]);

    let rows: Vec<(i64, String, i64)> =
        sqlx::query("SELECT feed_id, email, added_at FROM reader_feed_managers ORDER BY added_at")
            .fetch_all(&db.pool)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
    assert_eq!(rows, vec![(1, "zed@example.org".into(), 10), (1, "amy@example.org".into(), 20)]);
    let feeds = co_managers::of_each(&db.pool, Managed::Feed, &[1]).await.unwrap();
    assert_eq!(feeds, vec![(1, "zed@example.org".to_string()), (1, "amy@example.org".to_string())]);
    let views = co_managers::of_each(&db.pool, Managed::View, &[1]).await.unwrap();
    assert_eq!(views, vec![(1, "vic@example.org".to_string())]);
    // The same statements now write both tables.
    assert!(co_managers::add(&db.pool, Managed::Feed, 1, "new@example.org", 40).await.unwrap());
    assert!(!co_managers::add(&db.pool, Managed::Feed, 1, "new@example.org", 41).await.unwrap());
    assert!(co_managers::add(&db.pool, Managed::View, 1, "new@example.org", 40).await.unwrap());
    assert_eq!(co_managers::count(&db.pool, Managed::Feed, 1).await.unwrap(), 3);
    // The foreign keys came through: deleting the page takes both resources' co-managers.
    sqlx::query("DELETE FROM pages WHERE id = 1").execute(&db.pool).await.unwrap();
    for table in ["reader_feed_managers", "custom_view_managers"] {
        let n: i64 = sqlx::query(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(&db.pool).await.unwrap().get(0);
        assert_eq!(n, 0, "{table}");
    }
}
both!(the_co_manager_migration_keeps_feed_and_view_managers);
