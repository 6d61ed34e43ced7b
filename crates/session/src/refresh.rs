//! Keeping the access token fresh: when to refresh, one refresh at a time, and what a failure
//! means.
//!
//! * Schedule: refresh at `exp − margin`, where the margin is the profile's, shrunk to a quarter
//!   of the token's lifetime for short-lived tokens (so a token is never refreshed right after
//!   it was issued). All times are in the *server's* clock: the offset is estimated from the new
//!   token's `iat` (falling back to the response's `Date`) each time tokens arrive, and stored
//!   with them, so a machine whose clock is ten minutes off neither loops nor lets tokens expire.
//! * Single-flight: requests that find the token due, or got a 401, call [`ensure_fresh`] with
//!   the token generation they used. The first one in refreshes; the others wait on the gate and
//!   then see a new generation (and use it) or the same failed flight (and get its error).
//! * Across processes: the refresh runs under the profile's file lock, and re-reads the keyring
//!   after taking it — if another process already refreshed, its tokens are used instead.
//! * The refresh runs in a spawned task that owns the gate and the lock: a caller that is
//!   cancelled cannot abort it between "server rotated the refresh token" and "new token stored".
//!   The new tokens are persisted before the lock is released and before anyone uses them; if
//!   the keyring refuses them, the session ends (`session_expired`, with the keyring's reason)
//!   rather than living on in memory with a stale keyring entry.
//! * Failures: 401/400 end the session (keyring cleared). Network errors, timeouts, 429 and 5xx
//!   keep it, with a bounded number of jittered retries that honour `Retry-After`.

use std::sync::{Arc, Weak};
use std::time::Duration;

use zeroize::Zeroizing;

use crate::claims::Claims;
use crate::clock::unix_millis;
use crate::error::{Error, Result};
use crate::events::SessionEvent;
use crate::lock;
use crate::session::{Active, Inner};
use crate::wire::{
    parse_error_body, parse_token_response, retry_after, secret_json_body, server_date,
};

/// Retries of a transiently failed refresh.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in total (the first included).
    pub max_attempts: u32,
    /// First backoff delay; doubles each attempt (with jitter).
    pub base_delay: Duration,
    /// Largest backoff delay.
    pub max_delay: Duration,
    /// A `Retry-After` longer than this is not waited for: the error is surfaced instead.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The delay before attempt `attempt + 1`: exponential, capped, with jitter in [½, 1].
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
            .min(self.max_delay);
        let half = exp / 2;
        half + Duration::from_millis(fastrand::u64(..=half.as_millis() as u64))
    }
}

/// Why a refresh is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trigger {
    /// The access token is at or past its refresh time.
    Expiring,
    /// The server answered 401 `token_not_valid`.
    Unauthorized,
    /// Asked for explicitly.
    Manual,
}

/// The margin actually used: the configured one, but at most a quarter of the token's lifetime.
pub(crate) fn effective_margin_ms(configured: Duration, lifetime_secs: Option<i64>) -> i64 {
    let configured = i64::try_from(configured.as_millis()).unwrap_or(i64::MAX);
    match lifetime_secs {
        Some(lifetime) if lifetime > 0 => configured.min(lifetime.saturating_mul(1000) / 4),
        _ => configured,
    }
}

/// When the token should be refreshed, Unix milliseconds, server time. `None` without `exp`.
pub(crate) fn refresh_at_ms(claims: &Claims, margin: Duration) -> Option<i64> {
    let exp_ms = claims.exp?.saturating_mul(1000);
    Some(exp_ms.saturating_sub(effective_margin_ms(margin, claims.lifetime_secs())))
}

/// Server-minus-local offset estimated from a fresh token's `iat` (preferred: it is the clock
/// that checks `exp`) or the response's `Date`. Both have one-second resolution; half a second
/// is added so the estimate is centred (and errs towards refreshing early).
pub(crate) fn estimate_offset_ms(
    iat: Option<i64>,
    date_ms: Option<i64>,
    received_local_ms: i64,
) -> Option<i64> {
    iat.map(|iat| iat.saturating_mul(1000))
        .or(date_ms)
        .map(|server_ms| {
            server_ms
                .saturating_add(500)
                .saturating_sub(received_local_ms)
        })
}

impl Inner {
    pub(crate) fn needs_refresh(&self, active: &Active) -> bool {
        match refresh_at_ms(&active.access_claims, self.profile.refresh_margin()) {
            Some(at) => self.server_now_ms(active.offset_ms) >= at,
            None => false,
        }
    }

