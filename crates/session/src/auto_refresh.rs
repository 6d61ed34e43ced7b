//! The background refresher behind `Session::spawn_auto_refresh`: a task that wakes when the
//! access token is due (`schedule.rs`) and refreshes it through the same single-flight path a
//! request uses (`refresh.rs`). It holds the engine weakly, so dropping the last `Session`
//! ends it.

use std::sync::Weak;
use std::time::Duration;

use crate::engine::Engine;
use crate::refresh::{ensure_fresh, Trigger};
use crate::schedule::refresh_at_ms;

/// The longest the background refresher waits between attempts after failures.
const MAX_LOOP_BACKOFF: Duration = Duration::from_secs(600);

/// The background refresher behind `Session::spawn_auto_refresh`. After a transient failure it
/// waits longer each time (from `auto_refresh_max_nap`, doubling, at most ten minutes, with
/// jitter) and never before a `Retry-After` the server gave; waits are measured on the injected
/// clock and slept in naps of at most `auto_refresh_max_nap`, so a sleep/wake is noticed.
pub(crate) async fn auto_refresh_loop(engine: Weak<Engine>) {
    let mut failures = 0u32;
    let mut next_try_ms: Option<i64> = None;
    loop {
        let Some(strong) = engine.upgrade() else {
            return;
        };
        let max_nap = strong.options.auto_refresh_max_nap;
        let snapshot = {
            let state = strong.read_state();
            state.live.as_ref().map(|live| {
                (
                    refresh_at_ms(&live.access_claims, strong.profile.refresh_margin()),
                    live.offset_ms,
                    state.generation,
                    state.flights,
                )
            })
        };
        let Some((refresh_at, offset_ms, generation, flights)) = snapshot else {
            return;
        };
        let now_server = strong.server_now_ms(offset_ms);
        let mut due_in = refresh_at.map(|at| at.saturating_sub(now_server));
        if let Some(next) = next_try_ms {
            let wait = next.saturating_sub(strong.now_ms());
            if wait > 0 {
                due_in = Some(due_in.map_or(wait, |d| d.max(wait)));
            }
        }
        match due_in {
            Some(ms) if ms <= 0 => {
                match ensure_fresh(&strong, generation, flights, Trigger::Expiring).await {
                    Ok(()) => {
                        failures = 0;
                        next_try_ms = None;
                    }
                    Err(e) if e.needs_login() => return,
                    Err(_) => {
                        failures = failures.saturating_add(1);
                        let backoff = max_nap
                            .saturating_mul(2u32.saturating_pow(failures.saturating_sub(1).min(16)))
                            .min(MAX_LOOP_BACKOFF.max(max_nap));
                        let jittered = backoff / 2
                            + Duration::from_millis(fastrand::u64(
                                ..=(backoff / 2).as_millis() as u64,
                            ));
                        let mut until = strong.now_ms().saturating_add(
                            i64::try_from(jittered.as_millis()).unwrap_or(i64::MAX),
                        );
                        if let Some(not_before) = strong.read_state().refresh_not_before_ms {
                            until = until.max(not_before);
                        }
                        next_try_ms = Some(until);
                        drop(strong);
                        tokio::time::sleep(max_nap).await;
                    }
                }
            }
            other => {
                drop(strong);
                let nap = other.map_or(max_nap, |ms| {
                    Duration::from_millis(ms.unsigned_abs()).min(max_nap)
                });
                tokio::time::sleep(nap).await;
            }
        }
    }
}
