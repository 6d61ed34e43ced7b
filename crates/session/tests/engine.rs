//! The engine against a scripted simplejwt server, with an injected clock: one test per rule of
//! issue #4 (login, storage, restore, proactive refresh, skew, single-flight, replay, rotation,
//! failure semantics, logout, registration, events).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Harness, ServerConfig};
use tessera_session::{
    header, ApiRequest, Error, FakeOp, Method, Password, Registration, SessionEvent, StoreError,
};

fn pw(p: &str) -> Password {
    Password::new(p.to_owned())
}

fn drain(rx: &mut tokio::sync::broadcast::Receiver<SessionEvent>) -> Vec<SessionEvent> {
    let mut out = Vec::new();
    while let Ok(e) = rx.try_recv() {
        out.push(e);
    }
    out
}

#[tokio::test]
async fn login_stores_tokens_not_the_password_and_a_new_process_restores_them() {
    let h = Harness::new(ServerConfig::default()).await;
    let session = h.session();
    let mut events = session.subscribe();
    let status = session.login("alice", pw("correct horse")).await.unwrap();
    assert!(status.signed_in);
    assert_eq!(status.user_id.as_deref(), Some("1"));
    assert!(!status.access_expired);
    assert_eq!(status.claims["token_type"], "access");
    let entries = h.store.snapshot();
    assert_eq!(
        entries.len(),
        1,
        "one entry per profile: {:?}",
        entries.keys()
    );
    let blob = &entries["session:test"];
    assert!(!blob.contains("correct horse"));
    assert!(blob.contains(&h.server.issued_tokens()[0]));
    assert!(matches!(
        drain(&mut events).as_slice(),
        [SessionEvent::LoggedIn { .. }]
    ));

    let other = h.session();
    let restored = other.restore().await.unwrap();
    assert!(restored.signed_in);
    assert_eq!(restored.access_expires_at, status.access_expires_at);
    let response = other.request(ApiRequest::get("/api/echo/")).await.unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(h.refreshes(), 0);
    // the status shows claims, never a token
    let shown = serde_json::to_string(&other.status()).unwrap();
    for token in h.server.issued_tokens() {
        assert!(!shown.contains(&token));
    }
}

#[tokio::test]
async fn bad_credentials_and_missing_fields_have_their_own_codes() {
    let h = Harness::new(ServerConfig::default()).await;
    let session = h.session();
    let err = session.login("alice", pw("wrong")).await.unwrap_err();
    assert_eq!(err.code(), "invalid_credentials");
    let err = session.login("bob", pw("")).await.unwrap_err();
    assert_eq!(err.code(), "invalid_credentials");
    let mut profile = h.profile.clone();
    profile.password_field = "pass".into();
    let err = h
        .session_with(profile)
        .login("alice", pw("x"))
        .await
        .unwrap_err();
    let Error::Validation { fields } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(fields["password"], vec!["This field is required."]);
    assert!(h.store.snapshot().is_empty());
    assert_eq!(
        session
            .request(ApiRequest::get("/api/echo/"))
            .await
            .unwrap_err()
            .code(),
        "login_required"
    );
}

