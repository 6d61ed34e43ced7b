//! Starting and ending sessions: login, registration, restore, logout.
//!
//! Login posts the credentials (built in a zeroized buffer; the [`Password`] is dropped, hence
//! zeroized, when the call returns), validates the response shape, and stores the tokens under
//! the refresh lock. Registration posts the sign-up fields, turns DRF field errors into
//! `validation` errors per field, then signs in (or uses tokens the view returned). Restore reads
//! the keyring in a new process. Logout blacklists the refresh token (best effort, short
//! timeout), then deletes the keyring entries whatever the server said.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::clock::unix_millis;
use crate::error::{Error, Result};
use crate::events::SessionEvent;
use crate::lock;
use crate::refresh::{ensure_fresh, estimate_offset_ms, Trigger};
use crate::revoke;
use crate::secret::Password;
use crate::session::Inner;
use crate::status::SessionStatus;
use crate::transport::HttpResponse;
use crate::wire::{
    parse_error_body, parse_token_response, retry_after, secret_json_body, server_date,
};

/// Sign-up data for a profile's registration endpoint.
#[derive(Debug)]
pub struct Registration {
    /// Non-secret fields (e.g. `name`, `email`, `username`), sent as JSON strings.
    pub fields: BTreeMap<String, String>,
    /// The password, sent in the profile's password field.
    pub password: Password,
}

/// What logout achieved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogoutOutcome {
    /// The server confirmed the refresh token is blacklisted.
    pub server_revoked: bool,
    /// Why it did not, when it did not (offline, no blacklist endpoint, server error).
    pub server_note: Option<String>,
}

/// Maps a non-2xx answer from the obtain or registration endpoint.
fn auth_endpoint_error(
    response: &HttpResponse,
    endpoint: &str,
    now: std::time::SystemTime,
) -> Error {
    let drf = parse_error_body(&response.body);
    match response.status {
        401 => Error::InvalidCredentials {
            server_detail: drf.detail,
        },
        400 if !drf.fields.is_empty() => Error::Validation { fields: drf.fields },
        400 if drf.detail.is_some() => Error::InvalidCredentials {
            server_detail: drf.detail,
        },
        429 => Error::RateLimited {
            retry_after_secs: retry_after(&response.headers, now).map(|d| d.as_secs()),
        },
        300..=399 => Error::Http {
            status: response.status,
            endpoint: endpoint.to_owned(),
            detail: Some(format!(
                "the server redirected to {}; sign-in requests are never forwarded (the password would follow)",
                response
                    .headers
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("another address")
            )),
        },
        status if status >= 500 => Error::ServerError {
            status,
            detail: drf.detail,
        },
        status => Error::Http {
            status,
            endpoint: endpoint.to_owned(),
            detail: drf.code.or(drf.detail),
        },
    }
}

/// Turns a successful obtain (or registration) response into the session's tokens, persisted.
async fn accept_obtain_response(
    inner: &Arc<Inner>,
    response: &HttpResponse,
    sent_ms: i64,
) -> Result<SessionStatus> {
    let profile = &inner.profile;
    let received_ms = unix_millis(inner.clock.now());
    let refresh_field = (!profile.sliding).then_some(profile.refresh_field.as_str());
    let tokens = parse_token_response(
        &response.body,
        profile.response_access_field(),
        refresh_field,
        !profile.sliding,
    )?;
    let iat =
        crate::claims::decode_unverified(tokens.access.expose_secret(), &profile.user_id_claim)?
            .iat;
    let date_ms = server_date(&response.headers).map(unix_millis);
    let offset_ms = estimate_offset_ms(iat, date_ms, sent_ms, received_ms).unwrap_or(0);
    let active = inner
        .accept_checked(tokens.access, tokens.refresh, offset_ms, true, true)
        .await?;
    {
        let _gate = inner.gate.lock().await;
        let held = Arc::new(
            lock::acquire(&inner.lock_dir, &inner.name, inner.options.lock_timeout).await?,
        );
        inner
            .vault
            .save_held(
                &inner.name,
                &active.to_stored(&inner.transport, true),
                Some(&held),
            )
            .await?;
        inner.install(active);
    }
    Ok(inner.status())
}

pub(crate) async fn login(
    inner: &Arc<Inner>,
    login: &str,
    password: Password,
) -> Result<SessionStatus> {
    let profile = &inner.profile;
    let url = inner.transport.endpoint(&profile.obtain_path)?;
    let body = secret_json_body(&[
        (profile.login_field.as_str(), login),
        (profile.password_field.as_str(), password.expose_secret()),
    ])?;
    drop(password);
    tracing::info!(profile = %inner.name, "signing in");
    let sent_ms = inner.now_ms();
    let response = inner.transport.post_auth(url, body, None).await?;
    if !(200..300).contains(&response.status) {
        let err = auth_endpoint_error(&response, "the sign-in endpoint", inner.clock.now());
        tracing::info!(profile = %inner.name, status = response.status, code = err.code(), "sign-in refused");
        return Err(err);
    }
    let status = accept_obtain_response(inner, &response, sent_ms).await?;
    tracing::info!(profile = %inner.name, "signed in");
    inner.emit(SessionEvent::LoggedIn {
        profile: inner.name.clone(),
        user_id: status.user_id.clone(),
    });
    Ok(status)
}

