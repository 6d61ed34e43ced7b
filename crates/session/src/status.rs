//! What the app and the CLI may show about a session: expiries, user, claims — never a token.

use serde::Serialize;
use serde_json::{Map, Value};

/// A snapshot of a session, safe to display and to serialise.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionStatus {
    /// Profile name.
    pub profile: String,
    /// Whether tokens are held.
    pub signed_in: bool,
    /// Why not signed in (when `signed_in` is false and there is a reason).
    pub reason: Option<String>,
    /// The user id claim.
    pub user_id: Option<String>,
    /// Sliding-token mode.
    pub sliding: bool,
    /// Access (or sliding) token expiry, Unix seconds, server time.
    pub access_expires_at: Option<i64>,
    /// Whether the access token is expired now (in server time).
    pub access_expired: bool,
    /// Until when the session can be renewed (refresh token `exp`, or sliding `refresh_exp`).
    pub refresh_expires_at: Option<i64>,
    /// When the next proactive refresh is due, Unix seconds, server time.
    pub next_refresh_at: Option<i64>,
    /// Estimated server-minus-local clock offset, milliseconds.
    pub clock_offset_ms: i64,
    /// The access token's claims (claims are not secret; the token is never shown).
    pub claims: Map<String, Value>,
}

impl SessionStatus {
    pub(crate) fn signed_out(profile: &str, reason: Option<String>) -> Self {
        Self {
            profile: profile.to_owned(),
            signed_in: false,
            reason,
            user_id: None,
            sliding: false,
            access_expires_at: None,
            access_expired: false,
            refresh_expires_at: None,
            next_refresh_at: None,
            clock_offset_ms: 0,
            claims: Map::new(),
        }
    }
}
