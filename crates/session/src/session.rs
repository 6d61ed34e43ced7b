//! The session engine's public facade: one [`Session`] per profile, shared by every task of a
//! process, built from a [`SessionConfig`].
//!
//! It exposes the operations the app and the CLI call — `login`, `register`, `restore`,
//! `load`, `status`, `request`, `refresh_now`, `logout`, `sign_out_if_moved`, `subscribe`,
//! `spawn_auto_refresh` — and forwards each to its flow: `signin.rs`, `signout.rs`,
//! `refresh.rs`, `request.rs`, `auto_refresh.rs`. The state they share is the profile's engine
//! (`engine.rs`); nothing under this module imports it. `Session` is cheap to clone (an `Arc`).

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::broadcast;

use crate::clock::{Clock, SystemClock};
use crate::engine::Engine;
use crate::error::Result;
use crate::events::SessionEvent;
pub use crate::options::SessionOptions;
use crate::profile::Profile;
use crate::refresh::{self, Trigger};
use crate::request::{self, ApiRequest};
use crate::response::{ApiResponse, StreamedResponse};
use crate::secret::Password;
use crate::signin::{self, Registration};
use crate::signout::{self, LogoutOutcome};
use crate::status::SessionStatus;
use crate::store::SecretStore;

/// Everything a [`Session`] is built from.
pub struct SessionConfig {
    /// The profile's name (keyring account and lock file name).
    pub profile_name: String,
    /// The profile.
    pub profile: Profile,
    /// Where tokens are kept ([`crate::KeyringStore`] in the app and CLI).
    pub store: Arc<dyn SecretStore>,
    /// Directory for the cross-process refresh lock files (shared by the app and the CLI).
    pub lock_dir: PathBuf,
    /// The wall clock.
    pub clock: Arc<dyn Clock>,
    /// Tunables.
    pub options: SessionOptions,
}

impl SessionConfig {
    /// A configuration with the system clock and default options.
    pub fn new(
        profile_name: &str,
        profile: Profile,
        store: Arc<dyn SecretStore>,
        lock_dir: PathBuf,
    ) -> Self {
        Self {
            profile_name: profile_name.to_owned(),
            profile,
            store,
            lock_dir,
            clock: Arc::new(SystemClock),
            options: SessionOptions::default(),
        }
    }

    /// Replaces the clock (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces the options.
    pub fn with_options(mut self, options: SessionOptions) -> Self {
        self.options = options;
        self
    }
}

