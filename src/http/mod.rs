//! HTTP: the route table, read top to bottom like the API reference.

pub mod admin_web;
pub mod auth;
pub mod co_managers;
pub mod cookies;
pub mod ctx;
pub mod error;
pub mod feeds;
pub mod headers;
pub mod hierarchy;
pub mod incidents;
pub mod invitations;
pub mod json;
pub mod list;
pub mod maintenances;
pub mod maintenances_public;
pub mod manage;
pub mod members;
pub mod notices;
pub mod ops;
pub mod org;
pub mod page_admin;
pub mod presenters;
pub mod principal;
pub mod public;
pub mod reader_feeds;
pub mod reader_feeds_admin;
pub mod server;
pub mod site;
pub mod status_public;
pub mod subscribers_admin;
pub mod summary_cache;
pub mod tokens;
pub mod unsubscribe;
pub mod views;
pub mod views_page;
pub mod views_public;

use crate::app::App;
use axum::routing::{get, post};
use axum::Router;
use error::ApiError;

/// The whole application: routes behind the front door.
pub fn router(app: App) -> Router {
    use tokens::*;
    let api = Router::new()
        // Sessions and the automation context.
        .route("/api/v1/auth/login", post(auth::login))
        .route("/api/v1/auth/logout", post(auth::logout))
        .route("/api/v1/auth/me", get(auth::me))
        .route("/api/v1/auth/password", post(auth::change_password))
        .route("/api/v1/context", get(auth::context))
        // Anonymous page-host reads.
        .route("/api/v1/settings", get(public::settings))
        .route("/api/v1/pages/public/current-host", get(public::current_host))
        .route("/api/v1/pages/public/{url_prefix}", get(public::page_by_prefix))
        .route("/api/v1/viewer-access", post(public::viewer_access))
        // Public status of the page.
        .route("/api/v1/summary", get(status_public::summary))
        .route("/api/v1/components", get(status_public::components))
        .route("/api/v1/incidents", get(status_public::incidents))
        .route("/api/v1/incidents/{id}", get(status_public::incident))
        .route("/api/v1/uptime", get(status_public::uptime))
        // Feeds of the page's history and maintenance calendar.
        .route("/history.rss", get(feeds::history_rss))
        .route("/history.atom", get(feeds::history_atom))
        .route("/maintenances.ics", get(feeds::maintenances_ics))
        // The status model (host-native; numeric twins are rewritten onto these).
        .route("/api/v1/admin/hierarchy/levels", get(hierarchy::list_levels).post(hierarchy::create_level))
        .route(
            "/api/v1/admin/hierarchy/levels/{depth}",
            axum::routing::patch(hierarchy::update_level).delete(hierarchy::delete_level),
        )
        .route("/api/v1/admin/hierarchy/items", get(hierarchy::list_items).post(hierarchy::create_item))
        .route(
            "/api/v1/admin/hierarchy/items/{id}",
            get(hierarchy::get_item::<false>)
                .patch(hierarchy::update_item::<false>)
                .delete(hierarchy::delete_item::<false>),
        )
        .route(
            "/api/v1/admin/hierarchy/items/external/{identifier}",
            get(hierarchy::get_item::<true>)
                .patch(hierarchy::update_item::<true>)
                .delete(hierarchy::delete_item::<true>),
        )
        .route("/api/v1/admin/statuses", get(hierarchy::list_statuses).put(hierarchy::put_statuses))
        .route("/api/v1/admin/lifecycles/{kind}", get(hierarchy::list_stages).put(hierarchy::put_stages))
        .route("/api/v1/admin/incidents", get(incidents::list_incidents).post(incidents::create_incident))
        .route("/api/v1/admin/incidents/backfill", post(incidents::backfill))
        .route(
            "/api/v1/admin/incidents/{id}",
            get(incidents::get_incident::<false>)
                .patch(incidents::patch_incident::<false>)
                .delete(incidents::delete_incident::<false>),
        )
        .route("/api/v1/admin/incidents/{id}/updates", post(incidents::add_update::<false>))
        .route("/api/v1/admin/incidents/{id}/acknowledge", post(incidents::acknowledge::<false>))
        .route("/api/v1/admin/incidents/{id}/resolve", post(incidents::resolve::<false>))
        .route("/api/v1/admin/incidents/{id}/reopen", post(incidents::reopen::<false>))
        .route("/api/v1/admin/incidents/{id}/report", axum::routing::put(incidents::put_report::<false>))
        .route("/api/v1/admin/incidents/{id}/report/publish", post(incidents::publish_report::<false>))
        .route("/api/v1/admin/incidents/{id}/report/unpublish", post(incidents::unpublish_report::<false>))
        .route(
            "/api/v1/admin/incidents/external/{external_id}",
            get(incidents::get_incident::<true>)
                .patch(incidents::patch_incident::<true>)
                .delete(incidents::delete_incident::<true>),
        )
        .route("/api/v1/admin/incidents/external/{external_id}/updates", post(incidents::add_update::<true>))
        .route("/api/v1/admin/incidents/external/{external_id}/acknowledge", post(incidents::acknowledge::<true>))
        .route("/api/v1/admin/incidents/external/{external_id}/resolve", post(incidents::resolve::<true>))
        .route("/api/v1/admin/incidents/external/{external_id}/reopen", post(incidents::reopen::<true>))
        .route(
            "/api/v1/admin/incidents/external/{external_id}/report",
            axum::routing::put(incidents::put_report::<true>),
        )
        .route("/api/v1/admin/incidents/external/{external_id}/report/publish", post(incidents::publish_report::<true>))
        .route(
            "/api/v1/admin/incidents/external/{external_id}/report/unpublish",
            post(incidents::unpublish_report::<true>),
        )
        // Maintenance windows: the public reads, then the admin routes and their external twins.
        .route("/api/v1/maintenances", get(maintenances_public::list_maintenances))
        .route("/api/v1/maintenances/{id}", get(maintenances_public::get_maintenance))
        .route(
            "/api/v1/admin/maintenances",
            get(maintenances::list_maintenances).post(maintenances::create_maintenance),
        )
        .route("/api/v1/admin/maintenances/backfill", post(maintenances::backfill))
        .route(
            "/api/v1/admin/maintenances/{id}",
            get(maintenances::get_maintenance::<false>)
                .patch(maintenances::patch_maintenance::<false>)
                .delete(maintenances::delete_maintenance::<false>),
        )
        .route("/api/v1/admin/maintenances/{id}/updates", post(maintenances::add_update::<false>))
        .route("/api/v1/admin/maintenances/{id}/start", post(maintenances::start_maintenance::<false>))
        .route("/api/v1/admin/maintenances/{id}/complete", post(maintenances::complete_maintenance::<false>))
        .route("/api/v1/admin/maintenances/{id}/extend", post(maintenances::extend_maintenance::<false>))
        .route("/api/v1/admin/maintenances/{id}/cancel", post(maintenances::cancel_maintenance::<false>))
        .route(
            "/api/v1/admin/maintenances/external/{external_id}",
            get(maintenances::get_maintenance::<true>)
                .patch(maintenances::patch_maintenance::<true>)
                .delete(maintenances::delete_maintenance::<true>),
        )
        .route("/api/v1/admin/maintenances/external/{external_id}/updates", post(maintenances::add_update::<true>))
        .route("/api/v1/admin/maintenances/external/{external_id}/start", post(maintenances::start_maintenance::<true>))
        .route(
            "/api/v1/admin/maintenances/external/{external_id}/complete",
            post(maintenances::complete_maintenance::<true>),
        )
        .route(
            "/api/v1/admin/maintenances/external/{external_id}/extend",
            post(maintenances::extend_maintenance::<true>),
        )
        .route(
            "/api/v1/admin/maintenances/external/{external_id}/cancel",
            post(maintenances::cancel_maintenance::<true>),
        )
        // Subscribers (personal data: reads and writes need operate).
        .route("/api/v1/admin/subscribers", get(subscribers_admin::list_subscribers))
        .route("/api/v1/admin/subscribers/counts", get(subscribers_admin::subscriber_counts))
        .route("/api/v1/admin/subscribers/export", get(subscribers_admin::export_subscribers))
        .route("/api/v1/admin/subscribers/import", post(subscribers_admin::import_subscribers))
        .route("/api/v1/admin/subscribers/hygiene", post(subscribers_admin::bulk_hygiene))
        .route(
            "/api/v1/admin/subscribers/{id}",
            get(subscribers_admin::get_subscriber).delete(subscribers_admin::delete_subscriber),
        )
        .route("/api/v1/admin/subscribers/{id}/deliveries", get(subscribers_admin::subscriber_deliveries))
        // Readers' feeds (owners' addresses are personal data: reads and writes need operate).
        .route("/api/v1/admin/feeds", get(reader_feeds_admin::list_feeds))
        .route("/api/v1/admin/feeds/stats", get(reader_feeds_admin::feed_stats))
        .route("/api/v1/admin/feeds/{id}", get(reader_feeds_admin::get_feed).delete(reader_feeds_admin::delete_feed))
        .route("/api/v1/admin/feeds/{id}/invalidate", post(reader_feeds_admin::invalidate_feed))
        // Custom views (owners' and co-managers' addresses: reads and writes need operate).
        .route("/api/v1/admin/views", get(views::list_views))
        .route("/api/v1/admin/views/stats", get(views::view_stats))
        .route("/api/v1/admin/views/{id}", get(views::get_view).delete(views::delete_view))
        // Page administration (host-native; numeric twins are rewritten onto these).
        .route("/api/v1/admin/api-tokens", get(list_tokens::<false>).post(create_token::<false>))
        .route("/api/v1/admin/api-tokens/stats", get(token_stats::<false>))
        .route("/api/v1/admin/api-tokens/{id}", get(get_token::<false>).delete(delete_token::<false>))
        .route("/api/v1/admin/api-tokens/{id}/revoke", post(revoke_token::<false>))
        .route("/api/v1/admin/api-tokens/{id}/rotate", post(rotate_token::<false>))
        .route("/api/v1/admin/api-tokens/{id}/audit-log", get(token_audit_log::<false>))
        .route("/api/v1/admin/members", get(members::list_page_members).post(members::add_page_member))
        .route(
            "/api/v1/admin/members/{user_id}",
            axum::routing::patch(members::change_page_member).delete(members::remove_page_member),
        )
        .route("/api/v1/admin/invitations", get(invitations::list_page_invitations))
        .route("/api/v1/admin/invitations/{id}", axum::routing::delete(invitations::revoke_page_invitation))
        .route("/api/v1/admin/page-settings", get(page_admin::get_page_settings).patch(page_admin::patch_page_settings))
        .route("/api/v1/admin/site-settings", get(page_admin::get_site_settings).put(page_admin::put_site_settings))
        .route(
            "/api/v1/admin/domain",
            get(page_admin::get_domain).put(page_admin::put_domain).delete(page_admin::delete_domain),
        )
        .route("/api/v1/admin/domain/verify", post(page_admin::verify_domain))
        .route("/api/v1/admin/audit-log", get(page_admin::page_audit_log))
        // The org of the current page, token or session.
        .route("/api/v1/org", get(org::get_org))
        .route("/api/v1/org/pages", get(org::list_pages).post(org::create_page))
        .route("/api/v1/org/pages/trash", get(org::list_trash))
        .route("/api/v1/org/pages/{id}", get(org::get_page).delete(org::trash_page))
        .route("/api/v1/org/pages/{id}/restore", post(org::restore_page))
        .route("/api/v1/org/members", get(org::list_org_members).post(org::add_org_member))
        .route(
            "/api/v1/org/members/{user_id}",
            axum::routing::patch(org::change_org_member).delete(org::remove_org_member),
        )
        .route("/api/v1/org/invitations", get(invitations::list_org_invitations))
        .route("/api/v1/org/invitations/{id}", axum::routing::delete(invitations::revoke_org_invitation))
        .route("/api/v1/org/api-tokens", get(list_tokens::<true>).post(create_token::<true>))
        .route("/api/v1/org/api-tokens/stats", get(token_stats::<true>))
        .route("/api/v1/org/api-tokens/{id}", get(get_token::<true>).delete(delete_token::<true>))
        .route("/api/v1/org/api-tokens/{id}/revoke", post(revoke_token::<true>))
        .route("/api/v1/org/api-tokens/{id}/rotate", post(rotate_token::<true>))
        .route("/api/v1/org/api-tokens/{id}/audit-log", get(token_audit_log::<true>))
        .route("/api/v1/org/audit-log", get(org::org_audit_log))
        // Operations.
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/internal/domain-check", get(ops::domain_check))
        // Readers: subscriptions and the magic-token management routes.
        .route("/api/v1/subscribers", post(manage::subscribe))
        .route("/api/v1/subscribers/access", post(manage::request_access))
        .route("/api/v1/manage/session", post(manage::exchange))
        .route(
            "/api/v1/manage/subscriptions",
            get(manage::get_subscription).patch(manage::patch_subscription).delete(manage::delete_subscription),
        )
        .route("/api/v1/manage/subscriptions/webhook-secret", post(manage::rotate_webhook_secret))
        .route("/api/v1/manage/feeds", get(reader_feeds::list_feeds).post(reader_feeds::create_feed))
        .route(
            "/api/v1/manage/feeds/{id}",
            get(reader_feeds::get_feed).patch(reader_feeds::patch_feed).delete(reader_feeds::delete_feed),
        )
        .route("/api/v1/manage/feeds/{id}/reset", post(reader_feeds::reset_feed))
        .route("/api/v1/manage/feeds/{id}/managers", post(co_managers::add_feed_manager))
        .route("/api/v1/manage/feeds/{id}/managers/{email}", axum::routing::delete(co_managers::remove_feed_manager))
        .route("/manage", get(manage::manage_page))
        .route("/static/manage.js", get(manage::manage_script))
        // Readers' own feeds: `{code}` is a public short code or an `sbf_` capability.
        .route("/feeds/{code}/feed.atom", get(feeds::reader::feed_atom))
        .route("/feeds/{code}/feed.rss", get(feeds::reader::feed_rss))
        .route("/api/v1/manage/views", get(views::list_managed).post(views::create_managed))
        .route(
            "/api/v1/manage/views/{id}",
            get(views::get_managed).patch(views::patch_managed).delete(views::delete_managed),
        )
        .route("/api/v1/manage/views/{id}/managers", post(co_managers::add_view_manager))
        .route("/api/v1/manage/views/{id}/managers/{email}", axum::routing::delete(co_managers::remove_view_manager))
        // Custom views: `{code}` is the short code or the alias; protected views need a viewer token.
        .route("/views/{code}", get(views_public::get_view))
        .route("/views/{code}/data", get(views_public::get_view_data))
        .route("/views/{code}/viewer-access/request", post(views_public::request_access))
        .route("/views/{code}/viewer-access/exchange", post(views_public::exchange))
        .route("/views/{code}/viewer-access/status", get(views_public::access_status))
        .route("/v/{code}", get(views_page::view_page))
        .route("/static/view.js", get(views_page::view_script))
        // One-click unsubscribe (RFC 8058): the token in the path is a deliberate capability.
        .route("/u/{token}", get(unsubscribe::unsubscribe_page).post(unsubscribe::unsubscribe))
        // Pages for people.
        .route("/", get(site::home))
        .route("/static/gate.js", get(site::gate_script))
        .route("/admin", get(admin_web::workspace))
        .route("/admin/login", get(admin_web::login_page).post(admin_web::login_submit))
        .route("/admin/logout", post(admin_web::logout_submit))
        // Invitations, the invitee's side (admin host; the `sbi_` link token in X-Magic-Token).
        .route("/api/v1/invitations/current", get(invitations::current_invitation))
        .route("/api/v1/invitations/accept", post(invitations::accept_invitation))
        .route("/admin/invite", get(invitations::invite_page))
        .route("/static/invite.js", get(invitations::invite_script))
        .route("/static/invite.css", get(invitations::invite_style));
    let routes = api
        .layer(axum::Extension(summary_cache(&app)))
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(json::BODY_LIMIT))
        .with_state(app.clone());
    // The front door must run before routing (it rewrites `/status/<prefix>/...` and numeric
    // paths), so it wraps a router whose only route is the real one.
    Router::new().fallback_service(routes).layer(axum::middleware::from_fn_with_state(app, ctx::front))
}

/// This router's summary cache, emptied for a page whenever the page changes.
fn summary_cache(app: &App) -> std::sync::Arc<summary_cache::SummaryCache> {
    let cache = std::sync::Arc::new(summary_cache::SummaryCache::default());
    let listener = std::sync::Arc::downgrade(&cache);
    app.changes.listen(move |crate::changes::Change::Page(id)| {
        if let Some(cache) = listener.upgrade() {
            cache.invalidate(id);
        }
    });
    cache
}

async fn fallback() -> ApiError {
    ApiError::not_found()
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(axum::http::StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "method not allowed on this route")
}
