//! The CLI's view of the engine: the [`Workspace`] on the app's data directory and keyring
//! (so a sign-in in one is a sign-in in the other), the launch flags it resolves, and the
//! `--verbose` printer of session events.

use tessera_session::workspace::EventNotice;
use tessera_session::{paths, Launch, Workspace, WorkspaceConfig};
use url::Url;

use crate::args::Cli;
use crate::error::{CliError, CliResult};

/// The workspace a command runs in.
pub fn workspace(cli: &Cli) -> CliResult<Workspace> {
    if cli.data_dir.is_none() && paths::default_data_dir().is_none() {
        return Err(CliError::usage(
            "cannot find the data directory (HOME is not set): pass TESSERA_DATA_DIR",
        ));
    }
    let mut config = WorkspaceConfig::system(cli.data_dir.clone(), paths::APP_IDENTIFIER)?;
    if cli.verbose {
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
