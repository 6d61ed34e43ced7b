//! Resolves which profile a command talks to (`--profile`, `--server`, or the profile used
//! last) and opens its engine session on the shared profiles file, keyring and refresh lock —
//! the same ones the desktop app uses.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use tessera_session::{
    paths, KeyringStore, Profile, ProfilesFile, SecretStore, Session, SessionConfig, SessionEvent,
};
use url::Url;

use crate::args::Cli;
use crate::error::{CliError, CliResult};

/// Where the shared files live and which keyring service holds the tokens.
pub struct Context {
    pub data_dir: PathBuf,
    pub service: String,
}

impl Context {
    pub fn from_cli(cli: &Cli) -> CliResult<Self> {
        let data_dir = match &cli.data_dir {
            Some(dir) => dir.clone(),
            None => paths::default_data_dir().ok_or_else(|| {
                CliError::usage(
                    "cannot find the data directory (HOME is not set): pass TESSERA_DATA_DIR",
                )
            })?,
        };
        Ok(Self {
            data_dir,
            service: paths::APP_IDENTIFIER.to_owned(),
        })
    }

    pub fn profiles_path(&self) -> PathBuf {
        paths::profiles_file(&self.data_dir)
    }

    /// The profile name and settings a session command uses.
    pub fn resolve_profile(&self, cli: &Cli) -> CliResult<(String, Profile)> {
        if let Some(server) = &cli.server {
            let url = Url::parse(server).map_err(|e| {
                CliError::usage(format!("--server {server:?} is not a valid URL ({e})"))
            })?;
            let profile = Profile::from_base_url(url.as_str())?;
            profile.validate()?;
            return Ok((tessera_session::profile::ad_hoc_name(&url), profile));
        }
        let file = ProfilesFile::load(&self.profiles_path())?;
        let name = match &cli.profile {
            Some(name) => name.clone(),
            None => file.last_profile.clone().ok_or_else(|| {
                CliError::usage(
                    "no profile chosen: pass --profile NAME or --server URL, or set a default with `tessera-cli profile use NAME`",
                )
            })?,
        };
        let profile = file.get(&name)?.clone();
        Ok((name, profile))
    }

    /// Opens the engine session of the resolved profile.
    pub fn open_session(&self, cli: &Cli) -> CliResult<Opened> {
        let (name, profile) = self.resolve_profile(cli)?;
        self.open(&name, profile, cli.verbose)
    }

    /// Opens the engine session of a named profile.
    pub fn open(&self, name: &str, profile: Profile, verbose: bool) -> CliResult<Opened> {
        let store: Arc<dyn SecretStore> = Arc::new(KeyringStore::new(&self.service)?);
        let config = SessionConfig::new(name, profile, store, paths::lock_dir(&self.data_dir));
        let session = Session::open(config)?;
        let printer = verbose.then(|| print_events(session.subscribe()));
        Ok(Opened { session, printer })
    }
}

/// An open session and, with `--verbose`, the task printing its events.
pub struct Opened {
    pub session: Session,
    printer: Option<JoinHandle<()>>,
}

impl Opened {
    /// Closes the session and lets the event printer write what is left.
    pub async fn close(self) {
        drop(self.session);
        if let Some(printer) = self.printer {
            // The stream ends when the session is gone; never wait long for stragglers.
            let _ = tokio::time::timeout(Duration::from_millis(500), printer).await;
        }
    }
}

/// `--verbose`: session events go to stderr as they happen, one JSON object a line.
fn print_events(mut events: broadcast::Receiver<SessionEvent>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => {
                    let line =
                        serde_json::to_string(&event).unwrap_or_else(|_| event.name().to_owned());
                    eprintln!("tessera: {} {}", event.name(), crate::output::shown(&line));
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    eprintln!("tessera: ({missed} events not shown)");
                }
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    })
}
