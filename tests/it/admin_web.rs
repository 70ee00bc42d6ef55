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
