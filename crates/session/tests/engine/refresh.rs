//! Refreshing before the server would refuse: at `exp` minus the margin and not before, a
//! margin that shrinks for short-lived tokens, a server clock ten minutes off, a machine that
//! slept through expiry, the background refresher, sliding tokens, and rotation (the renewed
//! refresh token is stored before anything else, and never lost to a cancelled caller).
//!
//! Timing to the second (the margin, the skew estimate) and what the server received need the
//! scripted server, whose clock is the client's; the rest runs against the reference backend.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tessera_session::SessionEvent;

use crate::common::backend::BackendHarness;
use crate::common::requests::{get, get_status, pw, ECHO, HELLO};
use crate::common::{Harness, ServerConfig};

#[tokio::test]
async fn proactive_refresh_happens_at_exp_minus_margin_and_not_before() {
    let h = BackendHarness::rust().await; // 300 s tokens, 60 s margin
    let session = h.logged_in().await;
    h.advance(235).await;
    get(&session, HELLO).await;
    assert_eq!(h.refreshes().await, 0, "refreshed too early");
    h.advance(6).await; // 241 s: past exp - 60 (+ up to 0.5 s offset rounding)
    get(&session, HELLO).await;
    assert_eq!(h.refreshes().await, 1);
    assert_eq!(
        h.count("GET /api/hello/ 401").await,
        0,
        "the server never saw an expired token"
    );
    get(&session, HELLO).await;
    assert_eq!(
        h.refreshes().await,
        1,
        "a fresh token is not refreshed again"
    );
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
        get(&session, ECHO).await;
    }
    h.advance(14);
    get(&session, ECHO).await;
    assert_eq!(h.refreshes(), 0);
    h.advance(2);
    get(&session, ECHO).await;
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
            assert_eq!(get_status(&session, ECHO).await, 200);
        }
        assert_eq!(h.refreshes(), 0, "skew {skew}: refresh loop");
        h.advance(250);
        assert_eq!(get_status(&session, ECHO).await, 200);
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
        get(&other, ECHO).await;
        assert_eq!(h.refreshes(), 1, "skew {skew}: restart refreshed again");
    }
}

#[tokio::test]
async fn a_machine_that_slept_through_expiry_refreshes_before_sending() {
    let h = BackendHarness::rust().await;
    let session = h.logged_in().await;
    let _auto = session.spawn_auto_refresh();
    h.advance(3 * 3600).await; // laptop lid closed for three hours
    let r = get(&session, HELLO).await;
    assert_eq!(r.status, 200);
    assert!(!r.replayed);
    assert_eq!(h.count("GET /api/hello/ 401").await, 0);
    assert_eq!(h.refreshes().await, 1);
}

#[tokio::test]
async fn auto_refresh_refreshes_in_the_background_and_stops_when_the_session_ends() {
    let h = BackendHarness::rust().await;
    let session = h.logged_in().await;
    let auto = session.spawn_auto_refresh();
    let mut events = session.subscribe();
    h.advance(250).await;
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
    assert_eq!(h.refreshes().await, 1);
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
    assert_eq!(get_status(&session, ECHO).await, 200);
    assert_eq!(h.server.count("POST /api/token/sliding/refresh/ 200"), 1);
    // past refresh_exp: the session is over, without sending the token
    h.advance(1000);
    let err = h.session_with(profile).restore().await.unwrap_err();
    assert_eq!(err.code(), "session_expired");
    assert_eq!(h.server.count("POST /api/token/sliding/refresh/ 401"), 0);
    assert!(h.store.snapshot().is_empty());
}

#[tokio::test]
async fn rotation_persists_the_new_refresh_token_and_never_sends_the_old_one_again() {
    let h = Harness::new(ServerConfig::default()).await;
    let session = h.logged_in().await;
    for _ in 0..5 {
        h.advance(290);
        get(&session, ECHO).await;
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
    // Scripted: only the refresh endpoint is slow (the backend's delay slows every answer).
    let h = Harness::new(ServerConfig::default()).await;
    let session = h.logged_in().await;
    h.server.state.refresh_delay_ms.store(300, Ordering::SeqCst);
    h.advance(290);
    let cancelled = tokio::time::timeout(
        Duration::from_millis(50),
        session.request(tessera_session::ApiRequest::get(ECHO)),
    )
    .await;
    assert!(cancelled.is_err(), "the request should have been cancelled");
    h.server.state.refresh_delay_ms.store(0, Ordering::SeqCst);
    // the refresh went on; a fresh process finds the rotated pair in the keyring and works
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(h.refreshes(), 1);
    let other = h.session();
    other.restore().await.unwrap();
    assert_eq!(get_status(&other, ECHO).await, 200);
    assert_eq!(get_status(&session, ECHO).await, 200);
    assert_eq!(h.refreshes(), 1);
    assert_eq!(h.server.count("POST /api/token/refresh/ 401"), 0);
}
