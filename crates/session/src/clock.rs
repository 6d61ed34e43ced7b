//! Wall-clock time behind a trait, so that expiry, scheduling and clock-skew logic is tested by
//! moving a [`ManualClock`] instead of sleeping.
//!
//! Only wall-clock decisions (token expiry, refresh time) go through [`Clock`]; timeouts and
//! backoff sleeps use tokio's timers.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

/// A clock that only moves when told to. For tests (of this crate and of its users).
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<SystemTime>,
}

impl ManualClock {
    /// A clock that reads `start` until moved.
    pub fn new(start: SystemTime) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    /// A clock starting at the machine's current time (whole seconds).
    pub fn starting_now() -> Self {
        let secs = unix_secs(SystemTime::now());
        Self::new(UNIX_EPOCH + Duration::from_secs(secs.max(0).unsigned_abs()))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }

    /// Moves the clock backward (a user fixing their clock).
    pub fn rewind(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now = now.checked_sub(by).unwrap_or(UNIX_EPOCH);
    }

    /// Sets the clock.
    pub fn set(&self, to: SystemTime) {
        *self.now.lock().unwrap_or_else(|p| p.into_inner()) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Milliseconds since the Unix epoch (negative before it).
pub(crate) fn unix_millis(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

/// Whole seconds since the Unix epoch.
pub(crate) fn unix_secs(t: SystemTime) -> i64 {
    unix_millis(t).div_euclid(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_000));
        assert_eq!(unix_secs(clock.now()), 1_000);
        clock.advance(Duration::from_millis(1_500));
        assert_eq!(unix_millis(clock.now()), 1_001_500);
        clock.rewind(Duration::from_secs(2));
        assert_eq!(unix_millis(clock.now()), 999_500);
        assert_eq!(unix_millis(UNIX_EPOCH - Duration::from_millis(5)), -5);
    }
}
