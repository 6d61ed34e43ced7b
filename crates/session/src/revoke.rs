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

use crate::cookies::CookieJar;
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
    (token, cookies): (&RefreshToken, &CookieJar),
    timeout: Duration,
) -> std::result::Result<(), String> {
    let Some(url) = issuer.blacklist.clone() else {
        return Err(no_logout_endpoint(&engine.profile));
    };
    let secret = token.expose_secret();
    let body = secret_json_body(&logout_fields(&engine.profile, secret))
        .map_err(|e| format!("the server was not told ({})", e.code()))?;
    let headers = cookies.request_headers(Some(token), &url);
    match issuer
        .transport
        .post_auth_with(url, body, Some(timeout), headers)
        .await
    {
        Ok(r) if (200..300).contains(&r.status) && confirms(&r.body) => Ok(()),
        Ok(r) if (200..300).contains(&r.status) => {
            match still_accepted(engine, issuer, token, timeout).await {
                Some(false) => Ok(()),
                Some(true) => Err(format!(
                    "the logout endpoint answered {}, but the server still accepts the refresh token (the logout view may read another field: set the profile's logout field)",
                    r.status
                )),
                None => Err(format!(
                    "the logout endpoint answered {} without saying the token was blacklisted",
                    r.status
                )),
            }
        }
        Ok(r) => Err(format!("the blacklist endpoint answered {}", r.status)),
        Err(e) => Err(format!("the server was not told ({})", e.code())),
    }
}

/// Why a sign-out stayed local when the profile has no logout endpoint, in words that say
/// what it means for the token.
pub(crate) fn no_logout_endpoint(profile: &Profile) -> String {
    let whose = match profile.preset.as_deref() {
        Some("djoser") => "djoser has no JWT logout endpoint",
        Some("ninja-jwt") => "django-ninja-jwt's default controller has no blacklist endpoint",
        _ => "the profile has no logout (blacklist) endpoint",
    };
    format!("{whose}, so the refresh token stays valid on the server until it expires")
}

/// After a logout answer that confirms nothing: asks the issuer's verify endpoint whether the
/// refresh token is still good (`Some(true)`), finished with (`Some(false)`: simplejwt answers
/// 400 "blacklisted" or 401 for it), or cannot tell (`None`: no verify endpoint, no answer).
async fn still_accepted(
    engine: &Engine,
    issuer: &Issuer,
    token: &RefreshToken,
    timeout: Duration,
) -> Option<bool> {
    let url = issuer
        .transport
        .endpoint(engine.profile.verify_path.as_deref()?)
        .ok()?;
    let body = secret_json_body(&[("token", token.expose_secret())]).ok()?;
    let answer = issuer.transport.post_auth(url, body, Some(timeout)).await;
    match answer.ok()?.status {
        200..=299 => Some(true),
        400 | 401 => Some(false),
        _ => None,
    }
}

/// The logout body: the refresh token in the profile's logout field. When no logout field is
/// set apart from the refresh one, the token also goes in the other usual spelling
/// (`refresh` / `refresh_token`): a logout view reading the other name would otherwise answer
/// "logged out" having blacklisted nothing (the tutorial's `/user/logout` does), and both
/// names go to the same endpoint of the server that issued the token.
fn logout_fields<'a>(profile: &'a Profile, secret: &'a str) -> Vec<(&'a str, &'a str)> {
    let field = profile.logout_body_field();
    let mut fields = vec![(field, secret)];
    if profile.logout_request_field.is_none() {
        match field {
            "refresh" => fields.push(("refresh_token", secret)),
            "refresh_token" => fields.push(("refresh", secret)),
            _ => {}
        }
    }
    fields
}

/// Whether a 2xx logout answer says the token is finished with: a JSON object, as simplejwt's
/// blacklist view (`{}`), dj-rest-auth's logout (`{"detail": "Successfully logged out."}`) and
/// ninja-jwt's send. A bare status (a custom view's 205) or a page confirms nothing.
fn confirms(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|v| v.is_object())
}
