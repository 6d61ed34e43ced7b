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

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Header, Validation};
use rand::RngCore as _;
use serde_json::{Map, Value};

use crate::clock::Clock;
use crate::keys::SigningKeys;

/// Why a token was refused; `Display` is simplejwt's English message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("Token is expired")]
    Expired,
    #[error("Token is invalid")]
    Invalid,
    #[error("Token has wrong type")]
    WrongType,
    #[error("Token has no type")]
    NoType,
    #[error("Token has no id")]
    NoId,
    #[error("Token has no 'exp' claim")]
    NoExp,
    #[error("Token is blacklisted")]
    Blacklisted,
}

/// The two token types this server issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenType {
    Access,
    Refresh,
}

impl TokenType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Refresh => "refresh",
        }
    }
}

/// A token that passed every check; its claims, as sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub claims: Map<String, Value>,
}

impl Verified {
    /// The `jti` claim (always present after verification).
    pub fn jti(&self) -> &str {
        self.claims.get("jti").and_then(Value::as_str).unwrap_or("")
    }

    /// The `exp` claim in seconds (always present after verification).
    pub fn exp(&self) -> i64 {
        self.claims.get("exp").and_then(claim_seconds).unwrap_or(0)
    }

    /// The `user_id` claim as the string simplejwt puts there (numbers accepted too).
    pub fn user_id(&self) -> Option<String> {
        match self.claims.get("user_id")? {
            Value::String(text) => Some(text.clone()),
            Value::Number(number) => Some(number.to_string()),
            _ => None,
        }
    }
}

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

/// simplejwt's `no_copy_claims`: what an access token or a rotated refresh token gets anew.
fn without_registered(claims: &Map<String, Value>) -> Map<String, Value> {
    claims
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "token_type" | "exp" | "iat" | "jti"))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// A time claim as whole seconds, the way PyJWT reads it (`int(value)`).
fn claim_seconds(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number.as_i64().or_else(|| {
            number
                .as_f64()
                .filter(|f| f.is_finite())
                .map(|f| f.trunc() as i64)
        }),
        _ => None,
    }
}

