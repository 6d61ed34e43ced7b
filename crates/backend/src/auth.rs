//! simplejwt's `JWTAuthentication` + DRF's `IsAuthenticated`, as an axum extractor.
//!
//! Header handling is simplejwt's, byte for byte: the `Authorization` value is split on
//! whitespace; no header, an empty one, or a first word other than exactly `Bearer` (the
//! comparison is case-sensitive, so `bearer x` and `Token x` count as "no credentials") gives
//! 401 "Authentication credentials were not provided."; `Bearer` with zero or two-plus values
//! gives 401 `bad_authorization_header`; then the access token is checked (401
//! `token_not_valid` with simplejwt's `messages` list) and its user looked up (401
//! `user_not_found` / `user_inactive`).

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use crate::db::User;
use crate::error::ApiError;
use crate::state::{blocking, AppRef};
use crate::tokens::{TokenType, Verified};

/// The only accepted header keyword (simplejwt's AUTH_HEADER_TYPES default).
pub const AUTH_HEADER_TYPE: &[u8] = b"Bearer";

/// An authenticated request's user and token.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user: User,
    pub token: Verified,
}

/// Python's `bytes.split()`: runs of ASCII whitespace separate, ends are dropped.
fn split_header(value: &[u8]) -> Vec<&[u8]> {
    value
        .split(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))
        .filter(|part| !part.is_empty())
        .collect()
}

/// The raw token from an `Authorization` value, or why there is none.
pub fn raw_token(header_value: Option<&[u8]>) -> Result<&[u8], ApiError> {
    let parts = split_header(header_value.ok_or(ApiError::NotAuthenticated)?);
    match parts.as_slice() {
        [] => Err(ApiError::NotAuthenticated),
        [kind, ..] if *kind != AUTH_HEADER_TYPE => Err(ApiError::NotAuthenticated),
        [_, token] => Ok(token),
        _ => Err(ApiError::BadAuthorizationHeader),
    }
}

impl FromRequestParts<AppRef> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppRef) -> Result<Self, Self::Rejection> {
        let header_value = parts
            .headers
            .get(header::AUTHORIZATION)
            .map(|value| value.as_bytes());
        let raw = raw_token(header_value)?;
        // PyJWT would fail on non-UTF-8 input as well: "Token is invalid".
        let raw = std::str::from_utf8(raw)
            .map_err(|_| ApiError::AccessToken(crate::tokens::TokenError::Invalid))?;
        let token = app
            .tokens
            .verify(raw, Some(TokenType::Access))
            .map_err(ApiError::AccessToken)?;
        let user_id = token.user_id().ok_or(ApiError::NoUserIdentification)?;
        let Ok(user_id) = user_id.parse::<i64>() else {
            return Err(ApiError::UserNotFound);
        };
        let db = app.db.clone();
        let user = blocking(move || Ok(db.user_by_id(user_id)?))
            .await?
            .ok_or(ApiError::UserNotFound)?;
        if !user.is_active {
            return Err(ApiError::UserInactive);
        }
        Ok(Self { user, token })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(value: Option<&str>) -> Result<String, String> {
        raw_token(value.map(str::as_bytes))
            .map(|t| String::from_utf8_lossy(t).into_owned())
            .map_err(|e| format!("{e:?}"))
    }

    #[test]
    fn header_variants_behave_like_simplejwt() {
        assert_eq!(outcome(Some("Bearer abc")), Ok("abc".into()));
        assert_eq!(outcome(Some("  Bearer \t abc  ")), Ok("abc".into()));
        assert_eq!(outcome(None), Err("NotAuthenticated".into()));
        assert_eq!(outcome(Some("")), Err("NotAuthenticated".into()));
        assert_eq!(outcome(Some("   ")), Err("NotAuthenticated".into()));
        assert_eq!(outcome(Some("Token abc")), Err("NotAuthenticated".into()));
        assert_eq!(outcome(Some("bearer abc")), Err("NotAuthenticated".into()));
        assert_eq!(outcome(Some("JWT abc")), Err("NotAuthenticated".into()));
        assert_eq!(
            outcome(Some("Bearer")),
            Err("BadAuthorizationHeader".into())
        );
        assert_eq!(
            outcome(Some("Bearer a b")),
            Err("BadAuthorizationHeader".into())
        );
    }
}
