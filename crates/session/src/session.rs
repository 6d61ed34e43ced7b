//! The session engine's facade: one [`Session`] per profile, shared by every task of a process.
//!
//! It owns the profile's transport, the vault (keyring), the refresh lock directory, the clock
//! and the in-memory state, and exposes the operations the app and the CLI call: `login`,
//! `register`, `restore`, `status`, `request`, `refresh_now`, `logout`, `subscribe`,
//! `spawn_auto_refresh`. The flows themselves live in `signin.rs`, `refresh.rs` and `request.rs`.
//! `Session` is cheap to clone (an `Arc`).

use std::path::PathBuf;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use tokio::sync::broadcast;

use crate::claims::{decode_unverified, Claims, TokenVerifier};
use crate::clock::{unix_millis, Clock, SystemClock};
use crate::error::{Error, Result};
use crate::events::SessionEvent;
use crate::profile::Profile;
use crate::profiles_file::validate_profile_name;
use crate::refresh::{self, RetryPolicy, Trigger};
use crate::request::{self, ApiRequest, ApiResponse};
use crate::secret::{AccessToken, AuthHeader, Password, RefreshToken};
use crate::signin::{self, LogoutOutcome, Registration};
use crate::status::SessionStatus;
use crate::store::SecretStore;
use crate::transport::Transport;
use crate::vault::{StoredSession, Vault};

/// Tunables that are not profile settings.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// Give up on a keyring call after this long (`keyring_unavailable`).
    pub keyring_timeout: Duration,
    /// Give up waiting for another process's refresh after this long (`lock_timeout`).
    pub lock_timeout: Duration,
    /// Retries of a refresh that failed transiently.
    pub retry: RetryPolicy,
    /// Total time allowed for the best-effort blacklist call on logout.
    pub logout_timeout: Duration,
    /// Largest response body read.
    pub max_response_bytes: usize,
    /// The background refresher re-reads the wall clock at least this often (sleep/wake).
    pub auto_refresh_max_nap: Duration,
    /// How long a sign-out waits for a refresh in flight (in any process) to finish, so that it
    /// can blacklist the refresh token that refresh receives. `None`: the profile's request
    /// timeout plus five seconds (one refresh attempt). A refresh still running after that
    /// blacklists what it receives itself.
    pub logout_lock_wait: Option<Duration>,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            keyring_timeout: Duration::from_secs(5),
            lock_timeout: Duration::from_secs(90),
            retry: RetryPolicy::default(),
            logout_timeout: Duration::from_secs(3),
            max_response_bytes: 16 * 1024 * 1024,
            auto_refresh_max_nap: Duration::from_secs(30),
            logout_lock_wait: None,
        }
    }
}

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

/// Tokens held in memory, with what was read from them.
#[derive(Debug, Clone)]
pub(crate) struct Active {
    pub access: AccessToken,
    /// `Authorization: <type> <access>`, ready-made for requests.
    pub auth_header: AuthHeader,
    pub refresh: Option<RefreshToken>,
    pub access_claims: Claims,
    pub refresh_claims: Option<Claims>,
    pub offset_ms: i64,
}

impl Active {
    pub(crate) fn to_stored(&self, transport: &Transport, verified: bool) -> StoredSession {
        stored_pair(
            transport,
            &self.access,
            self.refresh.as_ref(),
            self.offset_ms,
            verified,
        )
    }

    pub(crate) fn same_tokens(&self, other: &StoredSession) -> bool {
        let refresh_same = match (&self.refresh, &other.refresh) {
            (Some(a), Some(b)) => a.same_as(b),
            (None, None) => true,
            _ => false,
        };
        self.access.same_as(&other.access) && refresh_same
    }

    /// Until when the session can be renewed, Unix seconds server time.
    pub(crate) fn renewable_until(&self, sliding: bool) -> Option<i64> {
        if sliding {
            self.access_claims.refresh_exp
        } else {
            self.refresh_claims.as_ref().and_then(|c| c.exp)
        }
    }
}

/// What is stored for a token pair issued by `transport`'s server: the pair, bound to that
/// server's base URL and blacklist endpoint.
pub(crate) fn stored_pair(
    transport: &Transport,
    access: &AccessToken,
    refresh: Option<&RefreshToken>,
    offset_ms: i64,
    verified: bool,
) -> StoredSession {
    let profile = transport.profile();
    StoredSession {
        access: access.clone(),
        refresh: refresh.cloned(),
        origin: transport.origin_text(),
        offset_ms,
        base_url: Some(profile.base_url.to_string()),
        blacklist_url: profile
            .blacklist_path
            .as_deref()
            .and_then(|p| transport.endpoint(p).ok())
            .map(|u| u.to_string()),
        verified,
    }
}

