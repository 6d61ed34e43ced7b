//! What happens to a 200 from the refresh endpoint, and to the session when a refresh ends it.
//!
//! From the moment a renewal parses, the server may have rotated: the new refresh token is
//! stored before anything else can fail (verification, a JWKS fetch, the clock), or blacklisted
//! when it must be rejected — never dropped. A sign-out that began meanwhile (its mark, see
//! `lock.rs`, or this process's sign-out epoch) wins: the renewal is handed to the waiting
//! sign-out through the keyring, or blacklisted here.
//!
//! Reading and checking the renewed tokens is `accept.rs`, as for every token that arrives; this
//! module decides what happens between the two steps and after a failure.

use std::sync::Arc;

use crate::accept::{self, parse_renewal};
use crate::cookies::CookieJar;
use crate::engine::{Engine, LiveTokens};
use crate::error::{Error, Result};
use crate::events::SessionEvent;
use crate::lock::{self, SignoutMark};
use crate::revoke;
use crate::secret::RefreshToken;
use crate::transport::HttpResponse;
use crate::vault::{HeldLock, StoredSession};

/// What a refresh knew about sign-outs when it took the lock.
pub(crate) struct Start {
    pub mark: SignoutMark,
    pub epoch: u64,
}

impl Start {
    /// The current sign-out mark, when a sign-out began since the start (in any process).
    pub(crate) fn signed_out_since(&self, engine: &Engine) -> Option<SignoutMark> {
        let mark = lock::read_signout_mark(&engine.lock_dir, &engine.profile_name);
        let epoch = engine.read_state().signout_epoch;
        (mark != self.mark || epoch != self.epoch).then_some(mark)
    }
}

pub(crate) fn signed_out_meanwhile() -> Error {
    Error::LoginRequired {
        reason: "signed out while the session was being renewed".to_owned(),
    }
}

/// Takes a 200 from the refresh endpoint. From the moment it parses, the server may have
/// rotated: the new refresh token is stored before anything else can fail (verification, a
/// JWKS fetch, the clock), or blacklisted when it must be rejected — never dropped. A sign-out
/// that began meanwhile wins: the tokens are handed to it (stored for the sign-out waiting for
/// the lock to blacklist) or blacklisted here. Returns whether the refresh token rotated.
pub(crate) async fn accept_renewal(
    engine: &Arc<Engine>,
    current: &LiveTokens,
    response: &HttpResponse,
    sent_received_ms: (i64, i64),
    held: &HeldLock,
    start: &Start,
) -> Result<bool> {
    let (tokens, cookies) = parse_renewal(
        &engine.profile,
        response,
        &current.cookies,
        engine.clock.now(),
    )?;
    let rotated = tokens.refresh.is_some();
    let refresh = tokens.refresh.or_else(|| current.refresh.clone());
    let incoming = match accept::read_answer(
        engine,
        (tokens.access, refresh.clone(), cookies.clone()),
        &response.headers,
        sent_received_ms,
        current.offset_ms,
    ) {
        Ok(incoming) => incoming,
        Err(e) => {
            return Err(
                reject_renewed(engine, refresh.as_ref().map(|t| (t, &cookies)), e, held).await,
            )
        }
    };
    let stored = incoming.to_stored(&engine.transport, engine.verifier.is_none());
    if let Some(mark) = start.signed_out_since(engine) {
        return Err(hand_over_to_signout(
            engine,
            Some(&stored),
            refresh.as_ref().map(|t| (t, &cookies)),
            &mark,
            held,
        )
        .await);
    }
    if let Err(error) = persist(engine, &stored, held).await {
        return Err(end_unsaved_session(
            engine,
            &error,
            refresh.as_ref().map(|t| (t, &cookies)),
            held,
        )
        .await);
    }
    if let Some(mark) = start.signed_out_since(engine) {
        return Err(hand_over_to_signout(
            engine,
            None,
            refresh.as_ref().map(|t| (t, &cookies)),
            &mark,
            held,
        )
        .await);
    }
    let fresh = match accept::check(engine, incoming, true, true).await {
        Ok(fresh) => fresh,
        Err(e) if e.is_transient() => {
            // Kept, unverified, in the keyring: whoever reads it next verifies it.
            tracing::warn!(profile = %engine.profile_name, code = e.code(), "renewed tokens stored; their verification has to wait");
            return Err(e);
        }
        Err(e) => {
            return Err(
                reject_renewed(engine, refresh.as_ref().map(|t| (t, &cookies)), e, held).await,
            )
        }
    };
    if engine.verifier.is_some() {
        let _ = engine
            .vault
            .save_held(
                &engine.profile_name,
                &fresh.to_stored(&engine.transport, true),
                Some(held),
            )
            .await;
    }
    let expires = fresh.access_claims.exp;
    if !engine.install_unless_signed_out(fresh, start.epoch, start.mark.clone()) {
        return Err(signed_out_meanwhile());
    }
    engine.emit(SessionEvent::Refreshed {
        profile: engine.profile_name.clone(),
        rotated,
        by_other_process: false,
        access_expires_at: expires,
    });
    Ok(rotated)
}

