//! When an access token is due for renewal: at `exp − margin`, where the margin is the
//! profile's, shrunk to a quarter of the token's lifetime for short-lived tokens (so a token is
//! never refreshed right after it was issued). Times are Unix milliseconds in the server's
//! clock.
//!
//! Pure arithmetic on claims, kept apart so that the engine's status, the request path, the
//! refresh flow and the background refresher all schedule alike without importing each other.

use std::time::Duration;

use crate::claims::Claims;

/// The margin actually used: the configured one, but at most a quarter of the token's lifetime.
pub(crate) fn effective_margin_ms(configured: Duration, lifetime_secs: Option<i64>) -> i64 {
    let configured = i64::try_from(configured.as_millis()).unwrap_or(i64::MAX);
    match lifetime_secs {
        Some(lifetime) if lifetime > 0 => configured.min(lifetime.saturating_mul(1000) / 4),
        _ => configured,
    }
}

/// When the token should be refreshed, Unix milliseconds, server time. `None` without `exp`.
pub(crate) fn refresh_at_ms(claims: &Claims, margin: Duration) -> Option<i64> {
    let exp_ms = claims.exp?.saturating_mul(1000);
    Some(exp_ms.saturating_sub(effective_margin_ms(margin, claims.lifetime_secs())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    fn claims(iat: i64, exp: i64) -> Claims {
        Claims {
            iat: Some(iat),
            exp: Some(exp),
            all: Map::new(),
            ..Claims::default()
        }
    }

    #[test]
    fn margin_shrinks_for_short_lived_tokens() {
        let margin = Duration::from_secs(60);
        // 5 minutes: full margin
        assert_eq!(refresh_at_ms(&claims(1000, 1300), margin), Some(1_240_000));
        // 2 minutes: a quarter of the lifetime (30 s), not 60 s
        assert_eq!(refresh_at_ms(&claims(1000, 1120), margin), Some(1_090_000));
        // 4 seconds: 1 s before exp, never right after issue
        assert_eq!(refresh_at_ms(&claims(1000, 1004), margin), Some(1_003_000));
        // no iat: configured margin
        let c = Claims {
            exp: Some(2000),
            ..Claims::default()
        };
        assert_eq!(refresh_at_ms(&c, margin), Some(1_940_000));
        assert_eq!(refresh_at_ms(&Claims::default(), margin), None);
    }
}
