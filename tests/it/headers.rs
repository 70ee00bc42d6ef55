//! Response headers (issue 8, findings 7 and 9): every HTML page carries a content security
//! policy that forbids framing and inline script (the baseline, or the page's own stricter one); personal answers are never stored by a cache;
//! HSTS over https; decoding errors come in the JSON envelope; the on-demand TLS check answers
//! on the admin host only.

use crate::both;
use crate::dns_server::DnsServer;
use crate::harness::*;
use axum::http::{Method, StatusCode};
use serde_json::json;

/// Which content security policy a page must carry.
#[derive(Clone, Copy)]
enum Policy {
    /// The site's baseline, for pages that set none of their own.
    Baseline,
    /// A page's own stricter policy, exactly.
    Strict(&'static str),
}

/// The manage page: its script and its API, nothing else (no styles, no form posts).
const MANAGE: &str =
    "default-src 'none'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'none'; base-uri 'none'";
/// `/v/{code}`: as the manage page, plus its inline style block.
const VIEW: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; \
     frame-ancestors 'none'; form-action 'none'; base-uri 'none'";
/// `/u/{token}`: no script or style; its one form posts back to itself.
const UNSUBSCRIBE: &str = "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/// `/admin/invite`: its own script, style sheet and API.
const INVITE: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
     frame-ancestors 'none'; form-action 'none'";

/// The policy the pages need and no more (see `docs/decisions/0009-connections-and-headers.md`).
fn assert_page_policy(r: &Resp, what: &str, policy: Policy) {
    assert!(r.header("content-type").is_some_and(|c| c.starts_with("text/html")), "{what}: {:?}", r.headers);
    let csp = r.header("content-security-policy").unwrap_or_else(|| panic!("{what}: no CSP in {:?}", r.headers));
    let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
    match policy {
        Policy::Baseline => {
            for want in ["default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"] {
                assert!(directives.contains(&want), "{what}: {want} missing from {csp}");
            }
        }
        Policy::Strict(want) => assert_eq!(csp, want, "{what}: the page's own policy must stand"),
    }
    assert!(directives.contains(&"frame-ancestors 'none'"), "{what}: {csp}");
    assert!(
        !csp.contains("unsafe-eval")
            && !directives.iter().any(|d| d.starts_with("script-src") && d.contains("unsafe-inline")),
        "{what}: {csp}"
    );
    assert_eq!(r.header("x-frame-options"), Some("DENY"), "{what}");
    // What the policy forbids, the page must not need: every script is a file.
    for tag in r.text.split("<script").skip(1) {
        let open = tag.split('>').next().unwrap();
        assert!(open.contains("src="), "{what}: inline script in {}", r.text);
    }
}

/// `no-store` among the directives (`private, no-store` says it too).
fn assert_no_store(r: &Resp, what: &str) {
    let cc = r.header("cache-control").unwrap_or("");
    assert!(cc.split(',').any(|d| d.trim() == "no-store"), "{what}: {} {:?}", r.status, r.headers);
}

fn assert_envelope(r: &Resp, status: StatusCode, code: &str, what: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.text);
    assert!(r.header("content-type").is_some_and(|c| c.starts_with("application/json")), "{what}: {:?}", r.headers);
    assert!(r.json["error"].as_str().is_some_and(|e| !e.is_empty()), "{what}: {}", r.text);
    assert_eq!(r.json["code"], code, "{what}: {}", r.text);
}

