//! A refresh that fails: refused (the session ends and the keyring is cleared, with no further
//! traffic), transient 5xx answers retried with backoff, `Retry-After` honoured up to the
//! policy's limit and retries bounded, and a still-valid token used while the refresh endpoint
//! is down. All against the reference backend and its injected refresh failures.

use serde_json::json;
use tessera_session::SessionEvent;

use crate::common::backend::BackendHarness;
use crate::common::events::drain;
use crate::common::requests::{get, get_err, HELLO};

#[tokio::test]
async fn a_refused_refresh_ends_the_session_and_clears_the_keyring() {
    let h = BackendHarness::rust().await;
    let session = h.logged_in().await;
    let mut events = session.subscribe();
    // The server stops accepting the stored refresh token (an admin, another device).
    let status = reqwest::Client::new()
        .post(h.server.url("api/token/blacklist/"))
        .json(&json!({ "refresh": h.stored_refresh_token() }))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
    h.advance(290).await;
    let err = get_err(&session, HELLO).await;
    assert_eq!(err.code(), "session_expired");
    assert!(h.store.snapshot().is_empty());
    assert!(!session.status().signed_in);
    assert!(session.status().reason.is_some());
    assert!(drain(&mut events)
        .iter()
        .any(|e| matches!(e, SessionEvent::SessionExpired { .. })));
    // no further network traffic
    let before = h.counters().await;
    assert_eq!(get_err(&session, HELLO).await.code(), "session_expired");
    assert_eq!(before, h.counters().await);
    assert_eq!(
        h.session().restore().await.unwrap_err().code(),
        "login_required"
    );
}

#[tokio::test]
async fn five_hundred_threes_then_success_keep_the_session() {
    let h = BackendHarness::rust().await;
    let session = h.logged_in().await;
    let mut events = session.subscribe();
    h.server.fail_next_refreshes(2, 503).await.unwrap();
    h.advance(301).await;
    assert_eq!(get(&session, HELLO).await.status, 200);
    assert_eq!(h.count("POST /api/token/refresh/ 503").await, 2);
    assert_eq!(h.refreshes().await, 1);
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
    let h = BackendHarness::rust().await;
    let session = h.logged_in().await;
    let mut events = session.subscribe();
    h.server
        .fail_next_refreshes_with_retry_after(1, 429, 1)
        .await
        .unwrap();
    h.advance(301).await;
    get(&session, HELLO).await;
    let waits: Vec<_> = drain(&mut events)
        .into_iter()
        .filter_map(|e| match e {
            SessionEvent::RefreshFailedTransiently { retry_in_ms, .. } => retry_in_ms,
            _ => None,
        })
        .collect();
    assert_eq!(waits, vec![1000]);

    // always failing: a bounded number of attempts, the error surfaces, the session stays
    h.server.fail_next_refreshes(100, 502).await.unwrap();
    h.advance(301).await;
    let err = get_err(&session, HELLO).await;
    assert_eq!(err.code(), "server_error");
    assert_eq!(h.count("POST /api/token/refresh/ 502").await, 4);
    assert!(session.status().signed_in);
    assert!(!h.store.snapshot().is_empty());
    // a Retry-After beyond the policy's limit is not waited for (a new plan replaces the
    // remaining 502s)
    h.server
        .fail_next_refreshes_with_retry_after(1, 503, 3600)
        .await
        .unwrap();
    let before = h.count("POST /api/token/refresh/ 502").await;
    let err = get_err(&session, HELLO).await;
    assert_eq!(err.code(), "server_error");
    assert_eq!(h.count("POST /api/token/refresh/ 503").await, 1);
    assert_eq!(h.count("POST /api/token/refresh/ 502").await, before);
}

#[tokio::test]
async fn offline_refresh_keeps_the_session_and_a_still_valid_token_is_used() {
    let h = BackendHarness::rust().await;
    let session = h.logged_in().await;
    // due (inside the margin) but not expired, refresh endpoint failing: the request still goes out
    h.server.fail_next_refreshes(4, 503).await.unwrap();
    h.advance(250).await;
    assert_eq!(get(&session, HELLO).await.status, 200);
    assert!(session.status().signed_in);
}
