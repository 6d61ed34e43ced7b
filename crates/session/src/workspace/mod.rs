//! The workspace: everything a shell (the desktop app, the CLI, a future local proxy) needs
//! beside one session — the data directory, the secret store, the profiles file with its rules,
//! which profile a launch means, the sessions this process has open, and who is signed in.
//!
//! Shells call a [`Workspace`] method per command and only map arguments, output and errors;
//! they never read `profiles.json`, open a keyring or send HTTP themselves. The rules live in
//! the submodules: [`profiles`] (create, rename, edit, remove, the default profile),
//! [`launch`] (`--profile`, `--server`, the profile used last), [`sessions`] (the cache of open
//! sessions, restore before first use, background refresh), [`console`] (requests a user types),
//! `lending` (requests other tools send through the local proxy), [`whoami`] (who is signed in).

pub mod console;
pub mod launch;
mod lending;
pub mod profiles;
mod pump;
pub mod sessions;
pub mod whoami;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::events::SessionEvent;
use crate::paths;
use crate::profile::Profile;
use crate::profiles_file::ProfilesFile;
use crate::secret::Password;
use crate::session::SessionOptions;
use crate::store::{choose_store, SecretStore, StoreChoice, StoreKind};

pub use console::{json_body, parse_method, typed_request, Sent};
pub use launch::{Launch, Start};
pub use profiles::{ProfileListing, ProfileView, Removed, Saved};
pub use pump::EventNotice;
pub use whoami::WhoAmI;

/// Receives every event of every session the workspace opens (in the order each session sent
/// them), or a count of events a slow receiver missed.
pub type EventSink = Arc<dyn Fn(EventNotice<'_>) + Send + Sync>;

/// Everything a [`Workspace`] is built from.
pub struct WorkspaceConfig {
    /// Holds `profiles.json` and `locks/`.
    pub data_dir: PathBuf,
    /// Where tokens are kept (the store [`choose_store`] picked, in real use).
    pub store: Arc<dyn SecretStore>,
    /// Which store that is, and why the ones before it were passed over.
    pub store_kind: StoreKind,
    /// The stores passed over, each with its reason (for `--verbose`).
    pub skipped_stores: Vec<String>,
    /// Tunables of every session opened.
    pub options: SessionOptions,
    /// The wall clock of every session opened.
    pub clock: Arc<dyn Clock>,
    /// Keep signed-in sessions fresh in the background (a long-running shell such as the app);
    /// a one-shot CLI command leaves it off.
    pub keep_fresh: bool,
    /// Where session events go (the app's window, the CLI's `--verbose`).
    pub events: Option<EventSink>,
}

impl WorkspaceConfig {
    /// A workspace on `data_dir` with `store`, the system clock and default options.
    pub fn new(data_dir: PathBuf, store: Arc<dyn SecretStore>) -> Self {
        Self {
            data_dir,
            store,
            store_kind: StoreKind::Os,
            skipped_stores: Vec::new(),
            options: SessionOptions::default(),
            clock: Arc::new(SystemClock),
            keep_fresh: false,
            events: None,
        }
    }

    /// The data directory and store the desktop app uses (`data_dir` overrides the directory;
    /// `service` the keyring service): the store `$TESSERA_STORE` names, else the OS keyring
    /// or (Linux, none reachable) the kernel keyring; the encrypted file's passphrase comes
    /// from `$TESSERA_STORE_PASSPHRASE`.
    pub fn system(data_dir: Option<PathBuf>, service: &str) -> Result<Self> {
        let mut passphrase = passphrase_from_env;
        Self::system_with(data_dir, service, StoreChoice::from_env()?, &mut passphrase)
    }

    /// As [`WorkspaceConfig::system`] with the store `choice` and a `passphrase` source of the
    /// shell's (the CLI prompts or reads stdin), asked only for the encrypted file.
    pub fn system_with(
        data_dir: Option<PathBuf>,
        service: &str,
        choice: StoreChoice,
        passphrase: &mut dyn FnMut() -> Result<Password>,
    ) -> Result<Self> {
        let data_dir = match data_dir {
            Some(dir) => dir,
            None => paths::default_data_dir().ok_or_else(|| Error::Io {
                path: "the data directory".into(),
                detail: "HOME is not set; pass the data directory explicitly".into(),
            })?,
        };
        let chosen = choose_store(choice, service, &data_dir, passphrase)?;
        let mut config = Self::new(data_dir, chosen.store);
        config.store_kind = chosen.kind;
        config.skipped_stores = chosen.skipped;
        Ok(config)
    }

    /// Turns background refresh of signed-in sessions on or off.
    pub fn keep_fresh(mut self, on: bool) -> Self {
        self.keep_fresh = on;
        self
    }

    /// Sends session events to `sink`.
    pub fn on_event(mut self, sink: impl Fn(EventNotice<'_>) + Send + Sync + 'static) -> Self {
        self.events = Some(Arc::new(sink));
        self
    }

    /// Replaces the clock (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces the session options.
    pub fn with_options(mut self, options: SessionOptions) -> Self {
        self.options = options;
        self
    }
}

/// `$TESSERA_STORE_PASSPHRASE`, the encrypted file's passphrase where no prompt can ask.
pub fn passphrase_from_env() -> Result<Password> {
    match std::env::var("TESSERA_STORE_PASSPHRASE") {
        Ok(text) if !text.is_empty() => Ok(Password::new(text)),
        _ => Err(Error::KeyringUnavailable {
            detail: "the encrypted-file store needs its passphrase: set TESSERA_STORE_PASSPHRASE (the CLI also asks on a terminal, or reads it with --store-passphrase-stdin)".into(),
        }),
    }
}

/// The shells' one entrance to the engine. Cheap to share behind an `Arc`; every method takes
/// `&self`.
pub struct Workspace {
    config: WorkspaceConfig,
    /// The last parsed `profiles.json`, with the file's identity when it was read: a command
    /// re-reads the file only when another process (or this one) changed it.
    profiles: StdMutex<Option<(FileStamp, Arc<ProfilesFile>)>>,
    /// Profiles of this process only (`--server` in the CLI), never saved.
    ephemeral: StdMutex<HashMap<String, Profile>>,
    sessions: sessions::OpenSessions,
}

impl std::fmt::Debug for Workspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workspace")
            .field("data_dir", &self.config.data_dir)
            .finish_non_exhaustive()
    }
}

