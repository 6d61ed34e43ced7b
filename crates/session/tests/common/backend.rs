//! [`BackendHarness`]: the engine against a real server started by `tessera-testkit` — the
//! Rust reference backend (`crates/backend`) or Django + simplejwt — with its `/_test/`
//! controls (counters, injected refresh failures, delay, clock shift), a fake keyring, a manual
//! clock and a lock directory. Expiry is reached without sleeping: [`BackendHarness::advance`]
//! moves the client's clock and the server's test clock together.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tessera_session::{FakeStore, ManualClock, Password, Profile, Session};
use tessera_testkit::{BackendKind, ServerOptions, TestServer};

use super::harness::open_session;

/// The keyring account every harness session uses (its entry is `session:test`).
pub const ACCOUNT: &str = "test";

pub struct BackendHarness {
    pub server: TestServer,
    pub clock: Arc<ManualClock>,
    pub store: Arc<FakeStore>,
    pub lock_dir: tempfile::TempDir,
    pub profile: Profile,
}

impl BackendHarness {
    /// The reference backend in the tutorial setup (300 s access, 86400 s refresh, rotation and
    /// blacklist-after-rotation on) with one user, `alice` / `correct horse`.
    pub async fn rust() -> Self {
        Self::rust_with(|_| {}).await
    }

    /// As [`BackendHarness::rust`], with the server options changed by `change`.
    pub async fn rust_with(change: impl FnOnce(&mut ServerOptions)) -> Self {
        let mut options = ServerOptions {
            users: vec![("alice".to_owned(), "correct horse".to_owned())],
            ..ServerOptions::default()
        };
        change(&mut options);
        Self::start(BackendKind::Rust, options).await
    }

    /// `kind` started with `options`; the client's clock starts once the server answers.
    pub async fn start(kind: BackendKind, options: ServerOptions) -> Self {
        Self::start_on(TestServer::start(kind, options).await.unwrap())
    }

    /// A harness on a server already started (a real-package stack, say).
    pub fn start_on(server: TestServer) -> Self {
        let profile = Profile::from_base_url(server.base_url().as_str()).unwrap();
        Self {
            server,
            clock: Arc::new(ManualClock::starting_now()),
            store: Arc::new(FakeStore::new()),
            lock_dir: tempfile::tempdir().unwrap(),
            profile,
        }
    }

    /// A new engine instance sharing the keyring and lock directory (like another process).
    pub fn session(&self) -> Session {
        self.session_with(self.profile.clone())
    }

    pub fn session_with(&self, profile: Profile) -> Session {
        open_session(ACCOUNT, profile, &self.store, &self.clock, &self.lock_dir)
    }

    /// A session signed in as the server's first user.
    pub async fn logged_in(&self) -> Session {
        let (user, password) = self.server.user().unwrap();
        let session = self.session();
        session
            .login(user, Password::new(password.to_owned()))
            .await
            .unwrap();
        session
    }

    /// Both clocks move: tokens expire for the server and for the client alike.
    /// The server's clock moves first: a background refresh that starts between the two
    /// steps would otherwise get tokens from a server whose clock has not moved yet.
    pub async fn advance(&self, secs: u64) {
        self.server.shift_clock(secs as i64).await.unwrap();
        self.clock.advance(Duration::from_secs(secs));
    }

    /// One request counter, e.g. `count("POST /api/token/refresh/ 200")`.
    pub async fn count(&self, key: &str) -> u64 {
        self.server.count(key).await.unwrap()
    }

    pub async fn counters(&self) -> BTreeMap<String, u64> {
        self.server.counters().await.unwrap()
    }

    /// Successful refreshes so far.
    pub async fn refreshes(&self) -> u64 {
        self.count("POST /api/token/refresh/ 200").await
    }

    /// The server's base URL without the trailing slash (what a stored session's origin is).
    pub fn origin(&self) -> String {
        self.server
            .base_url()
            .as_str()
            .trim_end_matches('/')
            .to_owned()
    }

    /// The keyring entry of the harness's account.
    pub fn stored_entry(&self) -> String {
        self.store.snapshot()[&format!("session:{ACCOUNT}")].clone()
    }

    /// The refresh token in the keyring.
    pub fn stored_refresh_token(&self) -> String {
        serde_json::from_str::<Value>(&self.stored_entry()).unwrap()["refresh"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}
