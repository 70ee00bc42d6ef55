//! Two orgs on one deployment: nothing of org B is reachable, changeable or even visible with
//! org A's credentials, whichever way A addresses it (B's host, B's numeric ids, B's token ids
//! through A's own page).
//!
//! Org B's data carries canary strings; every response A receives is searched for them, and B's
//! rows are compared before and after.

use crate::both;
use crate::harness::*;
use axum::http::Method;
use serde_json::json;
use sqlx::Row;

/// Org A (`alpha`) and org B (`bravo`), with B's canaries and A's credentials.
struct TwoOrgs {
    t: TestApp,
    a: Tenant,
    b: Tenant,
    /// An `admin`/`page_admin` token of A's page.
    a_page_token: String,
    /// An `admin`/`org_admin` token of org A.
    a_org_token: String,
    b_page_token_id: i64,
    b_page_token: String,
    b_org_token_id: i64,
    b_org_token: String,
    b_admin_user_id: i64,
    /// Strings that only org B's data contains.
    canaries: Vec<String>,
    b_before: Vec<String>,
}

const B_PAGE_NAME: &str = "Bravo Canary Page";
const B_PAGE_TOKEN_NAME: &str = "bravo-canary-page-token";
const B_ORG_TOKEN_NAME: &str = "bravo-canary-org-token";

