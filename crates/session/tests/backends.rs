//! The engine against the real backends — Django + djangorestframework-simplejwt and the Rust
//! reference backend — started by `tessera-testkit`, with short lifetimes and rotation +
//! blacklist on. Each scenario runs once per backend. Expiry is reached without sleeping: the
//! client's injected clock and the server's test clock are moved together.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
#[path = "backends/stacks.rs"]
mod stacks;

use std::time::Instant;

use common::backend::BackendHarness;
use serde_json::json;
use tessera_session::ApiRequest;
use tessera_testkit::{BackendKind, ServerOptions};

const ACCESS_SECS: u64 = 30;

/// Short access tokens, rotation and blacklist-after-rotation on.
async fn setup(kind: BackendKind) -> BackendHarness {
    BackendHarness::start(
        kind,
        ServerOptions {
            access_lifetime_secs: ACCESS_SECS,
            refresh_lifetime_secs: 600,
            rotate: true,
            blacklist_after_rotation: true,
            ..ServerOptions::default()
        },
    )
    .await
}

fn echo(body: &serde_json::Value) -> ApiRequest {
    ApiRequest::post("/api/echo/").json(body).unwrap()
}

async fn login_request_expiry_request(kind: BackendKind) {
    let s = setup(kind).await;
    let session = s.logged_in().await;
    let r = session.request(echo(&json!({"n": 1}))).await.unwrap();
    assert_eq!(r.status, 200, "{kind}: {}", r.text());
    s.advance(ACCESS_SECS + 1).await;
    let r = session.request(echo(&json!({"n": 2}))).await.unwrap();
    assert_eq!(r.status, 200, "{kind}");
    assert!(
        !r.replayed,
        "{kind}: the expired token was refreshed before sending"
    );
    assert_eq!(s.count("POST /api/token/refresh/ 200").await, 1, "{kind}");
    assert_eq!(s.count("POST /api/echo/ 401").await, 0, "{kind}");
}

async fn post_expired_mid_flight_is_replayed_with_its_body(kind: BackendKind) {
    let s = setup(kind).await;
    let session = s.logged_in().await;
    // Only the server's clock moves: the client still believes its token is valid.
    s.server.shift_clock(ACCESS_SECS as i64 + 1).await.unwrap();
    let body = json!({"text": "héllo wörld", "list": [1, 2, 3], "nested": {"a": null}, "pad": "x".repeat(50_000)});
    let r = session.request(echo(&body)).await.unwrap();
    assert_eq!(r.status, 200, "{kind}: {}", r.text());
    assert!(r.replayed, "{kind}");
    let out: serde_json::Value = r.json().unwrap();
    assert_eq!(out["echo"], body, "{kind}: body changed on replay");
    assert_eq!(s.count("POST /api/echo/ 401").await, 1, "{kind}");
    assert_eq!(s.count("POST /api/echo/ 200").await, 1, "{kind}");
    assert_eq!(s.count("POST /api/token/refresh/ 200").await, 1, "{kind}");
}

async fn thousand_concurrent_requests_one_refresh(kind: BackendKind) {
    let s = setup(kind).await;
    let session = s.logged_in().await;
    s.advance(ACCESS_SECS + 1).await;
    let started = Instant::now();
    let tasks: Vec<_> = (0..1000)
        .map(|i| {
            let session = session.clone();
            tokio::spawn(async move { session.request(echo(&json!({ "i": i }))).await })
        })
        .collect();
    for t in tasks {
        let r = t.await.unwrap().unwrap();
        assert_eq!(r.status, 200, "{kind}: {}", r.text());
    }
    let elapsed = started.elapsed();
    // Close the session's connections before talking to the server's controls.
    drop(session);
    let refreshes = s.count("POST /api/token/refresh/ 200").await;
    eprintln!(
        "FIGURE backend={kind} concurrent_requests=1000 refreshes={refreshes} echo_401={} wall_ms={}",
        s.count("POST /api/echo/ 401").await,
        elapsed.as_millis()
    );
    assert_eq!(refreshes, 1, "{kind}");
    assert_eq!(s.count("POST /api/echo/ 200").await, 1000, "{kind}");
}

