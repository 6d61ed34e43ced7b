//! Tokens exactly as simplejwt makes and checks them.
//!
//! Claims, as simplejwt's: `token_type` (`access`/`refresh`), `exp`, `iat`, `jti` (32 hex
//! digits, like `uuid4().hex`), `user_id` (a string since simplejwt 5.5.1). An access token
//! made from a refresh token copies every claim but `token_type`, `exp`, `iat` and `jti`.
//!
//! Checks, in simplejwt's order (PyJWT's `decode`, then `Token.verify`): signature and
//! algorithm, then `iat` and `nbf` not in the future and `exp` not past (leeway applied; an
//! expired token says "Token is expired", anything else "Token is invalid"), then `exp`
//! present, `jti` present, `token_type` present and right. The blacklist is checked by the
//! callers, which own the database.
//!
//! Here: the [`TokenService`] that issues and checks tokens. What a token says (its type, the
//! claims of a verified token, the claim rules shared by issuing and checking, `jti`s) is
//! `tokens/claims.rs`.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Header, Validation};
use serde_json::{Map, Value};

use crate::clock::Clock;
use crate::keys::SigningKeys;

mod claims;
#[cfg(test)]
mod tests;

/// Why a token was refused (defined with the other error answers, in `error.rs`).
pub use crate::error::TokenError;
use claims::{claim_seconds, without_registered};
pub use claims::{new_jti, TokenType, Verified};

/// Issues and checks tokens with the configured keys, lifetimes and clock.
pub struct TokenService {
    keys: SigningKeys,
    clock: Arc<Clock>,
    access_lifetime: i64,
    refresh_lifetime: i64,
    leeway_ms: i64,
}

/// What a successful login gets.
#[derive(Debug, Clone)]
pub struct TokenPair {
    pub refresh: String,
    pub access: String,
}

impl TokenService {
    pub fn new(
        keys: SigningKeys,
        clock: Arc<Clock>,
        access_lifetime: Duration,
        refresh_lifetime: Duration,
        leeway: Duration,
    ) -> Self {
        let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        Self {
            keys,
            clock,
            access_lifetime: secs(access_lifetime),
            refresh_lifetime: secs(refresh_lifetime),
            leeway_ms: i64::try_from(leeway.as_millis()).unwrap_or(i64::MAX),
        }
    }

    pub fn keys(&self) -> &SigningKeys {
        &self.keys
    }

    /// A fresh refresh token and its access token for a user (simplejwt's `for_user`).
    pub fn issue_pair(&self, user_id: i64) -> Result<TokenPair, jsonwebtoken::errors::Error> {
        let now = self.clock.now_secs();
        let mut refresh = Map::new();
        refresh.insert("user_id".into(), Value::String(user_id.to_string()));
        let refresh = self.stamp(TokenType::Refresh, refresh, now);
        let access = self.access_from(&refresh, now);
        Ok(TokenPair {
            refresh: self.sign(&refresh)?,
            access: self.sign(&access)?,
        })
    }

    /// A new access token from a verified refresh token (simplejwt's `access_token`).
    pub fn access_for(&self, refresh: &Verified) -> Result<String, jsonwebtoken::errors::Error> {
        let access = self.access_from(&refresh.claims, self.clock.now_secs());
        self.sign(&access)
    }

    /// The rotated refresh token: same claims, new `jti`, `exp` and `iat` (so rotation
    /// extends the session by a full refresh lifetime, as in simplejwt).
    pub fn rotate(&self, refresh: &Verified) -> Result<String, jsonwebtoken::errors::Error> {
        let rotated = self.stamp(
            TokenType::Refresh,
            without_registered(&refresh.claims),
            self.clock.now_secs(),
        );
        self.sign(&rotated)
    }

    /// Checks a token. `expected` None is simplejwt's `UntypedToken` (the verify endpoint).
    pub fn verify(&self, raw: &str, expected: Option<TokenType>) -> Result<Verified, TokenError> {
        let claims = self.decode(raw)?;
        // simplejwt's Token.verify(): check_exp, then the jti, then the type.
        let exp = claims.get("exp").ok_or(TokenError::NoExp)?;
        let exp = claim_seconds(exp).ok_or(TokenError::Invalid)?;
        if exp.saturating_mul(1000) <= self.clock.now_ms().saturating_sub(self.leeway_ms) {
            return Err(TokenError::Expired);
        }
        if !claims.contains_key("jti") {
            return Err(TokenError::NoId);
        }
        if let Some(expected) = expected {
            match claims.get("token_type") {
                None => return Err(TokenError::NoType),
                Some(Value::String(kind)) if kind == expected.as_str() => {}
                Some(_) => return Err(TokenError::WrongType),
            }
        }
        Ok(Verified { claims })
    }

    /// PyJWT's `decode`: signature and algorithm, then `iat`, `nbf`, `exp` against the clock.
    fn decode(&self, raw: &str) -> Result<Map<String, Value>, TokenError> {
        let mut validation = Validation::new(self.keys.algorithm());
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.leeway = 0;
        let data =
            jsonwebtoken::decode::<Map<String, Value>>(raw, self.keys.decoding(), &validation)
                .map_err(|_| TokenError::Invalid)?;
        let claims = data.claims;
        let now = self.clock.now_ms();
        for not_before in ["iat", "nbf"] {
            if let Some(value) = claims.get(not_before) {
                let at = claim_seconds(value).ok_or(TokenError::Invalid)?;
                if at.saturating_mul(1000) > now.saturating_add(self.leeway_ms) {
                    return Err(TokenError::Invalid);
                }
            }
        }
        if let Some(value) = claims.get("exp") {
            let exp = claim_seconds(value).ok_or(TokenError::Invalid)?;
            if exp.saturating_mul(1000) <= now.saturating_sub(self.leeway_ms) {
                return Err(TokenError::Expired);
            }
        }
        if matches!(claims.get("jti"), Some(jti) if !jti.is_string()) {
            return Err(TokenError::Invalid);
        }
        Ok(claims)
    }

    fn access_from(&self, refresh: &Map<String, Value>, now: i64) -> Map<String, Value> {
        self.stamp(TokenType::Access, without_registered(refresh), now)
    }

    /// `token_type`, `exp`, `iat`, `jti` made anew, plus the carried-over claims.
    fn stamp(&self, kind: TokenType, rest: Map<String, Value>, now: i64) -> Map<String, Value> {
        let lifetime = match kind {
            TokenType::Access => self.access_lifetime,
            TokenType::Refresh => self.refresh_lifetime,
        };
        let mut claims = Map::new();
        claims.insert("token_type".into(), Value::String(kind.as_str().into()));
        claims.insert("exp".into(), Value::from(now.saturating_add(lifetime)));
        claims.insert("iat".into(), Value::from(now));
        claims.insert("jti".into(), Value::String(new_jti()));
        claims.extend(rest);
        claims
    }

    fn sign(&self, claims: &Map<String, Value>) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(self.keys.algorithm());
        header.kid = self.keys.kid().map(str::to_owned);
        jsonwebtoken::encode(&header, claims, self.keys.encoding())
    }
}
