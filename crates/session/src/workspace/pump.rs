//! Event delivery: the one loop that carries a session's events to a shell's sink (the app's
//! window, the CLI's `--verbose` printer), and says how many a slow sink missed.

use std::sync::Arc;

use tokio::sync::broadcast::{error::RecvError, Receiver};
use tokio::task::JoinHandle;

use crate::events::SessionEvent;

/// What a sink receives.
#[derive(Debug, Clone, Copy)]
pub enum EventNotice<'a> {
    /// Something happened to a session.
    Event(&'a SessionEvent),
    /// The sink fell behind and this many events were dropped.
    Missed(u64),
}

/// Delivers `events` to `sink` until the session is gone.
pub(crate) fn forward(
    mut events: Receiver<SessionEvent>,
    sink: Arc<dyn Fn(EventNotice<'_>) + Send + Sync>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => sink(EventNotice::Event(&event)),
                Err(RecvError::Lagged(missed)) => sink(EventNotice::Missed(missed)),
                Err(RecvError::Closed) => break,
            }
        }
    })
}
