//! Telling a server that a refresh token is finished with (simplejwt's blacklist endpoint).
//!
//! Used by sign-out, and by a refresh that received a renewed refresh token it cannot keep
//! (a sign-out happened meanwhile, or the renewed tokens failed the client's checks): a token
//! the server handed over is either stored or blacklisted, never silently dropped. A token is
//! only ever sent to the server that issued it — the base URL and blacklist endpoint recorded
//! with the stored session — even after the profile was pointed elsewhere; that server is then
//! reached with the profile's settings (CA, proxy, timeouts) on the issuer's base URL.

use std::time::Duration;

use url::Url;

use crate::engine::Engine;
use crate::error::Result;
use crate::profile::Profile;
use crate::secret::RefreshToken;
use crate::transport::Transport;
use crate::vault::StoredSession;
use crate::wire::secret_json_body;

/// Where a session's refresh token is blacklisted: the issuing server's transport and endpoint.
pub(crate) struct Issuer {
    transport: Transport,
    blacklist: Option<Url>,
    /// The issuer is not the server the profile points to now.
    pub moved: bool,
}

/// The issuer of `stored` (or of the profile's own server when nothing says otherwise).
pub(crate) fn issuer_of(engine: &Engine, stored: Option<&StoredSession>) -> Result<Issuer> {
    let here = || {
        let blacklist = engine
            .profile
            .blacklist_path
            .as_deref()
            .map(|p| engine.transport.endpoint(p))
            .transpose();
        blacklist.map(|blacklist| Issuer {
            transport: engine.transport.clone(),
            blacklist,
            moved: false,
        })
    };
    let Some(stored) = stored else {
        return here();
    };
    if engine.foreign_issuer(stored).is_none() {
        // Same server; a blacklist endpoint edited since is the one to use.
        return here();
    }
    let base = stored.base_url.as_deref().unwrap_or(stored.origin.as_str());
    let mut profile: Profile = engine.profile.clone();
    profile.base_url = Url::parse(base).map_err(|e| crate::error::Error::InvalidProfile {
        detail: format!("the stored session's server {base:?} is not a URL ({e})"),
    })?;
    let transport = Transport::new(&profile, engine.options.max_response_bytes)?;
    let blacklist = match &stored.blacklist_url {
        Some(url) => Url::parse(url)
            .ok()
            .filter(|u| u.origin() == profile.base_url.origin()),
        // Written before the endpoint was recorded: the profile's path on the issuer.
        None => profile
            .blacklist_path
            .as_deref()
            .and_then(|p| transport.endpoint(p).ok()),
    };
    Ok(Issuer {
        transport,
        blacklist,
        moved: true,
    })
}

/// Posts `token` to the issuer's blacklist endpoint: `Ok(())` when the server confirmed (a 2xx
/// whose body is a JSON object), or why not, in words for the sign-out result.
pub(crate) async fn blacklist(
    engine: &Engine,
    issuer: &Issuer,
    token: &RefreshToken,
    timeout: Duration,
) -> std::result::Result<(), String> {
    let Some(url) = issuer.blacklist.clone() else {
        return Err("the profile has no blacklist endpoint".into());
    };
    let body = secret_json_body(&[(
        engine.profile.refresh_request_field.as_str(),
        token.expose_secret(),
    )])
    .map_err(|e| format!("the server was not told ({})", e.code()))?;
    match issuer.transport.post_auth(url, body, Some(timeout)).await {
        Ok(r) if (200..300).contains(&r.status) && confirms(&r.body) => Ok(()),
        Ok(r) if (200..300).contains(&r.status) => Err(format!(
            "the logout endpoint answered {} without saying the token was blacklisted",
            r.status
        )),
        Ok(r) => Err(format!("the blacklist endpoint answered {}", r.status)),
        Err(e) => Err(format!("the server was not told ({})", e.code())),
    }
}

/// Whether a 2xx logout answer says the token is finished with: a JSON object, as simplejwt's
/// blacklist view (`{}`), dj-rest-auth's logout (`{"detail": "Successfully logged out."}`) and
/// ninja-jwt's send. A bare status (a custom view's 205) or a page confirms nothing.
fn confirms(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|v| v.is_object())
}
