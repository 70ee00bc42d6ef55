//! The HTML sign-in form uses the same session service as the API; forms carry the per-session
//! CSRF token.

use crate::both;
use crate::harness::*;
use axum::http::StatusCode;

fn form(host: &str, path: &str, body: &str) -> Req {
    let mut r = Req::post(host, path).header("content-type", "application/x-www-form-urlencoded");
    r.raw = Some(body.as_bytes().to_vec());
    r
}

async fn admin_signs_in_with_the_html_form_and_signs_out(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let r = t.send(Req::get(ADMIN, "/admin")).await;
    assert_eq!((r.status, r.header("location")), (StatusCode::SEE_OTHER, Some("/admin/login")));
    let r = t.send(Req::get(ADMIN, "/admin/login")).await;
    assert!(r.text.contains("name=password"), "{}", r.text);

    let email = a.admin_email.replace('@', "%40");
    let r = t
        .send(
            form(ADMIN, "/admin/login", &format!("email={email}&password=wrong"))
                .header("sec-fetch-site", "same-origin"),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.text.contains("Email or password is wrong"));
    let r = t
        .send(
            form(ADMIN, "/admin/login", &format!("email={email}&password=correct+horse+battery"))
                .header("sec-fetch-site", "cross-site"),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "cross-site sign-in is refused");

    let r = t
        .send(
            form(ADMIN, "/admin/login", &format!("email={email}&password=correct+horse+battery"))
                .header("sec-fetch-site", "same-origin"),
        )
        .await;
    assert_eq!((r.status, r.header("location")), (StatusCode::SEE_OTHER, Some("/admin")));
    let cookie = r.header("set-cookie").unwrap().split(';').next().unwrap().to_string();
    let r = t.send(Req::get(ADMIN, "/admin").header("cookie", &cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains("Page acme") && r.text.contains(&a.admin_email), "{}", r.text);
    let csrf = r.text.split("name=csrf_token value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();

    // The same session works on the API: one service behind both.
    let me = t.send(Req::get(ADMIN, "/api/v1/auth/me").header("cookie", &cookie)).await;
    assert_eq!(me.json["user"]["email"], a.admin_email.as_str());

    let r = t
        .send(
            form(ADMIN, "/admin/logout", "csrf_token=forged")
                .header("cookie", &cookie)
                .header("sec-fetch-site", "same-origin"),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "a form without the session's token changes nothing");
    assert_eq!(t.send(Req::get(ADMIN, "/api/v1/auth/me").header("cookie", &cookie)).await.status, StatusCode::OK);

    let r = t
        .send(
            form(ADMIN, "/admin/logout", &format!("csrf_token={csrf}"))
                .header("cookie", &cookie)
                .header("sec-fetch-site", "same-origin"),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        t.send(Req::get(ADMIN, "/api/v1/auth/me").header("cookie", &cookie)).await.status,
        StatusCode::UNAUTHORIZED
    );
    // The web app lives on the admin host only.
    assert_eq!(t.send(Req::get(&a.host, "/admin/login")).await.status, StatusCode::NOT_FOUND);
}
both!(admin_signs_in_with_the_html_form_and_signs_out);

/// The web-app routes; the API auth matrix counts them as covered by the matrix below.
pub const WEB_ROUTES: &[(&str, &str)] =
    &[("GET", "/admin"), ("GET", "/admin/login"), ("POST", "/admin/login"), ("POST", "/admin/logout")];

/// Every credential kind against every web-app route: only a same-origin session with its
/// per-session CSRF token gets in; API tokens and magic tokens never open the web app.
async fn web_app_answers_every_credential_kind(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let token = t.page_token(&a, "admin", "page_admin").await;
    let (other_org_cookie, _) = {
        let b = t.tenant("bravo").await;
        (b.admin_cookie, b.admin_csrf)
    };
    let (expired_cookie, _) = t.login(&a.admin_email, "correct horse battery").await;
    let creds: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("none", vec![]),
        ("api token", vec![("authorization", format!("Bearer {token}"))]),
        ("malformed bearer", vec![("authorization", "Bearer sbt_nope".into())]),
        ("magic token", vec![("x-magic-token", token.clone())]),
        ("session", vec![("cookie", a.admin_cookie.clone())]),
        ("session of another org", vec![("cookie", other_org_cookie)]),
        ("revoked session", vec![("cookie", expired_cookie.clone())]),
    ];
    // Revoke one session so it is a dead credential.
    let r = t.send(Req::post(ADMIN, "/api/v1/auth/logout").session(&expired_cookie)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let login = format!("email={}&password=correct+horse+battery", a.admin_email.replace('@', "%40"));
    for (name, headers) in &creds {
        let live = name.starts_with("session");
        let with = |mut r: Req| {
            for (k, v) in headers {
                r = r.header(k, v);
            }
            r.header("sec-fetch-site", "same-origin")
        };
        let cases = [
            ("GET /admin", with(Req::get(ADMIN, "/admin")), if live { 200 } else { 303 }),
            ("GET /admin/login", with(Req::get(ADMIN, "/admin/login")), 200),
            ("POST /admin/login", with(form(ADMIN, "/admin/login", &login)), 303),
            // Without the form's CSRF token a live session is refused; no session goes to sign-in.
            ("POST /admin/logout", with(form(ADMIN, "/admin/logout", "csrf_token=x")), if live { 403 } else { 303 }),
            ("query credential", with(Req::get(ADMIN, &format!("/admin?session={token}"))), 400),
        ];
        for (what, req, want) in cases {
            let r = t.send(req).await;
            assert_eq!(r.status.as_u16(), want, "{what} with {name}: {}", r.text);
        }
    }
    // The workspace of another org's admin shows nothing of this org.
    let r = t.send(Req::get(ADMIN, "/admin").header("cookie", &creds[5].1[0].1)).await;
    assert!(!r.text.contains("Page acme"), "{}", r.text);
}
both!(web_app_answers_every_credential_kind);

/// One CSRF rule for the API and the forms. With neither Fetch Metadata nor Origin a request is
/// not from a browser and needs its session's CSRF token: the sign-in form, which has no session
/// yet, is refused like a cookie write on the API without `X-CSRF-Token`; with the token, the API
/// write and the sign-out form both go through.
async fn without_fetch_metadata_or_origin_forms_and_api_need_the_session_token(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let create = || {
        Req::post(&a.host, "/api/v1/admin/api-tokens")
            .header("cookie", &a.admin_cookie)
            .json(serde_json::json!({"name": "no-origin", "permission": "read", "role_key": "page_viewer"}))
    };
    let r = t.send(create()).await;
    assert_eq!((r.status, r.json["code"].as_str()), (StatusCode::FORBIDDEN, Some("csrf")), "{}", r.text);
    let login = format!("email={}&password=correct+horse+battery", a.admin_email.replace('@', "%40"));
    let r = t.send(form(ADMIN, "/admin/login", &login)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "the sign-in form without Origin: {}", r.text);
    assert!(r.header("set-cookie").is_none(), "no session for a refused sign-in");

    let r = t.send(create().header("x-csrf-token", &a.admin_csrf)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let signed_out = form(ADMIN, "/admin/logout", &format!("csrf_token={}", a.admin_csrf));
    let r = t.send(signed_out.header("cookie", &a.admin_cookie)).await;
    assert_eq!((r.status, r.header("location")), (StatusCode::SEE_OTHER, Some("/admin/login")), "{}", r.text);
    let me = t.send(Req::get(ADMIN, "/api/v1/auth/me").header("cookie", &a.admin_cookie)).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
}
both!(without_fetch_metadata_or_origin_forms_and_api_need_the_session_token);
