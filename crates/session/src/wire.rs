//! simplejwt's wire format, read defensively: token responses, DRF error bodies, and the
//! `Date` / `Retry-After` headers.
//!
//! Decisions are made on `code` and status, never on `detail` (it is translated by gettext).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::header::{HeaderMap, DATE, RETRY_AFTER, WWW_AUTHENTICATE};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::secret::{AccessToken, RefreshToken};

/// A JSON object of string fields built in a zeroized buffer, for bodies carrying a password or
/// a refresh token. The buffer is zeroized when reqwest drops the body.
pub(crate) fn secret_json_body(pairs: &[(&str, &str)]) -> Result<Bytes> {
    let capacity = pairs
        .iter()
        .map(|(k, v)| k.len() + v.len() + 8)
        .sum::<usize>()
        + 2;
    let mut buf = Zeroizing::new(Vec::with_capacity(capacity * 2));
    buf.push(b'{');
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        serde_json::to_writer(&mut *buf, key)
            .map_err(|e| Error::internal(format!("cannot encode a body: {e}")))?;
        buf.push(b':');
        serde_json::to_writer(&mut *buf, value)
            .map_err(|e| Error::internal(format!("cannot encode a body: {e}")))?;
    }
    buf.push(b'}');
    Ok(Bytes::from_owner(buf))
}

/// Tokens from an obtain or refresh response.
#[derive(Debug)]
pub(crate) struct TokenResponse {
    pub access: AccessToken,
    pub refresh: Option<RefreshToken>,
}

fn looks_like_jwt(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    parts.len() == 3
        && parts[..2].iter().all(|p| !p.is_empty())
        && parts.iter().all(|p| {
            p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// `empty_is_absent`: a refresh field of `""` is dj-rest-auth in cookie mode, whose refresh
/// token travels as a cookie instead; an empty access token is just not a JWT.
fn take_token(
    map: &mut Map<String, Value>,
    field: &str,
    empty_is_absent: bool,
) -> Result<Option<String>> {
    match map.remove(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() && empty_is_absent => Ok(None),
        Some(Value::String(s)) if looks_like_jwt(&s) => Ok(Some(s)),
        Some(_) => Err(Error::bad_response(format!(
            "the {field:?} field is not a JWT"
        ))),
    }
}

/// Reads `{access_field: ..., refresh_field: ...}`. `refresh_field` is required when
/// `require_refresh`, optional otherwise (a refresh response carries one only with rotation).
pub(crate) fn parse_token_response(
    body: &[u8],
    access_field: &str,
    refresh_field: Option<&str>,
    require_refresh: bool,
) -> Result<TokenResponse> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| Error::bad_response("the token response is not JSON"))?;
    let Value::Object(mut map) = value else {
        return Err(Error::bad_response(
            "the token response is not a JSON object",
        ));
    };
    let access = take_token(&mut map, access_field, false)?.ok_or_else(|| {
        let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
        keys.sort_unstable();
        Error::bad_response(format!(
            "the token response has no {access_field:?} field (fields: {})",
            keys.join(", ")
        ))
    })?;
    let refresh = match refresh_field {
        Some(field) => {
            let refresh = take_token(&mut map, field, true)?;
            if refresh.is_none() && require_refresh {
                return Err(Error::bad_response(format!(
                    "the token response has no {field:?} field"
                )));
            }
            refresh
        }
        None => None,
    };
    Ok(TokenResponse {
        access: AccessToken::new(access),
        refresh: refresh.map(RefreshToken::new),
    })
}

/// What a DRF/simplejwt error body says.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct DrfError {
    pub code: Option<String>,
    pub detail: Option<String>,
    pub fields: BTreeMap<String, Vec<String>>,
}

/// Parses `{"detail","code"}` and DRF field errors `{field: [messages]}` (nested serializers
/// become `outer.inner`). Anything unreadable gives an empty result.
pub(crate) fn parse_error_body(body: &[u8]) -> DrfError {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
        return DrfError::default();
    };
    let mut out = DrfError::default();
    for (key, value) in &map {
        match (key.as_str(), value) {
            ("detail", Value::String(s)) => out.detail = Some(s.clone()),
            ("code", Value::String(s)) => out.code = Some(s.clone()),
            ("messages", _) => {}
            _ => collect_field_errors(key, value, &mut out.fields),
        }
    }
    out
}