pub(crate) async fn register(
    inner: &Arc<Inner>,
    registration: Registration,
) -> Result<SessionStatus> {
    let profile = &inner.profile;
    let path = profile.registration_path.as_deref().ok_or_else(|| Error::NotSupported {
        detail: "This profile has no registration endpoint. Create the account on the website, or set the profile's registration path.".into(),
    })?;
    let url = inner.transport.endpoint(path)?;
    let mut pairs: Vec<(&str, &str)> = registration
        .fields
        .iter()
        .filter(|(k, _)| k.as_str() != profile.password_field)
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    pairs.push((
        profile.password_field.as_str(),
        registration.password.expose_secret(),
    ));
    let body = secret_json_body(&pairs)?;
    tracing::info!(profile = %inner.name, "registering");
    let sent_ms = inner.now_ms();
    let response = inner.transport.post_auth(url, body, None).await?;
    if !(200..300).contains(&response.status) {
        return Err(auth_endpoint_error(
            &response,
            "the registration endpoint",
            inner.clock.now(),
        ));
    }
    inner.emit(SessionEvent::Registered {
        profile: inner.name.clone(),
    });
    // Some registration views answer with tokens already.
    if let Ok(status) = accept_obtain_response(inner, &response, sent_ms).await {
        inner.emit(SessionEvent::LoggedIn {
            profile: inner.name.clone(),
            user_id: status.user_id.clone(),
        });
        return Ok(status);
    }
    let login_value = registration
        .fields
        .get(&profile.login_field)
        .ok_or_else(|| Error::NotSupported {
            detail: format!(
            "Registered, but the sign-up form has no {:?} field to sign in with; sign in manually.",
            profile.login_field
        ),
        })?;
    self::login(inner, login_value, registration.password).await
}

/// Reads the stored session into memory. `refresh_if_due` is false for read-only callers
/// (`status`): they never call the network and never change the keyring, whatever they find.
pub(crate) async fn restore(inner: &Arc<Inner>, refresh_if_due: bool) -> Result<SessionStatus> {
    let read_only = !refresh_if_due;
    let read = || async {
        if read_only {
            inner.vault.peek(&inner.name).await
        } else {
            inner.vault.load(&inner.name).await
        }
    };
    // Readers do not hold the refresh lock, and a writer in another process (a rotation) may be
    // replacing the keyring item right now: the Secret Service then shows a missing or vanished
    // item for a moment. A lock-free read that finds nothing or fails is therefore repeated
    // under the lock, where no writer can be midway.
    let stored = match read().await {
        Ok(Some(stored)) => Some(stored),
        first => {
            match lock::acquire(&inner.lock_dir, &inner.name, inner.options.lock_timeout).await {
                Ok(guard) => {
                    let again = read().await;
                    drop(guard);
                    again?
                }
                Err(_) => first?,
            }
        }
    };
    let Some(stored) = stored else {
        inner.end(None);
        return Err(Error::LoginRequired {
            reason: "no session is stored for this profile".into(),
        });
    };
    if let Some(reason) = inner.foreign_issuer(&stored) {
        // Kept as it is: signing out sends its refresh token back to the server that issued it.
        let error = Error::LoginRequired {
            reason: format!("{reason}; sign out to end it there, or sign in again"),
        };
        inner.end(Some(error.clone()));
        return Err(error);
    }
    let unverified = !stored.verified;
    let active = match inner.accept_stored(stored).await {
        Ok(active) => active,
        Err(e) if e.is_transient() => return Err(e),
        Err(e) if read_only => {
            tracing::warn!(profile = %inner.name, code = e.code(), "stored tokens unreadable");
            let error = Error::LoginRequired {
                reason: "the stored tokens could not be read".into(),
            };
            inner.end(Some(error.clone()));
            return Err(error);
        }
        Err(e) => {
            tracing::warn!(profile = %inner.name, code = e.code(), "stored tokens unreadable; removing them");
            inner.vault.clear(&inner.name).await?;
            inner.end(None);
            return Err(Error::LoginRequired {
                reason: "the stored tokens could not be read and were removed".into(),
            });
        }
    };
    if inner.renewal_expired(&active) {
        let reason =
            "the session is older than the server allows; its refresh token has expired".to_owned();
        if !read_only {
            inner.vault.clear(&inner.name).await?;
        }
        return Err(inner.expire(Error::SessionExpired { reason }));
    }
    let due = inner.needs_refresh(&active);
    let user_id = active.access_claims.user_id.clone();
    if unverified && !read_only {
        // Verified now; best effort (the next reader verifies it otherwise).
        let _ = inner
            .vault
            .save(&inner.name, &active.to_stored(&inner.transport, true))
            .await;
    }
    inner.install(active);
    inner.emit(SessionEvent::Restored {
        profile: inner.name.clone(),
        user_id,
    });
    if due && refresh_if_due {
        let (generation, flights) = {
            let state = inner.read_state();
            (state.generation, state.flights)
        };
        match ensure_fresh(inner, generation, flights, Trigger::Expiring).await {
            Ok(()) => {}
            Err(e) if e.is_transient() || e.code() == "lock_timeout" => {
                tracing::info!(profile = %inner.name, code = e.code(), "restored offline; will refresh later");
            }
            Err(e) => return Err(e),
        }
    }
    Ok(inner.status())
}

