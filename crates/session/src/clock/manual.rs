//! A clock that only moves when told to, for tests of this crate and of its users (the
//! `test-util` feature): expiry, scheduling and clock skew are tested by moving it instead of
//! sleeping. Not in the normal build.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{unix_secs, Clock};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::unix_millis;

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
