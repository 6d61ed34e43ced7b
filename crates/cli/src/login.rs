//! `tessera-cli login`: the password, then — when the server answers it with a request for a
//! second factor (`mfa_required`) — the code: `--otp CODE`, `--otp-stdin`, else a hidden prompt
//! on a terminal (up to three tries when the server refuses a code). A code given to a server
//! that asks for none is not used. The rules of the two steps are the engine's.

use std::io::IsTerminal;

use tessera_session::error::Error as EngineError;
use tessera_session::{SessionStatus, Workspace};

use crate::args::{Cli, LoginArgs};
use crate::error::{exit, CliError, CliResult};
use crate::{context, output, password};

/// Codes asked for on a terminal before giving up.
const PROMPT_TRIES: u32 = 3;

pub async fn run(cli: &Cli, workspace: &Workspace, args: &LoginArgs) -> CliResult<u8> {
    let name = workspace.resolve(&context::launch(cli)?).await?;
    // Check the profile (URL, plain-http rule) before asking for a password.
    let base = workspace.session(&name).await?.profile().base_url.clone();
    let password = password::read(args.password_stdin)?;
    let status = match workspace.sign_in(&name, &args.username, password).await {
        Err(EngineError::SecondFactorRequired) => second_factor(workspace, &name, args).await?,
        other => other?,
    };
    output::signed_in(&status, base.as_str());
    Ok(exit::OK)
}

/// Finishes a sign-in that asked for a code.
async fn second_factor(
    workspace: &Workspace,
    name: &str,
    args: &LoginArgs,
) -> CliResult<SessionStatus> {
    if let Some(code) = &args.otp {
        return Ok(workspace.verify_code(name, code.clone()).await?);
    }
    if args.otp_stdin {
        let code = password::stdin_line("the second-factor code")?;
        if code.expose_secret().trim().is_empty() {
            return Err(CliError::usage(
                "the server asks for a second-factor code, and standard input had none (--otp-stdin)",
            ));
        }
        return Ok(workspace.verify_code(name, code).await?);
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::SecondFactorNeeded);
    }
    eprintln!(
        "{}",
        output::shown(&EngineError::SecondFactorRequired.to_string())
    );
    let mut tries = 1;
    loop {
        let code = password::prompt("Code: ", "the second-factor code")?;
        match workspace.verify_code(name, code).await {
            Err(e @ EngineError::SecondFactorRejected { .. }) if tries < PROMPT_TRIES => {
                eprintln!("tessera-cli: {}", output::shown(&e.to_string()));
                tries += 1;
            }
            result => return Ok(result?),
        }
    }
}