#[tokio::test]
async fn login_never_follows_a_redirect() {
    let h = Harness::new(ServerConfig::default()).await;
    let mut profile = h.profile.clone();
    profile.obtain_path = "/api/token-redirect/".into();
    let err = h
        .session_with(profile)
        .login("alice", pw("correct horse"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "http_error");
    assert!(err.to_string().contains("/api/steal/"), "{err}");
    assert_eq!(h.server.count("POST /api/token-redirect/ 307"), 1);
    assert_eq!(
        h.server.count("POST /api/steal/ 200"),
        0,
        "the password was re-sent"
    );
}

#[tokio::test]
async fn custom_login_views_with_email_and_token_suffixed_fields() {
    let h = Harness::new(ServerConfig::custom_view()).await;
    let session = h.session();
    session
        .login("alice@example.com", pw("correct horse"))
        .await
        .unwrap();
    h.advance(299);
    let r = session
        .request(ApiRequest::get("/api/echo/"))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(h.refreshes(), 1);
    let out = session.logout().await.unwrap();
    assert!(out.server_revoked, "{out:?}");
}

#[tokio::test]
async fn wrong_response_shape_is_bad_response() {
    let h = Harness::new(ServerConfig::custom_view()).await;
    // profile expects simplejwt names, server sends *_token names
    let mut profile = h.profile.clone();
    profile.login_field = "email".into();
    profile.access_field = "access".into();
    let err = h
        .session_with(profile)
        .login("alice@example.com", pw("correct horse"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "bad_response");
    assert!(err.to_string().contains("access_token"), "{err}");
    assert!(!err.to_string().contains("eyJ"));
}

#[tokio::test]
async fn proactive_refresh_happens_at_exp_minus_margin_and_not_before() {
    let h = Harness::new(ServerConfig::default()).await; // 300 s tokens, 60 s margin
    let session = h.logged_in().await;
    h.advance(235);
    session
        .request(ApiRequest::get("/api/echo/"))
        .await
        .unwrap();
    assert_eq!(h.refreshes(), 0, "refreshed too early");
    h.advance(6); // 241 s: past exp - 60 (+ up to 0.5 s offset rounding)
    session
        .request(ApiRequest::get("/api/echo/"))
        .await
        .unwrap();
    assert_eq!(h.refreshes(), 1);
    assert_eq!(
        h.server.count("GET /api/echo/ 401"),
        0,
        "the server never saw an expired token"
    );
    session
        .request(ApiRequest::get("/api/echo/"))
        .await
        .unwrap();
    assert_eq!(h.refreshes(), 1, "a fresh token is not refreshed again");
}

#[tokio::test]
async fn short_lived_tokens_shrink_the_margin() {
    let h = Harness::new(ServerConfig {
        access_lifetime: 20,
        ..ServerConfig::default()
    })
    .await;
    let session = h.logged_in().await;
    // With a 60 s margin a 20 s token would be "due" at once; the margin is 5 s instead.
    for _ in 0..5 {
        session
            .request(ApiRequest::get("/api/echo/"))
            .await
            .unwrap();
    }
    h.advance(14);
    session
        .request(ApiRequest::get("/api/echo/"))
        .await
        .unwrap();
    assert_eq!(h.refreshes(), 0);
    h.advance(2);
    session
        .request(ApiRequest::get("/api/echo/"))
        .await
        .unwrap();
    assert_eq!(h.refreshes(), 1);
    let status = session.status();
    assert_eq!(
        status.next_refresh_at.unwrap() + 5,
        status.access_expires_at.unwrap()
    );
}

#[tokio::test]
async fn a_clock_ten_minutes_off_either_way_neither_loops_nor_expires() {
    for skew in [600, -600] {
        let h = Harness::new(ServerConfig::default()).await;
        h.server.shift_clock(skew);
        let session = h.logged_in().await;
        let offset = session.status().clock_offset_ms;
        assert!(
            (offset - skew * 1000).abs() <= 1000,
            "skew {skew}: offset {offset}"
        );
        for _ in 0..10 {
            assert_eq!(
                session
                    .request(ApiRequest::get("/api/echo/"))
                    .await
                    .unwrap()
                    .status,
                200
            );
        }
        assert_eq!(h.refreshes(), 0, "skew {skew}: refresh loop");
        h.advance(250);
        assert_eq!(
            session
                .request(ApiRequest::get("/api/echo/"))
                .await
                .unwrap()
                .status,
            200
        );
        assert_eq!(h.refreshes(), 1, "skew {skew}");
        assert_eq!(
            h.server.count("GET /api/echo/ 401"),
            0,
            "skew {skew}: token expired in use"
        );
        // the offset survives a restart through the keyring
        let other = h.session();
        other.restore().await.unwrap();
        assert!((other.status().clock_offset_ms - skew * 1000).abs() <= 1000);
        other.request(ApiRequest::get("/api/echo/")).await.unwrap();
        assert_eq!(h.refreshes(), 1, "skew {skew}: restart refreshed again");
    }
}

#[tokio::test]
async fn a_machine_that_slept_through_expiry_refreshes_before_sending() {
    let h = Harness::new(ServerConfig::default()).await;
    let session = h.logged_in().await;
    let _auto = session.spawn_auto_refresh();
    h.advance(3 * 3600); // laptop lid closed for three hours
    let r = session
        .request(ApiRequest::get("/api/echo/"))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert!(!r.replayed);
    assert_eq!(h.server.count("GET /api/echo/ 401"), 0);
    assert_eq!(h.refreshes(), 1);
}

#[tokio::test]
async fn many_concurrent_requests_on_an_expired_token_cause_one_refresh() {
    let h = Harness::new(ServerConfig::default()).await;
    let session = h.logged_in().await;
    h.server
        .state
        .refresh_delay_ms
        .store(50, std::sync::atomic::Ordering::SeqCst);
    h.advance(301);
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let s = session.clone();
            tokio::spawn(async move { s.request(ApiRequest::get("/api/echo/")).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().status, 200);
    }
    assert_eq!(h.server.count("POST /api/token/refresh/ 200"), 1);
    assert_eq!(h.server.count("POST /api/token/refresh/ 401"), 0);
    assert_eq!(h.server.count("GET /api/echo/ 200"), 200);
}

#[tokio::test]
async fn concurrent_401s_cause_one_refresh_and_each_request_is_replayed_once() {
    let h = Harness::new(ServerConfig::default()).await;
    let session = h.logged_in().await;
    h.server
        .state
        .refresh_delay_ms
        .store(30, std::sync::atomic::Ordering::SeqCst);
    h.server
        .state
        .reject_next_access
        .store(50, std::sync::atomic::Ordering::SeqCst);
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let s = session.clone();
            tokio::spawn(async move {
                s.request(ApiRequest::post("/api/echo/").body(format!("body-{i}")))
                    .await
            })
        })
        .collect();
    for t in tasks {
        let r = t.await.unwrap().unwrap();
        assert_eq!(r.status, 200);
        assert!(r.replayed);
    }
    assert_eq!(h.refreshes(), 1);
}

