//! Reading what a session announced.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use tessera_session::SessionEvent;

/// The events received so far, without waiting.
pub fn drain(rx: &mut tokio::sync::broadcast::Receiver<SessionEvent>) -> Vec<SessionEvent> {
    let mut out = Vec::new();
    while let Ok(e) = rx.try_recv() {
        out.push(e);
    }
    out
}
