//! Signing out: the refresh token is blacklisted, then the keyring entry deleted — even when
//! the server cannot be reached — and a sign-out in another process ends this one's session at
//! its next request (a sign-in there after it is adopted). Against the reference backend.

use tessera_session::SessionEvent;

use crate::common::backend::BackendHarness;
use crate::common::events::drain;
use crate::common::requests::{get, get_err, HELLO};

#[tokio::test]
async fn logout_blacklists_then_deletes_even_offline() {
    let h = BackendHarness::rust().await;
    let session = h.logged_in().await;
    let mut events = session.subscribe();
    let out = session.logout().await.unwrap();
    assert!(out.server_revoked);
    assert_eq!(h.count("POST /api/token/blacklist/ 200").await, 1);
    assert!(h.store.snapshot().is_empty());
    assert!(matches!(
        drain(&mut events).as_slice(),
        [SessionEvent::LoggedOut {
            server_revoked: true,
            ..
        }]
    ));
    assert_eq!(get_err(&session, HELLO).await.code(), "login_required");

    // offline: the server is unreachable, the keyring is cleared anyway
    let session = h.logged_in().await;
    let mut offline = h.profile.clone();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    offline.base_url = url::Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    drop(session);
    // rewrite the stored origin so the offline profile owns the session
    let fixed = h
        .stored_entry()
        .replace(&h.origin(), &format!("http://127.0.0.1:{port}"));
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
async fn a_logout_elsewhere_signs_this_process_out_before_its_next_refresh() {
    let h = BackendHarness::rust().await;
    let app = h.logged_in().await;
    let cli = h.session();
    cli.restore().await.unwrap();
    cli.logout().await.unwrap();
    h.advance(301).await;
    let err = get_err(&app, HELLO).await;
    assert_eq!(err.code(), "login_required");
    assert_eq!(h.count("POST /api/token/refresh/ 200").await, 0);
}

/// "Blacklisted" is said only when the server's answer says so (a JSON object: simplejwt's
/// `{}`, dj-rest-auth's `{"detail": ...}`); a bare 205 from a custom view is a local sign-out
/// with what the server answered.
#[tokio::test]
async fn a_logout_answer_without_a_body_is_not_reported_as_blacklisted() {
    let h = crate::common::Harness::new(crate::common::ServerConfig::default()).await;
    h.logged_in().await;
    let mut profile = h.profile.clone();
    profile.blacklist_path = Some("/api/logout-no-body/".into());
    let out = h.session_with(profile).logout().await.unwrap();
    assert!(!out.server_revoked, "{out:?}");
    let note = out.server_note.unwrap_or_default();
    assert!(note.contains("205"), "{note}");
    assert_eq!(h.server.count("POST /api/logout-no-body/ 205"), 1);
    assert!(
        h.store.snapshot().is_empty(),
        "the keyring is cleared anyway"
    );

    // simplejwt's `{}` is a confirmation.
    let out = h.logged_in().await.logout().await.unwrap();
    assert!(out.server_revoked, "{out:?}");
}

/// A sign-out in another process ends this process's session at its next request, not at its
/// next refresh: a long-running shell (the local proxy, the app) must not keep lending an access
/// token for minutes after the user signed out.
#[tokio::test]
async fn a_logout_elsewhere_ends_this_process_at_its_next_request() {
    let h = BackendHarness::rust().await;
    let proxy = h.logged_in().await;
    assert_eq!(get(&proxy, HELLO).await.status, 200);
    let cli = h.session();
    cli.restore().await.unwrap();
    cli.logout().await.unwrap();
    let mut events = proxy.subscribe();
    let err = get_err(&proxy, HELLO).await;
    assert_eq!(err.code(), "login_required");
    assert!(err.to_string().contains("signed out"), "{err}");
    assert_eq!(
        h.count("GET /api/hello/ 200").await,
        1,
        "nothing was sent after the sign-out"
    );
    assert!(!proxy.status().signed_in);
    assert!(drain(&mut events)
        .iter()
        .any(|e| matches!(e, SessionEvent::SessionExpired { .. })));
}

/// After a sign-out and a new sign-in elsewhere, this process uses the new session (read from
/// the keyring) instead of ending.
#[tokio::test]
async fn a_sign_in_elsewhere_after_a_logout_is_adopted_at_the_next_request() {
    let h = BackendHarness::rust().await;
    let proxy = h.logged_in().await;
    let before = h.stored_refresh_token();
    let cli = h.session();
    cli.restore().await.unwrap();
    cli.logout().await.unwrap();
    let again = h.logged_in().await;
    assert_ne!(h.stored_refresh_token(), before);
    assert_eq!(get(&proxy, HELLO).await.status, 200);
    assert!(proxy.status().signed_in);
    drop(again);
    // the adopted session is the stored one: its next refresh spends the new refresh token
    h.advance(301).await;
    assert_eq!(get(&proxy, HELLO).await.status, 200);
    assert_eq!(h.count("POST /api/token/refresh/ 200").await, 1);
    assert_eq!(h.count("POST /api/token/refresh/ 401").await, 0);
}

/// A process whose session ended elsewhere picks up a sign-in made elsewhere at its next
/// request (the local proxy keeps lending after the user signs in again in the app); while
/// nothing is stored it keeps the reason, and it looks in the keyring at most once a second and
/// not within a few seconds of the sign-out.
#[tokio::test]
async fn a_signed_out_process_picks_up_a_sign_in_made_elsewhere() {
    let h = BackendHarness::rust().await;
    let proxy = h.logged_in().await;
    let cli = h.session();
    cli.restore().await.unwrap();
    cli.logout().await.unwrap();
    assert_eq!(get_err(&proxy, HELLO).await.code(), "login_required");
    let reads = h.store.reads();
    let err = get_err(&proxy, HELLO).await;
    assert!(err.to_string().contains("signed out"), "{err}");
    assert_eq!(h.store.reads(), reads, "no second look within a second");
    let _again = h.logged_in().await;
    // not within the sign-out's settling time (its logout timeout, 1 s here, + 2 s)
    h.advance(1).await;
    assert_eq!(get_err(&proxy, HELLO).await.code(), "login_required");
    h.advance(3).await;
    assert_eq!(get(&proxy, HELLO).await.status, 200);
    assert!(proxy.status().signed_in);
}
