//! What the opt-in test controls (`--test-controls`; never on by default) remember between
//! requests: request counters, the injected refresh failures still due, and the delay added to
//! every response. The HTTP side — the `/_test/` endpoints and the middleware that applies
//! these — is [`crate::test_control_views`]; this module depends on no other module of the
//! crate, so that the shared state ([`crate::state`]) can hold it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use axum::http::{Method, StatusCode};

/// The refresh endpoint's path (what `fail-refresh` targets).
pub const REFRESH_PATH: &str = "/api/token/refresh/";

/// What the next refresh requests answer instead of being processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FailurePlan {
    /// How many more requests fail.
    pub(crate) remaining: u64,
    pub(crate) status: StatusCode,
    /// `Retry-After` seconds, if any.
    pub(crate) retry_after: Option<u64>,
}

impl Default for FailurePlan {
    fn default() -> Self {
        Self {
            remaining: 0,
            status: StatusCode::SERVICE_UNAVAILABLE,
            retry_after: None,
        }
    }
}

/// Counters and injected faults.
#[derive(Debug, Default)]
pub struct TestControls {
    counts: Mutex<BTreeMap<String, u64>>,
    failures: Mutex<FailurePlan>,
    delay_ms: AtomicU64,
}

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl TestControls {
    pub fn new() -> Self {
        Self::default()
    }

    /// A snapshot of the counters.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        locked(&self.counts).clone()
    }

    pub(crate) fn count(&self, method: &Method, path: &str, status: StatusCode) {
        let key = format!("{method} {path} {}", status.as_u16());
        *locked(&self.counts).entry(key).or_insert(0) += 1;
    }

    /// Zero counters, no injected failure, no delay.
    pub(crate) fn reset(&self) {
        locked(&self.counts).clear();
        *locked(&self.failures) = FailurePlan::default();
        self.delay_ms.store(0, Ordering::SeqCst);
    }

    /// Takes one injected failure for this request, if one is due.
    pub(crate) fn take_failure(&self, method: &Method, path: &str) -> Option<FailurePlan> {
        if method != Method::POST || path != REFRESH_PATH {
            return None;
        }
        let mut plan = locked(&self.failures);
        if plan.remaining == 0 {
            return None;
        }
        plan.remaining -= 1;
        Some(*plan)
    }

    /// The next `plan.remaining` refresh requests answer `plan.status`.
    pub(crate) fn plan_failures(&self, plan: FailurePlan) {
        *locked(&self.failures) = plan;
    }

    /// How long every request is delayed, in milliseconds.
    pub(crate) fn delay_ms(&self) -> u64 {
        self.delay_ms.load(Ordering::SeqCst)
    }

    pub(crate) fn set_delay_ms(&self, ms: u64) {
        self.delay_ms.store(ms, Ordering::SeqCst);
    }
}
