//! Keeping the access token fresh: one refresh at a time, in this process and across
//! processes, and what a failure means.
//!
//! * Schedule: a token is due at `exp − margin` (`schedule.rs`), in the *server's* clock: the
//!   offset is estimated from the new token's `iat` (falling back to the response's `Date`) each
//!   time tokens arrive (`accept.rs`), and stored with them, so a machine whose clock is ten
//!   minutes off neither loops nor lets tokens expire.
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

use zeroize::Zeroizing;

use crate::accept;
use crate::clock::unix_millis;
use crate::engine::{Engine, LiveTokens};
use crate::error::{Error, Result};
use crate::events::SessionEvent;
use crate::lock;
pub use crate::options::RetryPolicy;
use crate::renewal::{accept_renewal, end_session, reject_renewed, signed_out_meanwhile, Start};
use crate::vault::HeldLock;
use crate::wire::{parse_error_body, retry_after, secret_json_body};

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

/// Makes sure the token generation `seen_generation` has been replaced (or refreshes it).
/// Exactly one refresh runs for any number of concurrent callers that saw the same generation.
pub(crate) async fn ensure_fresh(
    engine: &Arc<Engine>,
    seen_generation: u64,
    seen_flights: u64,
    trigger: Trigger,
) -> Result<()> {
    let gate = Arc::clone(&engine.gate).lock_owned().await;
    {
        let state = engine.read_state();
        if state.live.is_none() {
            return Err(Engine::signed_out_error(&state));
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
            let left_ms = until.saturating_sub(engine.now_ms());
            if left_ms > 0 {
                return Err(Error::RateLimited {
                    retry_after_secs: Some(
                        u64::try_from(left_ms.div_euclid(1000)).unwrap_or(0) + 1,
                    ),
                });
            }
        }
    }
    let task_engine = Arc::clone(engine);
    let task = tokio::spawn(async move {
        let _gate = gate;
        let result = refresh_under_lock(&task_engine, trigger).await;
        let mut state = task_engine.write_state();
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

async fn refresh_under_lock(engine: &Arc<Engine>, trigger: Trigger) -> Result<()> {
    tracing::debug!(profile = %engine.profile_name, ?trigger, "refresh wanted");
    let held: HeldLock = Arc::new(
        lock::acquire(
            &engine.lock_dir,
            &engine.profile_name,
            engine.options.lock_timeout,
        )
        .await?,
    );
    let start = Start {
        mark: lock::read_signout_mark(&engine.lock_dir, &engine.profile_name),
        epoch: engine.read_state().signout_epoch,
    };
    let ours = {
        let state = engine.read_state();
        state
            .live
            .clone()
            .ok_or_else(|| Engine::signed_out_error(&state))?
    };
    let stored = engine.vault.load(&engine.profile_name).await?;
    let Some(stored) = stored else {
        return Err(engine.expire(Error::LoginRequired {
            reason: "signed out in another window or process".to_owned(),
        }));
    };
    let mut current = ours;
    if !current.same_tokens(&stored) {
        if let Some(reason) = engine.foreign_issuer(&stored) {
            let error = Error::LoginRequired { reason };
            engine.end(Some(error.clone()));
            return Err(error);
        }
        let unverified = !stored.verified;
        let refresh = stored.refresh.clone();
        let cookies = stored.cookies.clone();
        let adopted = match accept::accept_stored(engine, stored).await {
            Ok(adopted) => adopted,
            // A renewal stored before it could be verified that now fails verification.
            Err(e) if unverified && !e.is_transient() => {
                return Err(reject_renewed(
                    engine,
                    refresh.as_ref().map(|t| (t, &cookies)),
                    e,
                    &held,
                )
                .await);
            }
            Err(e) => return Err(e),
        };
        if unverified {
            // Best effort: an unverified entry is verified again by its next reader.
            let _ = engine
                .vault
                .save_held(
                    &engine.profile_name,
                    &adopted.to_stored(&engine.transport, true),
                    Some(&held),
                )
                .await;
        }
        // Another process refreshed (or signed in again). Use its tokens — unless they are due
        // too, or this refresh exists because the server refused exactly these tokens.
        if !engine.needs_refresh(&adopted) {
            tracing::debug!(profile = %engine.profile_name, "another process already refreshed; using its tokens");
            let expires = adopted.access_claims.exp;
            if !engine.install_unless_signed_out(adopted, start.epoch, start.mark.clone()) {
                return Err(signed_out_meanwhile());
            }
            engine.emit(SessionEvent::Refreshed {
                profile: engine.profile_name.clone(),
                rotated: false,
                by_other_process: true,
                access_expires_at: expires,
            });
            return Ok(());
        }
        current = adopted;
    }
    call_refresh_endpoint(engine, current, &held, &start).await
}

async fn call_refresh_endpoint(
    engine: &Arc<Engine>,
    current: LiveTokens,
    held: &HeldLock,
    start: &Start,
) -> Result<()> {
    let profile = &engine.profile;
    if engine.renewal_expired(&current) {
        return Err(end_session(engine, "the session's renewal period is over", held).await);
    }
    let secret = if profile.sliding {
        current.access.expose_secret().to_owned()
    } else {
        match &current.refresh {
            Some(r) => r.expose_secret().to_owned(),
            None => {
                return Err(end_session(engine, "no refresh token is stored", held).await);
            }
        }
    };
    let secret = Zeroizing::new(secret);
    let body = secret_json_body(&[(profile.refresh_body_field(), &secret)])?;
    let url = engine.transport.endpoint(&profile.refresh_path)?;
    let cookies = current
        .cookies
        .request_headers(current.refresh.as_ref(), &url);
    let policy = &engine.options.retry;
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        if attempt > 1 && start.signed_out_since(engine).is_some() {
            // Nothing was renewed by the failed attempts; the sign-out has the old token.
            engine.end(Some(signed_out_meanwhile()));
            return Err(signed_out_meanwhile());
        }
        tracing::debug!(profile = %engine.profile_name, attempt, "calling the refresh endpoint");
        let sent_ms = engine.now_ms();
        let outcome = engine
            .transport
            .post_auth_with(url.clone(), body.clone(), None, cookies.clone())
            .await;
        let received = engine.clock.now();
        let (error, wait) = match outcome {
            Ok(response) if (200..300).contains(&response.status) => {
                let rotated = accept_renewal(
                    engine,
                    &current,
                    &response,
                    (sent_ms, unix_millis(received)),
                    held,
                    start,
                )
                .await?;
                tracing::info!(profile = %engine.profile_name, rotated, attempt, "access token refreshed");
                return Ok(());
            }
            Ok(response) if response.status == 401 || response.status == 400 => {
                let drf = parse_error_body(&response.body);
                tracing::info!(profile = %engine.profile_name, status = response.status, code = drf.code.as_deref().unwrap_or(""), "refresh token refused");
                return Err(end_session(engine, "the server no longer accepts this session's refresh token (expired, revoked or blacklisted)", held).await);
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
        tracing::warn!(profile = %engine.profile_name, attempt, code = error.code(), give_up, "refresh failed transiently");
        engine.emit(SessionEvent::RefreshFailedTransiently {
            profile: engine.profile_name.clone(),
            attempt,
            code: error.code().to_owned(),
            retry_in_ms: (!give_up).then_some(delay.as_millis() as u64),
        });
        if give_up {
            if let Some(wait) = wait {
                // Honoured by every later refresh of this process, the background one included.
                let until = engine
                    .now_ms()
                    .saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX));
                engine.write_state().refresh_not_before_ms = Some(until);
            }
            return Err(error);
        }
        tokio::time::sleep(delay).await;
    }
}