/// A session for one profile. Clone it freely; all clones share state.
#[derive(Clone)]
pub struct Session {
    engine: Arc<Engine>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("profile", &self.engine.profile_name)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Builds a session (no I/O besides reading the profile's CA/key files). Call
    /// [`Session::restore`] to pick up stored tokens, or [`Session::login`].
    pub fn open(config: SessionConfig) -> Result<Self> {
        let engine = Engine::open(
            config.profile_name,
            config.profile,
            config.store,
            config.lock_dir,
            config.clock,
            config.options,
        )?;
        Ok(Self {
            engine: Arc::new(engine),
        })
    }

    /// The profile's name.
    pub fn profile_name(&self) -> &str {
        &self.engine.profile_name
    }

    /// The profile.
    pub fn profile(&self) -> &Profile {
        &self.engine.profile
    }

    /// Subscribes to session events.
    pub fn subscribe(&self) -> broadcast::Receiver<SessionEvent> {
        self.engine.events.subscribe()
    }

    /// Signs in with a login (user name or e-mail, per the profile) and a password, and stores
    /// the tokens in the keyring. The password is zeroized when this returns.
    pub async fn login(&self, login: &str, password: Password) -> Result<SessionStatus> {
        signin::login(&self.engine, login, password).await
    }

    /// Finishes a sign-in the server answered with `mfa_required` ([`Error::SecondFactorRequired`]):
    /// sends the code from the user's authenticator app (or a recovery code) with the one-time
    /// token the server handed over. The code is zeroized when this returns and never stored.
    pub async fn verify_code(&self, code: Password) -> Result<SessionStatus> {
        signin::verify_second_factor(&self.engine, code).await
    }

    /// Registers through the profile's registration endpoint, then signs in.
    pub async fn register(&self, registration: Registration) -> Result<SessionStatus> {
        signin::register(&self.engine, registration).await
    }

    /// Reads the session from the keyring (a new process's start). Refreshes an expired access
    /// token; `session_expired` when the refresh token has expired, `login_required` when there
    /// is nothing stored. A refresh that fails transiently (offline) keeps the session.
    pub async fn restore(&self) -> Result<SessionStatus> {
        signin::restore(&self.engine, true).await
    }

    /// Reads the session from the keyring without any network call (`status` in the CLI): an
    /// expired access token is reported, not refreshed. No stored session, or one that can no
    /// longer be renewed, is a signed-out status with its reason rather than an error.
    pub async fn load(&self) -> Result<SessionStatus> {
        match signin::restore(&self.engine, false).await {
            Ok(status) => Ok(status),
            Err(e) if e.needs_login() => Ok(self.status()),
            Err(e) => Err(e),
        }
    }

    /// The current state, without I/O.
    pub fn status(&self) -> SessionStatus {
        self.engine.status()
    }

    /// Sends an authenticated request: refreshes first if the token is due, replays once after
    /// a 401 `token_not_valid`.
    pub async fn request(&self, request: ApiRequest) -> Result<ApiResponse> {
        request::execute(&self.engine, request).await
    }

    /// Sends an authenticated request like [`Session::request`] and returns as soon as the
    /// answer's head arrived, its body to be streamed ([`StreamedResponse::into_stream`]): the
    /// local proxy's path. The profile's timeout bounds the wait for the head and every pause
    /// in the body; the whole body may take up to [`crate::transport::STREAMED_BODY_LIMIT`].
    pub async fn request_streamed(&self, request: ApiRequest) -> Result<StreamedResponse> {
        request::execute_streamed(&self.engine, request).await
    }

    /// Refreshes now (single-flight, cross-process locked), whatever the expiry.
    pub async fn refresh_now(&self) -> Result<SessionStatus> {
        let (generation, flights) = {
            let state = self.engine.read_state();
            if state.live.is_none() {
                return Err(Engine::signed_out_error(&state));
            }
            (state.generation, state.flights)
        };
        refresh::ensure_fresh(&self.engine, generation, flights, Trigger::Manual).await?;
        Ok(self.status())
    }

    /// Signs out: best-effort blacklist of the refresh token, then the keyring entries are
    /// deleted whatever the server said. Works offline.
    pub async fn logout(&self) -> Result<LogoutOutcome> {
        signout::logout(&self.engine).await
    }

    /// Call before a profile edit that sets the base URL to `new_base_url` is saved: when that
    /// is another server, the stored session is signed out first — its refresh token
    /// blacklisted at the server that issued it — and the outcome returned, so that no token is
    /// ever sent to the new server. `None` when the server is unchanged.
    pub async fn sign_out_if_moved(
        &self,
        new_base_url: &url::Url,
    ) -> Result<Option<LogoutOutcome>> {
        if *new_base_url == self.engine.profile.base_url {
            return Ok(None);
        }
        signout::logout(&self.engine).await.map(Some)
    }

    /// Starts a background task that refreshes the access token at `exp − margin` (re-checking
    /// the wall clock at least every `auto_refresh_max_nap` (30 s), so a sleep/wake cycle is
    /// noticed). Stops when the returned handle is dropped or the session ends.
    pub fn spawn_auto_refresh(&self) -> AutoRefresh {
        AutoRefresh {
            task: tokio::spawn(crate::auto_refresh::auto_refresh_loop(Arc::downgrade(
                &self.engine,
            ))),
        }
    }
}

/// The background refresh task; aborted on drop (an in-flight refresh still completes).
#[derive(Debug)]
pub struct AutoRefresh {
    task: tokio::task::JoinHandle<()>,
}

impl AutoRefresh {
    /// Whether the task has stopped (session ended).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

impl Drop for AutoRefresh {
    fn drop(&mut self) {
        self.task.abort();
    }
}