    pub(crate) fn is_expired(&self, active: &Active) -> bool {
        match active.access_claims.exp {
            Some(exp) => self.server_now_ms(active.offset_ms) >= exp.saturating_mul(1000),
            None => false,
        }
    }

    pub(crate) fn renewal_expired(&self, active: &Active) -> bool {
        match active.renewable_until(self.profile.sliding) {
            Some(until) => self.server_now_ms(active.offset_ms) >= until.saturating_mul(1000),
            None => false,
        }
    }
}

/// Makes sure the token generation `seen_generation` has been replaced (or refreshes it).
/// Exactly one refresh runs for any number of concurrent callers that saw the same generation.
pub(crate) async fn ensure_fresh(
    inner: &Arc<Inner>,
    seen_generation: u64,
    seen_flights: u64,
    trigger: Trigger,
) -> Result<()> {
    let gate = Arc::clone(&inner.gate).lock_owned().await;
    {
        let state = inner.read_state();
        if state.active.is_none() {
            return Err(Inner::signed_out_error(&state));
        }
        if state.generation != seen_generation {
            return Ok(());
        }
        if let Some((flight, error)) = &state.last_failure {
            if *flight > seen_flights {
                return Err(error.clone());
            }
        }
    }
    let task_inner = Arc::clone(inner);
    let task = tokio::spawn(async move {
        let _gate = gate;
        let result = refresh_under_lock(&task_inner, trigger).await;
        let mut state = task_inner.write_state();
        state.flights += 1;
        match &result {
            Ok(()) => state.last_failure = None,
            Err(e) => state.last_failure = Some((state.flights, e.clone())),
        }
        result
    });
    task.await
        .map_err(|e| Error::internal(format!("the refresh task failed: {e}")))?
}

async fn refresh_under_lock(inner: &Arc<Inner>, trigger: Trigger) -> Result<()> {
    tracing::debug!(profile = %inner.name, ?trigger, "refresh wanted");
    let _lock = lock::acquire(&inner.lock_dir, &inner.name, inner.options.lock_timeout).await?;
    let ours = {
        let state = inner.read_state();
        state
            .active
            .clone()
            .ok_or_else(|| Inner::signed_out_error(&state))?
    };
    let stored = inner.vault.load(&inner.name).await?;
    let Some(stored) = stored else {
        return Err(inner.expire(Error::LoginRequired {
            reason: "signed out in another window or process".to_owned(),
        }));
    };
    let mut current = ours;
    if !current.same_tokens(&stored) {
        if stored.origin != inner.transport.origin_text() {
            let error = Error::LoginRequired {
                reason: "the stored session belongs to another server".to_owned(),
            };
            inner.end(Some(error.clone()));
            return Err(error);
        }
        let adopted = inner
            .accept_tokens(stored.access, stored.refresh, stored.offset_ms, false)
            .await?;
        // Another process refreshed (or signed in again). Use its tokens — unless they are due
        // too, or this refresh exists because the server refused exactly these tokens.
        if !inner.needs_refresh(&adopted) {
            tracing::debug!(profile = %inner.name, "another process already refreshed; using its tokens");
            let expires = adopted.access_claims.exp;
            inner.install(adopted);
            inner.emit(SessionEvent::Refreshed {
                profile: inner.name.clone(),
                rotated: false,
                by_other_process: true,
                access_expires_at: expires,
            });
            return Ok(());
        }
        current = adopted;
    }
    call_refresh_endpoint(inner, current).await
}

