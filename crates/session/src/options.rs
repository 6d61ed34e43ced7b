//! The engine's tunables that are not profile settings: keyring and lock timeouts, refresh
//! retries, sign-out waits, response size.
//!
//! They live apart from the [`Session`](crate::Session) facade because every layer under it
//! reads them (the per-profile engine holds them, the refresh flow retries by them), and those
//! layers must not import the facade. Both types are re-exported where they always were:
//! `tessera_session::SessionOptions` (also `session::SessionOptions`) and
//! `tessera_session::RetryPolicy` (also `refresh::RetryPolicy`).

use std::time::Duration;

/// Tunables that are not profile settings.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// Give up on a keyring call after this long (`keyring_unavailable`).
    pub keyring_timeout: Duration,
    /// Give up waiting for another process's refresh after this long (`lock_timeout`).
    pub lock_timeout: Duration,
    /// Retries of a refresh that failed transiently.
    pub retry: RetryPolicy,
    /// Total time allowed for the best-effort blacklist call on logout.
    pub logout_timeout: Duration,
    /// Largest response body read.
    pub max_response_bytes: usize,
    /// The background refresher re-reads the wall clock at least this often (sleep/wake).
    pub auto_refresh_max_nap: Duration,
    /// How long a sign-out waits for a refresh in flight (in any process) to finish, so that it
    /// can blacklist the refresh token that refresh receives. `None`: the profile's request
    /// timeout plus five seconds (one refresh attempt). A refresh still running after that
    /// blacklists what it receives itself.
    pub logout_lock_wait: Option<Duration>,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            keyring_timeout: Duration::from_secs(5),
            lock_timeout: Duration::from_secs(90),
            retry: RetryPolicy::default(),
            logout_timeout: Duration::from_secs(3),
            max_response_bytes: 16 * 1024 * 1024,
            auto_refresh_max_nap: Duration::from_secs(30),
            logout_lock_wait: None,
        }
    }
}

/// Retries of a transiently failed refresh.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in total (the first included).
    pub max_attempts: u32,
    /// First backoff delay; doubles each attempt (with jitter).
    pub base_delay: Duration,
    /// Largest backoff delay.
    pub max_delay: Duration,
    /// A `Retry-After` longer than this is not waited for: the error is surfaced instead.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The delay before attempt `attempt + 1`: exponential, capped, with jitter in [½, 1].
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
            .min(self.max_delay);
        let half = exp / 2;
        half + Duration::from_millis(fastrand::u64(..=half.as_millis() as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded_and_jittered() {
        let p = RetryPolicy::default();
        for attempt in 1..20 {
            let d = p.backoff(attempt);
            assert!(d <= p.max_delay, "{attempt}: {d:?}");
            assert!(d >= p.base_delay / 2);
        }
        let first = p.backoff(1);
        assert!(first >= Duration::from_millis(250) && first <= Duration::from_millis(500));
    }
}
