//! Cookie-mode sessions: servers that keep the refresh token out of the answer's body and set
//! it as an HttpOnly cookie instead (dj-rest-auth's `JWT_AUTH_REFRESH_COOKIE` with
//! `JWT_AUTH_HTTPONLY`, its default), then read it back from the cookie at refresh and logout.
//!
//! The refresh cookie's value *is* the session's refresh token: it is kept as the session's
//! [`RefreshToken`], so rotation, single flight, sign-out and the race rules treat it exactly as
//! a body token. The [`CookieJar`] remembers the cookie's name and the few other cookies the
//! auth endpoints set (`csrftoken`, `sessionid`), lives in the keyring entry with the tokens,
//! and is sent only to the session's own refresh and logout endpoints — never to an API
//! request (those carry the access token in `Authorization`), never to another origin, never to
//! a log (`Debug` shows names only). The access-token cookie is not kept: requests do not need
//! it, and sending an expired one makes dj-rest-auth's logout refuse before it blacklists.
//! When a `csrftoken` cookie is in the jar, its value goes along as `X-CSRFToken` (with a
//! same-origin `Referer`, which Django's CSRF check wants over https), for servers that
//! enforce CSRF on these views.

use std::fmt;
use std::time::SystemTime;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, COOKIE, REFERER, SET_COOKIE};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::claims::decode_unverified;
use crate::secret::{AccessToken, RefreshToken};

/// Django's default `CSRF_COOKIE_NAME`, echoed as `X-CSRFToken` when the server set it.
const CSRF_COOKIE: &str = "csrftoken";
/// A hostile server cannot grow the keyring entry without bound.
const MAX_COOKIES: usize = 16;
const MAX_COOKIE_BYTES: usize = 4096;

/// One `Set-Cookie` of an answer: its name, its value, and whether it deletes the cookie.
pub(crate) struct SetCookie {
    name: String,
    value: SecretString,
    removes: bool,
}

/// Reads every `Set-Cookie` header; unreadable or oversized ones are skipped.
pub(crate) fn set_cookies(headers: &HeaderMap, now: SystemTime) -> Vec<SetCookie> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| parse_set_cookie(value.to_str().ok()?, now))
        .collect()
}

fn parse_set_cookie(text: &str, now: SystemTime) -> Option<SetCookie> {
    if text.len() > MAX_COOKIE_BYTES {
        return None;
    }
    let mut parts = text.split(';');
    let (name, value) = parts.next()?.split_once('=')?;
    let name = name.trim();
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let value = value.trim().trim_matches('"');
    let mut removes = value.is_empty();
    for attribute in parts {
        let (key, arg) = attribute.split_once('=').unwrap_or((attribute, ""));
        match key.trim().to_ascii_lowercase().as_str() {
            "max-age" => removes |= arg.trim().parse::<i64>().is_ok_and(|secs| secs <= 0),
            "expires" => {
                removes |= httpdate::parse_http_date(arg.trim()).is_ok_and(|at| at <= now);
            }
            _ => {}
        }
    }
    Some(SetCookie {
        name: name.to_owned(),
        value: SecretString::from(value.to_owned()),
        removes,
    })
}

/// The refresh token an answer set as a cookie: the cookie named `configured`, else (no name
/// configured) the one cookie whose value is a JWT of type `refresh`. Returns its name too.
pub(crate) fn refresh_from_cookies(
    cookies: &[SetCookie],
    configured: Option<&str>,
    user_id_claim: &str,
) -> Option<(String, RefreshToken)> {
    let is_refresh = |cookie: &SetCookie| match configured {
        Some(name) => cookie.name == name,
        None => decode_unverified(cookie.value.expose_secret(), user_id_claim)
            .is_ok_and(|claims| claims.token_type.as_deref() == Some("refresh")),
    };
    cookies
        .iter()
        .filter(|c| !c.removes)
        .find(|c| is_refresh(c))
        .map(|c| {
            (
                c.name.clone(),
                RefreshToken::new(c.value.expose_secret().to_owned()),
            )
        })
}

/// The cookies a cookie-mode session sends back to its refresh and logout endpoints.
#[derive(Clone, Default)]
pub struct CookieJar {
    /// The name of the cookie carrying the refresh token, in cookie mode.
    refresh_cookie: Option<String>,
    /// Other cookies the auth endpoints set, in the order they came.
    others: Vec<(String, SecretString)>,
}

impl fmt::Debug for CookieJar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.others.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("CookieJar")
            .field("refresh_cookie", &self.refresh_cookie)
            .field("others", &names)
            .finish()
    }
}

impl CookieJar {
    /// A jar as the keyring holds it.
    pub fn from_parts(refresh_cookie: Option<String>, others: Vec<(String, String)>) -> Self {
        Self {
            refresh_cookie,
            others: others
                .into_iter()
                .take(MAX_COOKIES)
                .map(|(n, v)| (n, SecretString::from(v)))
                .collect(),
        }
    }

    /// The refresh cookie's name, in cookie mode.
    pub fn refresh_cookie(&self) -> Option<&str> {
        self.refresh_cookie.as_deref()
    }

    /// The other cookies, for the keyring only.
    pub fn exposed_others(&self) -> impl Iterator<Item = (&str, &str)> {
        self.others
            .iter()
            .map(|(n, v)| (n.as_str(), v.expose_secret()))
    }

