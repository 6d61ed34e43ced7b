//! Starting sessions: login (with its second step when the server asks for one:
//! `second_factor.rs`), registration, restore.
//!
//! Login posts the credentials (built in a zeroized buffer; the [`Password`] is dropped, hence
//! zeroized, when the call returns), takes the answer through `accept.rs` (parsed, decoded,
//! verified, fresh) and stores the tokens under the refresh lock. Registration posts the sign-up
//! fields, turns DRF field errors into `validation` errors per field, then signs in (or uses
//! tokens the view returned). Restore reads the keyring in a new process; read-only callers
//! never change it. Signing out is `signout.rs` (its [`LogoutOutcome`] is re-exported here).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::accept;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::events::SessionEvent;
use crate::lock;
use crate::refresh::{ensure_fresh, Trigger};
use crate::second_factor;
use crate::secret::Password;
pub use crate::signout::LogoutOutcome;
use crate::status::SessionStatus;
use crate::transport::HttpResponse;
use crate::wire::{parse_error_body, retry_after, secret_json_body};

/// Sign-up data for a profile's registration endpoint.
#[derive(Debug)]
pub struct Registration {
    /// Non-secret fields (e.g. `name`, `email`, `username`), sent as JSON strings.
    pub fields: BTreeMap<String, String>,
    /// The password, sent in the profile's password field.
    pub password: Password,
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
        404 | 405 => Error::Http {
            status: response.status,
            endpoint: endpoint.to_owned(),
            detail: Some(OTHER_STACK.into()),
        },
        status => Error::Http {
            status,
            endpoint: endpoint.to_owned(),
            detail: drf.code.or(drf.detail),
        },
    }
}

/// What a 404 or 405 at the sign-in endpoint most often means, and what finds the right paths.
pub(crate) const OTHER_STACK: &str = "nothing signs in there: the server may run another Django stack (djoser, dj-rest-auth, django-ninja-jwt) or mount it elsewhere; Detect in the profile form (tessera-cli profile edit NAME --detect) finds it, or pick its preset";

/// Turns a successful obtain (or registration) response into the session's tokens, persisted.
async fn accept_obtain_response(
    engine: &Arc<Engine>,
    response: &HttpResponse,
    sent_ms: i64,
) -> Result<SessionStatus> {
    let live = accept::accept_obtain(engine, response, sent_ms).await?;
    {
        let mark = engine.read_mark();
        let _gate = engine.gate.lock().await;
        let held = Arc::new(
            lock::acquire(
                &engine.lock_dir,
                &engine.profile_name,
                engine.options.lock_timeout,
            )
            .await?,
        );
        engine
            .vault
            .save_held(
                &engine.profile_name,
                &live.to_stored(&engine.transport, true),
                Some(&held),
            )
            .await?;
        engine.install(live, mark);
    }
    Ok(engine.status())
}

pub(crate) async fn login(
    engine: &Arc<Engine>,
    login: &str,
    password: Password,
) -> Result<SessionStatus> {
    let profile = &engine.profile;
    let url = engine.transport.endpoint(&profile.obtain_path)?;
    let body = secret_json_body(&[
        (profile.login_field.as_str(), login),
        (profile.password_field.as_str(), password.expose_secret()),
    ])?;
    drop(password);
    tracing::info!(profile = %engine.profile_name, "signing in");
    engine.write_state().pending_second_factor = None;
    let sent_ms = engine.now_ms();
    let response = engine.transport.post_auth(url, body, None).await?;
    if !(200..300).contains(&response.status) {
        let err = auth_endpoint_error(&response, "the sign-in endpoint", engine.clock.now());
        tracing::info!(profile = %engine.profile_name, status = response.status, code = err.code(), "sign-in refused");
        return Err(err);
    }
    if let Some(ticket) = second_factor::challenge(&response) {
        tracing::info!(profile = %engine.profile_name, "the server asks for a second factor");
        engine.write_state().pending_second_factor = Some(ticket);
        return Err(Error::SecondFactorRequired);
    }
    signed_in(engine, &response, sent_ms).await
}

/// The second step of a two-step sign-in: the code for the pending one-time token.
pub(crate) async fn verify_second_factor(
    engine: &Arc<Engine>,
    code: Password,
) -> Result<SessionStatus> {
    let sent_ms = engine.now_ms();
    let response = second_factor::verify(engine, code).await?;
    let status = signed_in(engine, &response, sent_ms).await?;
    engine.write_state().pending_second_factor = None;
    Ok(status)
}

async fn signed_in(
    engine: &Arc<Engine>,
    response: &HttpResponse,
    sent_ms: i64,
) -> Result<SessionStatus> {
    let status = accept_obtain_response(engine, response, sent_ms).await?;
    tracing::info!(profile = %engine.profile_name, "signed in");
    engine.emit(SessionEvent::LoggedIn {
        profile: engine.profile_name.clone(),
        user_id: status.user_id.clone(),
    });
    Ok(status)
}