impl Workspace {
    /// Opens a workspace (no I/O).
    pub fn new(config: WorkspaceConfig) -> Self {
        Self {
            config,
            profiles: StdMutex::new(None),
            ephemeral: StdMutex::new(HashMap::new()),
            sessions: sessions::OpenSessions::default(),
        }
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.config.data_dir
    }

    /// Where this workspace keeps sessions (`status` shows it).
    pub fn store_kind(&self) -> StoreKind {
        self.config.store_kind
    }

    /// The stores passed over before it, each with why.
    pub fn skipped_stores(&self) -> &[String] {
        &self.config.skipped_stores
    }

    /// The profiles file shared by every shell.
    pub fn profiles_path(&self) -> PathBuf {
        paths::profiles_file(&self.config.data_dir)
    }

    /// The saved profiles: read from disk only when the file changed since the last read.
    pub async fn profiles(&self) -> Result<ProfilesFile> {
        Ok(self.shared_profiles().await?.as_ref().clone())
    }

    /// The cached profiles file, shared: a request costs one `stat` of the file (on this
    /// thread: it is a small local file) and no copy of the file; it is parsed again, off the
    /// async runtime, only when its stamp changed.
    async fn shared_profiles(&self) -> Result<Arc<ProfilesFile>> {
        let path = self.profiles_path();
        let stamp = FileStamp::of(&path);
        if stamp != FileStamp::Unknown {
            if let Some((seen, file)) = lock(&self.profiles).as_ref() {
                if *seen == stamp {
                    return Ok(file.clone());
                }
            }
        }
        let (stamp, file) = blocking(move || {
            let stamp = FileStamp::of(&path);
            Ok((stamp, ProfilesFile::load(&path)?))
        })
        .await?;
        let file = Arc::new(file);
        *lock(&self.profiles) = Some((stamp, file.clone()));
        Ok(file)
    }

    /// Changes the profiles file under its lock (off the async runtime: the lock may be held by
    /// another process for a moment).
    pub(crate) async fn update_profiles<T: Send + 'static>(
        &self,
        change: impl FnOnce(&mut ProfilesFile) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let path = self.profiles_path();
        let result = blocking(move || {
            let mut kept = None;
            let value = ProfilesFile::update(&path, |file| {
                let value = change(file)?;
                kept = Some(file.clone());
                Ok(value)
            })?;
            Ok((value, kept, FileStamp::of(&path)))
        })
        .await;
        match result {
            Ok((value, kept, stamp)) => {
                *lock(&self.profiles) = kept.map(|file| (stamp, Arc::new(file)));
                Ok(value)
            }
            Err(error) => {
                *lock(&self.profiles) = None;
                Err(error)
            }
        }
    }

    /// The profile `name` means in this process: a profile of this process only, else the
    /// saved one.
    pub async fn profile(&self, name: &str) -> Result<Profile> {
        if let Some(profile) = lock(&self.ephemeral).get(name) {
            return Ok(profile.clone());
        }
        Ok(self.shared_profiles().await?.get(name)?.clone())
    }

    /// Ends the workspace: closes every open session and lets event delivery finish (bounded).
    pub async fn close(&self) {
        self.sessions.close_all(Duration::from_millis(500)).await;
    }
}

/// Identity of a file's current content: a rename replacing it, or a write changing its size
/// or modification time, changes the stamp.
#[derive(Debug, Clone, PartialEq, Eq)]
enum FileStamp {
    Missing,
    Seen {
        len: u64,
        modified: Option<std::time::SystemTime>,
        inode: u64,
    },
    Unknown,
}

impl FileStamp {
    fn of(path: &Path) -> Self {
        match std::fs::metadata(path) {
            Ok(meta) => FileStamp::Seen {
                len: meta.len(),
                modified: meta.modified().ok(),
                inode: inode(&meta),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => FileStamp::Missing,
            Err(_) => FileStamp::Unknown,
        }
    }
}

#[cfg(unix)]
fn inode(meta: &std::fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(meta)
}

#[cfg(not(unix))]
fn inode(_meta: &std::fs::Metadata) -> u64 {
    0
}

fn lock<T>(mutex: &StdMutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs file work on the blocking pool, so that waiting for a file lock never pins an async
/// worker (with every worker stuck, no other command and no refresh timer would run).
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::Internal {
            detail: format!("a file task failed: {e}"),
        })?
}

/// Events of the sessions a workspace opens, forwarded to its sink.
pub(crate) fn forward_events(
    sink: &Option<EventSink>,
    events: tokio::sync::broadcast::Receiver<SessionEvent>,
) -> Option<tokio::task::JoinHandle<()>> {
    sink.clone().map(|sink| pump::forward(events, sink))
}