#[derive(Debug, Default)]
pub(crate) struct State {
    pub active: Option<Active>,
    /// Why there are no tokens (what a request gets instead), when known.
    pub ended: Option<Error>,
    /// Bumped whenever the tokens change (login, refresh, adoption, sign-out).
    pub generation: u64,
    /// Bumped whenever a refresh attempt finishes, successful or not.
    pub flights: u64,
    /// The last failed refresh, by flight number: handed to everyone who waited for it.
    pub last_failure: Option<(u64, Error)>,
    /// Bumped when a sign-out starts: a refresh that began before never installs its tokens.
    pub signout_epoch: u64,
    /// The server asked (`Retry-After`) not to be asked again before this (local Unix ms).
    pub refresh_not_before_ms: Option<i64>,
}

pub(crate) struct Inner {
    pub name: String,
    pub profile: Profile,
    pub transport: Transport,
    pub vault: Vault,
    pub lock_dir: PathBuf,
    pub clock: Arc<dyn Clock>,
    pub options: SessionOptions,
    pub verifier: Option<TokenVerifier>,
    pub state: RwLock<State>,
    /// Single-flight gate: one refresh at a time in this process.
    pub gate: Arc<tokio::sync::Mutex<()>>,
    pub events: broadcast::Sender<SessionEvent>,
}

