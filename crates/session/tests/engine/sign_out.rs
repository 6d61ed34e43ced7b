//! Signing out: the refresh token is blacklisted, then the keyring entry deleted — even when
//! the server cannot be reached — and a sign-out in another process ends this one's session at
//! its next refresh. Against the reference backend.

use tessera_session::SessionEvent;

use crate::common::backend::BackendHarness;
use crate::common::events::drain;
use crate::common::requests::{get_err, HELLO};

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
async fn a_logout_elsewhere_signs_this_process_out_at_its_next_refresh() {
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