async fn refresh_503_twice_then_200_keeps_the_session(kind: BackendKind) {
    let s = setup(kind).await;
    let session = s.logged_in().await;
    s.server.fail_next_refreshes(2, 503).await.unwrap();
    s.advance(ACCESS_SECS + 1).await;
    let r = session.request(echo(&json!({}))).await.unwrap();
    assert_eq!(r.status, 200, "{kind}");
    assert_eq!(s.count("POST /api/token/refresh/ 503").await, 2, "{kind}");
    assert_eq!(s.count("POST /api/token/refresh/ 200").await, 1, "{kind}");
    assert!(session.status().signed_in);
}

async fn blacklisted_refresh_token_ends_the_session(kind: BackendKind) {
    let s = setup(kind).await;
    let session = s.logged_in().await;
    // Someone (an admin, another device's logout) blacklists this session's refresh token.
    let refresh = s.stored_refresh_token();
    let status = reqwest::Client::new()
        .post(s.server.url("api/token/blacklist/"))
        .json(&json!({ "refresh": refresh }))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200, "{kind}");
    s.advance(ACCESS_SECS + 1).await;
    let err = session.request(echo(&json!({}))).await.unwrap_err();
    assert_eq!(err.code(), "session_expired", "{kind}");
    assert!(s.store.snapshot().is_empty(), "{kind}: keyring not cleared");
    assert_eq!(s.count("POST /api/token/refresh/ 401").await, 1, "{kind}");
    assert_eq!(
        s.session().restore().await.unwrap_err().code(),
        "login_required"
    );
}

async fn server_clock_ten_minutes_off(kind: BackendKind) {
    for skew in [600_i64, -600] {
        let s = setup(kind).await;
        s.server.shift_clock(skew).await.unwrap();
        let session = s.logged_in().await;
        for i in 0..10 {
            assert_eq!(
                session
                    .request(echo(&json!({ "i": i })))
                    .await
                    .unwrap()
                    .status,
                200
            );
        }
        assert_eq!(
            s.count("POST /api/token/refresh/ 200").await,
            0,
            "{kind} {skew}: refreshed a fresh token"
        );
        s.advance(ACCESS_SECS + 1).await;
        assert_eq!(session.request(echo(&json!({}))).await.unwrap().status, 200);
        assert_eq!(
            s.count("POST /api/token/refresh/ 200").await,
            1,
            "{kind} {skew}"
        );
        assert_eq!(
            s.count("POST /api/echo/ 401").await,
            0,
            "{kind} {skew}: used an expired token"
        );
        let offset = session.status().clock_offset_ms;
        assert!(
            (offset - skew * 1000).abs() < 5_000,
            "{kind} {skew}: offset {offset}"
        );
    }
}

async fn logout_blacklists_the_refresh_token(kind: BackendKind) {
    let s = setup(kind).await;
    let session = s.logged_in().await;
    let out = session.logout().await.unwrap();
    assert!(out.server_revoked, "{kind}: {out:?}");
    assert_eq!(s.count("POST /api/token/blacklist/ 200").await, 1);
    assert!(s.store.snapshot().is_empty());
}

macro_rules! against_both {
    ($($name:ident),* $(,)?) => {
        mod django {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::BackendKind::Django).await; })*
        }
        mod rust {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::BackendKind::Rust).await; })*
        }
    };
}

against_both!(
    login_request_expiry_request,
    post_expired_mid_flight_is_replayed_with_its_body,
    thousand_concurrent_requests_one_refresh,
    refresh_503_twice_then_200_keeps_the_session,
    blacklisted_refresh_token_ends_the_session,
    server_clock_ten_minutes_off,
    logout_blacklists_the_refresh_token,
);