fn collect_field_errors(key: &str, value: &Value, out: &mut BTreeMap<String, Vec<String>>) {
    match value {
        Value::String(s) => out.entry(key.to_owned()).or_default().push(s.clone()),
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::String(s) => out.entry(key.to_owned()).or_default().push(s.clone()),
                    Value::Object(_) => collect_field_errors(key, item, out),
                    _ => {}
                }
            }
        }
        Value::Object(inner) => {
            for (k, v) in inner {
                collect_field_errors(&format!("{key}.{k}"), v, out);
            }
        }
        _ => {}
    }
}

/// The scheme a `WWW-Authenticate` header names (`Bearer`, `JWT`): DRF answers a request
/// without usable credentials with its first `AUTH_HEADER_TYPES` entry there.
pub(crate) fn auth_scheme(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(WWW_AUTHENTICATE)?.to_str().ok()?;
    let word = value.split_whitespace().next()?;
    (word.len() <= 32
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    .then(|| word.to_owned())
}

/// The server's `Date` header.
pub(crate) fn server_date(headers: &HeaderMap) -> Option<SystemTime> {
    let value = headers.get(DATE)?.to_str().ok()?;
    httpdate::parse_http_date(value).ok()
}

/// `Retry-After` as a delay: delta-seconds or an HTTP date (relative to `now`).
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use serde_json::json;

    fn token() -> String {
        crate::test_tokens::jwt(r#"{"alg":"HS256"}"#, r#"{"exp":1}"#, "c2ln")
    }

    #[test]
    fn token_responses() {
        let owned = token();
        let jwt = owned.as_str();
        let body = json!({"access": jwt, "refresh": jwt}).to_string();
        let t = parse_token_response(body.as_bytes(), "access", Some("refresh"), true).unwrap();
        assert_eq!(t.access.expose_secret(), jwt);
        assert!(t.refresh.is_some());
        // refresh without rotation: no refresh field
        let body = json!({"access": jwt}).to_string();
        let t = parse_token_response(body.as_bytes(), "access", Some("refresh"), false).unwrap();
        assert!(t.refresh.is_none());
        // cookie mode: the refresh token is a cookie, the field an empty string
        let body = json!({"access": jwt, "refresh": ""}).to_string();
        let t = parse_token_response(body.as_bytes(), "access", Some("refresh"), false).unwrap();
        assert!(t.refresh.is_none());
        // custom view names
        let body =
            json!({"access_token": jwt, "refresh_token": jwt, "user": {"id": 1}}).to_string();
        parse_token_response(body.as_bytes(), "access_token", Some("refresh_token"), true).unwrap();
        // wrong shapes
        for (body, needle) in [
            (json!({"access": jwt}).to_string(), "no \"refresh\""),
            (json!({"token": jwt}).to_string(), "fields: token"),
            (
                json!({"access": 5, "refresh": jwt}).to_string(),
                "not a JWT",
            ),
            (
                json!({"access": "abc", "refresh": jwt}).to_string(),
                "not a JWT",
            ),
            (json!([1]).to_string(), "not a JSON object"),
            ("<html>".to_owned(), "not JSON"),
        ] {
            let err =
                parse_token_response(body.as_bytes(), "access", Some("refresh"), true).unwrap_err();
            assert_eq!(err.code(), "bad_response");
            assert!(err.to_string().contains(needle), "{err} / {needle}");
            assert!(!err.to_string().contains("eyJ"));
        }
    }

    #[test]
    fn error_bodies() {
        let e = parse_error_body(
            json!({"detail":"Given token not valid for any token type","code":"token_not_valid","messages":[{"token_class":"AccessToken"}]})
                .to_string()
                .as_bytes(),
        );
        assert_eq!(e.code.as_deref(), Some("token_not_valid"));
        assert!(e.fields.is_empty());
        let e = parse_error_body(
            json!({"email":["Enter a valid email address."],"password":["Too short.","Too common."],"profile":{"age":["Required."]}})
                .to_string()
                .as_bytes(),
        );
        assert_eq!(e.fields["password"], vec!["Too short.", "Too common."]);
        assert_eq!(e.fields["profile.age"], vec!["Required."]);
        assert_eq!(parse_error_body(b"<html>oops</html>"), DrfError::default());
    }

    #[test]
    fn secret_bodies_are_json() {
        let body = secret_json_body(&[("email", "a@b.c"), ("password", "p\"w")]).unwrap();
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v, json!({"email": "a@b.c", "password": "p\"w"}));
    }

    #[test]
    fn headers() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(7)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Sun, 06 Nov 1994 08:49:47 GMT"),
        );
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(10)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h, now), None);
        h.insert(
            DATE,
            HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"),
        );
        assert_eq!(server_date(&h), Some(now));
    }
}
