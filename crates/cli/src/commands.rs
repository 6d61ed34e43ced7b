//! One function per subcommand: flags to a `Workspace` call, its answer to output and an exit
//! code. The workspace is closed after every command, so `--verbose` prints the last events.

use std::io::IsTerminal;
use std::sync::Arc;

use clap::CommandFactory;
use tessera_session::Workspace;

use crate::args::{Cli, Command, OutputFormat, RequestArgs};
use crate::error::{exit, CliError, CliResult};
use crate::{context, lend, login, output, profiles, request};

/// Runs the command line's subcommand.
pub async fn run(cli: &Cli) -> CliResult<u8> {
    if let Command::Completions { shell } = &cli.command {
        let mut command = Cli::command();
        clap_complete::generate(*shell, &mut command, "tessera-cli", &mut std::io::stdout());
        return Ok(exit::OK);
    }
    let workspace = Arc::new(context::workspace(cli)?);
    let result = dispatch(cli, &workspace).await;
    workspace.close().await;
    result
}

async fn dispatch(cli: &Cli, workspace: &Arc<Workspace>) -> CliResult<u8> {
    match &cli.command {
        Command::Completions { .. } => Ok(exit::OK),
        Command::Profile(command) => profiles::run(workspace, command).await.map(|()| exit::OK),
        Command::Login(args) => login::run(cli, workspace, args).await,
        Command::Status(args) => {
            let name = workspace.resolve(&context::launch(cli)?).await?;
            let status = workspace.status(&name).await?;
            let base = workspace.profile(&name).await?.base_url;
            let store = workspace.store_kind().name();
            output::status(&status, base.as_str(), store, args.json);
            Ok(if status.signed_in {
                exit::OK
            } else {
                exit::LOGIN_REQUIRED
            })
        }
        Command::Whoami(args) => {
            let name = workspace.resolve(&context::launch(cli)?).await?;
            output::who(&workspace.who_am_i(&name).await?, args.json);
            Ok(exit::OK)
        }
        Command::Request(args) => send(cli, workspace, args).await,
        Command::Proxy(args) => lend::proxy(cli, workspace.clone(), args).await,
        Command::Exec(args) => lend::exec(cli, workspace.clone(), args).await,
        Command::Logout => {
            let name = workspace.resolve(&context::launch(cli)?).await?;
            output::signed_out(&workspace.sign_out(&name).await?);
            Ok(exit::OK)
        }
    }
}

async fn send(cli: &Cli, workspace: &Workspace, args: &RequestArgs) -> CliResult<u8> {
    let request = request::from_args(args)?;
    let name = workspace.resolve(&context::launch(cli)?).await?;
    let sent = workspace.send(&name, request).await?;
    output::response_line(&sent);
    let terminal = std::io::stdout().is_terminal();
    let pretty = match args.output {
        Some(OutputFormat::Pretty) => true,
        Some(OutputFormat::Raw) => false,
        None => terminal,
    };
    let note =
        output::body(&sent.response.body, pretty, terminal).map_err(|source| CliError::Io {
            what: "writing the response".into(),
            source,
        })?;
    if let Some(note) = note {
        eprintln!("tessera-cli: {note}");
    }
    if let Some(hint) = &sent.hint {
        let name = match (&cli.server, &cli.profile) {
            (None, Some(name)) => name.as_str(),
            _ => "NAME",
        };
        eprintln!(
            "tessera-cli: hint: {} To change it: tessera-cli profile edit {name} --auth-header-type TYPE",
            output::shown(hint)
        );
    }
    if sent.response.is_success() {
        Ok(exit::OK)
    } else {
        Err(CliError::HttpStatus {
            status: sent.response.status,
        })
    }
}
