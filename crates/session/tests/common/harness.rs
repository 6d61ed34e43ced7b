//! [`Harness`]: the engine wired to the scripted server, a shared fake keyring, a manual clock
//! (shared with the server) and a lock directory; [`fast_options`] for every suite.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::sync::Arc;
use std::time::Duration;

use tessera_session::{
    Clock, FakeStore, ManualClock, Profile, RetryPolicy, SecretStore, Session, SessionConfig,
    SessionOptions,
};

use super::scripted_server::{MockServer, ServerConfig};

/// The engine under test, wired to a mock server, a shared fake keyring and a lock directory.
pub struct Harness {
    pub server: MockServer,
    pub clock: Arc<ManualClock>,
    pub store: Arc<FakeStore>,
    pub lock_dir: tempfile::TempDir,
    pub profile: Profile,
}

pub fn fast_options() -> SessionOptions {
    SessionOptions {
        keyring_timeout: Duration::from_secs(2),
        lock_timeout: Duration::from_secs(20),
        retry: RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(40),
            max_retry_after: Duration::from_secs(2),
        },
        logout_timeout: Duration::from_secs(1),
        max_response_bytes: 1 << 20,
        auto_refresh_max_nap: Duration::from_millis(100),
        logout_lock_wait: None,
    }
}

/// An engine instance on a fake keyring, a manual clock and a lock directory with
/// [`fast_options`]: what every harness's `session_with` opens.
pub fn open_session(
    account: &str,
    profile: Profile,
    store: &Arc<FakeStore>,
    clock: &Arc<ManualClock>,
    lock_dir: &tempfile::TempDir,
) -> Session {
    let store: Arc<dyn SecretStore> = store.clone();
    let clock: Arc<dyn Clock> = clock.clone();
    Session::open(
        SessionConfig::new(account, profile, store, lock_dir.path().to_path_buf())
            .with_clock(clock)
            .with_options(fast_options()),
    )
    .unwrap()
}

impl Harness {
    pub async fn new(cfg: ServerConfig) -> Self {
        let clock = Arc::new(ManualClock::starting_now());
        let server = MockServer::start(cfg.clone(), clock.clone()).await;
        let mut profile = Profile::from_base_url(&server.base_url).unwrap();
        if cfg.access_field == "access_token" {
            profile = profile.with_custom_view_fields();
        }
        profile.registration_path = Some("/api/register/".into());
        Self {
            server,
            clock,
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
        open_session("test", profile, &self.store, &self.clock, &self.lock_dir)
    }

    pub async fn logged_in(&self) -> Session {
        let session = self.session();
        session
            .login("alice", "correct horse".to_owned().into())
            .await
            .unwrap();
        session
    }

    pub fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    pub fn refreshes(&self) -> u64 {
        self.server.count("POST /api/token/refresh/ 200")
    }
}