#[tokio::test]
async fn a_post_rejected_mid_flight_is_replayed_once_with_its_body_intact() {
    let h = Harness::new(ServerConfig::default()).await;
    let session = h.logged_in().await;
    let mut events = session.subscribe();
    let body = serde_json::json!({"text": "héllo", "n": [1, 2, 3], "big": "x".repeat(100_000)});
    h.server
        .state
        .reject_next_access
        .store(1, std::sync::atomic::Ordering::SeqCst);
    let r = session
        .request(ApiRequest::post("/api/echo/").json(&body).unwrap())
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert!(r.replayed);
    let echoed: serde_json::Value = r.json().unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(echoed["body"].as_str().unwrap()).unwrap(),
        body
    );
    assert_eq!(h.server.count("POST /api/echo/ 401"), 1);
    assert_eq!(h.server.count("POST /api/echo/ 200"), 1);
    assert_eq!(h.refreshes(), 1);
    let names: Vec<_> = drain(&mut events).iter().map(SessionEvent::name).collect();
    assert_eq!(names, vec!["refreshed", "replayed_after401"]);
}

#[tokio::test]
async fn a_second_401_is_returned_to_the_caller() {
    let h = Harness::new(ServerConfig::default()).await;
    let session = h.logged_in().await;
    h.server
        .state
        .reject_next_access
        .store(2, std::sync::atomic::Ordering::SeqCst);
    let r = session
        .request(ApiRequest::post("/api/echo/").body("x"))
        .await
        .unwrap();
    assert_eq!(r.status, 401);
    assert!(r.replayed);
    assert_eq!(h.refreshes(), 1);
    assert_eq!(h.server.count("POST /api/echo/ 401"), 2);
}

#[tokio::test]
async fn other_401_codes_403_and_streaming_bodies_are_not_replayed() {
    let h = Harness::new(ServerConfig::default()).await;
    let session = h.logged_in().await;
    let r = session
        .request(ApiRequest::get("/api/inactive/"))
        .await
        .unwrap();
    assert_eq!((r.status, r.replayed), (401, false));
    let r = session
        .request(ApiRequest::get("/api/forbidden/"))
        .await
        .unwrap();
    assert_eq!((r.status, r.replayed), (403, false));
    h.server
        .state
        .reject_next_access
        .store(1, std::sync::atomic::Ordering::SeqCst);
    let r = session
        .request(ApiRequest::post("/api/echo/").streaming_body(reqwest::Body::from("stream")))
        .await
        .unwrap();
    assert_eq!((r.status, r.replayed), (401, false));
    assert_eq!(h.refreshes(), 0);
    let mut header_profile = h.profile.clone();
    header_profile.auth_header_type = "JWT".into();
    let jwt = h.session_with(header_profile);
    jwt.restore().await.unwrap();
    let r = jwt.request(ApiRequest::get("/api/echo/")).await.unwrap();
    assert_eq!(
        (r.status, r.replayed),
        (401, false),
        "bad_authorization_header is not cured by a refresh"
    );
    assert_eq!(h.refreshes(), 0);
}

