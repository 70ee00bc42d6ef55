//! HTTP: the route table, read top to bottom like the API reference; each route names its
//! rate-limit family beside its path, and the router and the front door are both built from it.

pub mod api;
pub mod extract;
pub mod front;
pub mod presenters;
pub mod routes;
pub mod site;

use api::{
    auth, co_managers, hierarchy, incidents, invitations, maintenances, maintenances_public, manage, members, ops, org,
    page_admin, public, reader_feeds, reader_feeds_admin, status, subscribers, tokens, views, views_public,
};
use extract::{error, json};
use front::{ctx, summary_cache};
use site::{admin, assets, custom_view, feeds, home, incident, unsubscribe};

use crate::app::App;
use axum::Router;
use error::ApiError;
use routes::{route, Limit, Route};

/// The whole application: routes behind the front door.
pub fn router(app: App) -> Router {
    let table = table();
    let limits = std::sync::Arc::new(routes::Limits::new(&table));
    let api = table.into_iter().fold(Router::new(), |api, r| api.route(r.path, r.handlers));
    let routes = api
        .layer(axum::Extension(summary_cache(&app)))
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(json::BODY_LIMIT))
        .with_state(app.clone());
    // The front door must run before routing (it rewrites `/status/<prefix>/...` and numeric
    // paths), so it wraps a router whose only route is the real one.
    Router::new().fallback_service(routes).layer(axum::middleware::from_fn_with_state((app, limits), ctx::front))
}

