//! `tessera-cli`: the QA command line over Tessera's session engine. It shares the desktop
//! app's profiles file, keyring entries and refresh lock, so a sign-in in one is a sign-in in
//! the other. Each subcommand maps its flags to one call of the engine's `Workspace` and the
//! answer to output and an exit code (see `--help`).

mod args;
mod commands;
mod context;
mod error;
mod lend;
mod login;
mod output;
mod password;
mod profiles;
mod request;

use std::process::ExitCode;

use clap::Parser;

use crate::args::Cli;
use crate::error::exit;

fn main() -> ExitCode {
    let cli = Cli::parse();
    tessera_session::logging::init("off");
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("tessera-cli: cannot start: {e}");
            return ExitCode::from(exit::HTTP_ERROR);
        }
    };
    match runtime.block_on(commands::run(&cli)) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            // Messages quote servers (DRF details, field errors) and profiles (a proxy URL).
            eprintln!(
                "tessera-cli: {} [{}]",
                output::shown(&error.to_string()),
                error.code()
            );
            ExitCode::from(error.exit_code())
        }
    }
}