/// A sign-out began while the server was renewing. When it is still waiting for the lock, the
/// renewed pair is stored (`unstored`, if not yet) for it to find and blacklist; when it went
/// ahead without the lock, the renewed refresh token is blacklisted here and the keyring
/// cleared. Either way this process forgets the session.
pub(crate) async fn hand_over_to_signout(
    engine: &Engine,
    unstored: Option<&StoredSession>,
    refresh: Option<(&RefreshToken, &CookieJar)>,
    mark: &SignoutMark,
    held: &HeldLock,
) -> Error {
    engine.end(Some(signed_out_meanwhile()));
    if mark.is_waiting() {
        let stored = match unstored {
            Some(stored) => persist(engine, stored, held).await.is_ok(),
            None => true,
        };
        // Still waiting once they are stored? Then the sign-out finds them after this lock.
        let still_waiting =
            lock::read_signout_mark(&engine.lock_dir, &engine.profile_name) == *mark;
        if stored && still_waiting {
            tracing::info!(profile = %engine.profile_name, "signed out during a refresh; the renewed tokens are left to the sign-out");
            return signed_out_meanwhile();
        }
    }
    discard_renewed(engine, refresh, held).await;
    signed_out_meanwhile()
}

/// Blacklists a renewed refresh token this process cannot keep, and clears the keyring.
pub(crate) async fn discard_renewed(
    engine: &Engine,
    refresh: Option<(&RefreshToken, &CookieJar)>,
    held: &HeldLock,
) {
    if let (Some((token, cookies)), false) = (refresh, engine.profile.sliding) {
        let revoked = match revoke::issuer_of(engine, None) {
            Ok(issuer) => {
                revoke::blacklist(
                    engine,
                    &issuer,
                    (token, cookies),
                    engine.options.logout_timeout,
                )
                .await
            }
            Err(e) => Err(e.code().to_owned()),
        };
        match revoked {
            Ok(()) => {
                tracing::info!(profile = %engine.profile_name, "renewed refresh token blacklisted")
            }
            Err(why) => {
                tracing::warn!(profile = %engine.profile_name, %why, "could not blacklist the renewed refresh token")
            }
        }
    }
    if let Err(e) = engine
        .vault
        .clear_held(&engine.profile_name, Some(held))
        .await
    {
        tracing::warn!(profile = %engine.profile_name, code = e.code(), "could not clear the keyring");
    }
}

/// The server renewed the session but its tokens cannot be used (not a JWT, failed
/// verification, already expired): the renewed refresh token is blacklisted, the keyring
/// cleared, and the session ends with `error` (its own code).
pub(crate) async fn reject_renewed(
    engine: &Engine,
    refresh: Option<(&RefreshToken, &CookieJar)>,
    error: Error,
    held: &HeldLock,
) -> Error {
    tracing::warn!(profile = %engine.profile_name, code = error.code(), "renewed tokens rejected; blacklisting them and ending the session");
    discard_renewed(engine, refresh, held).await;
    engine.expire(error)
}

/// Stores new tokens; retried once.
pub(crate) async fn persist(
    engine: &Engine,
    stored: &StoredSession,
    held: &HeldLock,
) -> Result<()> {
    match engine
        .vault
        .save_held(&engine.profile_name, stored, Some(held))
        .await
    {
        Ok(()) => Ok(()),
        Err(first) => {
            tracing::warn!(profile = %engine.profile_name, code = first.code(), "storing refreshed tokens failed; retrying");
            engine
                .vault
                .save_held(&engine.profile_name, stored, Some(held))
                .await
        }
    }
}

/// Ends the session when the refreshed tokens could not be stored. Keeping them in memory only
/// would leave the keyring with the old refresh token (already blacklisted under rotation), so
/// every other process, and this one after a restart, would fail later and less clearly; the user
/// is asked to sign in now instead, with the keyring's reason. The renewed refresh token is
/// blacklisted (nobody will ever hold it) and the stale entry removed if the keyring lets us.
pub(crate) async fn end_unsaved_session(
    engine: &Engine,
    error: &Error,
    refresh: Option<(&RefreshToken, &CookieJar)>,
    held: &HeldLock,
) -> Error {
    tracing::warn!(profile = %engine.profile_name, code = error.code(), "refreshed tokens could not be stored; ending the session");
    discard_renewed(engine, refresh, held).await;
    let detail = match error {
        Error::KeyringUnavailable { detail } => detail.clone(),
        other => other.to_string(),
    };
    engine.expire(Error::SessionExpired {
        reason: format!("the renewed tokens could not be saved in the system keyring: {detail}"),
    })
}

/// Ends the session after the server refused it: keyring cleared, event sent.
pub(crate) async fn end_session(engine: &Engine, reason: &str, held: &HeldLock) -> Error {
    if let Err(e) = engine
        .vault
        .clear_held(&engine.profile_name, Some(held))
        .await
    {
        tracing::warn!(profile = %engine.profile_name, code = e.code(), "could not clear the keyring after the session ended");
    }
    engine.expire(Error::SessionExpired {
        reason: reason.to_owned(),
    })
}
