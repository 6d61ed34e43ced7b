//! What a token says: the two token types, the claims of a token that passed every check, and
//! the claim rules issuing and checking share (which claims are made anew, how a time claim is
//! read, what a `jti` looks like).

use rand::RngCore as _;
use serde_json::{Map, Value};

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

/// simplejwt's `no_copy_claims`: what an access token or a rotated refresh token gets anew.
pub(super) fn without_registered(claims: &Map<String, Value>) -> Map<String, Value> {
    claims
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "token_type" | "exp" | "iat" | "jti"))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// A time claim as whole seconds, the way PyJWT reads it (`int(value)`).
pub(super) fn claim_seconds(value: &Value) -> Option<i64> {
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