    /// Whether there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.refresh_cookie.is_none() && self.others.is_empty()
    }

    /// Names the refresh cookie (cookie mode begins).
    pub(crate) fn set_refresh_cookie(&mut self, name: String) {
        self.others.retain(|(n, _)| *n != name);
        self.refresh_cookie = Some(name);
    }

    /// Takes in what an auth answer set: new values replace old ones, deletions remove them.
    /// The refresh cookie (kept as the refresh token) and the access-token cookie are left out.
    pub(crate) fn absorb(&mut self, cookies: &[SetCookie], access: &AccessToken) {
        for cookie in cookies {
            if Some(cookie.name.as_str()) == self.refresh_cookie.as_deref() {
                continue;
            }
            self.others.retain(|(n, _)| *n != cookie.name);
            if cookie.removes || cookie.value.expose_secret() == access.expose_secret() {
                continue;
            }
            if self.others.len() < MAX_COOKIES {
                self.others
                    .push((cookie.name.clone(), cookie.value.clone()));
            }
        }
    }

    /// The headers that carry the jar (and `refresh`, as the refresh cookie) to `url`, one of
    /// the session's own refresh or logout endpoints. Empty when the session has no cookies.
    pub(crate) fn request_headers(&self, refresh: Option<&RefreshToken>, url: &Url) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let mut pairs: Vec<(&str, &str)> = self
            .others
            .iter()
            .map(|(n, v)| (n.as_str(), v.expose_secret()))
            .collect();
        if let (Some(name), Some(token)) = (&self.refresh_cookie, refresh) {
            pairs.push((name.as_str(), token.expose_secret()));
        }
        if pairs.is_empty() {
            return headers;
        }
        let text = zeroize::Zeroizing::new(
            pairs
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("; "),
        );
        if let Ok(mut value) = HeaderValue::from_str(&text) {
            value.set_sensitive(true);
            headers.insert(COOKIE, value);
        }
        let csrf = self
            .others
            .iter()
            .find(|(n, _)| n == CSRF_COOKIE)
            .and_then(|(_, v)| HeaderValue::from_str(v.expose_secret()).ok());
        if let Some(mut csrf) = csrf {
            csrf.set_sensitive(true);
            headers.insert(HeaderName::from_static("x-csrftoken"), csrf);
            if let Ok(referer) = HeaderValue::from_str(url.as_str()) {
                headers.insert(REFERER, referer);
            }
        }
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(lines: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for line in lines {
            h.append(SET_COOKIE, HeaderValue::from_str(line).unwrap());
        }
        h
    }

    fn refresh_jwt() -> String {
        crate::test_tokens::jwt(
            r#"{"alg":"HS256"}"#,
            r#"{"token_type":"refresh","exp":9999999999,"user_id":"1"}"#,
            "c2ln",
        )
    }

    #[test]
    fn the_refresh_cookie_is_found_by_name_or_by_its_token_type() {
        let refresh = refresh_jwt();
        let access = crate::test_tokens::jwt(
            r#"{"alg":"HS256"}"#,
            r#"{"token_type":"access","exp":9999999999}"#,
            "c2ln",
        );
        let h = headers(&[
            &format!("my-app-auth={access}; HttpOnly; Max-Age=300; Path=/"),
            &format!("my-refresh-token={refresh}; expires=Fri, 04 Dec 2099 12:03:18 GMT; HttpOnly; Max-Age=86400; Path=/; SameSite=Lax"),
            "csrftoken=abc; Path=/",
        ]);
        let set = set_cookies(&h, SystemTime::now());
        let (name, token) = refresh_from_cookies(&set, None, "user_id").unwrap();
        assert_eq!(name, "my-refresh-token");
        assert_eq!(token.expose_secret(), refresh);
        let (name, _) = refresh_from_cookies(&set, Some("csrftoken"), "user_id").unwrap();
        assert_eq!(name, "csrftoken");
        assert!(refresh_from_cookies(&set[..1], None, "user_id").is_none());

        let mut jar = CookieJar::default();
        jar.set_refresh_cookie("my-refresh-token".into());
        jar.absorb(&set, &AccessToken::new(access));
        let names: Vec<_> = jar.exposed_others().map(|(n, _)| n).collect();
        assert_eq!(names, ["csrftoken"], "the access cookie is not kept");
        let url = Url::parse("https://api.example/dj-rest-auth/token/refresh/").unwrap();
        let sent = jar.request_headers(Some(&token), &url);
        let cookie = sent[COOKIE].to_str().unwrap();
        assert_eq!(cookie, format!("csrftoken=abc; my-refresh-token={refresh}"));
        assert!(sent[COOKIE].is_sensitive());
        assert_eq!(sent["x-csrftoken"], "abc");
        assert_eq!(sent[REFERER], url.as_str());
        assert!(!format!("{jar:?}").contains("abc"));
    }

    #[test]
    fn deletions_and_hostile_cookies() {
        let h = headers(&[
            "sessionid=s1; Path=/",
            "csrftoken=c1; Path=/",
            "noequals",
            "=anon",
        ]);
        let mut jar = CookieJar::default();
        let access = AccessToken::new("x.y.z".into());
        jar.absorb(&set_cookies(&h, SystemTime::now()), &access);
        assert_eq!(jar.exposed_others().count(), 2);
        let h = headers(&[
            r#"sessionid=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/"#,
            "csrftoken=c2; Max-Age=-1",
        ]);
        jar.absorb(&set_cookies(&h, SystemTime::now()), &access);
        assert_eq!(jar.exposed_others().count(), 0);
        let many: Vec<String> = (0..100).map(|i| format!("c{i}=v")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        jar.absorb(&set_cookies(&headers(&many), SystemTime::now()), &access);
        assert_eq!(jar.exposed_others().count(), MAX_COOKIES);
        let url = Url::parse("http://127.0.0.1/").unwrap();
        assert!(CookieJar::default().request_headers(None, &url).is_empty());
    }
}
