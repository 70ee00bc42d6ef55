//! Clients that guess: invented credentials, password oracles and concurrent guesses are bounded.

use crate::both;
use crate::harness::*;
use axum::http::StatusCode;
use serde_json::json;
use statibeat::auth::token::{PlainToken, TokenKind};
use statibeat::config::RateLimits;

fn invented_token() -> String {
    PlainToken::generate(TokenKind::Api, &mut rand::thread_rng()).expose().to_string()
}

/// Each invented token is well formed (the checksum is public), so it reaches a lookup; the
/// client's failure budget (the magic tier) bounds how many, and new tokens buy no new budget.
async fn a_client_inventing_tokens_is_turned_away_before_any_lookup(engine: Engine) {
    let t = TestApp::with(engine, |c| c.rate_limits = RateLimits { magic: 3, ..c.rate_limits }).await;
    let a = t.tenant("acme").await;
    let good = t.page_token(&a, "read", "page_viewer").await;
    for _ in 0..3 {
        let r = t.send(Req::get(&a.host, "/api/v1/context").bearer(&invented_token()).from_ip("203.0.113.9")).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = t.send(Req::get(&a.host, "/api/v1/context").bearer(&invented_token()).from_ip("203.0.113.9")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert_eq!(r.header("x-ratelimit-tier"), Some("magic"));
    assert!(r.header("retry-after").is_some());
    let r = t.send(Req::get(&a.host, "/api/v1/context").bearer(&good).from_ip("203.0.113.9")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "the guessing client waits out its window");
    let r = t.send(Req::get(&a.host, "/api/v1/context").bearer(&good).from_ip("198.51.100.7")).await;
    assert_eq!(r.status, StatusCode::OK, "other clients are not affected");
    t.clock.advance(statibeat::clock::MINUTE);
    let r = t.send(Req::get(&a.host, "/api/v1/context").bearer(&good).from_ip("203.0.113.9")).await;
    assert_eq!(r.status, StatusCode::OK, "the next window is open again");
}
both!(a_client_inventing_tokens_is_turned_away_before_any_lookup);

/// A stolen session is not an unlimited oracle for the account's password.
async fn password_change_guesses_are_throttled(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let guess = |n: usize| {
        Req::post(ADMIN, "/api/v1/auth/password")
            .session(&a.admin_cookie)
            .json(json!({"current_password": format!("guess number {n}"), "new_password": "a brand new password"}))
    };
    for n in 0..5 {
        assert_eq!(t.send(guess(n)).await.status, StatusCode::FORBIDDEN);
    }
    let r = t.send(guess(5)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert!(r.header("retry-after").is_some());
    let right = Req::post(ADMIN, "/api/v1/auth/password")
        .session(&a.admin_cookie)
        .json(json!({"current_password": "correct horse battery", "new_password": "a brand new password"}));
    assert_eq!(t.send(right.clone()).await.status, StatusCode::TOO_MANY_REQUESTS, "even the right password waits");
    t.clock.advance(2 * statibeat::clock::SECOND);
    assert_eq!(t.send(right).await.status, StatusCode::OK);
}
both!(password_change_guesses_are_throttled);

/// Concurrent guesses are counted before they are checked: a burst gets the free attempts only.
async fn a_burst_of_concurrent_login_guesses_gets_only_the_free_attempts(engine: Engine) {
    let t = TestApp::new(engine).await;
    let a = t.tenant("acme").await;
    let guess =
        || Req::post(ADMIN, "/api/v1/auth/login").json(json!({"email": a.admin_email, "password": "not the password"}));
    let burst: Vec<_> = (0..12).map(|_| t.send(guess())).collect();
    let statuses: Vec<StatusCode> = futures_join(burst).await.into_iter().map(|r| r.status).collect();
    let checked = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    let throttled = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!((checked, throttled), (5, 7), "{statuses:?}");
}
both!(a_burst_of_concurrent_login_guesses_gets_only_the_free_attempts);

/// Runs the futures concurrently on this task and returns their outputs in order.
async fn futures_join<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = (0..pinned.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(|o| o.expect("every future finished")).collect()
}