/// The unsubscribe link of a confirmed reader after one incident (the real mail's URL path).
async fn unsubscribe_path(t: &TestApp, a: &Tenant, admin: &str) -> String {
    crate::notifications::confirmed(t, &a.host, "reader@example.org").await;
    let incident =
        json!({"title": "Logins fail", "status": "major_outage", "affected_items": [{"external_id": "auth"}]});
    let r = t.send(Req::post(&a.host, "/api/v1/admin/incidents").bearer(admin).json(incident)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    statibeat::service::readers::notify::fan_out_due(&t.app).await.unwrap();
    let url = crate::notifications::one_click_url(t, "reader@example.org", &a.host).await;
    url.split(a.host.as_str()).nth(1).unwrap().to_string()
}

/// A reader's magic session (`sbx_`), from a confirmed subscription.
async fn magic_session(t: &TestApp, a: &Tenant, email: &str) -> String {
    let r = t.send(Req::post(&a.host, "/api/v1/subscribers").json(json!({ "email": email }))).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let link = crate::subscribers::link_token(t, email, &a.host).await;
    let r = t.send(Req::post(&a.host, "/api/v1/manage/session").header("x-magic-token", &link)).await;
    assert_no_store(&r, "the magic session exchange");
    r.json["token"].as_str().unwrap().to_string()
}

async fn every_html_page_refuses_framing_and_a_stricter_page_policy_stands(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let admin = crate::status_model::components(&t, &a).await;
    let unsubscribe = unsubscribe_path(&t, &a, &admin).await;
    let session = magic_session(&t, &a, "owner@example.org").await;
    let r = t
        .send(
            Req::post(&a.host, "/api/v1/manage/views")
                .header("x-magic-token", &session)
                .json(json!({"name": "Auth only", "components": ["auth"]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let code = r.json["short_code"].as_str().unwrap().to_string();
    let (staff, _, _) = t.private_staff_page(&a).await;

    use Policy::{Baseline, Strict};
    let pages: Vec<(&str, Req, u16, Policy)> = vec![
        ("the public page", Req::get(&a.host, "/"), 200, Baseline),
        ("the public page by path", Req::get(ADMIN, "/status/acme/"), 200, Baseline),
        ("the admin workspace", Req::get(ADMIN, "/admin").session(&a.admin_cookie), 200, Baseline),
        ("the sign-in page", Req::get(ADMIN, "/admin/login"), 200, Baseline),
        (
            "a refused sign-in",
            Req::post(ADMIN, "/admin/login")
                .header("content-type", "application/x-www-form-urlencoded")
                .header("sec-fetch-site", "same-origin"),
            400,
            Baseline,
        ),
        ("the private page's password form", Req::get(&staff, "/"), 401, Baseline),
        ("an unknown host", Req::get(&format!("nosuchpage.{BASE}"), "/"), 404, Baseline),
        ("the manage page", Req::get(&a.host, "/manage"), 200, Strict(MANAGE)),
        ("the manage page by path", Req::get(ADMIN, "/status/acme/manage"), 200, Strict(MANAGE)),
        ("the invitation page", Req::get(ADMIN, "/admin/invite"), 200, Strict(INVITE)),
        ("a custom view", Req::get(&a.host, &format!("/v/{code}")), 200, Strict(VIEW)),
        ("an unknown view", Req::get(&a.host, "/v/NoSuchCode1"), 404, Strict(VIEW)),
        ("the unsubscribe page", Req::get(&a.host, &unsubscribe), 200, Strict(UNSUBSCRIBE)),
        ("the unsubscribe answer", Req::post(&a.host, &unsubscribe), 200, Strict(UNSUBSCRIBE)),
    ];
    for (what, req, status, policy) in pages {
        let r = t.send(req).await;
        assert_eq!(r.status.as_u16(), status, "{what}: {}", r.text);
        assert_page_policy(&r, what, policy);
    }
    // The password form's script is a file on the page's own origin, and it is served.
    let r = t.send(Req::get(&staff, "/")).await;
    assert!(r.text.contains("<script src=\"/static/gate.js\"></script>"), "{}", r.text);
    let r = t.send(Req::get(&staff, "/static/gate.js")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("content-type").is_some_and(|c| c.starts_with("application/javascript")));
    assert!(r.text.contains("/api/v1/viewer-access"), "{}", r.text);
    let r = t.send(Req::get(ADMIN, "/status/staff/")).await;
    assert!(
        r.text.contains("data-base=\"/status/staff\"") && r.text.contains("src=\"/status/staff/static/gate.js\""),
        "{}",
        r.text
    );
    // JSON is not a page: no page policy there.
    let r = t.send(Req::get(&a.host, "/api/v1/summary")).await;
    assert_eq!(r.header("x-frame-options"), None);
}
both!(every_html_page_refuses_framing_and_a_stricter_page_policy_stands);

async fn personal_answers_are_never_stored_and_public_reads_stay_cacheable(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let admin = crate::status_model::components(&t, &a).await;
    let unsubscribe = unsubscribe_path(&t, &a, &admin).await;
    let magic = magic_session(&t, &a, "owner@example.org").await;
    let org = t.org_token(&a, "admin", "org_admin").await;

    let personal: Vec<(&str, Req)> = vec![
        ("who am I (session)", Req::get(ADMIN, "/api/v1/auth/me").session(&a.admin_cookie)),
        ("the context (token)", Req::get(&a.host, "/api/v1/context").bearer(&admin)),
        ("API tokens (token)", Req::get(&a.host, "/api/v1/admin/api-tokens").bearer(&admin)),
        ("API tokens (session)", Req::get(ADMIN, "/status/acme/api/v1/admin/api-tokens").session(&a.admin_cookie)),
        ("org tokens", Req::get(ADMIN, "/api/v1/org/api-tokens").bearer(&org)),
        ("subscribers", Req::get(&a.host, "/api/v1/admin/subscribers").bearer(&admin)),
        ("subscriber counts", Req::get(&a.host, "/api/v1/admin/subscribers/counts").bearer(&admin)),
        ("the audit log", Req::get(&a.host, "/api/v1/admin/audit-log").bearer(&admin)),
        ("incidents (admin)", Req::get(&a.host, "/api/v1/admin/incidents").bearer(&admin)),
        ("a public read with a token", Req::get(&a.host, "/api/v1/summary").bearer(&admin)),
        ("a public read with a session", Req::get(&a.host, "/api/v1/components").session(&a.admin_cookie)),
        ("the feed with a token", Req::get(&a.host, "/history.atom").bearer(&admin)),
        ("my subscription", Req::get(&a.host, "/api/v1/manage/subscriptions").header("x-magic-token", &magic)),
        ("my views", Req::get(&a.host, "/api/v1/manage/views").header("x-magic-token", &magic)),
        ("my feeds", Req::get(&a.host, "/api/v1/manage/feeds").header("x-magic-token", &magic)),
        ("the manage routes without a token", Req::get(&a.host, "/api/v1/manage/subscriptions")),
        ("the unsubscribe capability", Req::get(&a.host, &unsubscribe)),
        ("a bad token is personal too", Req::get(&a.host, "/api/v1/admin/incidents").bearer("sbt_nope")),
        ("the page with a session", Req::get(&a.host, "/").session(&a.admin_cookie)),
    ];
    for (what, req) in personal {
        let r = t.send(req).await;
        assert!(r.status.as_u16() < 500, "{what}: {}", r.text);
        assert_no_store(&r, what);
    }
    // Answers that set a cookie: the API login, the HTML login and the viewer gate.
    let r = t
        .send(
            Req::post(ADMIN, "/api/v1/auth/login")
                .json(json!({"email": a.admin_email, "password": "correct horse battery"})),
        )
        .await;
    assert!(r.header("set-cookie").is_some());
    assert_no_store(&r, "the API login");
    let mut form = Req::post(ADMIN, "/admin/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin");
    form.raw = Some(format!("email={}&password=correct+horse+battery", a.admin_email.replace('@', "%40")).into_bytes());
    let r = t.send(form).await;
    assert!(r.header("set-cookie").is_some(), "{} {:?}", r.status, r.headers);
    assert_no_store(&r, "the HTML login");
    let (staff, _, _) = t.private_staff_page(&a).await;
    let r = t.send(Req::post(&staff, "/api/v1/viewer-access").json(json!({"password": "let me in please"}))).await;
    assert!(r.header("set-cookie").is_some());
    assert_no_store(&r, "the viewer gate");

    // Anonymous public reads stay cacheable by a CDN; a cookie that is not ours changes nothing.
    for path in ["/api/v1/summary", "/api/v1/components", "/api/v1/incidents", "/history.atom", "/"] {
        for req in [Req::get(&a.host, path), Req::get(&a.host, path).header("cookie", "theme=dark")] {
            let r = t.send(req).await;
            assert_eq!(r.status, StatusCode::OK, "{path}");
            assert!(
                r.header("cache-control").is_some_and(|c| c.starts_with("public, max-age=")),
                "{path}: {:?}",
                r.headers
            );
        }
    }
}
both!(personal_answers_are_never_stored_and_public_reads_stay_cacheable);

async fn hsts_is_sent_on_every_answer_when_the_public_scheme_is_https(engine: Engine) {
    let t = TestApp::with(engine, |c| c.public_scheme = "https".into()).await;
    let a = t.tenant("acme").await;
    let admin = t.page_token(&a, "admin", "page_admin").await;
    let answers: Vec<(&str, Req)> = vec![
        ("the public page", Req::get(&a.host, "/")),
        ("a public read", Req::get(&a.host, "/api/v1/summary")),
        ("an admin read", Req::get(&a.host, "/api/v1/admin/api-tokens").bearer(&admin)),
        ("the sign-in page", Req::get(ADMIN, "/admin/login")),
        ("liveness", Req::get(ADMIN, "/healthz")),
        ("an error", Req::get(&a.host, "/api/v1/no-such-route")),
        ("a refused credential", Req::get(&a.host, "/api/v1/admin/api-tokens").bearer("sbt_nope")),
        ("an unknown host", Req::get(&format!("nosuchpage.{BASE}"), "/api/v1/summary")),
        ("an invalid host", Req::get("bad host!", "/")),
    ];
    for (what, req) in answers {
        let r = t.send(req).await;
        assert_eq!(
            r.header("strict-transport-security"),
            Some("max-age=31536000"),
            "{what}: {} {:?}",
            r.status,
            r.headers
        );
    }
    // Over plain http there is none: it would pin browsers to an https the deployment lacks.
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    for req in [Req::get(&a.host, "/"), Req::get(&a.host, "/api/v1/summary"), Req::get(ADMIN, "/admin/login")] {
        assert_eq!(t.send(req).await.header("strict-transport-security"), None);
    }
}
both!(hsts_is_sent_on_every_answer_when_the_public_scheme_is_https);

async fn decoding_errors_come_in_the_error_envelope(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let admin = t.page_token(&a, "admin", "page_admin").await;
    let magic = magic_session(&t, &a, "owner@example.org").await;
    let numeric = format!("/api/v1/orgs/{}/pages/{}", a.org_id, a.page_id);
    // `%ff` is not UTF-8 once decoded; `%C0%AF` is an overlong `/`.
    let bad_paths: Vec<(&str, Req)> = vec![
        ("a public incident", Req::get(&a.host, "/api/v1/incidents/%ff")),
        ("a public maintenance", Req::get(&a.host, "/api/v1/maintenances/%C0%AF")),
        ("a page by prefix", Req::get(&a.host, "/api/v1/pages/public/%ff")),
        ("by status path", Req::get(ADMIN, "/status/acme/api/v1/incidents/%ff")),
        ("by numeric route", Req::get(ADMIN, &format!("{numeric}/incidents/%ff")).bearer(&admin)),
        ("an admin incident", Req::get(&a.host, "/api/v1/admin/incidents/%ff").bearer(&admin)),
        ("an incident by external id", Req::get(&a.host, "/api/v1/admin/incidents/external/%ff").bearer(&admin)),
        (
            "a component update",
            Req::new(Method::PATCH, &a.host, "/api/v1/admin/hierarchy/items/external/%ff")
                .bearer(&admin)
                .json(json!({"name": "x"})),
        ),
        ("an API token", Req::get(&a.host, "/api/v1/admin/api-tokens/%ff").bearer(&admin)),
        ("an org page", Req::get(ADMIN, "/api/v1/org/pages/%ff").session(&a.admin_cookie)),
        ("a view's data", Req::get(&a.host, "/views/%ff/data")),
        ("a view page", Req::get(&a.host, "/v/%ff")),
        ("a reader feed", Req::get(&a.host, "/feeds/%ff/feed.atom")),
        ("one-click unsubscribe", Req::post(&a.host, "/u/%ff")),
        ("a managed view", Req::get(&a.host, "/api/v1/manage/views/%ff").header("x-magic-token", &magic)),
        (
            "a managed feed",
            Req::new(Method::DELETE, &a.host, "/api/v1/manage/feeds/%ff").header("x-magic-token", &magic),
        ),
    ];
    for (what, req) in bad_paths {
        let r = t.send(req).await;
        assert_envelope(&r, StatusCode::BAD_REQUEST, "invalid_path", what);
    }
    // Query values that do not parse were already in the envelope; they stay so.
    for q in ["limit=%ff", "limit=many", "cursor=%ff", "view=%ff"] {
        let r = t.send(Req::get(&a.host, &format!("/api/v1/incidents?{q}"))).await;
        assert_envelope(&r, StatusCode::BAD_REQUEST, "invalid", q);
    }
    // Bare statuses from the router come in the envelope too.
    let r = t.send(Req::new(Method::PUT, &a.host, "/api/v1/summary")).await;
    assert_envelope(&r, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "a wrong method");
    let r = t.send(Req::get(&a.host, "/admin/login")).await;
    assert_envelope(&r, StatusCode::NOT_FOUND, "not_found", "the sign-in page on a page host");
}
both!(decoding_errors_come_in_the_error_envelope);

async fn the_domain_check_answers_only_on_the_admin_host(engine: Engine) {
    let dns = DnsServer::start().await;
    let addr = dns.addr;
    let t = TestApp::with(engine, |cfg| cfg.dns_resolver = Some(addr)).await;
    let a = t.tenant("acme").await;
    let token = t.page_token(&a, "admin", "page_admin").await;
    let r = t
        .send(
            Req::new(Method::PUT, &a.host, "/api/v1/admin/domain")
                .bearer(&token)
                .json(json!({"domain": "status.acme.com"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    dns.set_txt("_statibeat-challenge.status.acme.com", &[r.json["challenge"]["value"].as_str().unwrap()]);
    let r = t.send(Req::post(&a.host, "/api/v1/admin/domain/verify").bearer(&token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    let check = "/internal/domain-check?domain=status.acme.com";
    let r = t.send(Req::get(ADMIN, check)).await;
    assert_eq!((r.status, r.json["status"].as_str()), (StatusCode::OK, Some("verified")), "{}", r.text);
    for host in [a.host.as_str(), "status.acme.com", BASE, "elsewhere.example.net"] {
        let r = t.send(Req::get(host, check)).await;
        assert_envelope(&r, StatusCode::NOT_FOUND, "not_found", host);
    }
    // The page still serves its own routes on those hosts.
    assert_eq!(t.send(Req::get("status.acme.com", "/api/v1/summary")).await.status, StatusCode::OK);
}
both!(the_domain_check_answers_only_on_the_admin_host);
