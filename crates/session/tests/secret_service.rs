//! The real OS keyring (Linux: Secret Service, here gnome-keyring) — no mock.
//!
//! Run under a private, unlocked gnome-keyring:
//!
//! ```sh
//! dbus-run-session -- sh -c 'echo pw | gnome-keyring-daemon --components=secrets --daemonize --unlock >/dev/null; \
//!   cargo test -p tessera-session --test secret_service'
//! ```
//!
//! Without a session bus these tests FAIL (they do not skip): a green run must mean the real
//! store was exercised.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{fast_options, Harness, ServerConfig};
use tessera_session::vault::Vault;
use tessera_session::{
    AccessToken, ApiRequest, KeyringStore, Password, RefreshToken, SecretStore, Session,
    SessionConfig,
};

const HOW_TO_RUN: &str = "this test needs a running, unlocked Secret Service. Run: dbus-run-session -- sh -c 'echo pw | gnome-keyring-daemon --components=secrets --daemonize --unlock >/dev/null; cargo test -p tessera-session --test secret_service'";

fn real_store() -> Arc<KeyringStore> {
    #[cfg(target_os = "linux")]
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        panic!("DBUS_SESSION_BUS_ADDRESS is not set: {HOW_TO_RUN}");
    }
    // A service of its own per run, so runs never see each other's entries.
    let service = format!(
        "dev.tessera.desktop.test.{}.{:x}",
        std::process::id(),
        fastrand::u32(..)
    );
    let store = Arc::new(KeyringStore::new(&service).unwrap());
    // Prove the store answers (a locked or absent daemon fails here, with the reason).
    if let Err(e) = store.get("probe") {
        panic!("the Secret Service did not answer ({e}): {HOW_TO_RUN}");
    }
    store
}

#[test]
fn entries_round_trip_and_a_missing_entry_means_logged_out() {
    let store = real_store();
    assert_eq!(store.get("session:none").unwrap(), None);
    store.delete("session:none").unwrap();
    store.set("session:a", "v1").unwrap();
    store.set("session:a", "v2").unwrap();
    assert_eq!(store.get("session:a").unwrap().unwrap().as_str(), "v2");
    store.delete("session:a").unwrap();
    assert_eq!(store.get("session:a").unwrap(), None);
}

#[tokio::test]
async fn a_four_kilobyte_token_pair_round_trips_in_chunks() {
    let store = real_store();
    let vault = Vault::new(store.clone(), Duration::from_secs(5));
    let access = format!("eyJ{}", "A".repeat(2100));
    let refresh = format!("eyJ{}", "R".repeat(2100));
    let session = tessera_session::vault::StoredSession {
        access: AccessToken::new(access.clone()),
        refresh: Some(RefreshToken::new(refresh.clone())),
        origin: "https://api.example.com".into(),
        offset_ms: 1234,
        base_url: None,
        blacklist_url: None,
        verified: true,
        cookies: Default::default(),
    };
    vault.save("big", &session).await.unwrap();
    let manifest = store.get("session:big").unwrap().unwrap();
    assert!(
        manifest.starts_with("tessera-chunked:v1:"),
        "expected a chunked entry"
    );
    let loaded = vault.load("big").await.unwrap().unwrap();
    assert_eq!(loaded.access.expose_secret(), access);
    assert_eq!(loaded.refresh.unwrap().expose_secret(), refresh);
    vault.clear("big").await.unwrap();
    assert!(vault.load("big").await.unwrap().is_none());
    assert_eq!(store.get("session:big").unwrap(), None);
}

#[tokio::test]
async fn a_full_session_lives_in_the_real_keyring() {
    let store = real_store();
    let h = Harness::new(ServerConfig::default()).await;
    let open = || {
        Session::open(
            SessionConfig::new(
                "real",
                h.profile.clone(),
                store.clone(),
                h.lock_dir.path().to_path_buf(),
            )
            .with_clock(h.clock.clone())
            .with_options(fast_options()),
        )
        .unwrap()
    };
    let app = open();
    app.login("alice", Password::new("correct horse".into()))
        .await
        .unwrap();
    assert!(store.get("session:real").unwrap().is_some());

    // a second "process" restores from the keyring and refreshes with rotation
    let cli = open();
    cli.restore().await.unwrap();
    h.advance(290);
    assert_eq!(
        cli.request(ApiRequest::get("/api/echo/"))
            .await
            .unwrap()
            .status,
        200
    );
    assert_eq!(h.refreshes(), 1);
    // the first one follows the rotation through the keyring instead of refreshing again
    assert_eq!(
        app.request(ApiRequest::get("/api/echo/"))
            .await
            .unwrap()
            .status,
        200
    );
    assert_eq!(h.refreshes(), 1);

    let out = app.logout().await.unwrap();
    assert!(out.server_revoked);
    assert_eq!(store.get("session:real").unwrap(), None);
    assert_eq!(open().restore().await.unwrap_err().code(), "login_required");
}
