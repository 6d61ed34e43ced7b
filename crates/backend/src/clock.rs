//! The server's clock. Every token timestamp (issuing and checking) reads it, so that the
//! `/_test/clock` control can move the server's "now" without touching the machine's clock.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Wall-clock time plus an adjustable offset.
#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    /// A clock that tells the real time (no offset).
    pub fn new() -> Self {
        Self::default()
    }

    /// Milliseconds since the Unix epoch, offset included.
    pub fn now_ms(&self) -> i64 {
        let real = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(since) => i64::try_from(since.as_millis()).unwrap_or(i64::MAX),
            // A clock before 1970: report it as negative milliseconds.
            Err(before) => -i64::try_from(before.duration().as_millis()).unwrap_or(i64::MAX),
        };
        real.saturating_add(self.offset_ms.load(Ordering::SeqCst))
    }

    /// Whole seconds since the Unix epoch (what `iat` and `exp` are made of), offset included.
    pub fn now_secs(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Moves the clock `secs` further (negative: back). Cumulative; returns the total offset.
    pub fn shift(&self, secs: i64) -> i64 {
        let delta = secs.saturating_mul(1000);
        let previous = self.offset_ms.fetch_add(delta, Ordering::SeqCst);
        previous.saturating_add(delta) / 1000
    }

    /// The current offset in whole seconds.
    pub fn offset_secs(&self) -> i64 {
        self.offset_ms.load(Ordering::SeqCst) / 1000
    }

    /// Back to real time.
    pub fn reset(&self) {
        self.offset_ms.store(0, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_is_cumulative_and_reset_restores_real_time() {
        let clock = Clock::new();
        let before = clock.now_secs();
        assert_eq!(clock.shift(100), 100);
        assert_eq!(clock.shift(-30), 70);
        assert_eq!(clock.offset_secs(), 70);
        let shifted = clock.now_secs();
        assert!((shifted - before - 70).abs() <= 1, "{shifted} vs {before}");
        clock.reset();
        assert_eq!(clock.offset_secs(), 0);
        assert!((clock.now_secs() - before).abs() <= 1);
    }
}