impl TwoOrgs {
    async fn new(engine: Engine) -> TwoOrgs {
        let t = TestApp::new(engine).await;
        let a = t.tenant("alpha").await;
        let b = t.tenant("bravo").await;
        // B's admin fills B's page through the API, as a person would.
        let r = t
            .send(
                Req::new(Method::PATCH, &b.host, "/api/v1/admin/page-settings")
                    .session(&b.admin_cookie)
                    .json(json!({"name": B_PAGE_NAME})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let r = t
            .send(Req::post(&b.host, "/api/v1/admin/api-tokens").session(&b.admin_cookie).json(json!({
                "name": B_PAGE_TOKEN_NAME, "description": "bravo canary description",
                "permission": "admin", "role_key": "page_admin",
            })))
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        let (b_page_token_id, b_page_token) =
            (r.json["id"].as_i64().unwrap(), r.json["token"].as_str().unwrap().to_string());
        let r = t
            .send(Req::post(&b.host, "/api/v1/org/api-tokens").session(&b.admin_cookie).json(json!({
                "name": B_ORG_TOKEN_NAME, "permission": "admin", "role_key": "org_admin",
            })))
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        let (b_org_token_id, b_org_token) =
            (r.json["id"].as_i64().unwrap(), r.json["token"].as_str().unwrap().to_string());
        let r = t.send(Req::get(ADMIN, "/api/v1/auth/me").session(&b.admin_cookie)).await;
        let b_admin_user_id = r.json["user"]["id"].as_i64().unwrap();

        // The canaries are really there for B to see (so the leak check below can fail).
        let r = t.send(Req::get(&b.host, "/api/v1/admin/api-tokens?view=full").session(&b.admin_cookie)).await;
        assert!(r.text.contains(B_PAGE_TOKEN_NAME) && r.text.contains("bravo canary description"), "{}", r.text);
        let r = t.send(Req::get(&b.host, "/api/v1/org/pages").session(&b.admin_cookie)).await;
        assert!(r.text.contains(B_PAGE_NAME), "{}", r.text);

        let a_page_token = t.page_token(&a, "admin", "page_admin").await;
        let a_org_token = t.org_token(&a, "admin", "org_admin").await;
        let canaries = vec![
            // B's prefix, host, org name and slug, admin email all contain it.
            "bravo".to_string(),
            B_PAGE_NAME.to_string(),
            B_PAGE_TOKEN_NAME.to_string(),
            B_ORG_TOKEN_NAME.to_string(),
            b_page_token.clone(),
            b_org_token.clone(),
            b.admin_email.clone(),
        ];
        let mut two = TwoOrgs {
            t,
            a,
            b,
            a_page_token,
            a_org_token,
            b_page_token_id,
            b_page_token,
            b_org_token_id,
            b_org_token,
            b_admin_user_id,
            canaries,
            b_before: Vec::new(),
        };
        two.b_before = two.b_state().await;
        two
    }

    /// Everything of org B a cross-tenant write could touch (not `last_used_at`, which B's own
    /// calls move).
    async fn b_state(&self) -> Vec<String> {
        let b = self.b.org_id;
        let queries = [
            format!("SELECT CAST(COUNT(*) AS TEXT) FROM api_tokens WHERE org_id = {b}"),
            format!(
                "SELECT CAST(id AS TEXT) || ' ' || name || ' ' || permission || ' ' || role_key || ' ' || \
                 COALESCE(CAST(revoked_at AS TEXT), 'live') || ' ' || token_hash FROM api_tokens WHERE org_id = {b} ORDER BY id"
            ),
            format!("SELECT CAST(user_id AS TEXT) || ' ' || role FROM org_members WHERE org_id = {b} ORDER BY user_id"),
            format!(
                "SELECT CAST(id AS TEXT) || ' ' || name || ' ' || visibility || ' ' || COALESCE(CAST(deleted_at AS TEXT), 'live') || ' ' || settings \
                 FROM pages WHERE org_id = {b} ORDER BY id"
            ),
            format!(
                "SELECT CAST(page_id AS TEXT) || ' ' || CAST(user_id AS TEXT) || ' ' || role FROM page_members \
                 WHERE page_id IN (SELECT id FROM pages WHERE org_id = {b}) ORDER BY page_id, user_id"
            ),
            format!("SELECT domain FROM custom_domains WHERE page_id IN (SELECT id FROM pages WHERE org_id = {b})"),
        ];
        let mut out = Vec::new();
        for q in queries {
            for row in sqlx::query(&q).fetch_all(&self.t.app.db.pool).await.unwrap() {
                out.push(row.get::<String, _>(0));
            }
        }
        out
    }

    async fn b_api_token_count(&self) -> i64 {
        sqlx::query("SELECT COUNT(*) FROM api_tokens WHERE org_id = $1")
            .bind(self.b.org_id)
            .fetch_one(&self.t.app.db.pool)
            .await
            .unwrap()
            .get(0)
    }

    /// Sends a request made with one of A's credentials: checks the status and that no B canary
    /// comes back.
    async fn a_sends(&self, req: Req, want: u16) -> Resp {
        let what = format!("{} {}{}", req.method, req.host.clone().unwrap_or_default(), req.path);
        let r = self.t.send(req).await;
        assert_eq!(r.status.as_u16(), want, "{what}: {}", r.text);
        let body = r.text.to_lowercase();
        for c in &self.canaries {
            assert!(!body.contains(&c.to_lowercase()), "{what} leaked org B's {c:?}: {}", r.text);
        }
        r
    }

    /// B's rows are as they were, and B's own tokens still work.
    async fn assert_b_untouched(&self) {
        assert_eq!(self.b_state().await, self.b_before, "org B's rows changed");
        assert_eq!(self.b_api_token_count().await, 2, "org B's api_tokens: its page token and its org token");
        let r = self.t.send(Req::get(&self.b.host, "/api/v1/admin/api-tokens").bearer(&self.b_page_token)).await;
        assert_eq!(r.status, 200, "B's page token: {}", r.text);
        assert!(r.text.contains(B_PAGE_TOKEN_NAME));
        let r = self.t.send(Req::get(&self.b.host, "/api/v1/org/api-tokens").bearer(&self.b_org_token)).await;
        assert_eq!(r.status, 200, "B's org token: {}", r.text);
        assert!(r.text.contains(B_ORG_TOKEN_NAME));
    }

    fn b_numeric(&self, rest: &str) -> String {
        format!("/api/v1/orgs/{}/pages/{}{rest}", self.b.org_id, self.b.page_id)
    }
}

fn delete(host: &str, path: &str) -> Req {
    Req::new(Method::DELETE, host, path)
}

fn patch(host: &str, path: &str) -> Req {
    Req::new(Method::PATCH, host, path)
}

/// SPEC §2.1: "A page token works only on requests whose host (or numeric route) resolves to its
/// page; on any other page it is 401." An org token works only on pages of its own org.
async fn automation_of_one_org_is_refused_on_another_orgs_page(engine: Engine) {
    let two = TwoOrgs::new(engine).await;
    let b = &two.b;
    for token in [&two.a_page_token, &two.a_org_token] {
        // B's host.
        two.a_sends(Req::get(&b.host, "/api/v1/context").bearer(token), 401).await;
        two.a_sends(Req::get(&b.host, "/api/v1/admin/api-tokens").bearer(token), 401).await;
        two.a_sends(Req::get(&b.host, "/api/v1/admin/page-settings").bearer(token), 401).await;
        two.a_sends(
            patch(&b.host, "/api/v1/admin/page-settings").bearer(token).json(json!({"name": "Taken over"})),
            401,
        )
        .await;
        let create = json!({"name": "backdoor", "permission": "admin", "role_key": "page_admin"});
        two.a_sends(Req::post(&b.host, "/api/v1/admin/api-tokens").bearer(token).json(create.clone()), 401).await;
        two.a_sends(delete(&b.host, &format!("/api/v1/admin/api-tokens/{}", two.b_page_token_id)).bearer(token), 401)
            .await;
        two.a_sends(Req::get(&b.host, "/api/v1/org/pages").bearer(token), 401).await;
        // B's page through the status path.
        two.a_sends(Req::get(BASE, "/status/bravo/api/v1/admin/api-tokens").bearer(token), 401).await;
        // B's numeric routes.
        two.a_sends(Req::get(ADMIN, &two.b_numeric("/context")).bearer(token), 401).await;
        two.a_sends(Req::get(ADMIN, &two.b_numeric("/admin/api-tokens")).bearer(token), 401).await;
        two.a_sends(Req::post(ADMIN, &two.b_numeric("/admin/api-tokens")).bearer(token).json(create), 401).await;
        let revoke = two.b_numeric(&format!("/admin/api-tokens/{}/revoke", two.b_page_token_id));
        two.a_sends(Req::post(ADMIN, &revoke).bearer(token), 401).await;
        // Every 401 here is the uniform bearer challenge.
        let r = two.a_sends(Req::get(&b.host, "/api/v1/context").bearer(token), 401).await;
        assert!(r.header("www-authenticate").is_some_and(|v| v.starts_with("Bearer")));
    }
    two.assert_b_untouched().await;
}
both!(automation_of_one_org_is_refused_on_another_orgs_page);

/// SPEC §2: "a resource of another page or org is 404, never 403 (no existence leaks)". A session
/// is valid on every host, so it is authorised, and B's page and org are invisible to A's admin.
async fn an_org_admin_cannot_reach_into_another_org(engine: Engine) {
    let two = TwoOrgs::new(engine).await;
    let (a, b) = (&two.a, &two.b);
    let me = &a.admin_cookie;
    // B's host.
    for path in [
        "/api/v1/context",
        "/api/v1/admin/api-tokens",
        "/api/v1/admin/members",
        "/api/v1/admin/page-settings",
        "/api/v1/admin/site-settings",
        "/api/v1/admin/audit-log",
        "/api/v1/admin/api-tokens/stats",
        "/api/v1/org",
        "/api/v1/org/pages",
        "/api/v1/org/members",
        "/api/v1/org/api-tokens",
        "/api/v1/org/audit-log",
    ] {
        two.a_sends(Req::get(&b.host, path).session(me), 404).await;
    }
    two.a_sends(patch(&b.host, "/api/v1/admin/page-settings").session(me).json(json!({"name": "Taken over"})), 404)
        .await;
    two.a_sends(
        Req::post(&b.host, "/api/v1/admin/api-tokens")
            .session(me)
            .json(json!({"name": "backdoor", "permission": "admin", "role_key": "page_admin"})),
        404,
    )
    .await;
    two.a_sends(
        Req::post(&b.host, "/api/v1/admin/members")
            .session(me)
            .json(json!({"email": a.admin_email, "role": "page_admin"})),
        404,
    )
    .await;
    two.a_sends(delete(&b.host, &format!("/api/v1/admin/api-tokens/{}", two.b_page_token_id)).session(me), 404).await;
    // B's numeric page routes.
    two.a_sends(Req::get(ADMIN, &two.b_numeric("/context")).session(me), 404).await;
    two.a_sends(Req::get(ADMIN, &two.b_numeric("/admin/api-tokens")).session(me), 404).await;
    two.a_sends(
        Req::post(ADMIN, &two.b_numeric(&format!("/admin/api-tokens/{}/revoke", two.b_page_token_id))).session(me),
        404,
    )
    .await;
    // B's numeric org routes.
    let org_b = format!("/api/v1/orgs/{}", b.org_id);
    for rest in ["", "/pages", "/pages/trash", "/members", "/api-tokens", "/api-tokens/stats", "/audit-log"] {
        two.a_sends(Req::get(ADMIN, &format!("{org_b}{rest}")).session(me), 404).await;
    }
    two.a_sends(Req::get(ADMIN, &format!("{org_b}/pages/{}", b.page_id)).session(me), 404).await;
    two.a_sends(delete(ADMIN, &format!("{org_b}/pages/{}", b.page_id)).session(me), 404).await;
    two.a_sends(
        Req::post(ADMIN, &format!("{org_b}/pages"))
            .session(me)
            .json(json!({"name": "Squatter", "url_prefix": "squatter"})),
        404,
    )
    .await;
    // Joining B by adding oneself as its org admin.
    two.a_sends(
        Req::post(ADMIN, &format!("{org_b}/members"))
            .session(me)
            .json(json!({"email": a.admin_email, "role": "org_admin"})),
        404,
    )
    .await;
    two.a_sends(
        patch(ADMIN, &format!("{org_b}/members/{}", two.b_admin_user_id))
            .session(me)
            .json(json!({"role": "org_member"})),
        404,
    )
    .await;
    two.a_sends(
        Req::post(ADMIN, &format!("{org_b}/api-tokens"))
            .session(me)
            .json(json!({"name": "backdoor", "permission": "admin", "role_key": "org_admin"})),
        404,
    )
    .await;
    // Mixed ids: A's org with B's page, B's org with A's page.
    two.a_sends(Req::get(ADMIN, &format!("/api/v1/orgs/{}/pages/{}/context", a.org_id, b.page_id)).session(me), 404)
        .await;
    two.a_sends(Req::get(ADMIN, &format!("/api/v1/orgs/{}/pages/{}/context", b.org_id, a.page_id)).session(me), 404)
        .await;
    // B's page and people addressed through A's own org.
    two.a_sends(Req::get(&a.host, &format!("/api/v1/org/pages/{}", b.page_id)).session(me), 404).await;
    two.a_sends(delete(&a.host, &format!("/api/v1/org/pages/{}", b.page_id)).session(me), 404).await;
    two.a_sends(Req::post(&a.host, &format!("/api/v1/org/pages/{}/restore", b.page_id)).session(me), 404).await;
    two.a_sends(
        patch(&a.host, &format!("/api/v1/org/members/{}", two.b_admin_user_id))
            .session(me)
            .json(json!({"role": "org_member"})),
        404,
    )
    .await;
    two.a_sends(delete(&a.host, &format!("/api/v1/org/members/{}", two.b_admin_user_id)).session(me), 404).await;
    two.a_sends(delete(&a.host, &format!("/api/v1/admin/members/{}", two.b_admin_user_id)).session(me), 404).await;
    // B's org answers exactly like an org that does not exist.
    let b_org = two.a_sends(Req::get(ADMIN, &format!("{org_b}/pages")).session(me), 404).await;
    let no_org = two.a_sends(Req::get(ADMIN, "/api/v1/orgs/987654/pages").session(me), 404).await;
    assert_eq!(b_org.json, no_org.json);
    two.assert_b_untouched().await;
}
both!(an_org_admin_cannot_reach_into_another_org);

/// A way of calling: its name, how it signs a request, and whether it may use org routes.
type Caller<'a> = (&'a str, &'a dyn Fn(Req) -> Req, bool);

/// Token ids are global numbers, but through A's page or org a token of B does not exist: read,
/// audit, revoke, rotate and delete all answer 404 and B's tokens keep working.
async fn another_orgs_token_ids_are_not_found_through_your_own_page(engine: Engine) {
    let two = TwoOrgs::new(engine).await;
    let a = &two.a;
    let as_session = |r: Req| r.session(&a.admin_cookie);
    let as_page_token = |r: Req| r.bearer(&two.a_page_token);
    let as_org_token = |r: Req| r.bearer(&two.a_org_token);
    // (who, may use org routes): a page token has no org-level access at all (403 there).
    let who: [Caller<'_>; 3] =
        [("session", &as_session, true), ("page token", &as_page_token, false), ("org token", &as_org_token, true)];
    let numeric = format!("/api/v1/orgs/{}/pages/{}", a.org_id, a.page_id);
    let page_routes = [
        (a.host.as_str(), "/api/v1/admin/api-tokens".to_string(), two.b_page_token_id),
        (ADMIN, format!("{numeric}/admin/api-tokens"), two.b_page_token_id),
    ];
    let org_routes = [
        (a.host.as_str(), "/api/v1/org/api-tokens".to_string(), two.b_org_token_id),
        (ADMIN, format!("/api/v1/orgs/{}/api-tokens", a.org_id), two.b_org_token_id),
        // B's page token id through A's org token routes, too.
        (a.host.as_str(), "/api/v1/org/api-tokens".to_string(), two.b_page_token_id),
    ];
    for (_name, with, org_level) in who {
        let routes = page_routes.iter().chain(org_routes.iter().filter(|_| org_level));
        for (host, base, id) in routes {
            two.a_sends(with(Req::get(host, &format!("{base}/{id}"))), 404).await;
            two.a_sends(with(Req::get(host, &format!("{base}/{id}/audit-log"))), 404).await;
            two.a_sends(with(Req::post(host, &format!("{base}/{id}/revoke"))), 404).await;
            two.a_sends(with(Req::post(host, &format!("{base}/{id}/rotate"))), 404).await;
            two.a_sends(with(delete(host, &format!("{base}/{id}"))), 404).await;
            // A's own lists and stats show nothing of B.
            two.a_sends(with(Req::get(host, &format!("{base}?view=full"))), 200).await;
            two.a_sends(with(Req::get(host, &format!("{base}/stats"))), 200).await;
        }
        two.a_sends(with(Req::get(&a.host, "/api/v1/admin/audit-log")), 200).await;
        two.a_sends(with(Req::get(&a.host, "/api/v1/admin/members")), 200).await;
        two.a_sends(with(Req::get(&a.host, "/api/v1/context")), 200).await;
        if org_level {
            two.a_sends(with(Req::get(&a.host, "/api/v1/org/audit-log")), 200).await;
            two.a_sends(with(Req::get(&a.host, "/api/v1/org/pages?view=full")), 200).await;
            two.a_sends(with(Req::get(&a.host, "/api/v1/org/members")), 200).await;
        }
    }
    two.assert_b_untouched().await;
}
both!(another_orgs_token_ids_are_not_found_through_your_own_page);

/// An org token on `/api/v1/orgs/{B}/...` of the admin host gets 404, not 401. That route names
/// an org and resolves to no page, so the page binding of SPEC §2.1 ("on any other page it is
/// 401") does not apply and the token authenticates; B's org is then "a resource of another
/// org", which SPEC §2 answers with 404, exactly like an org id that does not exist. Where the
/// host itself resolves to one of B's pages, A's token is not valid there: 401.
async fn an_org_token_reaches_only_its_own_org(engine: Engine) {
    let two = TwoOrgs::new(engine).await;
    let (a, b) = (&two.a, &two.b);
    let token = &two.a_org_token;
    let org_b = format!("/api/v1/orgs/{}", b.org_id);
    let b_pages = two.a_sends(Req::get(ADMIN, &format!("{org_b}/pages")).bearer(token), 404).await;
    let no_pages = two.a_sends(Req::get(ADMIN, "/api/v1/orgs/987654/pages").bearer(token), 404).await;
    assert_eq!(b_pages.json, no_pages.json, "B's org must look like no org at all");
    two.a_sends(Req::get(ADMIN, &org_b).bearer(token), 404).await;
    two.a_sends(Req::get(ADMIN, &format!("{org_b}/pages/{}", b.page_id)).bearer(token), 404).await;
    two.a_sends(delete(ADMIN, &format!("{org_b}/pages/{}", b.page_id)).bearer(token), 404).await;
    two.a_sends(
        Req::post(ADMIN, &format!("{org_b}/pages"))
            .bearer(token)
            .json(json!({"name": "Squatter", "url_prefix": "squatter"})),
        404,
    )
    .await;
    two.a_sends(Req::get(ADMIN, &format!("{org_b}/api-tokens/{}", two.b_org_token_id)).bearer(token), 404).await;
    // A page token of A fares the same on B's org routes.
    two.a_sends(Req::get(ADMIN, &format!("{org_b}/pages")).bearer(&two.a_page_token), 404).await;
    // On A's own page host, B's org id does not match the host's org.
    two.a_sends(Req::get(&a.host, &format!("{org_b}/pages")).bearer(token), 404).await;
    // On B's page host the host resolves to B's page, where A's token is no credential at all.
    two.a_sends(Req::get(&b.host, &format!("{org_b}/pages")).bearer(token), 401).await;
    // Its own org still answers.
    two.a_sends(Req::get(ADMIN, &format!("/api/v1/orgs/{}/pages", a.org_id)).bearer(token), 200).await;
    two.assert_b_untouched().await;
}
both!(an_org_token_reaches_only_its_own_org);
