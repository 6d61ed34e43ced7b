//! Tokens made by the test itself: JWS-shaped, with chosen claims and a dummy signature
//! (nothing verifies them), for canned answers and for sessions planted in a fake keyring.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

/// A compact JWS with these claims (HS256 header, a dummy signature: nothing verifies it).
pub fn jwt(claims: &Value) -> String {
    let part = |s: &str| URL_SAFE_NO_PAD.encode(s);
    format!(
        "{}.{}.{}",
        part(r#"{"alg":"HS256","typ":"JWT"}"#),
        part(&claims.to_string()),
        part("not-a-real-signature")
    )
}

pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn access_claims(now: i64) -> Value {
    json!({"token_type": "access", "exp": now + 300, "iat": now, "jti": "a1", "user_id": "7"})
}

/// An access token as a server would send it in a canned answer: still valid after the refresh
/// tests move the client's clock past the stored token's expiry.
pub fn fresh_claims(now: i64) -> Value {
    json!({"token_type": "access", "exp": now + 3600, "iat": now, "jti": "a2", "user_id": "7"})
}

pub fn refresh_claims(now: i64) -> Value {
    json!({"token_type": "refresh", "exp": now + 86_400, "iat": now, "jti": "r1", "user_id": "7"})
}
