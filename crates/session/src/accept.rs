//! How tokens get into a session, once for every way they arrive: an obtain (sign-in or
//! registration) answer, a refresh answer, or a pair read back from the keyring.
//!
//! The steps: parse the answer (the profile's field names; a refresh answer also the two
//! spellings Django views use) → decode the access token once, unverified, for its `iat` →
//! estimate the server's clock offset → verify signatures when the profile has a key (fetching
//! the JWKS when a `kid` is unknown) → refuse a token of the wrong type or, when just issued,
//! one without a future `exp` → build the [`LiveTokens`]. The refresh flow stores a renewal
//! between reading and checking it ([`Incoming::to_stored`]), so that a rotated refresh token
//! is never lost to a failed check; that is why reading and checking are two calls.

use reqwest::header::HeaderMap;

use crate::claims::{decode_unverified, Claims, TokenVerifier};
use crate::clock::unix_millis;
use crate::cookies::{self, CookieJar};
use crate::engine::{stored_pair, Engine, LiveTokens};
use crate::error::{Error, Result};
use crate::profile::Profile;
use crate::secret::{AccessToken, AuthHeader, RefreshToken};
use crate::transport::{HttpResponse, Transport};
use crate::vault::StoredSession;
use crate::wire::{parse_token_response, server_date, TokenResponse};

/// A token pair on its way in, not yet checked: as received (its access token already decoded
/// for the clock offset) or as read back from the keyring.
pub(crate) struct Incoming {
    pub access: AccessToken,
    pub refresh: Option<RefreshToken>,
    /// Server-minus-local clock offset, milliseconds.
    pub offset_ms: i64,
    /// The access token's claims read without verification, when they were already read.
    unverified_claims: Option<Claims>,
    /// Cookie mode: the cookies that go back with the refresh token.
    pub cookies: CookieJar,
}

impl Incoming {
    /// What the keyring keeps for this pair.
    pub(crate) fn to_stored(&self, transport: &Transport, verified: bool) -> StoredSession {
        stored_pair(
            transport,
            &self.access,
            self.refresh.as_ref(),
            (self.offset_ms, verified),
            &self.cookies,
        )
    }
}

/// The token field spellings Django views use besides the profile's own: simplejwt's and the
/// custom-view / dj-rest-auth < 3.0 one. A rotated refresh token must not be lost, nor a
/// sign-in refused, over a naming difference the answer itself makes plain.
const SPELLINGS: [(&str, &str); 2] = [("access", "refresh"), ("access_token", "refresh_token")];

/// Reads the token fields of `body` with the first of `names` (then the [`SPELLINGS`]) that
/// has an access token, preferring one whose refresh token is there too.
fn parse_with_spellings(body: &[u8], names: (&str, &str)) -> Result<TokenResponse> {
    let mut first_error = None;
    let mut without_refresh = None;
    for (access, refresh) in std::iter::once(names).chain(SPELLINGS) {
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
        (None, None) => Err(Error::bad_response("the answer holds no token")),
    }
}

/// The tokens of an obtain (or registration) answer: the profile's field names (or the usual
/// spellings), the refresh token from the body or — cookie mode — from its cookie. A refresh
/// token is required unless the profile uses sliding tokens.
pub(crate) fn parse_obtain(
    profile: &Profile,
    response: &HttpResponse,
    now: std::time::SystemTime,
) -> Result<(TokenResponse, CookieJar)> {
    if profile.sliding {
        let tokens =
            parse_token_response(&response.body, profile.response_access_field(), None, false)?;
        return Ok((tokens, CookieJar::default()));
    }
    let names = (
        profile.access_field.as_str(),
        profile.refresh_field.as_str(),
    );
    let mut tokens = parse_with_spellings(&response.body, names)?;
    let set = cookies::set_cookies(&response.headers, now);
    let mut jar = CookieJar::default();
    let from_cookie = cookies::refresh_from_cookies(
        &set,
        profile.refresh_cookie.as_deref(),
        &profile.user_id_claim,
    );
    match (&tokens.refresh, from_cookie) {
        (None, Some((name, token))) => {
            jar.set_refresh_cookie(name);
            tokens.refresh = Some(token);
        }
        (Some(_), Some((name, _))) if profile.refresh_cookie.is_some() => {
            jar.set_refresh_cookie(name);
        }
        (Some(_), _) => {}
        (None, None) => {
            return Err(Error::bad_response(match &profile.refresh_cookie {
                Some(name) => format!("the sign-in answer has no refresh token: neither the {:?} field nor a {name:?} cookie holds one", profile.refresh_field),
                None => format!("the sign-in answer has no refresh token: neither the {:?} field nor a cookie holds one (dj-rest-auth with JWT_AUTH_HTTPONLY sets it as a cookie only when JWT_AUTH_REFRESH_COOKIE is set on the server)", profile.refresh_field),
            }))
        }
    }
    if !jar.is_empty() {
        jar.absorb(&set, &tokens.access);
    }
    Ok((tokens, jar))
}

