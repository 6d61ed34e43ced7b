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
//!   rather than living on in memory with a stale keyring entry. What is done with a renewal
//!   (stored before verification, handed to a sign-out, or blacklisted) is `renewal.rs`.
//! * Failures: 401/400 end the session (keyring cleared). Network errors, timeouts, 429 and 5xx
//!   keep it, with a bounded number of jittered retries that honour `Retry-After`; a longer
//!   `Retry-After` is remembered, and no refresh of this process asks again before it.
//! * Sign-out: a refresh reads the sign-out mark and epoch when it takes the lock and never
//!   retries, stores or installs once a sign-out began.

use std::sync::Arc;
use std::time::Duration;

use zeroize::Zeroizing;

use crate::claims::Claims;
use crate::clock::unix_millis;
use crate::error::{Error, Result};
use crate::events::SessionEvent;
use crate::lock;
use crate::renewal::{accept_renewal, end_session, reject_renewed, signed_out_meanwhile, Start};
use crate::session::{Active, Inner};
use crate::vault::HeldLock;
use crate::wire::{parse_error_body, retry_after, secret_json_body};

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

/// Offsets beyond this are a broken `Date` header, not a clock: ignored, with a warning.
pub(crate) const MAX_PLAUSIBLE_SKEW_MS: i64 = 24 * 3600 * 1000;