async fn call_refresh_endpoint(inner: &Arc<Inner>, current: Active) -> Result<()> {
    let profile = &inner.profile;
    if inner.renewal_expired(&current) {
        return Err(end_session(inner, "the session's renewal period is over").await);
    }
    let secret = if profile.sliding {
        current.access.expose_secret().to_owned()
    } else {
        match &current.refresh {
            Some(r) => r.expose_secret().to_owned(),
            None => {
                return Err(end_session(inner, "no refresh token is stored").await);
            }
        }
    };
    let secret = Zeroizing::new(secret);
    let body = secret_json_body(&[(profile.refresh_body_field(), &secret)])?;
    let url = inner.transport.endpoint(&profile.refresh_path)?;
    let policy = &inner.options.retry;
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        tracing::debug!(profile = %inner.name, attempt, "calling the refresh endpoint");
        let outcome = inner
            .transport
            .post_auth(url.clone(), body.clone(), None)
            .await;
        let received = inner.clock.now();
        let (error, wait) = match outcome {
            Ok(response) if (200..300).contains(&response.status) => {
                let refresh_field = (!profile.sliding).then_some(profile.refresh_field.as_str());
                let tokens = parse_token_response(
                    &response.body,
                    profile.response_access_field(),
                    refresh_field,
                    false,
                )?;
                let rotated = tokens.refresh.is_some();
                let refresh = tokens.refresh.or_else(|| current.refresh.clone());
                let received_ms = unix_millis(received);
                let date_ms = server_date(&response.headers).map(unix_millis);
                // The offset must be known before verification checks exp in server time.
                let iat = crate::claims::decode_unverified(
                    tokens.access.expose_secret(),
                    &profile.user_id_claim,
                )?
                .iat;
                let offset_ms =
                    estimate_offset_ms(iat, date_ms, received_ms).unwrap_or(current.offset_ms);
                let fresh = inner
                    .accept_tokens(tokens.access, refresh, offset_ms, true)
                    .await?;
                let expires = fresh.access_claims.exp;
                if let Err(error) = persist(inner, &fresh).await {
                    drop(fresh);
                    return Err(end_unsaved_session(inner, &error).await);
                }
                inner.install(fresh);
                tracing::info!(profile = %inner.name, rotated, attempt, "access token refreshed");
                inner.emit(SessionEvent::Refreshed {
                    profile: inner.name.clone(),
                    rotated,
                    by_other_process: false,
                    access_expires_at: expires,
                });
                return Ok(());
            }
            Ok(response) if response.status == 401 || response.status == 400 => {
                let drf = parse_error_body(&response.body);
                tracing::info!(profile = %inner.name, status = response.status, code = drf.code.as_deref().unwrap_or(""), "refresh token refused");
                return Err(end_session(inner, "the server no longer accepts this session's refresh token (expired, revoked or blacklisted)").await);
            }
            Ok(response) if response.status == 429 || response.status >= 500 => {
                let wait = retry_after(&response.headers, received);
                let drf = parse_error_body(&response.body);
                let error = if response.status == 429 {
                    Error::RateLimited {
                        retry_after_secs: wait.map(|w| w.as_secs()),
                    }
                } else {
                    Error::ServerError {
                        status: response.status,
                        detail: drf.detail,
                    }
                };
                (error, wait)
            }
            Ok(response) => {
                let drf = parse_error_body(&response.body);
                return Err(Error::Http {
                    status: response.status,
                    endpoint: "the refresh endpoint".into(),
                    detail: drf.code.or(drf.detail),
                });
            }
            Err(e) if e.is_transient() => (e, None),
            Err(e) => return Err(e),
        };
        let delay = wait.unwrap_or_else(|| policy.backoff(attempt));
        let give_up = attempt >= policy.max_attempts || delay > policy.max_retry_after;
        tracing::warn!(profile = %inner.name, attempt, code = error.code(), give_up, "refresh failed transiently");
        inner.emit(SessionEvent::RefreshFailedTransiently {
            profile: inner.name.clone(),
            attempt,
            code: error.code().to_owned(),
            retry_in_ms: (!give_up).then_some(delay.as_millis() as u64),
        });
        if give_up {
            return Err(error);
        }
        tokio::time::sleep(delay).await;
    }
}

/// Stores new tokens; retried once.
async fn persist(inner: &Inner, active: &Active) -> Result<()> {
    let stored = active.to_stored(inner.transport.origin_text());
    match inner.vault.save(&inner.name, &stored).await {
        Ok(()) => Ok(()),
        Err(first) => {
            tracing::warn!(profile = %inner.name, code = first.code(), "storing refreshed tokens failed; retrying");
            inner.vault.save(&inner.name, &stored).await
        }
    }
}

