//! What happens to a session, as a stream the app shows and the CLI prints with `--verbose`.
//!
//! Events are broadcast (`tokio::sync::broadcast`): a slow subscriber misses old events rather
//! than slowing the session down. They serialise as `{"event": "refreshed", "profile": ...}` and
//! never carry a token, a password or a token fragment.

use serde::Serialize;

/// One thing that happened to a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SessionEvent {
    /// Signed in with credentials.
    LoggedIn {
        /// Profile name.
        profile: String,
        /// The user id claim, if any.
        user_id: Option<String>,
    },
    /// A new account was registered (a `LoggedIn` follows).
    Registered {
        /// Profile name.
        profile: String,
    },
    /// A session was read back from the keyring.
    Restored {
        /// Profile name.
        profile: String,
        /// The user id claim, if any.
        user_id: Option<String>,
    },
    /// The access token was renewed.
    Refreshed {
        /// Profile name.
        profile: String,
        /// The server sent a new refresh token (rotation).
        rotated: bool,
        /// Another process had already refreshed; its tokens were taken from the keyring.
        by_other_process: bool,
        /// New access token expiry, Unix seconds (server time).
        access_expires_at: Option<i64>,
    },
    /// A request got 401 `token_not_valid`, the token was refreshed and the request sent again.
    #[serde(rename = "replayed_after_401")]
    ReplayedAfter401 {
        /// Profile name.
        profile: String,
        /// HTTP method.
        method: String,
        /// Path of the request (no query string).
        path: String,
    },
    /// A refresh failed for a reason that may pass (network, timeout, 5xx, 429). The session is kept.
    RefreshFailedTransiently {
        /// Profile name.
        profile: String,
        /// Attempt number, from 1.
        attempt: u32,
        /// Error code (`network`, `timeout`, `server_error`, `rate_limited`).
        code: String,
        /// When the next attempt happens, if one does.
        retry_in_ms: Option<u64>,
    },
    /// The session is over (refresh token refused, expired, or signed out elsewhere).
    SessionExpired {
        /// Profile name.
        profile: String,
        /// Why, for a user.
        reason: String,
    },
    /// Signed out.
    LoggedOut {
        /// Profile name.
        profile: String,
        /// The server confirmed the refresh token is blacklisted.
        server_revoked: bool,
    },
}

impl SessionEvent {
    /// The event's name (`logged_in`, `refreshed`, ...), as serialised.
    pub fn name(&self) -> &'static str {
        match self {
            SessionEvent::LoggedIn { .. } => "logged_in",
            SessionEvent::Registered { .. } => "registered",
            SessionEvent::Restored { .. } => "restored",
            SessionEvent::Refreshed { .. } => "refreshed",
            SessionEvent::ReplayedAfter401 { .. } => "replayed_after_401",
            SessionEvent::RefreshFailedTransiently { .. } => "refresh_failed_transiently",
            SessionEvent::SessionExpired { .. } => "session_expired",
            SessionEvent::LoggedOut { .. } => "logged_out",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialise_with_a_tag() {
        let e = SessionEvent::Refreshed {
            profile: "prod".into(),
            rotated: true,
            by_other_process: false,
            access_expires_at: Some(10),
        };
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["event"], e.name());
        assert_eq!(json["rotated"], true);
        let e = SessionEvent::ReplayedAfter401 {
            profile: "p".into(),
            method: "POST".into(),
            path: "/x".into(),
        };
        assert_eq!(serde_json::to_value(&e).unwrap()["event"], e.name());
    }
}