/// Server-minus-local offset estimated from a fresh token's `iat` (preferred: it is the clock
/// that checks `exp`, so it is used whatever its value) or the response's `Date` (ignored when
/// more than a day off: a 1970 or 9999 `Date` must neither switch proactive refresh off nor
/// refuse every token). The server stamped either somewhere between sending the request
/// (`sent_local_ms`) and receiving the answer (`received_local_ms`), so the midpoint is the
/// local reference; both have one-second resolution, so half a second is added to centre the
/// estimate (it then errs towards refreshing early).
pub(crate) fn estimate_offset_ms(
    iat: Option<i64>,
    date_ms: Option<i64>,
    sent_local_ms: i64,
    received_local_ms: i64,
) -> Option<i64> {
    let sent = sent_local_ms.min(received_local_ms);
    let midpoint = sent.saturating_add(received_local_ms.saturating_sub(sent) / 2);
    let offset = |server_ms: i64| server_ms.saturating_add(500).saturating_sub(midpoint);
    if let Some(iat) = iat {
        let estimate = offset(iat.saturating_mul(1000));
        if estimate.saturating_abs() > MAX_PLAUSIBLE_SKEW_MS {
            tracing::warn!(offset_ms = estimate, "the server's clock is more than a day off this computer's; using the token's own iat");
        }
        return Some(estimate);
    }
    let estimate = offset(date_ms?);
    if estimate.saturating_abs() > MAX_PLAUSIBLE_SKEW_MS {
        tracing::warn!(
            offset_ms = estimate,
            "ignoring an implausible Date header from the server"
        );
        return None;
    }
    Some(estimate)
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
        // The server asked for quiet (`Retry-After`): nobody asks it again before then.
        if let Some(until) = state.refresh_not_before_ms {
            let left_ms = until.saturating_sub(inner.now_ms());
            if left_ms > 0 {
                return Err(Error::RateLimited {
                    retry_after_secs: Some(
                        u64::try_from(left_ms.div_euclid(1000)).unwrap_or(0) + 1,
                    ),
                });
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
    let held: HeldLock =
        Arc::new(lock::acquire(&inner.lock_dir, &inner.name, inner.options.lock_timeout).await?);
    let start = Start {
        mark: lock::read_signout_mark(&inner.lock_dir, &inner.name),
        epoch: inner.read_state().signout_epoch,
    };
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
        if let Some(reason) = inner.foreign_issuer(&stored) {
            let error = Error::LoginRequired { reason };
            inner.end(Some(error.clone()));
            return Err(error);
        }
        let unverified = !stored.verified;
        let refresh = stored.refresh.clone();
        let adopted = match inner.accept_stored(stored).await {
            Ok(adopted) => adopted,
            // A renewal stored before it could be verified that now fails verification.
            Err(e) if unverified && !e.is_transient() => {
                return Err(reject_renewed(inner, refresh.as_ref(), e, &held).await);
            }
            Err(e) => return Err(e),
        };
        if unverified {
            // Best effort: an unverified entry is verified again by its next reader.
            let _ = inner
                .vault
                .save_held(
                    &inner.name,
                    &adopted.to_stored(&inner.transport, true),
                    Some(&held),
                )
                .await;
        }
        // Another process refreshed (or signed in again). Use its tokens — unless they are due
        // too, or this refresh exists because the server refused exactly these tokens.
        if !inner.needs_refresh(&adopted) {
            tracing::debug!(profile = %inner.name, "another process already refreshed; using its tokens");
            let expires = adopted.access_claims.exp;
            if !inner.install_unless_signed_out(adopted, start.epoch) {
                return Err(signed_out_meanwhile());
            }
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
    call_refresh_endpoint(inner, current, &held, &start).await
}

async fn call_refresh_endpoint(
    inner: &Arc<Inner>,
    current: Active,
    held: &HeldLock,
    start: &Start,
) -> Result<()> {
    let profile = &inner.profile;
    if inner.renewal_expired(&current) {
        return Err(end_session(inner, "the session's renewal period is over", held).await);
    }
    let secret = if profile.sliding {
        current.access.expose_secret().to_owned()
    } else {
        match &current.refresh {
            Some(r) => r.expose_secret().to_owned(),
            None => {
                return Err(end_session(inner, "no refresh token is stored", held).await);
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
        if attempt > 1 && start.signed_out_since(inner).is_some() {
            // Nothing was renewed by the failed attempts; the sign-out has the old token.
            inner.end(Some(signed_out_meanwhile()));
            return Err(signed_out_meanwhile());
        }
        tracing::debug!(profile = %inner.name, attempt, "calling the refresh endpoint");
        let sent_ms = inner.now_ms();
        let outcome = inner
            .transport
            .post_auth(url.clone(), body.clone(), None)
            .await;
        let received = inner.clock.now();
        let (error, wait) = match outcome {
            Ok(response) if (200..300).contains(&response.status) => {
                let rotated = accept_renewal(
                    inner,
                    &current,
                    &response,
                    (sent_ms, unix_millis(received)),
                    held,
                    start,
                )
                .await?;
                tracing::info!(profile = %inner.name, rotated, attempt, "access token refreshed");
                return Ok(());
            }
            Ok(response) if response.status == 401 || response.status == 400 => {
                let drf = parse_error_body(&response.body);
                tracing::info!(profile = %inner.name, status = response.status, code = drf.code.as_deref().unwrap_or(""), "refresh token refused");
                return Err(end_session(inner, "the server no longer accepts this session's refresh token (expired, revoked or blacklisted)", held).await);
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
            if let Some(wait) = wait {
                // Honoured by every later refresh of this process, the background one included.
                let until = inner
                    .now_ms()
                    .saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX));
                inner.write_state().refresh_not_before_ms = Some(until);
            }
            return Err(error);
        }
        tokio::time::sleep(delay).await;
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
            estimate_offset_ms(Some(1_000_000), None, local, local),
            Some(-599_500)
        );
        assert_eq!(
            estimate_offset_ms(None, Some(1_000_000_000), local, local),
            Some(-599_500)
        );
        assert_eq!(
            estimate_offset_ms(Some(1_000_000), Some(5), local, local),
            Some(-599_500)
        );
        assert_eq!(estimate_offset_ms(None, None, local, local), None);
        // an 8 s round trip: the midpoint, not the arrival
        assert_eq!(
            estimate_offset_ms(Some(1_000_000), None, 1_000_000_000, 1_000_008_000),
            Some(-3_500)
        );
        // a Date more than a day off is ignored; an iat is not
        assert_eq!(estimate_offset_ms(None, Some(0), local, local), None);
        assert_eq!(
            estimate_offset_ms(None, Some(253_402_300_799_000), local, local),
            None
        );
        assert_eq!(
            estimate_offset_ms(Some(0), None, 600_000, 600_000),
            Some(-599_500)
        );
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
