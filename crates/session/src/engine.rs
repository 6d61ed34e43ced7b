//! One profile's engine: its transport, vault, lock directory, clock, options, verifier, the
//! in-memory session state, the single-flight refresh gate and the event channel.
//!
//! This is the bottom layer the flows (sign-in, sign-out, refresh, renewal, requests, the
//! background refresher) share: they all work on an [`Engine`], and none of them imports the
//! public [`Session`](crate::Session) facade, which only wraps an `Arc<Engine>`. What is kept
//! here is what every flow needs to read or change the state consistently: installing and
//! forgetting tokens (generation counters, the sign-out epoch checked under the state lock),
//! ending a session with an event, the server-time clock, and which server a stored session
//! belongs to. How tokens get in (parsed, decoded, verified) is `accept.rs`.

use std::path::PathBuf;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use tokio::sync::broadcast;

use crate::claims::{Claims, TokenVerifier};
use crate::clock::{unix_millis, Clock};
use crate::cookies::CookieJar;
use crate::error::{Error, Result};
use crate::events::SessionEvent;
use crate::lock::SignoutMark;
use crate::options::SessionOptions;
use crate::profile::Profile;
use crate::profiles_file::validate_profile_name;
use crate::schedule::refresh_at_ms;
use crate::secret::{AccessToken, AuthHeader, OneTimeToken, RefreshToken};
use crate::status::SessionStatus;
use crate::store::SecretStore;
use crate::transport::Transport;
use crate::vault::{StoredSession, Vault};

/// The tokens in use, decoded: what requests send and what the schedule reads.
#[derive(Debug, Clone)]
pub(crate) struct LiveTokens {
    pub access: AccessToken,
    /// `Authorization: <type> <access>`, ready-made for requests.
    pub auth_header: AuthHeader,
    pub refresh: Option<RefreshToken>,
    pub access_claims: Claims,
    pub refresh_claims: Option<Claims>,
    /// Server-minus-local clock offset, milliseconds, estimated when the tokens arrived.
    pub offset_ms: i64,
    /// A cookie-mode session's cookies, sent to its refresh and logout endpoints only.
    pub cookies: CookieJar,
}

impl LiveTokens {
    pub(crate) fn to_stored(&self, transport: &Transport, verified: bool) -> StoredSession {
        stored_pair(
            transport,
            &self.access,
            self.refresh.as_ref(),
            (self.offset_ms, verified),
            &self.cookies,
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
    (offset_ms, verified): (i64, bool),
    cookies: &CookieJar,
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
        cookies: cookies.clone(),
    }
}

/// The in-memory session of one profile, behind [`Engine::state`].
#[derive(Debug, Default)]
pub(crate) struct State {
    /// The tokens in use; `None` when signed out.
    pub live: Option<LiveTokens>,
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
    /// The `Authorization` scheme the server asked for when it ignored the profile's
    /// (`request.rs`); used for this process's tokens from then on.
    pub learned_scheme: Option<String>,
    /// A sign-in waiting for its second factor (`second_factor.rs`).
    pub pending_second_factor: Option<OneTimeToken>,
    /// The profile's sign-out mark as it was read before the tokens in use were read or
    /// received: a different mark on disk means a sign-out ran since, here or in another
    /// process (`elsewhere.rs`).
    pub mark_seen: Option<SignoutMark>,
    /// When a signed-out request last looked for a sign-in made elsewhere (`elsewhere.rs`).
    pub looked_for_sign_in_ms: Option<i64>,
}

/// One profile's engine, shared (in an `Arc`) by every task of a process that uses the profile.
pub(crate) struct Engine {
    pub profile_name: String,
    pub profile: Profile,
    pub transport: Transport,
    pub vault: Vault,
    /// Directory of the cross-process refresh lock files and sign-out marks.
    pub lock_dir: PathBuf,
    pub clock: Arc<dyn Clock>,
    pub options: SessionOptions,
    /// Checks signatures when the profile configures a key or a JWKS URL.
    pub verifier: Option<TokenVerifier>,
    pub state: RwLock<State>,
    /// Single-flight gate: one refresh at a time in this process.
    pub gate: Arc<tokio::sync::Mutex<()>>,
    pub events: broadcast::Sender<SessionEvent>,
}

impl Engine {
    /// Builds the engine (no I/O besides reading the profile's CA/key files).
    pub(crate) fn open(
        profile_name: String,
        profile: Profile,
        store: Arc<dyn SecretStore>,
        lock_dir: PathBuf,
        clock: Arc<dyn Clock>,
        options: SessionOptions,
    ) -> Result<Self> {
        validate_profile_name(&profile_name)?;
        let transport = Transport::new(&profile, options.max_response_bytes)?;
        let verifier = match &profile.verification {
            Some(v) => Some(TokenVerifier::new(v, &profile.user_id_claim)?),
            None => None,
        };
        let (events, _) = broadcast::channel(256);
        Ok(Self {
            profile_name,
            profile,
            transport,
            vault: Vault::new(store, options.keyring_timeout),
            lock_dir,
            clock,
            options,
            verifier,
            state: RwLock::new(State::default()),
            gate: Arc::new(tokio::sync::Mutex::new(())),
            events,
        })
    }

