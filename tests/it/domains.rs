//! Custom domains end to end: a page admin adds a domain, publishes the TXT challenge on a real
//! (test) DNS server, verifies it, and the page is served on it until the domain is removed.

use crate::both;
use crate::dns_server::{DnsServer, SilentResolver};
use crate::harness::*;
use axum::http::{Method, StatusCode};
use serde_json::json;

const DOMAIN: &str = "status.acme.com";

fn put_domain(host: &str, token: &str, domain: &str) -> Req {
    Req::new(Method::PUT, host, "/api/v1/admin/domain").bearer(token).json(json!({ "domain": domain }))
}

fn verify(host: &str, token: &str) -> Req {
    Req::post(host, "/api/v1/admin/domain/verify").bearer(token)
}

fn domain_check(domain: &str) -> Req {
    Req::get(ADMIN, &format!("/internal/domain-check?domain={domain}"))
}

fn current_host(host: &str) -> Req {
    Req::get(host, "/api/v1/pages/public/current-host")
}

async fn custom_domain_serves_the_page_only_while_verified(engine: Engine) {
    let dns = DnsServer::start().await;
    let addr = dns.addr;
    let t = TestApp::with(engine, |cfg| cfg.dns_resolver = Some(addr)).await;
    let a = t.tenant("acme").await;
    let token = t.page_token(&a, "admin", "page_admin").await;

    // Adding the domain returns the challenge to publish.
    let r = t.send(put_domain(&a.host, &token, "Status.Acme.com.")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["domain"], DOMAIN);
    assert_eq!(r.json["status"], "pending");
    assert_eq!(r.json["challenge"]["type"], "TXT");
    assert_eq!(r.json["challenge"]["name"], "_statibeat-challenge.status.acme.com");
    let value = r.json["challenge"]["value"].as_str().unwrap().to_string();
    assert!(value.len() >= 32, "a random challenge value: {value}");
    assert_eq!(r.json["verified_at"], serde_json::Value::Null);

    // Pending: the domain serves nothing and the TLS ask endpoint says no.
    let r = t.send(current_host(DOMAIN)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json["error"], "unknown host");
    assert_eq!(t.send(domain_check(DOMAIN)).await.status, StatusCode::NOT_FOUND);

    // Verifying before the record exists is a conflict, and the domain stays pending.
    let r = t.send(verify(&a.host, &token)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(r.json["code"], "challenge_not_found");
    assert!(dns.queries() >= 1, "the configured resolver was asked");
    // A record with the wrong value does not verify either.
    dns.set_txt("_statibeat-challenge.status.acme.com", &["not-the-value"]);
    let r = t.send(verify(&a.host, &token)).await;
    assert_eq!((r.status, r.json["code"].as_str()), (StatusCode::CONFLICT, Some("challenge_not_found")));
    let r = t.send(Req::get(&a.host, "/api/v1/admin/domain").bearer(&token)).await;
    assert_eq!(r.json["status"], "pending");
    assert_ne!(r.json["last_checked_at"], serde_json::Value::Null, "the failed check is recorded");
    assert_eq!(t.send(current_host(DOMAIN)).await.status, StatusCode::NOT_FOUND);

    // With the record published (next to another TXT record) verification succeeds.
    dns.set_txt("_statibeat-challenge.status.acme.com", &["v=spf1 -all", &value]);
    let r = t.send(verify(&a.host, &token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["status"], "verified");
    assert_ne!(r.json["verified_at"], serde_json::Value::Null);
    t.wait_for_audit("domain.verified").await;

    // Now the custom domain serves the page, with any case, port and trailing dot.
    for host in [DOMAIN, "STATUS.acme.com:443", "status.acme.com."] {
        let r = t.send(current_host(host)).await;
        assert_eq!(r.status, StatusCode::OK, "{host}: {}", r.text);
        assert_eq!(r.json["id"], a.page_id);
        assert_eq!(r.json["url_prefix"], "acme");
        assert_eq!(r.json["custom_domain"], DOMAIN);
        assert_eq!(r.json["url"], "http://status.acme.com");
    }
    let on_prefix = t.send(current_host(&a.host)).await;
    assert_eq!(on_prefix.json["custom_domain"], DOMAIN, "the prefix host names its canonical domain too");
    let r = t.send(domain_check(DOMAIN)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["status"], "verified");
    assert_eq!(t.send(domain_check("STATUS.ACME.COM")).await.status, StatusCode::OK);
    assert_eq!(t.send(domain_check("other.acme.com")).await.status, StatusCode::NOT_FOUND);
    // The admin API works on the custom domain for the page's token.
    let r = t.send(Req::get(DOMAIN, "/api/v1/context").bearer(&token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["page"]["custom_domain"], DOMAIN);

    // Verifying again is harmless; removing the TXT record later does not unverify the domain.
    dns.remove("_statibeat-challenge.status.acme.com");
    let r = t.send(verify(&a.host, &token)).await;
    assert_eq!((r.status, r.json["status"].as_str()), (StatusCode::OK, Some("verified")));

    // Removing the domain stops it serving at once.
    let r = t.send(Req::new(Method::DELETE, &a.host, "/api/v1/admin/domain").bearer(&token)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = t.send(current_host(DOMAIN)).await;
    assert_eq!((r.status, r.json["error"].as_str()), (StatusCode::NOT_FOUND, Some("unknown host")));
    assert_eq!(t.send(domain_check(DOMAIN)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.send(Req::get(&a.host, "/api/v1/admin/domain").bearer(&token)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.send(current_host(&a.host)).await.json["custom_domain"], serde_json::Value::Null);
    let r = t.send(Req::new(Method::DELETE, &a.host, "/api/v1/admin/domain").bearer(&token)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "nothing left to delete");

    // Adding it again needs a fresh challenge and a fresh verification.
    let r = t.send(put_domain(&a.host, &token, DOMAIN)).await;
    assert_eq!(r.json["status"], "pending");
    assert_ne!(r.json["challenge"]["value"], value.as_str(), "a new challenge value");
    assert_eq!(t.send(current_host(DOMAIN)).await.status, StatusCode::NOT_FOUND);
}
both!(custom_domain_serves_the_page_only_while_verified);

async fn a_domain_belongs_to_one_page_and_never_to_the_platform(engine: Engine) {
    let dns = DnsServer::start().await;
    let addr = dns.addr;
    let t = TestApp::with(engine, |cfg| cfg.dns_resolver = Some(addr)).await;
    let a = t.tenant("acme").await;
    let b = t.tenant("beta").await;
    let ta = t.page_token(&a, "admin", "page_admin").await;
    let tb = t.page_token(&b, "admin", "page_admin").await;

    let r = t.send(put_domain(&a.host, &ta, DOMAIN)).await;
    let value = r.json["challenge"]["value"].as_str().unwrap().to_string();
    dns.set_txt("_statibeat-challenge.status.acme.com", &[&value]);
    assert_eq!(t.send(verify(&a.host, &ta)).await.status, StatusCode::OK);

    // Another tenant cannot take the domain: 409, and nothing changes for either page.
    let rows_before = t.count("custom_domains").await;
    let r = t.send(put_domain(&b.host, &tb, DOMAIN)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(r.json["code"], "domain_taken");
    assert_eq!(t.count("custom_domains").await, rows_before);
    assert_eq!(t.send(Req::get(&b.host, "/api/v1/admin/domain").bearer(&tb)).await.status, StatusCode::NOT_FOUND);
    let r = t.send(current_host(DOMAIN)).await;
    assert_eq!((r.status, &r.json["url_prefix"]), (StatusCode::OK, &json!("acme")));
    let r = t.send(Req::get(&a.host, "/api/v1/admin/domain").bearer(&ta)).await;
    assert_eq!(
        (r.json["status"].as_str(), r.json["challenge"]["value"].as_str()),
        (Some("verified"), Some(value.as_str()))
    );

    // Setting the same domain again on its own page is a no-op that keeps it verified.
    let r = t.send(put_domain(&a.host, &ta, DOMAIN)).await;
    assert_eq!((r.status, r.json["status"].as_str()), (StatusCode::OK, Some("verified")));

    // The platform's own names are refused.
    for platform in ["x.status.test", "status.test", "admin.test"] {
        let r = t.send(put_domain(&b.host, &tb, platform)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{platform}: {}", r.text);
        assert_eq!(r.json["field"], "domain");
    }
    // So are things that are not domain names.
    for junk in ["localhost", "10.0.0.1", "has space.com", "ex_ample.com"] {
        let r = t.send(put_domain(&b.host, &tb, junk)).await;
        assert_eq!((r.status, r.json["field"].as_str()), (StatusCode::BAD_REQUEST, Some("domain")), "{junk}");
    }
    assert_eq!(t.count("custom_domains").await, rows_before);

    // B verifies a domain of its own; A's page token is refused there, B's works.
    let r = t.send(put_domain(&b.host, &tb, "status.beta.org")).await;
    let vb = r.json["challenge"]["value"].as_str().unwrap().to_string();
    dns.set_txt("_statibeat-challenge.status.beta.org", &[&vb]);
    assert_eq!(t.send(verify(&b.host, &tb)).await.status, StatusCode::OK);
    let r = t.send(Req::get("status.beta.org", "/api/v1/context").bearer(&ta)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert!(r.header("www-authenticate").is_some_and(|v| v.starts_with("Bearer")));
    let r = t.send(Req::get("status.beta.org", "/api/v1/admin/domain").bearer(&ta)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = t.send(Req::new(Method::DELETE, "status.beta.org", "/api/v1/admin/domain").bearer(&ta)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        t.send(domain_check("status.beta.org")).await.status,
        StatusCode::OK,
        "the refused delete changed nothing"
    );
    let r = t.send(Req::get("status.beta.org", "/api/v1/context").bearer(&tb)).await;
    assert_eq!((r.status, &r.json["page"]["url_prefix"]), (StatusCode::OK, &json!("beta")));
    // A page token of one page cannot verify or change another page's domain by host either.
    let r = t.send(put_domain(&b.host, &ta, "evil.example.com")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // Page managers may not configure domains (403), readers neither.
    let manager = t.page_token(&a, "write", "page_manager").await;
    let r = t.send(put_domain(&a.host, &manager, "other.acme.com")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = t.send(Req::new(Method::DELETE, &a.host, "/api/v1/admin/domain").bearer(&manager)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(t.send(domain_check(DOMAIN)).await.status, StatusCode::OK);
}
both!(a_domain_belongs_to_one_page_and_never_to_the_platform);

async fn trashing_a_page_stops_its_custom_domain(engine: Engine) {
    let dns = DnsServer::start().await;
    let addr = dns.addr;
    let t = TestApp::with(engine, |cfg| cfg.dns_resolver = Some(addr)).await;
    let a = t.tenant("acme").await;
    let token = t.page_token(&a, "admin", "page_admin").await;
    let r = t.send(put_domain(&a.host, &token, DOMAIN)).await;
    dns.set_txt("_statibeat-challenge.status.acme.com", &[r.json["challenge"]["value"].as_str().unwrap()]);
    assert_eq!(t.send(verify(&a.host, &token)).await.status, StatusCode::OK);
    assert_eq!(t.send(domain_check(DOMAIN)).await.status, StatusCode::OK);

    let trash = Req::new(Method::DELETE, ADMIN, &format!("/api/v1/org/pages/{}", a.page_id)).session(&a.admin_cookie);
    assert_eq!(t.send(trash).await.status, StatusCode::OK);
    assert_eq!(t.send(current_host(DOMAIN)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.send(domain_check(DOMAIN)).await.status, StatusCode::NOT_FOUND, "no certificate for a trashed page");

    let restore = Req::post(ADMIN, &format!("/api/v1/org/pages/{}/restore", a.page_id)).session(&a.admin_cookie);
    assert_eq!(t.send(restore).await.status, StatusCode::OK);
    assert_eq!(t.send(current_host(DOMAIN)).await.status, StatusCode::OK);
    assert_eq!(t.send(domain_check(DOMAIN)).await.status, StatusCode::OK);
}
both!(trashing_a_page_stops_its_custom_domain);

async fn verification_reports_an_unreachable_resolver_as_unavailable(engine: Engine) {
    let silent = SilentResolver::start();
    let addr = silent.addr;
    let t = TestApp::with(engine, |cfg| cfg.dns_resolver = Some(addr)).await;
    let a = t.tenant("acme").await;
    let token = t.page_token(&a, "admin", "page_admin").await;
    assert_eq!(t.send(put_domain(&a.host, &token, DOMAIN)).await.status, StatusCode::OK);

    let r = t.send(verify(&a.host, &token)).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    assert_eq!(r.json["code"], "unavailable");
    let retry: u64 = r.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!(retry > 0);
    // The domain is still pending and serves nothing.
    let r = t.send(Req::get(&a.host, "/api/v1/admin/domain").bearer(&token)).await;
    assert_eq!(r.json["status"], "pending");
    assert_eq!(t.send(current_host(DOMAIN)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.send(domain_check(DOMAIN)).await.status, StatusCode::NOT_FOUND);
}
both!(verification_reports_an_unreachable_resolver_as_unavailable);

/// A pending claim blocks nobody: the page that proves control first gets the domain, and the
/// other claim can no longer be verified.
async fn the_first_page_to_prove_control_gets_the_domain(engine: Engine) {
    let dns = DnsServer::start().await;
    let addr = dns.addr;
    let t = TestApp::with(engine, |cfg| cfg.dns_resolver = Some(addr)).await;
    let a = t.tenant("acme").await;
    let b = t.tenant("beta").await;
    let ta = t.page_token(&a, "admin", "page_admin").await;
    let tb = t.page_token(&b, "admin", "page_admin").await;
    let squat = t.send(put_domain(&b.host, &tb, DOMAIN)).await;
    assert_eq!((squat.status, squat.json["status"].as_str()), (StatusCode::OK, Some("pending")));
    let r = t.send(put_domain(&a.host, &ta, DOMAIN)).await;
    assert_eq!(r.status, StatusCode::OK, "a pending claim elsewhere does not block (or reveal itself): {}", r.text);
    let value = r.json["challenge"]["value"].as_str().unwrap().to_string();
    assert_ne!(Some(value.as_str()), squat.json["challenge"]["value"].as_str(), "each claim has its own challenge");
    dns.set_txt("_statibeat-challenge.status.acme.com", &[&value]);
    assert_eq!(t.send(verify(&b.host, &tb)).await.status, StatusCode::CONFLICT, "the squatter cannot prove control");
    assert_eq!(t.send(verify(&a.host, &ta)).await.status, StatusCode::OK);
    let r = t.send(current_host(DOMAIN)).await;
    assert_eq!(r.json["url_prefix"], "acme");
    // Even publishing its own value later, the other claim cannot take a verified domain.
    let mut values = vec![value.clone()];
    values.push(squat.json["challenge"]["value"].as_str().unwrap().to_string());
    dns.set_txt("_statibeat-challenge.status.acme.com", &values.iter().map(String::as_str).collect::<Vec<_>>());
    let r = t.send(verify(&b.host, &tb)).await;
    assert_eq!((r.status, r.json["code"].as_str()), (StatusCode::CONFLICT, Some("domain_taken")));
    assert_eq!(t.send(current_host(DOMAIN)).await.json["url_prefix"], "acme");
}
both!(the_first_page_to_prove_control_gets_the_domain);

/// A slow DNS answer for one domain can never verify the domain the page switched to meanwhile.
async fn switching_domains_during_a_slow_verification_verifies_nothing(engine: Engine) {
    let dns = DnsServer::start().await;
    let addr = dns.addr;
    let t = TestApp::with(engine, |cfg| cfg.dns_resolver = Some(addr)).await;
    let a = t.tenant("acme").await;
    let ta = t.page_token(&a, "admin", "page_admin").await;
    let r = t.send(put_domain(&a.host, &ta, "mine.example.com")).await;
    let value = r.json["challenge"]["value"].as_str().unwrap().to_string();
    dns.set_txt("_statibeat-challenge.mine.example.com", &[&value]);
    dns.set_delay_ms(600);
    let (verified, switched) = tokio::join!(t.send(verify(&a.host, &ta)), async {
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        t.send(put_domain(&a.host, &ta, "victim.example.com")).await
    });
    assert_eq!(switched.status, StatusCode::OK, "{}", switched.text);
    assert_eq!((verified.status, verified.json["code"].as_str()), (StatusCode::CONFLICT, Some("domain_changed")));
    let r = t.send(Req::get(&a.host, "/api/v1/admin/domain").bearer(&ta)).await;
    assert_eq!((r.json["domain"].as_str(), r.json["status"].as_str()), (Some("victim.example.com"), Some("pending")));
    assert_eq!(t.send(domain_check("victim.example.com")).await.status, StatusCode::NOT_FOUND);
}
both!(switching_domains_during_a_slow_verification_verifies_nothing);
