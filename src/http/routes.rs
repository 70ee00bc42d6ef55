//! What the route table is made of: each route's path, the methods it answers and its rate-limit
//! family, declared together. The router is built from the table, the front door looks a
//! request's family up in it before routing, and the auth-matrix test enumerates it.

use crate::app::App;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::MethodRouter;

/// How the front door budgets a route (the tiers of SPEC §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Not counted: the proxy's health and readiness probes.
    Unlimited,
    /// The operator's proxy: `internal_read` per client.
    Internal,
    /// Sign-in and capability exchanges, where guesses are spent: `magic` per client.
    Magic,
    /// Reader sign-ups: writes spend `subscribe` per client, reads `public_read`.
    Subscribe,
    /// Credentialed routes: writes spend `admin_write` per credential and route, reads
    /// `internal_read` per credential; a client that keeps failing to authenticate is turned
    /// away first.
    Authenticated,
    /// Anonymous reads: `public_read` per client.
    Public,
}

/// One row of the route table.
pub struct Route {
    pub path: &'static str,
    pub limit: Limit,
    /// The methods it answers, in the order the table names them.
    pub methods: Vec<Method>,
    pub(super) handlers: MethodRouter<App>,
}

/// A route at `path` in rate family `limit`; its methods follow.
pub fn route(path: &'static str, limit: Limit) -> Route {
    Route { path, limit, methods: Vec::new(), handlers: MethodRouter::new() }
}

impl Route {
    pub fn get<H: Handler<T, App>, T: 'static>(mut self, h: H) -> Self {
        self.methods.push(Method::GET);
        self.handlers = self.handlers.get(h);
        self
    }

    pub fn post<H: Handler<T, App>, T: 'static>(mut self, h: H) -> Self {
        self.methods.push(Method::POST);
        self.handlers = self.handlers.post(h);
        self
    }

    pub fn put<H: Handler<T, App>, T: 'static>(mut self, h: H) -> Self {
        self.methods.push(Method::PUT);
        self.handlers = self.handlers.put(h);
        self
    }

    pub fn patch<H: Handler<T, App>, T: 'static>(mut self, h: H) -> Self {
        self.methods.push(Method::PATCH);
        self.handlers = self.handlers.patch(h);
        self
    }

    pub fn delete<H: Handler<T, App>, T: 'static>(mut self, h: H) -> Self {
        self.methods.push(Method::DELETE);
        self.handlers = self.handlers.delete(h);
        self
    }
}

/// Paths no route matches (404s) are budgeted by the family their prefix belongs to, so a
/// mistyped admin path still spends the caller's admin budget; any other is a public read.
const UNROUTED: &[(&str, Limit)] = &[
    ("/internal/", Limit::Internal),
    ("/api/v1/manage/", Limit::Magic),
    ("/api/v1/invitations/", Limit::Magic),
    ("/u/", Limit::Subscribe),
    ("/api/v1/admin", Limit::Authenticated),
    ("/api/v1/org", Limit::Authenticated),
    ("/api/v1/auth", Limit::Authenticated),
    ("/admin", Limit::Authenticated),
];

/// The route table's paths matched the way the router matches them (axum routes with
/// `matchit`), for the front door, which runs before routing.
pub struct Limits(matchit::Router<(&'static str, Limit)>);

impl Limits {
    pub fn new(table: &[Route]) -> Limits {
        let mut paths = matchit::Router::new();
        for r in table {
            paths.insert(r.path, (r.path, r.limit)).expect("the router accepts the same paths");
        }
        Limits(paths)
    }

    /// The family of a path as the router will see it, and the pattern of the route it matches.
    pub fn of(&self, path: &str) -> (Limit, Option<&'static str>) {
        if let Ok(m) = self.0.at(path) {
            let (pattern, limit) = *m.value;
            return (limit, Some(pattern));
        }
        let limit = UNROUTED.iter().find(|(prefix, _)| path.starts_with(prefix)).map_or(Limit::Public, |(_, l)| *l);
        (limit, None)
    }
}

#[cfg(test)]
mod tests {
    use super::Limit::*;
    use super::*;

    #[test]
    fn paths_take_the_family_of_their_route_or_of_their_prefix() {
        let limits = Limits::new(&crate::http::table());
        let of = |p: &str| limits.of(p);
        assert_eq!(
            of("/api/v1/admin/api-tokens/17/rotate"),
            (Authenticated, Some("/api/v1/admin/api-tokens/{id}/rotate"))
        );
        assert_eq!(of("/api/v1/admin/api-tokens/stats"), (Authenticated, Some("/api/v1/admin/api-tokens/stats")));
        assert_eq!(of("/api/v1/auth/login"), (Magic, Some("/api/v1/auth/login")));
        assert_eq!(of("/u/sbu_x"), (Subscribe, Some("/u/{token}")));
        assert_eq!(of("/healthz"), (Unlimited, Some("/healthz")));
        // Unknown paths: by prefix, else public.
        assert_eq!(of("/api/v1/admin/nonexistent"), (Authenticated, None));
        assert_eq!(of("/api/v1/manage/nonexistent"), (Magic, None));
        assert_eq!(of("/internal/nonexistent"), (Internal, None));
        assert_eq!(of("/healthz/"), (Public, None));
        assert_eq!(of("/api/v1/context/x"), (Public, None));
        assert_eq!(of("/nonexistent"), (Public, None));
    }
}