/// 32 lowercase hex digits shaped like a version-4 UUID, as `uuid4().hex`.
pub fn new_jti() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn service(clock: Arc<Clock>, access: u64, leeway: u64) -> TokenService {
        TokenService::new(
            SigningKeys::hs256(b"test-secret"),
            clock,
            Duration::from_secs(access),
            Duration::from_secs(86_400),
            Duration::from_secs(leeway),
        )
    }

    fn payload(token: &str) -> Map<String, Value> {
        let part = token.split('.').nth(1).unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn claims_are_exactly_simplejwts() {
        let clock = Arc::new(Clock::new());
        let tokens = service(clock.clone(), 300, 0);
        let pair = tokens.issue_pair(42).unwrap();
        let access = payload(&pair.access);
        let refresh = payload(&pair.refresh);
        let keys: Vec<_> = access.keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 5);
        for claim in ["token_type", "exp", "iat", "jti", "user_id"] {
            assert!(
                access.contains_key(claim) && refresh.contains_key(claim),
                "{claim}"
            );
        }
        assert_eq!(access["token_type"], "access");
        assert_eq!(refresh["token_type"], "refresh");
        assert_eq!(access["user_id"], "42", "user_id is a string");
        let iat = access["iat"].as_i64().unwrap();
        assert_eq!(access["exp"].as_i64().unwrap(), iat + 300);
        assert_eq!(
            refresh["exp"].as_i64().unwrap(),
            refresh["iat"].as_i64().unwrap() + 86_400
        );
        assert_ne!(access["jti"], refresh["jti"]);
        let jti = access["jti"].as_str().unwrap();
        assert_eq!(jti.len(), 32);
        assert!(jti
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    }

    #[test]
    fn type_is_checked() {
        let tokens = service(Arc::new(Clock::new()), 300, 0);
        let pair = tokens.issue_pair(1).unwrap();
        assert!(tokens.verify(&pair.access, Some(TokenType::Access)).is_ok());
        assert!(tokens
            .verify(&pair.refresh, Some(TokenType::Refresh))
            .is_ok());
        assert_eq!(
            tokens.verify(&pair.refresh, Some(TokenType::Access)),
            Err(TokenError::WrongType)
        );
        assert_eq!(
            tokens.verify(&pair.access, Some(TokenType::Refresh)),
            Err(TokenError::WrongType)
        );
        assert!(
            tokens.verify(&pair.refresh, None).is_ok(),
            "untyped accepts both"
        );
    }

    #[test]
    fn expiry_follows_the_clock_and_leeway() {
        let clock = Arc::new(Clock::new());
        let strict = service(clock.clone(), 10, 0);
        let lenient = service(clock.clone(), 10, 30);
        let pair = strict.issue_pair(1).unwrap();
        clock.shift(11);
        assert_eq!(
            strict.verify(&pair.access, Some(TokenType::Access)),
            Err(TokenError::Expired)
        );
        assert!(lenient
            .verify(&pair.access, Some(TokenType::Access))
            .is_ok());
        clock.shift(30);
        assert_eq!(
            lenient.verify(&pair.access, Some(TokenType::Access)),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn tokens_issued_in_the_future_are_invalid_like_pyjwt() {
        let clock = Arc::new(Clock::new());
        let tokens = service(clock.clone(), 300, 0);
        let pair = tokens.issue_pair(1).unwrap();
        clock.shift(-5);
        assert_eq!(
            tokens.verify(&pair.access, Some(TokenType::Access)),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn tampering_and_foreign_keys_are_invalid() {
        let tokens = service(Arc::new(Clock::new()), 300, 0);
        let other = TokenService::new(
            SigningKeys::hs256(b"another-secret"),
            Arc::new(Clock::new()),
            Duration::from_secs(300),
            Duration::from_secs(300),
            Duration::ZERO,
        );
        let pair = tokens.issue_pair(1).unwrap();
        let mut tampered = pair.access.clone();
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        for bad in [tampered.as_str(), "garbage", "", "a.b.c"] {
            assert_eq!(
                tokens.verify(bad, None),
                Err(TokenError::Invalid),
                "{bad:?}"
            );
        }
        let foreign = other.issue_pair(1).unwrap();
        assert_eq!(
            tokens.verify(&foreign.access, None),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn alg_none_and_other_algorithms_are_refused() {
        let tokens = service(Arc::new(Clock::new()), 300, 0);
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let now = Clock::new().now_secs();
        let body = b64.encode(format!(
            r#"{{"token_type":"access","exp":{},"iat":{now},"jti":"x","user_id":"1"}}"#,
            now + 100
        ));
        let none = format!("{}.{}.", b64.encode(r#"{"alg":"none","typ":"JWT"}"#), body);
        assert_eq!(tokens.verify(&none, None), Err(TokenError::Invalid));
        let hs512 = jsonwebtoken::encode(
            &Header::new(jsonwebtoken::Algorithm::HS512),
            &serde_json::json!({"token_type":"access","exp":now + 100,"iat":now,"jti":"x","user_id":"1"}),
            &jsonwebtoken::EncodingKey::from_secret(b"test-secret"),
        )
        .unwrap();
        assert_eq!(tokens.verify(&hs512, None), Err(TokenError::Invalid));
    }

    #[test]
    fn missing_claims_get_simplejwts_messages() {
        let tokens = service(Arc::new(Clock::new()), 300, 0);
        let now = Clock::new().now_secs();
        let sign = |claims: Value| {
            jsonwebtoken::encode(
                &Header::default(),
                &claims,
                &jsonwebtoken::EncodingKey::from_secret(b"test-secret"),
            )
            .unwrap()
        };
        let no_exp = sign(serde_json::json!({"token_type":"access","jti":"x"}));
        assert_eq!(tokens.verify(&no_exp, None), Err(TokenError::NoExp));
        let no_jti = sign(serde_json::json!({"token_type":"access","exp":now + 60}));
        assert_eq!(tokens.verify(&no_jti, None), Err(TokenError::NoId));
        let no_type = sign(serde_json::json!({"exp":now + 60,"jti":"x"}));
        assert_eq!(
            tokens.verify(&no_type, Some(TokenType::Access)),
            Err(TokenError::NoType)
        );
        assert!(tokens.verify(&no_type, None).is_ok());
    }

    #[test]
    fn rotation_keeps_user_and_renews_the_rest() {
        let clock = Arc::new(Clock::new());
        let tokens = service(clock.clone(), 300, 0);
        let pair = tokens.issue_pair(7).unwrap();
        let old = tokens
            .verify(&pair.refresh, Some(TokenType::Refresh))
            .unwrap();
        clock.shift(100);
        let rotated = tokens.rotate(&old).unwrap();
        let new = tokens.verify(&rotated, Some(TokenType::Refresh)).unwrap();
        assert_eq!(new.user_id().as_deref(), Some("7"));
        assert_ne!(new.jti(), old.jti());
        assert!(new.exp() >= old.exp() + 100);
        let access = tokens.access_for(&new).unwrap();
        let access = tokens.verify(&access, Some(TokenType::Access)).unwrap();
        assert_eq!(access.user_id().as_deref(), Some("7"));
    }

    #[test]
    fn error_messages_are_simplejwts() {
        assert_eq!(TokenError::Expired.to_string(), "Token is expired");
        assert_eq!(TokenError::Invalid.to_string(), "Token is invalid");
        assert_eq!(TokenError::WrongType.to_string(), "Token has wrong type");
        assert_eq!(TokenError::Blacklisted.to_string(), "Token is blacklisted");
    }

    #[test]
    fn rs256_tokens_verify_with_the_published_key_only() {
        let pem = include_str!("../tests/fixtures/test-rsa-key.pem");
        let keys = SigningKeys::rs256_from_pem(pem).unwrap();
        let jwks = keys.jwks();
        let tokens = TokenService::new(
            keys,
            Arc::new(Clock::new()),
            Duration::from_secs(300),
            Duration::from_secs(300),
            Duration::ZERO,
        );
        let pair = tokens.issue_pair(3).unwrap();
        let header = jsonwebtoken::decode_header(&pair.access).unwrap();
        assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
        assert_eq!(header.kid.as_deref(), jwks["keys"][0]["kid"].as_str());
        let key = &jwks["keys"][0];
        let decoding = jsonwebtoken::DecodingKey::from_rsa_components(
            key["n"].as_str().unwrap(),
            key["e"].as_str().unwrap(),
        )
        .unwrap();
        let mut validation = Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.required_spec_claims.clear();
        let decoded =
            jsonwebtoken::decode::<Map<String, Value>>(&pair.access, &decoding, &validation)
                .unwrap();
        assert_eq!(decoded.claims["user_id"], "3");
        assert!(tokens.verify(&pair.access, Some(TokenType::Access)).is_ok());
    }
}
