//! Wall-clock time behind a trait, so that expiry, scheduling and clock-skew logic is tested by
//! moving a `ManualClock` instead of sleeping. `ManualClock` exists only in this crate's tests
//! and with the `test-util` feature (for the tests and benchmarks of other crates).
//!
//! Only wall-clock decisions (token expiry, refresh time) go through [`Clock`]; timeouts and
//! backoff sleeps use tokio's timers.

use std::time::{SystemTime, UNIX_EPOCH};

/// A source of wall-clock time.
pub trait Clock: Send + Sync + 'static {
    /// The current local time.
    fn now(&self) -> SystemTime;
}

/// The machine's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

#[cfg(any(test, feature = "test-util"))]
mod manual;
#[cfg(any(test, feature = "test-util"))]
pub use manual::ManualClock;

/// Milliseconds since the Unix epoch (negative before it).
pub(crate) fn unix_millis(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

/// Whole seconds since the Unix epoch.
#[cfg(any(test, feature = "test-util"))]
pub(crate) fn unix_secs(t: SystemTime) -> i64 {
    unix_millis(t).div_euclid(1000)
}
