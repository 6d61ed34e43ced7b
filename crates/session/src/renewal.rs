//! What happens to a 200 from the refresh endpoint, and to the session when a refresh ends it.
//!
//! From the moment a renewal parses, the server may have rotated: the new refresh token is
//! stored before anything else can fail (verification, a JWKS fetch, the clock), or blacklisted
//! when it must be rejected — never dropped. A sign-out that began meanwhile (its mark, see
//! `lock.rs`, or this process's sign-out epoch) wins: the renewal is handed to the waiting
//! sign-out through the keyring, or blacklisted here.

use std::sync::Arc;

use crate::clock::unix_millis;
use crate::error::{Error, Result};
use crate::events::SessionEvent;
use crate::lock::{self, SignoutMark};
use crate::refresh::estimate_offset_ms;
use crate::revoke;
use crate::secret::RefreshToken;
use crate::session::{stored_pair, Active, Inner};
use crate::transport::HttpResponse;
use crate::vault::{HeldLock, StoredSession};
use crate::wire::{parse_token_response, server_date, TokenResponse};

/// What a refresh knew about sign-outs when it took the lock.
pub(crate) struct Start {
    pub mark: SignoutMark,
    pub epoch: u64,
}

impl Start {
    /// The current sign-out mark, when a sign-out began since the start (in any process).
    pub(crate) fn signed_out_since(&self, inner: &Inner) -> Option<SignoutMark> {
        let mark = lock::read_signout_mark(&inner.lock_dir, &inner.name);
        let epoch = inner.read_state().signout_epoch;
        (mark != self.mark || epoch != self.epoch).then_some(mark)
    }
}

pub(crate) fn signed_out_meanwhile() -> Error {
    Error::LoginRequired {
        reason: "signed out while the session was being renewed".to_owned(),
    }
}