#[tokio::test]
async fn rotation_persists_the_new_refresh_token_and_never_sends_the_old_one_again() {
    let h = Harness::new(ServerConfig::default()).await;
    let session = h.logged_in().await;
    for _ in 0..5 {
        h.advance(290);
        session
            .request(ApiRequest::get("/api/echo/"))
            .await
            .unwrap();
        // what is in the keyring is what the next refresh will send
        let blob = h.store.snapshot()["session:test"].clone();
        let last_issued = h.server.issued_tokens().last().unwrap().clone();
        assert!(
            blob.contains(&last_issued),
            "rotated refresh token not stored"
        );
    }
    assert_eq!(h.refreshes(), 5);
    let sent = h
        .server
        .state
        .refresh_tokens_received
        .lock()
        .unwrap()
        .clone();
    let unique: std::collections::HashSet<_> = sent.iter().collect();
    assert_eq!(unique.len(), sent.len(), "a refresh token was sent twice");
}

#[tokio::test]
async fn a_cancelled_caller_cannot_lose_a_rotated_refresh_token() {
    let h = Harness::new(ServerConfig::default()).await;
    let session = h.logged_in().await;
    h.server
        .state
        .refresh_delay_ms
        .store(300, std::sync::atomic::Ordering::SeqCst);
    h.advance(290);
    let cancelled = tokio::time::timeout(
        Duration::from_millis(50),
        session.request(ApiRequest::get("/api/echo/")),
    )
    .await;
    assert!(cancelled.is_err(), "the request should have been cancelled");
    h.server
        .state
        .refresh_delay_ms
        .store(0, std::sync::atomic::Ordering::SeqCst);
    // the refresh went on; a fresh process finds the rotated pair in the keyring and works
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(h.refreshes(), 1);
    let other = h.session();
    other.restore().await.unwrap();
    assert_eq!(
        other
            .request(ApiRequest::get("/api/echo/"))
            .await
            .unwrap()
            .status,
        200
    );
    assert_eq!(
        session
            .request(ApiRequest::get("/api/echo/"))
            .await
            .unwrap()
            .status,
        200
    );
    assert_eq!(h.refreshes(), 1);
    assert_eq!(h.server.count("POST /api/token/refresh/ 401"), 0);
}