pub(crate) async fn register(
    engine: &Arc<Engine>,
    registration: Registration,
) -> Result<SessionStatus> {
    let profile = &engine.profile;
    let path = profile.registration_path.as_deref().ok_or_else(|| Error::NotSupported {
        detail: "This profile has no registration endpoint. Create the account on the website, or set the profile's registration path.".into(),
    })?;
    let url = engine.transport.endpoint(path)?;
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
    tracing::info!(profile = %engine.profile_name, "registering");
    let sent_ms = engine.now_ms();
    let response = engine.transport.post_auth(url, body, None).await?;
    if !(200..300).contains(&response.status) {
        return Err(auth_endpoint_error(
            &response,
            "the registration endpoint",
            engine.clock.now(),
        ));
    }
    engine.emit(SessionEvent::Registered {
        profile: engine.profile_name.clone(),
    });
    // Some registration views answer with tokens already.
    if let Ok(status) = accept_obtain_response(engine, &response, sent_ms).await {
        engine.emit(SessionEvent::LoggedIn {
            profile: engine.profile_name.clone(),
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
    self::login(engine, login_value, registration.password).await
}

/// Reads the stored session into memory. `refresh_if_due` is false for read-only callers
/// (`status`): they never call the network and never change the keyring, whatever they find.
pub(crate) async fn restore(engine: &Arc<Engine>, refresh_if_due: bool) -> Result<SessionStatus> {
    let read_only = !refresh_if_due;
    // Read before the keyring: a sign-out that runs after it changes the mark, and the next
    // request notices (`elsewhere.rs`).
    let mark = engine.read_mark();
    let read = || async {
        if read_only {
            engine.vault.peek(&engine.profile_name).await
        } else {
            engine.vault.load(&engine.profile_name).await
        }
    };
    // Readers do not hold the refresh lock, and a writer in another process (a rotation) may be
    // replacing the keyring item right now: the Secret Service then shows a missing or vanished
    // item for a moment. A lock-free read that finds nothing or fails is therefore repeated
    // under the lock, where no writer can be midway.
    let stored = match read().await {
        Ok(Some(stored)) => Some(stored),
        first => {
            match lock::acquire(
                &engine.lock_dir,
                &engine.profile_name,
                engine.options.lock_timeout,
            )
            .await
            {
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
        engine.end(None);
        return Err(Error::LoginRequired {
            reason: "no session is stored for this profile".into(),
        });
    };
    if let Some(reason) = engine.foreign_issuer(&stored) {
        // Kept as it is: signing out sends its refresh token back to the server that issued it.
        let error = Error::LoginRequired {
            reason: format!("{reason}; sign out to end it there, or sign in again"),
        };
        engine.end(Some(error.clone()));
        return Err(error);
    }
    let unverified = !stored.verified;
    let live = match accept::accept_stored(engine, stored).await {
        Ok(live) => live,
        Err(e) if e.is_transient() => return Err(e),
        Err(e) if read_only => {
            tracing::warn!(profile = %engine.profile_name, code = e.code(), "stored tokens unreadable");
            let error = Error::LoginRequired {
                reason: "the stored tokens could not be read".into(),
            };
            engine.end(Some(error.clone()));
            return Err(error);
        }
        Err(e) => {
            tracing::warn!(profile = %engine.profile_name, code = e.code(), "stored tokens unreadable; removing them");
            engine.vault.clear(&engine.profile_name).await?;
            engine.end(None);
            return Err(Error::LoginRequired {
                reason: "the stored tokens could not be read and were removed".into(),
            });
        }
    };
    if engine.renewal_expired(&live) {
        let reason =
            "the session is older than the server allows; its refresh token has expired".to_owned();
        if !read_only {
            engine.vault.clear(&engine.profile_name).await?;
        }
        return Err(engine.expire(Error::SessionExpired { reason }));
    }
    let due = engine.needs_refresh(&live);
    let user_id = live.access_claims.user_id.clone();
    if unverified && !read_only {
        // Verified now; best effort (the next reader verifies it otherwise).
        let _ = engine
            .vault
            .save(
                &engine.profile_name,
                &live.to_stored(&engine.transport, true),
            )
            .await;
    }
    engine.install(live, mark);
    engine.emit(SessionEvent::Restored {
        profile: engine.profile_name.clone(),
        user_id,
    });
    if due && refresh_if_due {
        let (generation, flights) = {
            let state = engine.read_state();
            (state.generation, state.flights)
        };
        match ensure_fresh(engine, generation, flights, Trigger::Expiring).await {
            Ok(()) => {}
            Err(e) if e.is_transient() || matches!(e, Error::LockTimeout { .. }) => {
                tracing::info!(profile = %engine.profile_name, code = e.code(), "restored offline; will refresh later");
            }
            Err(e) => return Err(e),
        }
    }
    Ok(engine.status())
}