/// The token fields of a refresh answer: the profile's (its refresh-answer names when they
/// differ), else the usual spellings; in cookie mode a rotated refresh token comes as the
/// refresh cookie, and the jar takes in what else the answer set.
pub(crate) fn parse_renewal(
    profile: &Profile,
    response: &HttpResponse,
    jar: &CookieJar,
    now: std::time::SystemTime,
) -> Result<(TokenResponse, CookieJar)> {
    if profile.sliding {
        let tokens =
            parse_token_response(&response.body, profile.response_access_field(), None, false)?;
        return Ok((tokens, jar.clone()));
    }
    let mut tokens = parse_with_spellings(&response.body, profile.renewal_fields())?;
    let mut jar = jar.clone();
    if let Some(name) = jar.refresh_cookie().map(str::to_owned) {
        let set = cookies::set_cookies(&response.headers, now);
        if let Some((_, token)) =
            cookies::refresh_from_cookies(&set, Some(&name), &profile.user_id_claim)
        {
            tokens.refresh = Some(token);
        }
        jar.absorb(&set, &tokens.access);
    }
    Ok((tokens, jar))
}

/// Reads freshly issued tokens: decodes the access token (unverified) and estimates the clock
/// offset from its `iat`, else from the answer's `Date` header, else `fallback_offset_ms`.
/// `sent_received_ms`: local Unix ms when the request went out and the answer came back.
pub(crate) fn read_answer(
    engine: &Engine,
    (access, refresh, cookies): (AccessToken, Option<RefreshToken>, CookieJar),
    headers: &HeaderMap,
    (sent_ms, received_ms): (i64, i64),
    fallback_offset_ms: i64,
) -> Result<Incoming> {
    let claims = decode_unverified(access.expose_secret(), &engine.profile.user_id_claim)?;
    let date_ms = server_date(headers).map(unix_millis);
    let offset_ms =
        estimate_offset_ms(claims.iat, date_ms, sent_ms, received_ms).unwrap_or(fallback_offset_ms);
    Ok(Incoming {
        access,
        refresh,
        offset_ms,
        unverified_claims: Some(claims),
        cookies,
    })
}

/// Takes a successful obtain (or registration) answer: parsed, read, verified, fresh.
pub(crate) async fn accept_obtain(
    engine: &Engine,
    response: &HttpResponse,
    sent_ms: i64,
) -> Result<LiveTokens> {
    let received_ms = engine.now_ms();
    let (tokens, cookies) = parse_obtain(&engine.profile, response, engine.clock.now())?;
    let incoming = read_answer(
        engine,
        (tokens.access, tokens.refresh, cookies),
        &response.headers,
        (sent_ms, received_ms),
        0,
    )?;
    check(engine, incoming, true, true).await
}

/// Decodes a stored pair; a pair stored before it was verified is verified now.
pub(crate) async fn accept_stored(engine: &Engine, stored: StoredSession) -> Result<LiveTokens> {
    let verify = !stored.verified;
    let incoming = Incoming {
        access: stored.access,
        refresh: stored.refresh,
        offset_ms: stored.offset_ms,
        unverified_claims: None,
        cookies: stored.cookies,
    };
    check(engine, incoming, verify, false).await
}