/// Signs out. Sign-out wins over a refresh in flight anywhere: it first leaves a mark that
/// every refresh checks before and after storing what it renewed, then waits (bounded) for the
/// refresh lock, so that it blacklists the newest refresh token — the one such a refresh
/// stored for it. A refresh still running when the wait ends blacklists its renewal itself.
/// The refresh token goes only to the server that issued it.
pub(crate) async fn logout(inner: &Arc<Inner>) -> Result<LogoutOutcome> {
    let profile = &inner.profile;
    let nonce = format!("{:016x}", fastrand::u64(..));
    if let Err(e) =
        lock::write_signout_mark(&inner.lock_dir, &inner.name, &format!("{nonce} waiting"))
    {
        tracing::warn!(profile = %inner.name, code = e.code(), "could not leave the sign-out mark");
    }
    let in_memory = {
        let mut state = inner.write_state();
        state.signout_epoch += 1;
        state.active.as_ref().and_then(|a| a.refresh.clone())
    };
    // Nothing in this process uses the tokens from now on.
    inner.end(Some(Error::LoginRequired {
        reason: "signed out".into(),
    }));
    let wait = inner.options.logout_lock_wait.unwrap_or_else(|| {
        Duration::from_secs(profile.request_timeout_secs).saturating_add(Duration::from_secs(5))
    });
    let held = lock::acquire(&inner.lock_dir, &inner.name, wait)
        .await
        .ok()
        .map(Arc::new);
    let mut notes = Vec::new();
    if held.is_none() {
        tracing::warn!(profile = %inner.name, "a refresh is still running; signing out without the lock");
        notes.push(
            "a refresh in another process was still running; it blacklists the token it receives"
                .to_owned(),
        );
        let _ = lock::write_signout_mark(&inner.lock_dir, &inner.name, &format!("{nonce} done"));
    }
    let stored = inner.vault.load(&inner.name).await.ok().flatten();
    let refresh = stored
        .as_ref()
        .and_then(|s| s.refresh.clone())
        .or(in_memory);
    let mut outcome = match (&profile.blacklist_path, refresh, profile.sliding) {
        (_, Some(_), true) => LogoutOutcome {
            server_revoked: false,
            server_note: Some("sliding tokens are not blacklisted on logout".into()),
        },
        (_, Some(refresh), false) => match revoke::issuer_of(inner, stored.as_ref()) {
            Ok(issuer) => {
                if issuer.moved {
                    notes.push(
                        "the refresh token went back to the server that issued it, not to the profile's new URL"
                            .to_owned(),
                    );
                }
                match revoke::blacklist(inner, &issuer, &refresh, inner.options.logout_timeout)
                    .await
                {
                    Ok(()) => LogoutOutcome {
                        server_revoked: true,
                        server_note: None,
                    },
                    Err(why) => LogoutOutcome {
                        server_revoked: false,
                        server_note: Some(why),
                    },
                }
            }
            Err(e) => LogoutOutcome {
                server_revoked: false,
                server_note: Some(format!("the server was not told ({})", e.code())),
            },
        },
        (None, None, _) => LogoutOutcome {
            server_revoked: false,
            server_note: Some("the profile has no blacklist endpoint".into()),
        },
        (_, None, _) => LogoutOutcome {
            server_revoked: false,
            server_note: Some("no refresh token was stored".into()),
        },
    };
    if !notes.is_empty() {
        let mut all: Vec<String> = outcome.server_note.take().into_iter().collect();
        all.extend(notes);
        outcome.server_note = Some(all.join("; "));
    }
    let cleared = inner.vault.clear_held(&inner.name, held.as_ref()).await;
    if held.is_some() {
        let _ = lock::write_signout_mark(&inner.lock_dir, &inner.name, &format!("{nonce} done"));
    }
    drop(held);
    tracing::info!(profile = %inner.name, server_revoked = outcome.server_revoked, "signed out");
    inner.emit(SessionEvent::LoggedOut {
        profile: inner.name.clone(),
        server_revoked: outcome.server_revoked,
    });
    cleared?;
    Ok(outcome)
}