/// Ends the session when the refreshed tokens could not be stored. Keeping them in memory only
/// would leave the keyring with the old refresh token (already blacklisted under rotation), so
/// every other process, and this one after a restart, would fail later and less clearly; the user
/// is asked to sign in now instead, with the keyring's reason. The stale entry is removed if the
/// keyring lets us.
async fn end_unsaved_session(inner: &Inner, error: &Error) -> Error {
    tracing::warn!(profile = %inner.name, code = error.code(), "refreshed tokens could not be stored; ending the session");
    if let Err(e) = inner.vault.clear(&inner.name).await {
        tracing::warn!(profile = %inner.name, code = e.code(), "could not clear the keyring either");
    }
    let detail = match error {
        Error::KeyringUnavailable { detail } => detail.clone(),
        other => other.to_string(),
    };
    inner.expire(Error::SessionExpired {
        reason: format!("the renewed tokens could not be saved in the system keyring: {detail}"),
    })
}

/// Ends the session after the server refused it: keyring cleared, event sent.
async fn end_session(inner: &Inner, reason: &str) -> Error {
    if let Err(e) = inner.vault.clear(&inner.name).await {
        tracing::warn!(profile = %inner.name, code = e.code(), "could not clear the keyring after the session ended");
    }
    inner.expire(Error::SessionExpired {
        reason: reason.to_owned(),
    })
}

/// The background refresher behind `Session::spawn_auto_refresh`.
pub(crate) async fn auto_refresh_loop(inner: Weak<Inner>) {
    loop {
        let Some(strong) = inner.upgrade() else {
            return;
        };
        let max_nap = strong.options.auto_refresh_max_nap;
        let snapshot = {
            let state = strong.read_state();
            state.active.as_ref().map(|a| {
                (
                    refresh_at_ms(&a.access_claims, strong.profile.refresh_margin()),
                    a.offset_ms,
                    state.generation,
                    state.flights,
                )
            })
        };
        let Some((refresh_at, offset_ms, generation, flights)) = snapshot else {
            return;
        };
        let now_server = strong.server_now_ms(offset_ms);
        let due_in = refresh_at.map(|at| at.saturating_sub(now_server));
        match due_in {
            Some(ms) if ms <= 0 => {
                match ensure_fresh(&strong, generation, flights, Trigger::Expiring).await {
                    Ok(()) => {}
                    Err(e) if e.needs_login() => return,
                    Err(_) => {
                        drop(strong);
                        tokio::time::sleep(max_nap).await;
                    }
                }
            }
            other => {
                drop(strong);
                let nap = other.map_or(max_nap, |ms| {
                    Duration::from_millis(ms.unsigned_abs()).min(max_nap)
                });
                tokio::time::sleep(nap).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    fn claims(iat: i64, exp: i64) -> Claims {
        Claims {
            iat: Some(iat),
            exp: Some(exp),
            all: Map::new(),
            ..Claims::default()
        }
    }

    #[test]
    fn margin_shrinks_for_short_lived_tokens() {
        let margin = Duration::from_secs(60);
        // 5 minutes: full margin
        assert_eq!(refresh_at_ms(&claims(1000, 1300), margin), Some(1_240_000));
        // 2 minutes: a quarter of the lifetime (30 s), not 60 s
        assert_eq!(refresh_at_ms(&claims(1000, 1120), margin), Some(1_090_000));
        // 4 seconds: 1 s before exp, never right after issue
        assert_eq!(refresh_at_ms(&claims(1000, 1004), margin), Some(1_003_000));
        // no iat: configured margin
        let c = Claims {
            exp: Some(2000),
            ..Claims::default()
        };
        assert_eq!(refresh_at_ms(&c, margin), Some(1_940_000));
        assert_eq!(refresh_at_ms(&Claims::default(), margin), None);
    }

    #[test]
    fn offset_comes_from_iat_then_date() {
        // local clock 10 minutes ahead of the server
        let local = 1_000_600_000;
        assert_eq!(
            estimate_offset_ms(Some(1_000_000), None, local),
            Some(-599_500)
        );
        assert_eq!(
            estimate_offset_ms(None, Some(1_000_000_000), local),
            Some(-599_500)
        );
        assert_eq!(
            estimate_offset_ms(Some(1_000_000), Some(5), local),
            Some(-599_500)
        );
        assert_eq!(estimate_offset_ms(None, None, local), None);
    }

    #[test]
    fn backoff_is_bounded_and_jittered() {
        let p = RetryPolicy::default();
        for attempt in 1..20 {
            let d = p.backoff(attempt);
            assert!(d <= p.max_delay, "{attempt}: {d:?}");
            assert!(d >= p.base_delay / 2);
        }
        let first = p.backoff(1);
        assert!(first >= Duration::from_millis(250) && first <= Duration::from_millis(500));
    }
}
