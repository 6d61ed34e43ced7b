//! "Share with local tools" (issue 17): the home screen's switch runs a `tessera-proxy`
//! [`LocalProxy`] inside the app, so curl, pytest or Postman on this computer use the signed-in
//! session through `http://127.0.0.1:PORT/CAPABILITY` without ever holding a token.
//!
//! This module exists so that the commands stay a line or two: it owns the one proxy the app
//! runs (at most one at a time), and the rule for when it stops — when asked, when the profile
//! it lends is signed out, switched away from, saved (renamed, pointed at another server, or
//! edited) or removed, when that profile's session ends (the engine's `logged_out` and
//! `session_expired` events, [`Sharing::session_ended`]), and when the app quits
//! ([`stop_on_exit`]).
//!
//! The URL holds the capability: whoever has it can use the session. It crosses IPC (the user
//! must see and copy it) but is never logged — [`SharingInfo`]'s `Debug` hides it, and nothing
//! here formats it into a log line.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tessera_proxy::{LocalProxy, ProxyOptions};
use tessera_session::Workspace;

use crate::error::CommandResult;
use crate::models::SharingInfo;

/// How long quitting the app waits for tools' requests in flight to finish.
const EXIT_DRAIN: Duration = Duration::from_secs(2);

/// The app's one local proxy, when sharing is on.
#[derive(Default)]
pub struct Sharing {
    running: Mutex<Option<LocalProxy>>,
    /// Starts and stops take turns: two quick flips of the switch never leave two proxies.
    turn: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Sharing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `try_lock`: formatting never waits for (or deadlocks on) the slot.
        let profile = self
            .running
            .try_lock()
            .ok()
            .and_then(|slot| slot.as_ref().map(|proxy| proxy.profile().to_owned()));
        f.debug_struct("Sharing")
            .field("profile", &profile)
            .finish_non_exhaustive()
    }
}

impl Sharing {
    /// Lends `profile`'s session (which must be signed in: else `login_required`) through a
    /// new proxy on a free loopback port. Already lending it: the same proxy. Lending another
    /// profile: that proxy stops first.
    pub async fn start(
        &self,
        workspace: &Arc<Workspace>,
        profile: &str,
    ) -> CommandResult<SharingInfo> {
        let _turn = self.turn.lock().await;
        if let Some(info) = self.status().filter(|info| info.profile == profile) {
            return Ok(info);
        }
        if let Some(other) = self.take() {
            other.stop().await;
        }
        let proxy = LocalProxy::start(workspace.clone(), profile, ProxyOptions::default()).await?;
        let info = SharingInfo::of(&proxy);
        *self.slot() = Some(proxy);
        Ok(info)
    }

    /// Stops sharing (nothing to do when it is off), once tools' requests in flight finish.
    pub async fn stop(&self) {
        let _turn = self.turn.lock().await;
        if let Some(proxy) = self.take() {
            proxy.stop().await;
        }
    }

    /// Stops sharing if it lends `profile` (signed out, saved or removed).
    pub async fn stop_lending(&self, profile: &str) {
        if self.lends(profile) {
            self.stop().await;
        }
    }

    /// Stops sharing if it lends a profile other than `profile` (the user switched to it).
    pub async fn stop_unless(&self, profile: &str) {
        if self.status().is_some_and(|info| info.profile != profile) {
            self.stop().await;
        }
    }

    /// What is shared now, if anything.
    pub fn status(&self) -> Option<SharingInfo> {
        self.slot().as_ref().map(SharingInfo::of)
    }

    /// `profile`'s session ended (an engine event): its proxy stops accepting requests now,
    /// without waiting for those in flight (the event sink cannot wait).
    pub fn session_ended(&self, profile: &str) {
        let mut slot = self.slot();
        if slot.as_ref().is_some_and(|p| p.profile() == profile) {
            // Dropping the handle stops the proxy.
            drop(slot.take());
        }
    }

    fn lends(&self, profile: &str) -> bool {
        self.slot().as_ref().is_some_and(|p| p.profile() == profile)
    }

    fn take(&self) -> Option<LocalProxy> {
        self.slot().take()
    }

    fn slot(&self) -> MutexGuard<'_, Option<LocalProxy>> {
        // The slot holds no invariant a panicked holder could break: take it back.
        self.running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// When the app quits, sharing stops (tools' requests get a moment to finish). The stop runs on
/// the async runtime while the main thread waits for it, bounded: the main thread never blocks
/// on the runtime itself.
pub fn stop_on_exit(sharing: &Sharing) {
    let Some(proxy) = sharing.take() else {
        return;
    };
    let (done, stopped) = std::sync::mpsc::channel::<()>();
    tauri::async_runtime::spawn(async move {
        proxy.stop().await;
        let _ = done.send(());
    });
    let _ = stopped.recv_timeout(EXIT_DRAIN);
}