/// Every route: its path, its rate-limit family (see [`Limit`]) and its handlers.
pub fn table() -> Vec<Route> {
    use tokens::*;
    use Limit::*;
    vec![
        // Sessions and the automation context.
        route("/api/v1/auth/login", Magic).post(auth::login),
        route("/api/v1/auth/logout", Authenticated).post(auth::logout),
        route("/api/v1/auth/me", Authenticated).get(auth::me),
        route("/api/v1/auth/password", Authenticated).post(auth::change_password),
        route("/api/v1/context", Authenticated).get(auth::context),
        // Anonymous page-host reads.
        route("/api/v1/settings", Public).get(public::settings),
        route("/api/v1/pages/public/current-host", Public).get(public::current_host),
        route("/api/v1/pages/public/{url_prefix}", Public).get(public::page_by_prefix),
        route("/api/v1/viewer-access", Magic).post(public::viewer_access),
        // Public status of the page.
        route("/api/v1/summary", Public).get(status::summary),
        route("/api/v1/components", Public).get(status::components),
        route("/api/v1/incidents", Public).get(status::incidents),
        route("/api/v1/incidents/{id}", Public).get(status::incident),
        route("/api/v1/uptime", Public).get(status::uptime),
        // Feeds of the page's history and maintenance calendar.
        route("/history.rss", Public).get(feeds::history_rss),
        route("/history.atom", Public).get(feeds::history_atom),
        route("/maintenances.ics", Public).get(feeds::maintenances_ics),
        // The status model (host-native; numeric twins are rewritten onto these).
        route("/api/v1/admin/hierarchy/levels", Authenticated)
            .get(hierarchy::list_levels)
            .post(hierarchy::create_level),
        route("/api/v1/admin/hierarchy/levels/{depth}", Authenticated)
            .patch(hierarchy::update_level)
            .delete(hierarchy::delete_level),
        route("/api/v1/admin/hierarchy/items", Authenticated).get(hierarchy::list_items).post(hierarchy::create_item),
        route("/api/v1/admin/hierarchy/items/{id}", Authenticated)
            .get(hierarchy::get_item::<false>)
            .patch(hierarchy::update_item::<false>)
            .delete(hierarchy::delete_item::<false>),
        route("/api/v1/admin/hierarchy/items/external/{identifier}", Authenticated)
            .get(hierarchy::get_item::<true>)
            .patch(hierarchy::update_item::<true>)
            .delete(hierarchy::delete_item::<true>),
        route("/api/v1/admin/statuses", Authenticated).get(hierarchy::list_statuses).put(hierarchy::put_statuses),
        route("/api/v1/admin/lifecycles/{kind}", Authenticated).get(hierarchy::list_stages).put(hierarchy::put_stages),
        route("/api/v1/admin/incidents", Authenticated).get(incidents::list_incidents).post(incidents::create_incident),
        route("/api/v1/admin/incidents/backfill", Authenticated).post(incidents::backfill),
        route("/api/v1/admin/incidents/{id}", Authenticated)
            .get(incidents::get_incident::<false>)
            .patch(incidents::patch_incident::<false>)
            .delete(incidents::delete_incident::<false>),
        route("/api/v1/admin/incidents/{id}/updates", Authenticated).post(incidents::add_update::<false>),
        route("/api/v1/admin/incidents/{id}/acknowledge", Authenticated).post(incidents::acknowledge::<false>),
        route("/api/v1/admin/incidents/{id}/resolve", Authenticated).post(incidents::resolve::<false>),
        route("/api/v1/admin/incidents/{id}/reopen", Authenticated).post(incidents::reopen::<false>),
        route("/api/v1/admin/incidents/{id}/report", Authenticated).put(incidents::put_report::<false>),
        route("/api/v1/admin/incidents/{id}/report/publish", Authenticated).post(incidents::publish_report::<false>),
        route("/api/v1/admin/incidents/{id}/report/unpublish", Authenticated)
            .post(incidents::unpublish_report::<false>),
        route("/api/v1/admin/incidents/external/{external_id}", Authenticated)
            .get(incidents::get_incident::<true>)
            .patch(incidents::patch_incident::<true>)
            .delete(incidents::delete_incident::<true>),
        route("/api/v1/admin/incidents/external/{external_id}/updates", Authenticated)
            .post(incidents::add_update::<true>),
        route("/api/v1/admin/incidents/external/{external_id}/acknowledge", Authenticated)
            .post(incidents::acknowledge::<true>),
        route("/api/v1/admin/incidents/external/{external_id}/resolve", Authenticated).post(incidents::resolve::<true>),
        route("/api/v1/admin/incidents/external/{external_id}/reopen", Authenticated).post(incidents::reopen::<true>),
        route("/api/v1/admin/incidents/external/{external_id}/report", Authenticated)
            .put(incidents::put_report::<true>),
        route("/api/v1/admin/incidents/external/{external_id}/report/publish", Authenticated)
            .post(incidents::publish_report::<true>),
        route("/api/v1/admin/incidents/external/{external_id}/report/unpublish", Authenticated)
            .post(incidents::unpublish_report::<true>),
        // Maintenance windows: the public reads, then the admin routes and their external twins.
        route("/api/v1/maintenances", Public).get(maintenances_public::list_maintenances),
        route("/api/v1/maintenances/{id}", Public).get(maintenances_public::get_maintenance),
        route("/api/v1/admin/maintenances", Authenticated)
            .get(maintenances::list_maintenances)
            .post(maintenances::create_maintenance),
        route("/api/v1/admin/maintenances/backfill", Authenticated).post(maintenances::backfill),
        route("/api/v1/admin/maintenances/{id}", Authenticated)
            .get(maintenances::get_maintenance::<false>)
            .patch(maintenances::patch_maintenance::<false>)
            .delete(maintenances::delete_maintenance::<false>),
        route("/api/v1/admin/maintenances/{id}/updates", Authenticated).post(maintenances::add_update::<false>),
        route("/api/v1/admin/maintenances/{id}/start", Authenticated).post(maintenances::start_maintenance::<false>),
        route("/api/v1/admin/maintenances/{id}/complete", Authenticated)
            .post(maintenances::complete_maintenance::<false>),
        route("/api/v1/admin/maintenances/{id}/extend", Authenticated).post(maintenances::extend_maintenance::<false>),
        route("/api/v1/admin/maintenances/{id}/cancel", Authenticated).post(maintenances::cancel_maintenance::<false>),
        route("/api/v1/admin/maintenances/external/{external_id}", Authenticated)
            .get(maintenances::get_maintenance::<true>)
            .patch(maintenances::patch_maintenance::<true>)
            .delete(maintenances::delete_maintenance::<true>),
        route("/api/v1/admin/maintenances/external/{external_id}/updates", Authenticated)
            .post(maintenances::add_update::<true>),
        route("/api/v1/admin/maintenances/external/{external_id}/start", Authenticated)
            .post(maintenances::start_maintenance::<true>),
        route("/api/v1/admin/maintenances/external/{external_id}/complete", Authenticated)
            .post(maintenances::complete_maintenance::<true>),
        route("/api/v1/admin/maintenances/external/{external_id}/extend", Authenticated)
            .post(maintenances::extend_maintenance::<true>),
        route("/api/v1/admin/maintenances/external/{external_id}/cancel", Authenticated)
            .post(maintenances::cancel_maintenance::<true>),
        // Subscribers (personal data: reads and writes need operate).
        route("/api/v1/admin/subscribers", Authenticated).get(subscribers::list_subscribers),
        route("/api/v1/admin/subscribers/counts", Authenticated).get(subscribers::subscriber_counts),
        route("/api/v1/admin/subscribers/export", Authenticated).get(subscribers::export_subscribers),
        route("/api/v1/admin/subscribers/import", Authenticated).post(subscribers::import_subscribers),
        route("/api/v1/admin/subscribers/hygiene", Authenticated).post(subscribers::bulk_hygiene),
        route("/api/v1/admin/subscribers/{id}", Authenticated)
            .get(subscribers::get_subscriber)
            .delete(subscribers::delete_subscriber),
        route("/api/v1/admin/subscribers/{id}/deliveries", Authenticated).get(subscribers::subscriber_deliveries),
        // Readers' feeds (owners' addresses are personal data: reads and writes need operate).
        route("/api/v1/admin/feeds", Authenticated).get(reader_feeds_admin::list_feeds),
        route("/api/v1/admin/feeds/stats", Authenticated).get(reader_feeds_admin::feed_stats),
        route("/api/v1/admin/feeds/{id}", Authenticated)
            .get(reader_feeds_admin::get_feed)
            .delete(reader_feeds_admin::delete_feed),
        route("/api/v1/admin/feeds/{id}/invalidate", Authenticated).post(reader_feeds_admin::invalidate_feed),
        // Custom views (owners' and co-managers' addresses: reads and writes need operate).
        route("/api/v1/admin/views", Authenticated).get(views::list_views),
        route("/api/v1/admin/views/stats", Authenticated).get(views::view_stats),
        route("/api/v1/admin/views/{id}", Authenticated).get(views::get_view).delete(views::delete_view),
        // Page administration (host-native; numeric twins are rewritten onto these).
        route("/api/v1/admin/api-tokens", Authenticated).get(list_tokens::<false>).post(create_token::<false>),
        route("/api/v1/admin/api-tokens/stats", Authenticated).get(token_stats::<false>),
        route("/api/v1/admin/api-tokens/{id}", Authenticated).get(get_token::<false>).delete(delete_token::<false>),
        route("/api/v1/admin/api-tokens/{id}/revoke", Authenticated).post(revoke_token::<false>),
        route("/api/v1/admin/api-tokens/{id}/rotate", Authenticated).post(rotate_token::<false>),
        route("/api/v1/admin/api-tokens/{id}/audit-log", Authenticated).get(token_audit_log::<false>),
        route("/api/v1/admin/members", Authenticated).get(members::list_page_members).post(members::add_page_member),
        route("/api/v1/admin/members/{user_id}", Authenticated)
            .patch(members::change_page_member)
            .delete(members::remove_page_member),
        route("/api/v1/admin/invitations", Authenticated).get(invitations::list_page_invitations),
        route("/api/v1/admin/invitations/{id}", Authenticated).delete(invitations::revoke_page_invitation),
        route("/api/v1/admin/page-settings", Authenticated)
            .get(page_admin::get_page_settings)
            .patch(page_admin::patch_page_settings),
        route("/api/v1/admin/site-settings", Authenticated)
            .get(page_admin::get_site_settings)
            .put(page_admin::put_site_settings),
        route("/api/v1/admin/domain", Authenticated)
            .get(page_admin::get_domain)
            .put(page_admin::put_domain)
            .delete(page_admin::delete_domain),
        route("/api/v1/admin/domain/verify", Authenticated).post(page_admin::verify_domain),
        route("/api/v1/admin/audit-log", Authenticated).get(page_admin::page_audit_log),
        // The org of the current page, token or session.
        route("/api/v1/org", Authenticated).get(org::get_org),
        route("/api/v1/org/pages", Authenticated).get(org::list_pages).post(org::create_page),
        route("/api/v1/org/pages/trash", Authenticated).get(org::list_trash),
        route("/api/v1/org/pages/{id}", Authenticated).get(org::get_page).delete(org::trash_page),
        route("/api/v1/org/pages/{id}/restore", Authenticated).post(org::restore_page),
        route("/api/v1/org/members", Authenticated).get(org::list_org_members).post(org::add_org_member),
        route("/api/v1/org/members/{user_id}", Authenticated)
            .patch(org::change_org_member)
            .delete(org::remove_org_member),
        route("/api/v1/org/invitations", Authenticated).get(invitations::list_org_invitations),
        route("/api/v1/org/invitations/{id}", Authenticated).delete(invitations::revoke_org_invitation),
        route("/api/v1/org/api-tokens", Authenticated).get(list_tokens::<true>).post(create_token::<true>),
        route("/api/v1/org/api-tokens/stats", Authenticated).get(token_stats::<true>),
        route("/api/v1/org/api-tokens/{id}", Authenticated).get(get_token::<true>).delete(delete_token::<true>),
        route("/api/v1/org/api-tokens/{id}/revoke", Authenticated).post(revoke_token::<true>),
        route("/api/v1/org/api-tokens/{id}/rotate", Authenticated).post(rotate_token::<true>),
        route("/api/v1/org/api-tokens/{id}/audit-log", Authenticated).get(token_audit_log::<true>),
        route("/api/v1/org/audit-log", Authenticated).get(org::org_audit_log),
        // Operations.
        route("/healthz", Unlimited).get(ops::healthz),
        route("/readyz", Unlimited).get(ops::readyz),
        route("/internal/domain-check", Internal).get(ops::domain_check),
        // Readers: subscriptions and the magic-token management routes.
        route("/api/v1/subscribers", Subscribe).post(manage::subscribe),
        route("/api/v1/subscribers/access", Subscribe).post(manage::request_access),
        route("/api/v1/manage/session", Magic).post(manage::exchange),
        route("/api/v1/manage/subscriptions", Magic)
            .get(manage::get_subscription)
            .patch(manage::patch_subscription)
            .delete(manage::delete_subscription),
        route("/api/v1/manage/subscriptions/webhook-secret", Magic).post(manage::rotate_webhook_secret),
        route("/api/v1/manage/feeds", Magic).get(reader_feeds::list_feeds).post(reader_feeds::create_feed),
        route("/api/v1/manage/feeds/{id}", Magic)
            .get(reader_feeds::get_feed)
            .patch(reader_feeds::patch_feed)
            .delete(reader_feeds::delete_feed),
        route("/api/v1/manage/feeds/{id}/reset", Magic).post(reader_feeds::reset_feed),
        route("/api/v1/manage/feeds/{id}/managers", Magic).post(co_managers::add_feed_manager),
        route("/api/v1/manage/feeds/{id}/managers/{email}", Magic).delete(co_managers::remove_feed_manager),
        route("/manage", Public).get(manage::manage_page),
        route("/static/manage.js", Public).get(manage::manage_script),
        // Readers' own feeds: `{code}` is a public short code or an `sbf_` capability.
        route("/feeds/{code}/feed.atom", Public).get(feeds::reader::feed_atom),
        route("/feeds/{code}/feed.rss", Public).get(feeds::reader::feed_rss),
        route("/api/v1/manage/views", Magic).get(views::list_managed).post(views::create_managed),
        route("/api/v1/manage/views/{id}", Magic)
            .get(views::get_managed)
            .patch(views::patch_managed)
            .delete(views::delete_managed),
        route("/api/v1/manage/views/{id}/managers", Magic).post(co_managers::add_view_manager),
        route("/api/v1/manage/views/{id}/managers/{email}", Magic).delete(co_managers::remove_view_manager),
        // Custom views: `{code}` is the short code or the alias; protected views need a viewer token.
        route("/views/{code}", Public).get(views_public::get_view),
        route("/views/{code}/data", Public).get(views_public::get_view_data),
        route("/views/{code}/viewer-access/request", Subscribe).post(views_public::request_access),
        route("/views/{code}/viewer-access/exchange", Magic).post(views_public::exchange),
        route("/views/{code}/viewer-access/status", Public).get(views_public::access_status),
        route("/v/{code}", Public).get(custom_view::view_page),
        route("/static/view.js", Public).get(custom_view::view_script),
        // One-click unsubscribe (RFC 8058): the token in the path is a deliberate capability.
        route("/u/{token}", Subscribe).get(unsubscribe::unsubscribe_page).post(unsubscribe::unsubscribe),
        // Pages for people.
        route("/", Public).get(home::home),
        route("/assets/{file}", Public).get(assets::asset),
        route("/incidents/{id}", Public).get(incident::incident_page),
        route("/static/gate.js", Public).get(home::gate_script),
        route("/admin", Authenticated).get(admin::workspace),
        route("/admin/login", Magic).get(admin::login_page).post(admin::login_submit),
        route("/admin/logout", Authenticated).post(admin::logout_submit),
        // Invitations, the invitee's side (admin host; the `sbi_` link token in X-Magic-Token).
        route("/api/v1/invitations/current", Magic).get(invitations::current_invitation),
        route("/api/v1/invitations/accept", Magic).post(invitations::accept_invitation),
        route("/admin/invite", Authenticated).get(invitations::invite_page),
        route("/static/invite.js", Public).get(invitations::invite_script),
        route("/static/invite.css", Public).get(invitations::invite_style),
    ]
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