    pub(crate) fn read_state(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn write_state(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn emit(&self, event: SessionEvent) {
        tracing::debug!(event = event.name(), profile = %self.profile_name, "session event");
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

    /// Makes `tokens` the current tokens unless a sign-out began since `epoch` was read
    /// (checked under the state lock, so no sign-out slips in between). Whether it did.
    pub(crate) fn install_unless_signed_out(
        &self,
        tokens: LiveTokens,
        epoch: u64,
        mark: SignoutMark,
    ) -> bool {
        let mut state = self.write_state();
        if state.signout_epoch != epoch {
            return false;
        }
        state.mark_seen = Some(mark);
        state.live = Some(tokens);
        state.ended = None;
        state.generation += 1;
        true
    }

    /// The profile's sign-out mark on disk now.
    pub(crate) fn read_mark(&self) -> SignoutMark {
        crate::lock::read_signout_mark(&self.lock_dir, &self.profile_name)
    }

    /// The `Authorization` scheme for new tokens: the one learnt from the server, else the
    /// profile's.
    pub(crate) fn auth_scheme(&self) -> String {
        self.read_state()
            .learned_scheme
            .clone()
            .unwrap_or_else(|| self.profile.auth_header_type.clone())
    }

    /// Uses `scheme` from now on (the current tokens' header too); false when signed out.
    pub(crate) fn learn_scheme(&self, scheme: &str) -> bool {
        let mut state = self.write_state();
        state.learned_scheme = Some(scheme.to_owned());
        let Some(live) = state.live.as_mut() else {
            return false;
        };
        live.auth_header = AuthHeader::new(scheme, &live.access);
        true
    }

    /// Makes `tokens` the current tokens; `mark` is the sign-out mark read before they were.
    pub(crate) fn install(&self, tokens: LiveTokens, mark: SignoutMark) {
        let mut state = self.write_state();
        state.mark_seen = Some(mark);
        state.live = Some(tokens);
        state.ended = None;
        state.generation += 1;
    }

    /// Forgets the tokens in memory; `why` is what later requests get.
    pub(crate) fn end(&self, why: Option<Error>) {
        let mut state = self.write_state();
        state.live = None;
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
            profile: self.profile_name.clone(),
            reason,
        });
        error
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

    /// Whether `tokens` are at or past their refresh time (server clock).
    pub(crate) fn needs_refresh(&self, tokens: &LiveTokens) -> bool {
        match refresh_at_ms(&tokens.access_claims, self.profile.refresh_margin()) {
            Some(at) => self.server_now_ms(tokens.offset_ms) >= at,
            None => false,
        }
    }

    /// Whether the access token has expired (server clock).
    pub(crate) fn is_expired(&self, tokens: &LiveTokens) -> bool {
        match tokens.access_claims.exp {
            Some(exp) => self.server_now_ms(tokens.offset_ms) >= exp.saturating_mul(1000),
            None => false,
        }
    }

    /// Whether the session can no longer be renewed (refresh token or sliding window over).
    pub(crate) fn renewal_expired(&self, tokens: &LiveTokens) -> bool {
        match tokens.renewable_until(self.profile.sliding) {
            Some(until) => self.server_now_ms(tokens.offset_ms) >= until.saturating_mul(1000),
            None => false,
        }
    }

    /// The current state, for display.
    pub(crate) fn status(&self) -> SessionStatus {
        let state = self.read_state();
        let Some(live) = &state.live else {
            let reason = match &state.ended {
                Some(Error::SessionExpired { reason } | Error::LoginRequired { reason }) => {
                    Some(reason.clone())
                }
                Some(other) => Some(other.to_string()),
                None => None,
            };
            return SessionStatus::signed_out(&self.profile_name, reason);
        };
        let now_server_ms = self.server_now_ms(live.offset_ms);
        let next = refresh_at_ms(&live.access_claims, self.profile.refresh_margin());
        SessionStatus {
            profile: self.profile_name.clone(),
            signed_in: true,
            reason: None,
            user_id: live.access_claims.user_id.clone(),
            sliding: self.profile.sliding,
            access_expires_at: live.access_claims.exp,
            access_expired: live
                .access_claims
                .exp
                .is_some_and(|exp| now_server_ms >= exp.saturating_mul(1000)),
            refresh_expires_at: live.renewable_until(self.profile.sliding),
            next_refresh_at: next.map(|ms| ms.div_euclid(1000)),
            clock_offset_ms: live.offset_ms,
            claims: live.access_claims.all.clone(),
        }
    }
}
