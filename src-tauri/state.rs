//! The app's managed state: where the shared files live, the secret store, and one engine
//! [`Session`] per profile — opened on first use, reopened when its profile changes — whose
//! events are forwarded to the window as `session-event`.
//!
//! The profiles file is read and changed only through [`AppState::load_profiles`] and
//! [`AppState::update_profiles`], which run on the blocking pool: an update can wait up to
//! 10 s for the file's lock (the CLI editing it), and that must never pin an async worker —
//! with every worker stuck, no other command and no refresh timer would run.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use tauri::{AppHandle, Emitter, Runtime};
use tessera_session::{
    paths, AutoRefresh, ProfilesFile, SecretStore, Session, SessionConfig, SessionEvent,
};
use tokio::sync::{broadcast, Mutex};

use crate::launch::LaunchOptions;

/// The Tauri event that carries [`SessionEvent`]s to the window.
pub const SESSION_EVENT: &str = "session-event";

struct Open {
    session: Arc<Session>,
    /// Proactive refresh while the app runs; stopped when dropped.
    auto_refresh: Option<AutoRefresh>,
}

/// Shared by every command.
pub struct AppState {
    data_dir: PathBuf,
    store: Arc<dyn SecretStore>,
    sessions: Mutex<HashMap<String, Open>>,
    pub launch: LaunchOptions,
}

impl AppState {
    pub fn new(data_dir: PathBuf, store: Arc<dyn SecretStore>, launch: LaunchOptions) -> Self {
        Self {
            data_dir,
            store,
            sessions: Mutex::new(HashMap::new()),
            launch,
        }
    }

    /// The profiles file shared with the CLI.
    pub fn profiles_path(&self) -> PathBuf {
        paths::profiles_file(&self.data_dir)
    }

    /// Reads the profiles file, off the async runtime.
    pub async fn load_profiles(&self) -> tessera_session::Result<ProfilesFile> {
        let path = self.profiles_path();
        blocking(move || ProfilesFile::load(&path)).await
    }

    /// Changes the profiles file under its lock, off the async runtime.
    pub async fn update_profiles<T: Send + 'static>(
        &self,
        change: impl FnOnce(&mut ProfilesFile) -> tessera_session::Result<T> + Send + 'static,
    ) -> tessera_session::Result<T> {
        let path = self.profiles_path();
        blocking(move || ProfilesFile::update(&path, change)).await
    }

    /// The session of profile `name`, opened if needed (or reopened if its profile changed).
    pub async fn session<R: Runtime>(
        &self,
        app: &AppHandle<R>,
        name: &str,
    ) -> tessera_session::Result<Arc<Session>> {
        let profile = self.load_profiles().await?.get(name)?.clone();
        let mut sessions = self.sessions.lock().await;
        let mut was_signed_in = false;
        if let Some(open) = sessions.get(name) {
            if open.session.profile() == &profile {
                return Ok(open.session.clone());
            }
            // The profile was edited (here or by the CLI): reopen it, and keep the sign-in.
            was_signed_in = open.session.status().signed_in;
        }
        let config = SessionConfig::new(
            name,
            profile,
            self.store.clone(),
            paths::lock_dir(&self.data_dir),
        );
        let session = Arc::new(Session::open(config)?);
        forward_events(app.clone(), session.subscribe());
        sessions.insert(
            name.to_owned(),
            Open {
                session: session.clone(),
                auto_refresh: None,
            },
        );
        drop(sessions);
        if was_signed_in && session.restore().await.is_ok() {
            self.keep_fresh(name).await;
        }
        Ok(session)
    }

    /// Keeps the session of `name` fresh in the background (after sign-in or restore).
    pub async fn keep_fresh(&self, name: &str) {
        if let Some(open) = self.sessions.lock().await.get_mut(name) {
            if open
                .auto_refresh
                .as_ref()
                .is_none_or(AutoRefresh::is_finished)
            {
                open.auto_refresh = Some(open.session.spawn_auto_refresh());
            }
        }
    }

    /// Stops background refresh for `name` (after sign-out).
    pub async fn stop_refreshing(&self, name: &str) {
        if let Some(open) = self.sessions.lock().await.get_mut(name) {
            open.auto_refresh = None;
        }
    }

    /// Forgets the session of `name` (its profile was deleted or renamed).
    pub async fn forget(&self, name: &str) {
        self.sessions.lock().await.remove(name);
    }
}

/// Runs file work on the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> tessera_session::Result<T> + Send + 'static,
) -> tessera_session::Result<T> {
    tauri::async_runtime::spawn_blocking(work)
        .await
        .map_err(|e| tessera_session::Error::Internal {
            detail: format!("a file task failed: {e}"),
        })?
}

fn forward_events<R: Runtime>(app: AppHandle<R>, mut events: broadcast::Receiver<SessionEvent>) {
    tauri::async_runtime::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => {
                    if let Err(error) = app.emit(SESSION_EVENT, &event) {
                        tracing::warn!(%error, "could not forward a session event to the window");
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "the window missed session events");
                }
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}
