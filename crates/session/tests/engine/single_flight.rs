//! One refresh for everyone: many concurrent requests on an expired token, a failed refresh
//! shared by all who waited for it, two engine instances (two processes) sharing a keyring and
//! a lock directory, and another process that already rotated the tokens. All against the
//! reference backend (its delay slows every answer, which these tests tolerate).

use tessera_session::{ApiRequest, SessionEvent};

use crate::common::backend::BackendHarness;
use crate::common::events::drain;
use crate::common::fault_client::bounded;
use crate::common::requests::{get, HELLO};

#[tokio::test]
async fn many_concurrent_requests_on_an_expired_token_cause_one_refresh() {
    let h = BackendHarness::rust().await;
    let session = h.logged_in().await;
    h.server.set_delay_ms(50).await.unwrap();
    h.advance(301).await;
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let s = session.clone();
            tokio::spawn(async move { s.request(ApiRequest::get(HELLO)).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().status, 200);
    }
    assert_eq!(h.count("POST /api/token/refresh/ 200").await, 1);
    assert_eq!(h.count("POST /api/token/refresh/ 401").await, 0);
    assert_eq!(h.count("GET /api/hello/ 200").await, 200);
}

#[tokio::test]
async fn a_failed_refresh_is_shared_by_everyone_who_waited_for_it() {
    let h = BackendHarness::rust().await;
    let session = h.logged_in().await;
    h.server.fail_next_refreshes(100, 503).await.unwrap();
    h.advance(301).await;
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let s = session.clone();
            tokio::spawn(async move { s.request(ApiRequest::get(HELLO)).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap_err().code(), "server_error");
    }
    // one flight of 4 attempts, not 50
    assert_eq!(h.count("POST /api/token/refresh/ 503").await, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_storm_from_two_processes_with_a_slow_refresh_makes_one_refresh() {
    // The test above covers one process (200 requests, 50 ms answers). Here two engine
    // instances share the keyring and the lock directory like two processes, each with 50
    // requests in flight on an expired token, and every answer takes 400 ms.
    let h = BackendHarness::rust().await;
    h.logged_in().await;
    let app = h.session();
    let cli = h.session();
    app.restore().await.unwrap();
    cli.restore().await.unwrap();
    h.server.set_delay_ms(400).await.unwrap();
    h.advance(301).await;
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let s = if i % 2 == 0 { app.clone() } else { cli.clone() };
            tokio::spawn(async move { s.request(ApiRequest::get(HELLO)).await })
        })
        .collect();
    for t in tasks {
        let r = bounded(30, "storm request", t).await.unwrap().unwrap();
        assert_eq!(r.status, 200);
    }
    assert_eq!(h.refreshes().await, 1);
    assert_eq!(h.count("POST /api/token/refresh/ 401").await, 0);
    assert_eq!(h.count("GET /api/hello/ 200").await, 100);
    assert_eq!(h.count("GET /api/hello/ 401").await, 0);
}

#[tokio::test]
async fn another_process_that_already_rotated_is_followed_not_raced() {
    let h = BackendHarness::rust().await;
    let app = h.logged_in().await;
    let cli = h.session();
    cli.restore().await.unwrap();
    h.advance(301).await;
    // the CLI refreshes (rotating and blacklisting the old refresh token)
    get(&cli, HELLO).await;
    assert_eq!(h.refreshes().await, 1);
    // the app still holds the old pair in memory; it must take the CLI's tokens, not refresh
    let mut events = app.subscribe();
    assert_eq!(get(&app, HELLO).await.status, 200);
    assert_eq!(h.refreshes().await, 1);
    assert_eq!(h.count("POST /api/token/refresh/ 401").await, 0);
    assert!(drain(&mut events).iter().any(|e| matches!(
        e,
        SessionEvent::Refreshed {
            by_other_process: true,
            ..
        }
    )));
}