#[tokio::test]
async fn a_refused_refresh_ends_the_session_and_clears_the_keyring() {
    let h = Harness::new(ServerConfig::default()).await;
    let session = h.logged_in().await;
    let mut events = session.subscribe();
    h.server.blacklist_all_issued();
    h.advance(290);
    let err = session
        .request(ApiRequest::get("/api/echo/"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "session_expired");
    assert!(h.store.snapshot().is_empty());
    assert!(!session.status().signed_in);
    assert!(session.status().reason.is_some());
    assert!(drain(&mut events)
        .iter()
        .any(|e| matches!(e, SessionEvent::SessionExpired { .. })));
    // no further network traffic
    let before = h.server.counters();
    assert_eq!(
        session
            .request(ApiRequest::get("/api/echo/"))
            .await
            .unwrap_err()
            .code(),
        "session_expired"
    );
    assert_eq!(before, h.server.counters());
    assert_eq!(
        h.session().restore().await.unwrap_err().code(),
        "login_required"
    );
}

#[tokio::test]
async fn five_hundred_threes_then_success_keep_the_session() {
    let h = Harness::new(ServerConfig::default()).await;
    let session = h.logged_in().await;
    let mut events = session.subscribe();
    h.server.fail_next_refreshes(2, 503, None);
    h.advance(301);
    let r = session
        .request(ApiRequest::get("/api/echo/"))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(h.server.count("POST /api/token/refresh/ 503"), 2);
    assert_eq!(h.refreshes(), 1);
    let transient: Vec<_> = drain(&mut events)
        .into_iter()
        .filter_map(|e| match e {
            SessionEvent::RefreshFailedTransiently {
                attempt,
                code,
                retry_in_ms,
                ..
            } => Some((attempt, code, retry_in_ms.is_some())),
            _ => None,
        })
        .collect();
    assert_eq!(
        transient,
        vec![
            (1, "server_error".into(), true),
            (2, "server_error".into(), true)
        ]
    );
}

#[tokio::test]
async fn retry_after_is_honoured_and_retries_are_bounded() {
    let h = Harness::new(ServerConfig::default()).await;
    let session = h.logged_in().await;
    let mut events = session.subscribe();
    h.server.fail_next_refreshes(1, 429, Some("1"));
    h.advance(301);
    session
        .request(ApiRequest::get("/api/echo/"))
        .await
        .unwrap();
    let waits: Vec<_> = drain(&mut events)
        .into_iter()
        .filter_map(|e| match e {
            SessionEvent::RefreshFailedTransiently { retry_in_ms, .. } => retry_in_ms,
            _ => None,
        })
        .collect();
    assert_eq!(waits, vec![1000]);

    // always failing: a bounded number of attempts, the error surfaces, the session stays
    h.server.fail_next_refreshes(100, 502, None);
    h.advance(301);
    let err = session
        .request(ApiRequest::get("/api/echo/"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "server_error");
    assert_eq!(h.server.count("POST /api/token/refresh/ 502"), 4);
    assert!(session.status().signed_in);
    assert!(!h.store.snapshot().is_empty());
    // a Retry-After beyond the policy's limit is not waited for
    h.server.clear_refresh_failures();
    h.server.fail_next_refreshes(1, 503, Some("3600"));
    let before = h.server.count("POST /api/token/refresh/ 502");
    let err = session
        .request(ApiRequest::get("/api/echo/"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "server_error");
    assert_eq!(h.server.count("POST /api/token/refresh/ 503"), 1);
    assert_eq!(h.server.count("POST /api/token/refresh/ 502"), before);
}

#[tokio::test]
async fn a_failed_refresh_is_shared_by_everyone_who_waited_for_it() {
    let h = Harness::new(ServerConfig::default()).await;
    let session = h.logged_in().await;
    h.server.fail_next_refreshes(100, 503, None);
    h.advance(301);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let s = session.clone();
            tokio::spawn(async move { s.request(ApiRequest::get("/api/echo/")).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap_err().code(), "server_error");
    }
    // one flight of 4 attempts, not 50
    assert_eq!(h.server.count("POST /api/token/refresh/ 503"), 4);
}

#[tokio::test]
async fn offline_refresh_keeps_the_session_and_a_still_valid_token_is_used() {
    let h = Harness::new(ServerConfig::default()).await;
    let session = h.logged_in().await;
    // due (inside the margin) but not expired, refresh endpoint failing: the request still goes out
    h.server.fail_next_refreshes(4, 503, None);
    h.advance(250);
    let r = session
        .request(ApiRequest::get("/api/echo/"))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert!(session.status().signed_in);
}

#[tokio::test]
async fn another_process_that_already_rotated_is_followed_not_raced() {
    let h = Harness::new(ServerConfig::default()).await;
    let app = h.logged_in().await;
    let cli = h.session();
    cli.restore().await.unwrap();
    h.advance(301);
    // the CLI refreshes (rotating and blacklisting the old refresh token)
    cli.request(ApiRequest::get("/api/echo/")).await.unwrap();
    assert_eq!(h.refreshes(), 1);
    // the app still holds the old pair in memory; it must take the CLI's tokens, not refresh
    let mut events = app.subscribe();
    let r = app.request(ApiRequest::get("/api/echo/")).await.unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(h.refreshes(), 1);
    assert_eq!(h.server.count("POST /api/token/refresh/ 401"), 0);
    assert!(drain(&mut events).iter().any(|e| matches!(
        e,
        SessionEvent::Refreshed {
            by_other_process: true,
            ..
        }
    )));
}

#[tokio::test]
async fn a_logout_elsewhere_signs_this_process_out_at_its_next_refresh() {
    let h = Harness::new(ServerConfig::default()).await;
    let app = h.logged_in().await;
    let cli = h.session();
    cli.restore().await.unwrap();
    cli.logout().await.unwrap();
    h.advance(301);
    let err = app
        .request(ApiRequest::get("/api/echo/"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "login_required");
    assert_eq!(h.server.count("POST /api/token/refresh/ 200"), 0);
}

#[tokio::test]
async fn restore_refreshes_an_expired_access_token_and_reports_an_expired_refresh_token() {
    let h = Harness::new(ServerConfig::default()).await;
    h.logged_in().await;
    h.advance(3600);
    let s = h.session();
    let status = s.restore().await.unwrap();
    assert!(status.signed_in && !status.access_expired);
    assert_eq!(h.refreshes(), 1);

    h.advance(2 * 86_400);
    let s = h.session();
    let err = s.restore().await.unwrap_err();
    assert_eq!(err.code(), "session_expired");
    assert!(
        err.to_string().contains("refresh token has expired"),
        "{err}"
    );
    assert!(h.store.snapshot().is_empty());
    assert_eq!(
        h.refreshes(),
        1,
        "an expired refresh token is not even sent"
    );
}

#[tokio::test]
async fn restore_offline_keeps_the_session() {
    let h = Harness::new(ServerConfig::default()).await;
    h.logged_in().await;
    h.advance(3600);
    h.server.fail_next_refreshes(4, 503, None);
    let s = h.session();
    let status = s.restore().await.unwrap();
    assert!(status.signed_in);
    assert!(status.access_expired);
    assert!(!h.store.snapshot().is_empty());
    // back online: the next request refreshes
    assert_eq!(
        s.request(ApiRequest::get("/api/echo/"))
            .await
            .unwrap()
            .status,
        200
    );
}

#[tokio::test]
async fn restore_without_a_session_or_for_another_server_requires_login() {
    let h = Harness::new(ServerConfig::default()).await;
    assert_eq!(
        h.session().restore().await.unwrap_err().code(),
        "login_required"
    );
    h.logged_in().await;
    let mut moved = h.profile.clone();
    moved.base_url = url::Url::parse("http://localhost:1/").unwrap();
    let err = h.session_with(moved).restore().await.unwrap_err();
    assert_eq!(err.code(), "login_required");
    assert!(err.to_string().contains("now points to"), "{err}");
}

#[tokio::test]
async fn logout_blacklists_then_deletes_even_offline() {
    let h = Harness::new(ServerConfig::default()).await;
    let session = h.logged_in().await;
    let mut events = session.subscribe();
    let out = session.logout().await.unwrap();
    assert!(out.server_revoked);
    assert_eq!(h.server.count("POST /api/token/blacklist/ 200"), 1);
    assert!(h.store.snapshot().is_empty());
    assert!(matches!(
        drain(&mut events).as_slice(),
        [SessionEvent::LoggedOut {
            server_revoked: true,
            ..
        }]
    ));
    assert_eq!(
        session
            .request(ApiRequest::get("/api/echo/"))
            .await
            .unwrap_err()
            .code(),
        "login_required"
    );

    // offline: the server is unreachable, the keyring is cleared anyway
    let session = h.logged_in().await;
    let mut offline = h.profile.clone();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    offline.base_url = url::Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    drop(session);
    let blob = h.store.snapshot()["session:test"].clone();
    // rewrite the stored origin so the offline profile owns the session
    let fixed = blob.replace(
        h.server.base_url.as_str(),
        &format!("http://127.0.0.1:{port}"),
    );
    tessera_session::SecretStore::set(h.store.as_ref(), "session:test", &fixed).unwrap();
    let s = h.session_with(offline);
    s.restore().await.unwrap();
    let out = s.logout().await.unwrap();
    assert!(!out.server_revoked);
    assert_eq!(
        out.server_note.as_deref(),
        Some("the server was not told (network)")
    );
    assert!(h.store.snapshot().is_empty());
}

#[tokio::test]
async fn registration_surfaces_field_errors_then_signs_in() {
    let h = Harness::new(ServerConfig::custom_view()).await;
    let session = h.session();
    let mut fields = std::collections::BTreeMap::new();
    fields.insert("name".to_owned(), String::new());
    fields.insert("email".to_owned(), "not-an-email".to_owned());
    let err = session
        .register(Registration {
            fields: fields.clone(),
            password: pw("short"),
        })
        .await
        .unwrap_err();
    let Error::Validation { fields: errors } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        errors.keys().collect::<Vec<_>>(),
        vec!["email", "name", "password"]
    );
    assert_eq!(errors["email"], vec!["Enter a valid email address."]);
    assert_eq!(
        serde_json::to_value(&err).unwrap()["fields"]["password"][0],
        "This password is too short. It must contain at least 8 characters."
    );

    fields.insert("name".to_owned(), "Bob".to_owned());
    fields.insert("email".to_owned(), "bob@example.com".to_owned());
    let status = session
        .register(Registration {
            fields,
            password: pw("long enough pw"),
        })
        .await
        .unwrap();
    assert!(status.signed_in);
    assert_eq!(h.server.count("POST /api/register/ 201"), 1);
    assert_eq!(h.server.count("POST /api/token/ 200"), 1);

    let mut no_reg = h.profile.clone();
    no_reg.registration_path = None;
    let err = h
        .session_with(no_reg)
        .register(Registration {
            fields: Default::default(),
            password: pw("x"),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not_supported");
}

#[tokio::test]
async fn a_locked_keyring_is_a_clear_error_not_a_hang() {
    let h = Harness::new(ServerConfig::default()).await;
    h.store.set_hang(Some(Duration::from_secs(3)));
    let err = h.session().restore().await.unwrap_err();
    assert_eq!(err.code(), "keyring_unavailable");
    h.store.set_hang(None);
    h.store.fail_next(
        FakeOp::Set,
        StoreError::Unavailable("the collection is locked".into()),
    );
    let err = h
        .session()
        .login("alice", pw("correct horse"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "keyring_unavailable");
    assert!(err.to_string().contains("collection is locked"));
}

#[tokio::test]
async fn idempotent_requests_are_retried_after_a_network_error_others_never() {
    // A server that accepts connections and closes them at once.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counter = Arc::clone(&accepted);
    tokio::spawn(async move {
        loop {
            let (sock, _) = listener.accept().await.unwrap();
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(sock);
        }
    });
    let h = Harness::new(ServerConfig::default()).await;
    h.logged_in().await;
    let blob = h.store.snapshot()["session:test"].clone();
    let dead = format!("http://127.0.0.1:{port}");
    tessera_session::SecretStore::set(
        h.store.as_ref(),
        "session:test",
        &blob.replace(h.server.base_url.as_str(), &dead),
    )
    .unwrap();
    let mut profile = h.profile.clone();
    profile.base_url = url::Url::parse(&dead).unwrap();
    let s = h.session_with(profile);
    s.restore().await.unwrap();
    let err = s
        .request(ApiRequest::post("/api/echo/").body("once"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "network");
    assert_eq!(
        accepted.swap(0, std::sync::atomic::Ordering::SeqCst),
        1,
        "a POST was retried"
    );
    let err = s.request(ApiRequest::get("/api/echo/")).await.unwrap_err();
    assert_eq!(err.code(), "network");
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[tokio::test]
async fn token_endpoints_are_reserved_in_any_spelling() {
    let h = Harness::new(ServerConfig::default()).await;
    let session = h.logged_in().await;
    let base = h.server.base_url.trim_end_matches('/').to_owned();
    let absolute = |path: &str| format!("{base}/{path}");
    for target in [
        "/api/token/".to_owned(),
        "api/token/refresh".to_owned(),
        "/api/token/refresh/?x=1".to_owned(),
        "/api/token/blacklist//".to_owned(),
        absolute("api/token/"),
        absolute("api/token/verify"),
        absolute("api/token/refresh/?x=1"),
    ] {
        let err = session
            .request(ApiRequest::post(target.clone()).body("{}"))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "reserved_endpoint", "{target}");
    }
    // Another origin is refused as such, token path or not.
    let err = session
        .request(ApiRequest::get("https://evil.example.com/api/token/"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "cross_origin");
    // An ordinary endpoint still works afterwards.
    let r = session
        .request(ApiRequest::get("/api/echo/?next=/api/token/"))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn tokens_go_nowhere_but_the_profile_origin() {
    let h = Harness::new(ServerConfig::default()).await;
    let session = h.logged_in().await;
    let err = session
        .request(ApiRequest::get("https://evil.example.com/api/echo/"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "cross_origin");
    let same = format!("{}/api/echo/", h.server.base_url);
    let r = session
        .request(ApiRequest::get(same).header(
            header::AUTHORIZATION,
            header::HeaderValue::from_static("Bearer forged"),
        ))
        .await
        .unwrap();
    assert_eq!(
        r.status, 200,
        "the caller's Authorization header is replaced"
    );
    let m = Method::DELETE;
    assert_eq!(
        session
            .request(ApiRequest::new(m, "/api/echo/"))
            .await
            .unwrap()
            .status,
        200
    );
}

#[tokio::test]
async fn auto_refresh_refreshes_in_the_background_and_stops_when_the_session_ends() {
    let h = Harness::new(ServerConfig::default()).await;
    let session = h.logged_in().await;
    let auto = session.spawn_auto_refresh();
    let mut events = session.subscribe();
    h.advance(250);
    // The loop re-reads the clock at least every 100 ms here (30 s by default).
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if let Ok(SessionEvent::Refreshed { .. }) = events.recv().await {
                break;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(h.refreshes(), 1);
    session.logout().await.unwrap();
    tokio::time::timeout(Duration::from_secs(20), async {
        while !auto.is_finished() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn sliding_tokens_refresh_with_the_token_itself_until_refresh_exp() {
    let h = Harness::new(ServerConfig {
        refresh_lifetime: 1000,
        ..ServerConfig::default()
    })
    .await;
    let mut profile = h.profile.clone();
    profile.sliding = true;
    profile.obtain_path = "/api/token/sliding/".into();
    profile.refresh_path = "/api/token/sliding/refresh/".into();
    let session = h.session_with(profile.clone());
    let status = session.login("alice", pw("correct horse")).await.unwrap();
    assert!(status.sliding);
    assert_eq!(status.claims["token_type"], "sliding");
    assert!(status.refresh_expires_at.is_some());
    h.advance(290);
    assert_eq!(
        session
            .request(ApiRequest::get("/api/echo/"))
            .await
            .unwrap()
            .status,
        200
    );
    assert_eq!(h.server.count("POST /api/token/sliding/refresh/ 200"), 1);
    // past refresh_exp: the session is over, without sending the token
    h.advance(1000);
    let err = h.session_with(profile).restore().await.unwrap_err();
    assert_eq!(err.code(), "session_expired");
    assert_eq!(h.server.count("POST /api/token/sliding/refresh/ 401"), 0);
    assert!(h.store.snapshot().is_empty());
}

fn verification(
    public_pem: Option<&str>,
    jwks: Option<String>,
) -> tessera_session::VerificationConfig {
    tessera_session::VerificationConfig {
        algorithm: "EdDSA".into(),
        public_key_file: None,
        public_key_pem: public_pem.map(str::to_owned),
        jwks_url: jwks.map(|u| url::Url::parse(&u).unwrap()),
        audience: None,
        issuer: None,
        leeway_secs: 0,
    }
}

#[tokio::test]
async fn configured_keys_verify_every_token_received() {
    let h = Harness::new(ServerConfig {
        ed25519: true,
        ..ServerConfig::default()
    })
    .await;
    // the right public key: signed-in and refreshed, verified each time
    let mut good = h.profile.clone();
    good.verification = Some(verification(Some(common::ED_PUBLIC), None));
    let session = h.session_with(good);
    session.login("alice", pw("correct horse")).await.unwrap();
    h.advance(290);
    assert_eq!(
        session
            .request(ApiRequest::get("/api/echo/"))
            .await
            .unwrap()
            .status,
        200
    );
    assert_eq!(h.refreshes(), 1);
    session.logout().await.unwrap();

    // a JWKS URL: the key is fetched by kid
    let mut jwks = h.profile.clone();
    jwks.verification = Some(verification(
        None,
        Some(format!("{}/jwks.json", h.server.base_url)),
    ));
    h.session_with(jwks)
        .login("alice", pw("correct horse"))
        .await
        .unwrap();
    assert_eq!(h.server.count("GET /jwks.json 200"), 1);

    // the wrong key: the tokens are refused and nothing is stored
    h.store.snapshot().keys().for_each(|k| {
        tessera_session::SecretStore::delete(h.store.as_ref(), k).unwrap();
    });
    let mut wrong = h.profile.clone();
    wrong.verification = Some(verification(Some(common::OTHER_PUBLIC), None));
    let err = h
        .session_with(wrong)
        .login("alice", pw("correct horse"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "token_rejected");
    assert!(h.store.snapshot().is_empty());

    // HS256 tokens when EdDSA is the one allowed algorithm: refused
    let hs = Harness::new(ServerConfig::default()).await;
    let mut strict = hs.profile.clone();
    strict.verification = Some(verification(Some(common::ED_PUBLIC), None));
    let err = hs
        .session_with(strict)
        .login("alice", pw("correct horse"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "token_rejected");
    assert!(err.to_string().contains("not the allowed"), "{err}");
}

#[tokio::test]
async fn the_connection_probe_recognises_a_simplejwt_endpoint() {
    let h = Harness::new(ServerConfig::default()).await;
    let report = tessera_session::probe::probe(&h.profile).await.unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.status, 400);
    let mut wrong = h.profile.clone();
    wrong.obtain_path = "/api/nothing-here/".into();
    let report = tessera_session::probe::probe(&wrong).await.unwrap();
    assert!(!report.ok);
    assert_eq!(report.status, 404);
    assert_eq!(h.server.count("POST /api/token/ 200"), 0);
}
