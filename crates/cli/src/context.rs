//! The CLI's view of the engine: the [`Workspace`] on the app's data directory and store (so a
//! sign-in in one is a sign-in in the other; `--store` / `TESSERA_STORE` picks the store where
//! there is no OS keyring), the launch flags it resolves, and the `--verbose` printer of
//! session events (and of the stores passed over).

use tessera_session::store::StoreChoice;
use tessera_session::workspace::EventNotice;
use tessera_session::{paths, Launch, Workspace, WorkspaceConfig};
use url::Url;

use crate::args::{Cli, Command};
use crate::error::{CliError, CliResult};

/// The workspace a command runs in.
pub fn workspace(cli: &Cli) -> CliResult<Workspace> {
    if cli.data_dir.is_none() && paths::default_data_dir().is_none() {
        return Err(CliError::usage(
            "cannot find the data directory (HOME is not set): pass TESSERA_DATA_DIR",
        ));
    }
    let choice = StoreChoice::parse(cli.store.as_deref().unwrap_or("auto"))
        .map_err(|e| CliError::usage(format!("--store: {e}")))?;
    let mut passphrase = || crate::password::store_passphrase(cli.store_passphrase_stdin);
    let mut config = WorkspaceConfig::system_with(
        cli.data_dir.clone(),
        paths::APP_IDENTIFIER,
        choice,
        &mut passphrase,
    )?;
    // A proxy runs for as long as the user wants: its session is kept fresh in the background
    // (a rotated refresh token never ages out while it waits), as the app's is.
    let lends = matches!(cli.command, Command::Proxy(_) | Command::Exec(_));
    config = config.keep_fresh(lends);
    if cli.verbose {
        for why in &config.skipped_stores {
            eprintln!("tessera: store skipped: {}", crate::output::shown(why));
        }
        eprintln!("tessera: sessions are kept in {}", config.store_kind.name());
        config = config.on_event(print_event);
    }
    Ok(Workspace::new(config))
}

/// `--profile` and `--server`, as the engine resolves them.
pub fn launch(cli: &Cli) -> CliResult<Launch> {
    let server = match &cli.server {
        Some(server) => Some(Url::parse(server).map_err(|e| {
            CliError::usage(format!("--server {server:?} is not a valid URL ({e})"))
        })?),
        None => None,
    };
    Ok(Launch {
        profile: cli.profile.clone(),
        server,
    })
}

/// `--verbose`: session events go to stderr as they happen, one JSON object a line.
fn print_event(notice: EventNotice<'_>) {
    match notice {
        EventNotice::Event(event) => {
            let line = serde_json::to_string(event).unwrap_or_else(|_| event.name().to_owned());
            eprintln!("tessera: {} {}", event.name(), crate::output::shown(&line));
        }
        EventNotice::Missed(missed) => eprintln!("tessera: ({missed} events not shown)"),
    }
}