/// The token fields of a refresh answer: the profile's, else the two spellings Django views
/// use (`access`/`refresh`, `access_token`/`refresh_token`) — a custom login view often
/// answers with one and simplejwt's refresh view with the other, and a rotated refresh token
/// must not be lost to a naming difference.
pub(crate) fn parse_renewal(
    profile: &crate::profile::Profile,
    body: &[u8],
) -> Result<TokenResponse> {
    if profile.sliding {
        return parse_token_response(body, profile.response_access_field(), None, false);
    }
    let configured = (
        profile.access_field.as_str(),
        profile.refresh_field.as_str(),
    );
    let mut first_error = None;
    let mut without_refresh = None;
    for (access, refresh) in [
        configured,
        ("access", "refresh"),
        ("access_token", "refresh_token"),
    ] {
        match parse_token_response(body, access, Some(refresh), false) {
            Ok(tokens) if tokens.refresh.is_some() => return Ok(tokens),
            Ok(tokens) => {
                without_refresh.get_or_insert(tokens);
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match (without_refresh, first_error) {
        (Some(tokens), _) => Ok(tokens),
        (None, Some(e)) => Err(e),
        (None, None) => Err(Error::bad_response("the refresh answer holds no token")),
    }
}

/// Takes a 200 from the refresh endpoint. From the moment it parses, the server may have
/// rotated: the new refresh token is stored before anything else can fail (verification, a
/// JWKS fetch, the clock), or blacklisted when it must be rejected — never dropped. A sign-out
/// that began meanwhile wins: the tokens are handed to it (stored for the sign-out waiting for
/// the lock to blacklist) or blacklisted here. Returns whether the refresh token rotated.
pub(crate) async fn accept_renewal(
    inner: &Arc<Inner>,
    current: &Active,
    response: &HttpResponse,
    (sent_ms, received_ms): (i64, i64),
    held: &HeldLock,
    start: &Start,
) -> Result<bool> {
    let profile = &inner.profile;
    let tokens = parse_renewal(profile, &response.body)?;
    let rotated = tokens.refresh.is_some();
    let refresh = tokens.refresh.or_else(|| current.refresh.clone());
    let iat = match crate::claims::decode_unverified(
        tokens.access.expose_secret(),
        &profile.user_id_claim,
    ) {
        Ok(claims) => claims.iat,
        Err(e) => return Err(reject_renewed(inner, refresh.as_ref(), e, held).await),
    };
    let date_ms = server_date(&response.headers).map(unix_millis);
    let offset_ms =
        estimate_offset_ms(iat, date_ms, sent_ms, received_ms).unwrap_or(current.offset_ms);
    let stored = stored_pair(
        &inner.transport,
        &tokens.access,
        refresh.as_ref(),
        offset_ms,
        inner.verifier.is_none(),
    );
    if let Some(mark) = start.signed_out_since(inner) {
        return Err(
            hand_over_to_signout(inner, Some(&stored), refresh.as_ref(), &mark, held).await,
        );
    }
    if let Err(error) = persist(inner, &stored, held).await {
        return Err(end_unsaved_session(inner, &error, refresh.as_ref(), held).await);
    }
    if let Some(mark) = start.signed_out_since(inner) {
        return Err(hand_over_to_signout(inner, None, refresh.as_ref(), &mark, held).await);
    }
    let fresh = match inner
        .accept_checked(tokens.access, refresh.clone(), offset_ms, true, true)
        .await
    {
        Ok(fresh) => fresh,
        Err(e) if e.is_transient() => {
            // Kept, unverified, in the keyring: whoever reads it next verifies it.
            tracing::warn!(profile = %inner.name, code = e.code(), "renewed tokens stored; their verification has to wait");
            return Err(e);
        }
        Err(e) => return Err(reject_renewed(inner, refresh.as_ref(), e, held).await),
    };
    if inner.verifier.is_some() {
        let _ = inner
            .vault
            .save_held(
                &inner.name,
                &fresh.to_stored(&inner.transport, true),
                Some(held),
            )
            .await;
    }
    let expires = fresh.access_claims.exp;
    if !inner.install_unless_signed_out(fresh, start.epoch) {
        return Err(signed_out_meanwhile());
    }
    inner.emit(SessionEvent::Refreshed {
        profile: inner.name.clone(),
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
    inner: &Inner,
    unstored: Option<&StoredSession>,
    refresh: Option<&RefreshToken>,
    mark: &SignoutMark,
    held: &HeldLock,
) -> Error {
    inner.end(Some(signed_out_meanwhile()));
    if mark.is_waiting() {
        let stored = match unstored {
            Some(stored) => persist(inner, stored, held).await.is_ok(),
            None => true,
        };
        // Still waiting once they are stored? Then the sign-out finds them after this lock.
        let still_waiting = lock::read_signout_mark(&inner.lock_dir, &inner.name) == *mark;
        if stored && still_waiting {
            tracing::info!(profile = %inner.name, "signed out during a refresh; the renewed tokens are left to the sign-out");
            return signed_out_meanwhile();
        }
    }
    discard_renewed(inner, refresh, held).await;
    signed_out_meanwhile()
}

/// Blacklists a renewed refresh token this process cannot keep, and clears the keyring.
pub(crate) async fn discard_renewed(
    inner: &Inner,
    refresh: Option<&RefreshToken>,
    held: &HeldLock,
) {
    if let (Some(token), false) = (refresh, inner.profile.sliding) {
        let revoked = match revoke::issuer_of(inner, None) {
            Ok(issuer) => {
                revoke::blacklist(inner, &issuer, token, inner.options.logout_timeout).await
            }
            Err(e) => Err(e.code().to_owned()),
        };
        match revoked {
            Ok(()) => tracing::info!(profile = %inner.name, "renewed refresh token blacklisted"),
            Err(why) => {
                tracing::warn!(profile = %inner.name, %why, "could not blacklist the renewed refresh token")
            }
        }
    }
    if let Err(e) = inner.vault.clear_held(&inner.name, Some(held)).await {
        tracing::warn!(profile = %inner.name, code = e.code(), "could not clear the keyring");
    }
}

/// The server renewed the session but its tokens cannot be used (not a JWT, failed
/// verification, already expired): the renewed refresh token is blacklisted, the keyring
/// cleared, and the session ends with `error` (its own code).
pub(crate) async fn reject_renewed(
    inner: &Inner,
    refresh: Option<&RefreshToken>,
    error: Error,
    held: &HeldLock,
) -> Error {
    tracing::warn!(profile = %inner.name, code = error.code(), "renewed tokens rejected; blacklisting them and ending the session");
    discard_renewed(inner, refresh, held).await;
    inner.expire(error)
}

/// Stores new tokens; retried once.
pub(crate) async fn persist(inner: &Inner, stored: &StoredSession, held: &HeldLock) -> Result<()> {
    match inner.vault.save_held(&inner.name, stored, Some(held)).await {
        Ok(()) => Ok(()),
        Err(first) => {
            tracing::warn!(profile = %inner.name, code = first.code(), "storing refreshed tokens failed; retrying");
            inner.vault.save_held(&inner.name, stored, Some(held)).await
        }
    }
}

/// Ends the session when the refreshed tokens could not be stored. Keeping them in memory only
/// would leave the keyring with the old refresh token (already blacklisted under rotation), so
/// every other process, and this one after a restart, would fail later and less clearly; the user
/// is asked to sign in now instead, with the keyring's reason. The renewed refresh token is
/// blacklisted (nobody will ever hold it) and the stale entry removed if the keyring lets us.
pub(crate) async fn end_unsaved_session(
    inner: &Inner,
    error: &Error,
    refresh: Option<&RefreshToken>,
    held: &HeldLock,
) -> Error {
    tracing::warn!(profile = %inner.name, code = error.code(), "refreshed tokens could not be stored; ending the session");
    discard_renewed(inner, refresh, held).await;
    let detail = match error {
        Error::KeyringUnavailable { detail } => detail.clone(),
        other => other.to_string(),
    };
    inner.expire(Error::SessionExpired {
        reason: format!("the renewed tokens could not be saved in the system keyring: {detail}"),
    })
}

/// Ends the session after the server refused it: keyring cleared, event sent.
pub(crate) async fn end_session(inner: &Inner, reason: &str, held: &HeldLock) -> Error {
    if let Err(e) = inner.vault.clear_held(&inner.name, Some(held)).await {
        tracing::warn!(profile = %inner.name, code = e.code(), "could not clear the keyring after the session ended");
    }
    inner.expire(Error::SessionExpired {
        reason: reason.to_owned(),
    })
}
