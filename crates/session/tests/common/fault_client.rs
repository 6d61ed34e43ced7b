//! The client side of the fault suite: an engine on a fake keyring and a manual clock, aimed at
//! one [`RawServer`]; sessions signed in without any network call (tokens forged and planted in
//! the keyring, so the only request is the one under test); and the checks every fault case
//! makes: a specific error code with a readable message that names no token and no password,
//! nothing stored after a refused sign-in, the session kept (or ended on purpose) after a
//! refused refresh — and never a hang (every call is bounded by a timeout that fails the test).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tessera_session::vault::{StoredSession, Vault};
use tessera_session::{
    AccessToken, ApiRequest, Error, FakeStore, ManualClock, Password, Profile, RefreshToken,
    Session, SessionConfig, SessionEvent, SessionOptions,
};

use super::events::drain;
use super::forged_tokens::{access_claims, jwt, now_secs, refresh_claims};
use super::harness::fast_options;
use super::raw_server::{Mode, RawServer};

/// The password every fault test signs in with (no message may contain it).
pub const PASSWORD: &str = "correct horse battery";

/// Fails the test if `f` does not finish within `secs`.
pub async fn bounded<T>(secs: u64, what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .unwrap_or_else(|_| panic!("{what}: hung for {secs} s"))
}

/// Options for fault tests: fast retries, two attempts.
pub fn options() -> SessionOptions {
    let mut o = fast_options();
    o.retry.max_attempts = 2;
    o
}

pub struct Client {
    pub session: Session,
    pub store: Arc<FakeStore>,
    pub clock: Arc<ManualClock>,
    _lock_dir: tempfile::TempDir,
}

pub fn client(base_url: &str) -> Client {
    let mut profile = Profile::from_base_url(base_url).unwrap();
    profile.request_timeout_secs = 1;
    profile.connect_timeout_secs = 1;
    client_with(profile)
}

pub fn client_with(profile: Profile) -> Client {
    let store = Arc::new(FakeStore::new());
    let clock = Arc::new(ManualClock::starting_now());
    let lock_dir = tempfile::tempdir().unwrap();
    let session = Session::open(
        SessionConfig::new(
            "faults",
            profile,
            store.clone(),
            lock_dir.path().to_path_buf(),
        )
        .with_clock(clock.clone())
        .with_options(options()),
    )
    .unwrap();
    Client {
        session,
        store,
        clock,
        _lock_dir: lock_dir,
    }
}

/// A session signed in to `base_url` (tokens made here, stored in the fake keyring, restored
/// without any network call), its access token valid for 300 s on the client's clock.
pub async fn signed_in(base_url: &str) -> Client {
    let c = client(base_url);
    let now = now_secs();
    let stored = StoredSession {
        access: AccessToken::new(jwt(&access_claims(now))),
        refresh: Some(RefreshToken::new(jwt(&refresh_claims(now)))),
        origin: base_url.to_owned(),
        offset_ms: 0,
        base_url: None,
        blacklist_url: None,
        verified: true,
        cookies: Default::default(),
    };
    Vault::new(c.store.clone(), Duration::from_secs(2))
        .save("faults", &stored)
        .await
        .unwrap();
    let status = bounded(10, "restore", c.session.restore()).await.unwrap();
    assert!(status.signed_in && !status.access_expired);
    c
}

/// Signs in against a server in `mode`; returns the error (a success fails the test).
pub async fn login_error(mode: Mode) -> (Error, Client, RawServer) {
    let server = RawServer::start(mode).await;
    let c = client(&server.url());
    let result = bounded(
        20,
        "login",
        c.session.login("alice", Password::new(PASSWORD.to_owned())),
    )
    .await;
    let err = result.expect_err("the sign-in succeeded");
    (err, c, server)
}

/// The access token expires; the next request's refresh meets a server in `mode`. Either the
/// answer was unusable as a whole and the session survives (same tokens in memory and in the
/// keyring, no `session_expired` event), or it carried a renewal the client had to reject: then
/// that renewal was blacklisted and the session ended — never a session kept with a
/// renewed refresh token dropped.
pub async fn refresh_error(mode: Mode) -> Error {
    let server = RawServer::start(mode).await;
    let c = signed_in(&server.url()).await;
    let keyring_before = c.store.snapshot();
    let mut events = c.session.subscribe();
    c.clock.advance(Duration::from_secs(301));
    let err = bounded(
        30,
        "request with a refresh",
        c.session.request(ApiRequest::get("/api/echo/")),
    )
    .await
    .expect_err("the request succeeded");
    assert!(
        server.connections() >= 1,
        "the refresh endpoint was not called"
    );
    let requests = server.requests();
    if requests
        .iter()
        .any(|r| r.starts_with("POST /api/token/blacklist/"))
    {
        assert!(
            requests
                .iter()
                .all(|r| r.starts_with("POST /api/token/refresh/")
                    || r.starts_with("POST /api/token/blacklist/")),
            "{requests:?}"
        );
        assert!(
            !c.session.status().signed_in,
            "a rejected renewal kept the session"
        );
        assert!(c.store.snapshot().is_empty(), "the keyring was not cleared");
        let events = drain(&mut events);
        assert!(
            events
                .iter()
                .any(|e| matches!(e, SessionEvent::SessionExpired { .. })),
            "{events:?}"
        );
        return err;
    }
    assert!(
        requests
            .iter()
            .all(|r| r.starts_with("POST /api/token/refresh/")),
        "only the refresh endpoint may be called: {requests:?}"
    );
    assert!(
        c.session.status().signed_in,
        "{}: the session was lost",
        err.code()
    );
    assert_eq!(
        c.store.snapshot(),
        keyring_before,
        "the keyring was changed"
    );
    let events = drain(&mut events);
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, SessionEvent::SessionExpired { .. })),
        "{events:?}"
    );
    err
}

pub fn assert_error(err: &Error, code: &str, needle: &str) {
    assert_eq!(err.code(), code, "{err}");
    let message = err.to_string();
    assert!(
        message.contains(needle),
        "expected {needle:?} in: {message}"
    );
    assert!(
        !message.contains("eyJ"),
        "a token in the message: {message}"
    );
    assert!(
        !message.contains(PASSWORD),
        "the password in the message: {message}"
    );
}

pub fn login_refused_cleanly(err: &Error, c: &Client, code: &str, needle: &str) {
    assert_error(err, code, needle);
    assert!(!c.session.status().signed_in);
    assert!(c.store.snapshot().is_empty(), "something was stored");
}