impl Inner {
    pub(crate) fn read_state(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn write_state(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn emit(&self, event: SessionEvent) {
        tracing::debug!(event = event.name(), profile = %self.name, "session event");
        // No subscriber is fine.
        let _ = self.events.send(event);
    }

    pub(crate) fn now_ms(&self) -> i64 {
        unix_millis(self.clock.now())
    }

    /// The server's clock, Unix milliseconds: local time plus an offset. Saturating: offsets
    /// and claims come from the server or the keyring and may hold any value.
    pub(crate) fn server_now_ms(&self, offset_ms: i64) -> i64 {
        self.now_ms().saturating_add(offset_ms)
    }

    /// The error for "no tokens in memory".
    pub(crate) fn signed_out_error(state: &State) -> Error {
        state.ended.clone().unwrap_or_else(|| Error::LoginRequired {
            reason: "not signed in".into(),
        })
    }

    /// Decodes a token pair into an [`Active`]. With `verify` (tokens from the server, or stored
    /// before they were verified) they are checked against the profile's key when one is
    /// configured. With `require_fresh` (tokens just issued) the access token must carry an
    /// `exp` that is still ahead — one without could never be renewed on time, and one that
    /// arrives expired would be refreshed again at once, forever.
    pub(crate) async fn accept_checked(
        &self,
        access: AccessToken,
        refresh: Option<RefreshToken>,
        offset_ms: i64,
        verify: bool,
        require_fresh: bool,
    ) -> Result<Active> {
        let claim = &self.profile.user_id_claim;
        let (access_claims, refresh_claims) = match (&self.verifier, verify) {
            (Some(verifier), true) => {
                let now_server = self.server_now_ms(offset_ms).div_euclid(1000);
                for token in [
                    Some(access.expose_secret()),
                    refresh.as_ref().map(RefreshToken::expose_secret),
                ]
                .into_iter()
                .flatten()
                {
                    if verifier.needs_jwks(token) {
                        if let Some(url) = verifier.jwks_url() {
                            let response = self.transport.get_auth(url.clone()).await?;
                            // A JWKS endpoint that is down is as transient as a refresh
                            // endpoint that is down: the caller keeps the session.
                            match response.status {
                                200 => {}
                                429 => {
                                    return Err(Error::RateLimited {
                                        retry_after_secs: None,
                                    })
                                }
                                status if status >= 500 => {
                                    return Err(Error::ServerError {
                                        status,
                                        detail: Some("while fetching the JWKS".into()),
                                    })
                                }
                                status => {
                                    return Err(Error::Http {
                                        status,
                                        endpoint: "JWKS".into(),
                                        detail: None,
                                    })
                                }
                            }
                            verifier.set_jwks(&response.body)?;
                        }
                    }
                }
                let access_type = if self.profile.sliding {
                    "sliding"
                } else {
                    "access"
                };
                let access_claims =
                    verifier.verify(access.expose_secret(), access_type, now_server)?;
                let refresh_claims = match &refresh {
                    Some(r) => Some(verifier.verify(r.expose_secret(), "refresh", now_server)?),
                    None => None,
                };
                (access_claims, refresh_claims)
            }
            _ => {
                let access_claims = decode_unverified(access.expose_secret(), claim)?;
                let refresh_claims = match &refresh {
                    Some(r) => Some(decode_unverified(r.expose_secret(), claim)?),
                    None => None,
                };
                (access_claims, refresh_claims)
            }
        };
        if require_fresh {
            check_fresh_access(&access_claims, self.server_now_ms(offset_ms))?;
        }
        if let Some(kind) = access_claims.token_type.as_deref() {
            let expected = if self.profile.sliding {
                "sliding"
            } else {
                "access"
            };
            if kind != expected {
                return Err(Error::bad_response(format!(
                    "the server sent a token of type {kind:?} where a token of type {expected:?} belongs (the profile's field names or sliding mode do not match the server)"
                )));
            }
        }
        Ok(Active {
            auth_header: AuthHeader::new(&self.profile.auth_header_type, &access),
            access,
            refresh,
            access_claims,
            refresh_claims,
            offset_ms,
        })
    }

    /// Decodes a stored pair; a pair stored before it was verified is verified now.
    pub(crate) async fn accept_stored(&self, stored: StoredSession) -> Result<Active> {
        let verify = !stored.verified;
        self.accept_checked(
            stored.access,
            stored.refresh,
            stored.offset_ms,
            verify,
            false,
        )
        .await
    }

    /// Makes `active` the current tokens unless a sign-out began since `epoch` was read
    /// (checked under the state lock, so no sign-out slips in between). Whether it did.
    pub(crate) fn install_unless_signed_out(&self, active: Active, epoch: u64) -> bool {
        let mut state = self.write_state();
        if state.signout_epoch != epoch {
            return false;
        }
        state.active = Some(active);
        state.ended = None;
        state.generation += 1;
        true
    }

    /// Why a stored session must not be used with this profile (issued for another server),
    /// or `None` when it belongs here.
    pub(crate) fn foreign_issuer(&self, stored: &StoredSession) -> Option<String> {
        let here = self.transport.origin_text();
        let issued_for = match &stored.base_url {
            Some(base) if *base != self.profile.base_url.as_str() => base.clone(),
            Some(_) => return None,
            None if stored.origin != here => stored.origin.clone(),
            None => return None,
        };
        Some(format!(
            "the stored session was issued by {issued_for}, but the profile now points to {}; it was not sent there",
            self.profile.base_url
        ))
    }

    /// Makes `active` the current tokens.
    pub(crate) fn install(&self, active: Active) {
        let mut state = self.write_state();
        state.active = Some(active);
        state.ended = None;
        state.generation += 1;
    }

    /// Forgets the tokens in memory; `why` is what later requests get.
    pub(crate) fn end(&self, why: Option<Error>) {
        let mut state = self.write_state();
        state.active = None;
        state.ended = why;
        state.generation += 1;
    }

    /// Ends the session for `error` (whose reason a user reads) and tells subscribers.
    pub(crate) fn expire(&self, error: Error) -> Error {
        let reason = match &error {
            Error::SessionExpired { reason } | Error::LoginRequired { reason } => reason.clone(),
            other => other.to_string(),
        };
        self.end(Some(error.clone()));
        self.emit(SessionEvent::SessionExpired {
            profile: self.name.clone(),
            reason,
        });
        error
    }

    pub(crate) fn status(&self) -> SessionStatus {
        let state = self.read_state();
        let Some(active) = &state.active else {
            let reason = match &state.ended {
                Some(Error::SessionExpired { reason } | Error::LoginRequired { reason }) => {
                    Some(reason.clone())
                }
                Some(other) => Some(other.to_string()),
                None => None,
            };
            return SessionStatus::signed_out(&self.name, reason);
        };
        let now_server_ms = self.server_now_ms(active.offset_ms);
        let next = refresh::refresh_at_ms(&active.access_claims, self.profile.refresh_margin());
        SessionStatus {
            profile: self.name.clone(),
            signed_in: true,
            reason: None,
            user_id: active.access_claims.user_id.clone(),
            sliding: self.profile.sliding,
            access_expires_at: active.access_claims.exp,
            access_expired: active
                .access_claims
                .exp
                .is_some_and(|exp| now_server_ms >= exp.saturating_mul(1000)),
            refresh_expires_at: active.renewable_until(self.profile.sliding),
            next_refresh_at: next.map(|ms| ms.div_euclid(1000)),
            clock_offset_ms: active.offset_ms,
            claims: active.access_claims.all.clone(),
        }
    }
}

/// Refuses a freshly issued access token without a usable `exp`, or one already expired in
/// the server's time (`now_server_ms`).
fn check_fresh_access(claims: &Claims, now_server_ms: i64) -> Result<()> {
    match claims.exp {
        None => Err(Error::bad_response(
            "the server's access token has no numeric \"exp\" claim, so Tessera cannot tell when it expires (simplejwt always sets one)",
        )),
        Some(exp) if exp.saturating_mul(1000) <= now_server_ms => Err(Error::bad_response(
            "the server's access token was already expired when it arrived; check the server's ACCESS_TOKEN_LIFETIME and this computer's clock",
        )),
        Some(_) => Ok(()),
    }
}

/// A session for one profile. Clone it freely; all clones share state.
#[derive(Clone)]
pub struct Session {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("profile", &self.inner.name)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Builds a session (no I/O besides reading the profile's CA/key files). Call
    /// [`Session::restore`] to pick up stored tokens, or [`Session::login`].
    pub fn open(config: SessionConfig) -> Result<Self> {
        validate_profile_name(&config.profile_name)?;
        let transport = Transport::new(&config.profile, config.options.max_response_bytes)?;
        let verifier = match &config.profile.verification {
            Some(v) => Some(TokenVerifier::new(v, &config.profile.user_id_claim)?),
            None => None,
        };
        let (events, _) = broadcast::channel(256);
        Ok(Self {
            inner: Arc::new(Inner {
                name: config.profile_name,
                profile: config.profile,
                transport,
                vault: Vault::new(config.store, config.options.keyring_timeout),
                lock_dir: config.lock_dir,
                clock: config.clock,
                options: config.options,
                verifier,
                state: RwLock::new(State::default()),
                gate: Arc::new(tokio::sync::Mutex::new(())),
                events,
            }),
        })
    }

    /// The profile's name.
    pub fn profile_name(&self) -> &str {
        &self.inner.name
    }

    /// The profile.
    pub fn profile(&self) -> &Profile {
        &self.inner.profile
    }

    /// Subscribes to session events.
    pub fn subscribe(&self) -> broadcast::Receiver<SessionEvent> {
        self.inner.events.subscribe()
    }

    /// Signs in with a login (user name or e-mail, per the profile) and a password, and stores
    /// the tokens in the keyring. The password is zeroized when this returns.
    pub async fn login(&self, login: &str, password: Password) -> Result<SessionStatus> {
        signin::login(&self.inner, login, password).await
    }

    /// Registers through the profile's registration endpoint, then signs in.
    pub async fn register(&self, registration: Registration) -> Result<SessionStatus> {
        signin::register(&self.inner, registration).await
    }

    /// Reads the session from the keyring (a new process's start). Refreshes an expired access
    /// token; `session_expired` when the refresh token has expired, `login_required` when there
    /// is nothing stored. A refresh that fails transiently (offline) keeps the session.
    pub async fn restore(&self) -> Result<SessionStatus> {
        signin::restore(&self.inner, true).await
    }

    /// Reads the session from the keyring without any network call (`status` in the CLI): an
    /// expired access token is reported, not refreshed. No stored session, or one that can no
    /// longer be renewed, is a signed-out status with its reason rather than an error.
    pub async fn load(&self) -> Result<SessionStatus> {
        match signin::restore(&self.inner, false).await {
            Ok(status) => Ok(status),
            Err(e) if e.needs_login() => Ok(self.status()),
            Err(e) => Err(e),
        }
    }

    /// The current state, without I/O.
    pub fn status(&self) -> SessionStatus {
        self.inner.status()
    }

    /// Sends an authenticated request: refreshes first if the token is due, replays once after
    /// a 401 `token_not_valid`.
    pub async fn request(&self, request: ApiRequest) -> Result<ApiResponse> {
        request::execute(&self.inner, request).await
    }

    /// Refreshes now (single-flight, cross-process locked), whatever the expiry.
    pub async fn refresh_now(&self) -> Result<SessionStatus> {
        let (generation, flights) = {
            let state = self.inner.read_state();
            if state.active.is_none() {
                return Err(Inner::signed_out_error(&state));
            }
            (state.generation, state.flights)
        };
        refresh::ensure_fresh(&self.inner, generation, flights, Trigger::Manual).await?;
        Ok(self.status())
    }

    /// Signs out: best-effort blacklist of the refresh token, then the keyring entries are
    /// deleted whatever the server said. Works offline.
    pub async fn logout(&self) -> Result<LogoutOutcome> {
        signin::logout(&self.inner).await
    }

    /// Call before a profile edit that sets the base URL to `new_base_url` is saved: when that
    /// is another server, the stored session is signed out first — its refresh token
    /// blacklisted at the server that issued it — and the outcome returned, so that no token is
    /// ever sent to the new server. `None` when the server is unchanged.
    pub async fn sign_out_if_moved(
        &self,
        new_base_url: &url::Url,
    ) -> Result<Option<LogoutOutcome>> {
        if *new_base_url == self.inner.profile.base_url {
            return Ok(None);
        }
        signin::logout(&self.inner).await.map(Some)
    }

    /// Starts a background task that refreshes the access token at `exp − margin` (re-checking
    /// the wall clock at least every `auto_refresh_max_nap` (30 s), so a sleep/wake cycle is noticed). Stops when the
    /// returned handle is dropped or the session ends.
    pub fn spawn_auto_refresh(&self) -> AutoRefresh {
        AutoRefresh {
            task: tokio::spawn(crate::auto_refresh::auto_refresh_loop(Arc::downgrade(
                &self.inner,
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
