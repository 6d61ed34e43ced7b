//! The keyring fails right after the server rotated the tokens (against the reference
//! backend, which blacklists a rotated refresh token at once).

use tessera_session::{FakeOp, Password, SessionEvent, StoreError};

use crate::common::backend::BackendHarness;
use crate::common::events::drain;
use crate::common::fault_client::{assert_error, bounded};
use crate::common::requests::{get_err, get_status, HELLO};

#[tokio::test]
async fn a_keyring_write_failing_after_a_refresh_ends_the_session_clearly() {
    let h = BackendHarness::rust().await;
    let session = h.logged_in().await;
    let mut events = session.subscribe();
    // The write and its one retry fail; deleting still works.
    for _ in 0..2 {
        h.store.fail_next(
            FakeOp::Set,
            StoreError::Unavailable("the collection is locked".into()),
        );
    }
    h.advance(301).await;
    let err = bounded(20, "request", get_err(&session, HELLO)).await;
    assert_error(
        &err,
        "session_expired",
        "could not be saved in the system keyring",
    );
    assert!(
        err.to_string().contains("the collection is locked"),
        "{err}"
    );
    assert!(err.needs_login());
    assert_eq!(h.refreshes().await, 1);
    let events = drain(&mut events);
    assert!(
        matches!(events.as_slice(), [SessionEvent::SessionExpired { reason, .. }] if reason.contains("keyring")),
        "{events:?}"
    );
    let status = session.status();
    assert!(!status.signed_in);
    assert!(status.reason.unwrap().contains("keyring"));
    // The stale entry (its refresh token was rotated away) is gone; later calls get the same
    // clear error without touching the network.
    assert!(h.store.snapshot().is_empty());
    let calls = h.counters().await.values().sum::<u64>();
    let again = get_err(&session, HELLO).await;
    assert_eq!(again.code(), "session_expired");
    assert_eq!(h.counters().await.values().sum::<u64>(), calls);
    // Once the keyring works again, signing in works.
    session
        .login("alice", Password::new("correct horse".into()))
        .await
        .unwrap();
    assert_eq!(get_status(&session, HELLO).await, 200);
}

#[tokio::test]
async fn a_keyring_failing_completely_after_a_refresh_still_ends_the_session_without_a_hang() {
    let h = BackendHarness::rust().await;
    let session = h.logged_in().await;
    // The write, its retry and the clean-up all fail.
    for op in [FakeOp::Set, FakeOp::Set, FakeOp::Delete] {
        h.store
            .fail_next(op, StoreError::Unavailable("the daemon went away".into()));
    }
    h.advance(301).await;
    let err = bounded(20, "request", get_err(&session, HELLO)).await;
    assert_error(&err, "session_expired", "the daemon went away");
    assert!(!session.status().signed_in);
    // The stale entry could not be removed: a new process finds it, and its refresh token was
    // rotated away, so that process is told to sign in by the server's refusal.
    let err = h.session().restore().await.unwrap_err();
    assert_eq!(err.code(), "session_expired", "{err}");
    assert!(h.store.snapshot().is_empty());
}
