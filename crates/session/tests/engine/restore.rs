//! Restoring a stored session in a new process: an expired access token is refreshed, an
//! expired refresh token ends the session without being sent, an unreachable server keeps the
//! session, and a missing session or one stored for another server asks for a sign-in.
//! All against the reference backend.

use crate::common::backend::BackendHarness;
use crate::common::requests::{get_status, HELLO};

#[tokio::test]
async fn restore_refreshes_an_expired_access_token_and_reports_an_expired_refresh_token() {
    let h = BackendHarness::rust().await;
    h.logged_in().await;
    h.advance(3600).await;
    let s = h.session();
    let status = s.restore().await.unwrap();
    assert!(status.signed_in && !status.access_expired);
    assert_eq!(h.refreshes().await, 1);

    h.advance(2 * 86_400).await;
    let s = h.session();
    let err = s.restore().await.unwrap_err();
    assert_eq!(err.code(), "session_expired");
    assert!(
        err.to_string().contains("refresh token has expired"),
        "{err}"
    );
    assert!(h.store.snapshot().is_empty());
    assert_eq!(
        h.refreshes().await,
        1,
        "an expired refresh token is not even sent"
    );
}

#[tokio::test]
async fn restore_offline_keeps_the_session() {
    let h = BackendHarness::rust().await;
    h.logged_in().await;
    h.advance(3600).await;
    h.server.fail_next_refreshes(4, 503).await.unwrap();
    let s = h.session();
    let status = s.restore().await.unwrap();
    assert!(status.signed_in);
    assert!(status.access_expired);
    assert!(!h.store.snapshot().is_empty());
    // back online: the next request refreshes
    assert_eq!(get_status(&s, HELLO).await, 200);
}

#[tokio::test]
async fn restore_without_a_session_or_for_another_server_requires_login() {
    let h = BackendHarness::rust().await;
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