/// Checks `incoming` and makes it [`LiveTokens`]. With `verify` (tokens from the server, or
/// stored before they were verified) they are checked against the profile's key when one is
/// configured. With `require_fresh` (tokens just issued) the access token must carry an `exp`
/// that is still ahead — one without could never be renewed on time, and one that arrives
/// expired would be refreshed again at once, forever.
pub(crate) async fn check(
    engine: &Engine,
    incoming: Incoming,
    verify: bool,
    require_fresh: bool,
) -> Result<LiveTokens> {
    let profile = &engine.profile;
    let Incoming {
        access,
        refresh,
        offset_ms,
        unverified_claims,
        cookies,
    } = incoming;
    let expected_type = if profile.sliding { "sliding" } else { "access" };
    let (access_claims, refresh_claims) = match (&engine.verifier, verify) {
        (Some(verifier), true) => {
            let now_server = engine.server_now_ms(offset_ms).div_euclid(1000);
            for token in [
                Some(access.expose_secret()),
                refresh.as_ref().map(RefreshToken::expose_secret),
            ]
            .into_iter()
            .flatten()
            {
                fetch_jwks_if_needed(engine, verifier, token).await?;
            }
            let access_claims =
                verifier.verify(access.expose_secret(), expected_type, now_server)?;
            let refresh_claims = match &refresh {
                Some(r) => Some(verifier.verify(r.expose_secret(), "refresh", now_server)?),
                None => None,
            };
            (access_claims, refresh_claims)
        }
        _ => {
            let claim = &profile.user_id_claim;
            let access_claims = match unverified_claims {
                Some(claims) => claims,
                None => decode_unverified(access.expose_secret(), claim)?,
            };
            let refresh_claims = match &refresh {
                Some(r) => Some(decode_unverified(r.expose_secret(), claim)?),
                None => None,
            };
            (access_claims, refresh_claims)
        }
    };
    if require_fresh {
        check_fresh_access(&access_claims, engine.server_now_ms(offset_ms))?;
    }
    if let Some(kind) = access_claims.token_type.as_deref() {
        if kind != expected_type {
            return Err(Error::bad_response(format!(
                "the server sent a token of type {kind:?} where a token of type {expected_type:?} belongs (the profile's field names or sliding mode do not match the server)"
            )));
        }
    }
    Ok(LiveTokens {
        auth_header: AuthHeader::new(&engine.auth_scheme(), &access),
        access,
        refresh,
        access_claims,
        refresh_claims,
        offset_ms,
        cookies,
    })
}

/// Fetches the profile's JWKS when `token`'s key is not in the cached one.
async fn fetch_jwks_if_needed(
    engine: &Engine,
    verifier: &TokenVerifier,
    token: &str,
) -> Result<()> {
    if !verifier.needs_jwks(token) {
        return Ok(());
    }
    let Some(url) = verifier.jwks_url() else {
        return Ok(());
    };
    let response = engine.transport.get_auth(url.clone()).await?;
    // A JWKS endpoint that is down is as transient as a refresh endpoint that is down: the
    // caller keeps the session.
    match response.status {
        200 => verifier.set_jwks(&response.body),
        429 => Err(Error::RateLimited {
            retry_after_secs: None,
        }),
        status if status >= 500 => Err(Error::ServerError {
            status,
            detail: Some("while fetching the JWKS".into()),
        }),
        status => Err(Error::Http {
            status,
            endpoint: "JWKS".into(),
            detail: None,
        }),
    }
}

/// Refuses a freshly issued access token without a usable `exp`, or one already expired in
/// the server's time (`now_server_ms`).
fn check_fresh_access(claims: &Claims, now_server_ms: i64) -> Result<()> {
    match claims.exp {
        None => Err(Error::bad_response(
            "the server's access token has no numeric \"exp\" claim, so Tessera cannot tell when it expires (simplejwt always sets one)",
        )),
        Some(exp) if exp.saturating_mul(1000) <= now_server_ms => Err(Error::bad_response(
            "the server's access token was already expired when it arrived; check the server's ACCESS_TOKEN_LIFETIME and this computer's clock",
        )),
        Some(_) => Ok(()),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
