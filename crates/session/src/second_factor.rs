//! Two-step sign-in: servers that answer a right password with a request for a second factor
//! instead of tokens (dj-rest-auth's `dj_rest_auth.mfa`: `{"ephemeral_token": ...,
//! "mfa_required": true}`), and the step that turns a code into the session's tokens
//! (`POST mfa/verify/ {ephemeral_token, code}`, answered like a sign-in).
//!
//! The one-time sign-in token stays in this process's memory ([`OneTimeToken`]): never stored,
//! never shown, dropped when the code is accepted, when the server says it expired, or at the
//! next sign-in. A code is sent once and never kept. Renewal never needs either: the refresh
//! token carries the session from then on, as after any sign-in.

use std::sync::Arc;

use serde_json::Value;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::profile::Profile;
use crate::secret::{OneTimeToken, Password};
use crate::transport::HttpResponse;
use crate::wire::{parse_error_body, secret_json_body};

/// The one-time token of a 2xx sign-in answer that asks for a second factor.
pub(crate) fn challenge(response: &HttpResponse) -> Option<OneTimeToken> {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(&response.body) else {
        return None;
    };
    if map.get("mfa_required") != Some(&Value::Bool(true)) {
        return None;
    }
    match map.get("ephemeral_token") {
        Some(Value::String(token)) if !token.is_empty() => Some(OneTimeToken::new(token.clone())),
        _ => None,
    }
}

/// The verify endpoint: the profile's, else `mfa/verify/` beside the sign-in endpoint (where
/// dj-rest-auth mounts it: `/dj-rest-auth/login/` → `/dj-rest-auth/mfa/verify/`).
pub(crate) fn verify_path(profile: &Profile) -> String {
    if let Some(path) = &profile.mfa_verify_path {
        return path.clone();
    }
    let obtain = profile.obtain_path.trim_end_matches('/');
    let parent = obtain.rsplit_once('/').map_or("", |(parent, _)| parent);
    format!("{parent}/mfa/verify/")
}

/// Sends `code` with the pending one-time token; on success the answer is taken like a
/// sign-in answer by `accept`.
pub(crate) async fn verify(engine: &Arc<Engine>, code: Password) -> Result<HttpResponse> {
    let pending = engine.read_state().pending_second_factor.clone();
    let Some(ticket) = pending else {
        return Err(Error::SecondFactorExpired {
            reason: "No sign-in is waiting for a code".into(),
        });
    };
    let trimmed = code.expose_secret().trim();
    if trimmed.is_empty() || trimmed.len() > 64 {
        return Err(Error::SecondFactorRejected {
            server_detail: Some("a code is 6 digits, or a recovery code".into()),
        });
    }
    let url = engine.transport.endpoint(&verify_path(&engine.profile))?;
    let body = secret_json_body(&[
        ("ephemeral_token", ticket.expose_secret()),
        ("code", trimmed),
    ])?;
    drop(code);
    tracing::info!(profile = %engine.profile_name, "sending the second factor");
    let response = engine.transport.post_auth(url, body, None).await?;
    if (200..300).contains(&response.status) {
        return Ok(response);
    }
    let drf = parse_error_body(&response.body);
    let first = |field: &str| drf.fields.get(field).and_then(|m| m.first()).cloned();
    Err(match response.status {
        400 if drf.fields.contains_key("ephemeral_token") => {
            engine.write_state().pending_second_factor = None;
            Error::SecondFactorExpired {
                reason: "The sign-in waiting for this code has expired on the server".into(),
            }
        }
        400 if drf.fields.contains_key("code") => Error::SecondFactorRejected {
            server_detail: first("code"),
        },
        400 | 401 => Error::SecondFactorRejected {
            server_detail: drf.detail,
        },
        404 => Error::NotSupported {
            detail: format!(
                "The server asked for a second factor, but nothing answers at {}: set the profile's MFA verify path.",
                response.url
            ),
        },
        status if status >= 500 => Error::ServerError {
            status,
            detail: drf.detail,
        },
        status => Error::Http {
            status,
            endpoint: "the second-factor endpoint".into(),
            detail: drf.code.or(drf.detail),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verify_path_sits_beside_the_sign_in_path() {
        let mut p = Profile::from_base_url("http://127.0.0.1:1/").unwrap();
        p.obtain_path = "/dj-rest-auth/login/".into();
        assert_eq!(verify_path(&p), "/dj-rest-auth/mfa/verify/");
        p.obtain_path = "/auth/login".into();
        assert_eq!(verify_path(&p), "/auth/mfa/verify/");
        p.mfa_verify_path = Some("/x/2fa/".into());
        assert_eq!(verify_path(&p), "/x/2fa/");
    }
}
