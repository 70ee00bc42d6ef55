//! HTTP: the route table, read top to bottom like the API reference.

pub mod admin_web;
pub mod auth;
pub mod cookies;
pub mod ctx;
pub mod error;
pub mod json;
pub mod list;
pub mod members;
pub mod ops;
pub mod org;
pub mod page_admin;
pub mod principal;
pub mod public;
pub mod site;
pub mod tokens;

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
        // Pages for people.
        .route("/", get(site::home))
        .route("/admin", get(admin_web::workspace))
        .route("/admin/login", get(admin_web::login_page).post(admin_web::login_submit))
        .route("/admin/logout", post(admin_web::logout_submit));
    let routes = api
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(json::BODY_LIMIT))
        .with_state(app.clone());
    // The front door must run before routing (it rewrites `/status/<prefix>/...` and numeric
    // paths), so it wraps a router whose only route is the real one.
    Router::new().fallback_service(routes).layer(axum::middleware::from_fn_with_state(app, ctx::front))
}

async fn fallback() -> ApiError {
    ApiError::not_found()
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(axum::http::StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "method not allowed on this route")
}
