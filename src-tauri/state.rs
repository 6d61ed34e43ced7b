//! The app's managed state: the engine's [`Workspace`] (profiles, open sessions, background
//! refresh — shared with the CLI through the same files and keyring), the launch flags, the
//! local proxy of "Share with local tools" ([`Sharing`]), and where session events go once the
//! window exists.

use std::sync::{Arc, OnceLock};

use tauri::{AppHandle, Emitter, Runtime};
use tessera_session::workspace::EventNotice;
use tessera_session::{SessionEvent, Workspace, WorkspaceConfig};

use crate::launch::LaunchOptions;
use crate::sharing::Sharing;

/// The Tauri event that carries [`SessionEvent`]s to the window.
pub const SESSION_EVENT: &str = "session-event";

type Emit = Box<dyn Fn(&SessionEvent) + Send + Sync>;

/// Shared by every command.
pub struct AppState {
    /// Shared with the local proxy, which sends tools' requests through it.
    pub workspace: Arc<Workspace>,
    pub launch: LaunchOptions,
    pub sharing: Arc<Sharing>,
    window: Arc<OnceLock<Emit>>,
}

impl AppState {
    /// The app's workspace on `config` (its data directory and store): sessions kept fresh in
    /// the background, events to the window once it is attached; a session that ends stops
    /// the proxy lending it.
    pub fn new(config: WorkspaceConfig, launch: LaunchOptions) -> Self {
        let window: Arc<OnceLock<Emit>> = Arc::new(OnceLock::new());
        let sink = window.clone();
        let sharing = Arc::new(Sharing::default());
        let lent = sharing.clone();
        let config = config
            .keep_fresh(true)
            .on_event(move |notice| match notice {
                EventNotice::Event(event) => {
                    if let SessionEvent::LoggedOut { profile, .. }
                    | SessionEvent::SessionExpired { profile, .. } = event
                    {
                        lent.session_ended(profile);
                    }
                    if let Some(emit) = sink.get() {
                        emit(event);
                    }
                }
                EventNotice::Missed(missed) => {
                    tracing::warn!(missed, "the window missed session events");
                }
            });
        Self {
            workspace: Arc::new(Workspace::new(config)),
            launch,
            sharing,
            window,
        }
    }

    /// Sends session events to the app's windows from now on.
    pub fn attach<R: Runtime>(&self, app: &AppHandle<R>) {
        let app = app.clone();
        let _ = self.window.set(Box::new(move |event| {
            if let Err(error) = app.emit(SESSION_EVENT, event) {
                tracing::warn!(%error, "could not forward a session event to the window");
            }
        }));
    }
}
