//! Replay after a 401: a request whose access token the server refused mid-flight is replayed
//! once after one shared refresh, with its body intact; a second 401 goes back to the caller;
//! other 401 codes, 403 and streaming bodies are not replayed.
//!
//! All on the scripted server: it injects `token_not_valid` 401s on a token the client still
//! believes valid (any number of them), and has endpoints that answer `user_inactive` and 403.

use std::sync::atomic::Ordering;

use tessera_session::{ApiRequest, SessionEvent};

use crate::common::events::drain;
use crate::common::requests::{get, ECHO};
use crate::common::{Harness, ServerConfig};

#[tokio::test]
async fn concurrent_401s_cause_one_refresh_and_each_request_is_replayed_once() {
    let h = Harness::new(ServerConfig::default()).await;
    let session = h.logged_in().await;
    h.server.state.refresh_delay_ms.store(30, Ordering::SeqCst);
    h.server
        .state
        .reject_next_access
        .store(50, Ordering::SeqCst);
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let s = session.clone();
            tokio::spawn(async move {
                s.request(ApiRequest::post(ECHO).body(format!("body-{i}")))
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
    h.server.state.reject_next_access.store(1, Ordering::SeqCst);
    let r = session
        .request(ApiRequest::post(ECHO).json(&body).unwrap())
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
    assert_eq!(names, vec!["refreshed", "replayed_after_401"]);
}

#[tokio::test]
async fn a_second_401_is_returned_to_the_caller() {
    let h = Harness::new(ServerConfig::default()).await;
    let session = h.logged_in().await;
    h.server.state.reject_next_access.store(2, Ordering::SeqCst);
    let r = session
        .request(ApiRequest::post(ECHO).body("x"))
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
    let r = get(&session, "/api/inactive/").await;
    assert_eq!((r.status, r.replayed), (401, false));
    let r = get(&session, "/api/forbidden/").await;
    assert_eq!((r.status, r.replayed), (403, false));
    h.server.state.reject_next_access.store(1, Ordering::SeqCst);
    let r = session
        .request(ApiRequest::post(ECHO).streaming_body(reqwest::Body::from("stream")))
        .await
        .unwrap();
    assert_eq!((r.status, r.replayed), (401, false));
    assert_eq!(h.refreshes(), 0);
    let mut header_profile = h.profile.clone();
    header_profile.auth_header_type = "JWT".into();
    let jwt = h.session_with(header_profile);
    jwt.restore().await.unwrap();
    let r = get(&jwt, ECHO).await;
    assert_eq!(
        (r.status, r.replayed),
        (200, false),
        "the 401 named the server's scheme (Bearer): sent again with it, not refreshed"
    );
    assert_eq!(h.refreshes(), 0);
}
