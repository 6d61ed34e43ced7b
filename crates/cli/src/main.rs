//! `tessera-cli`: the QA command line over Tessera's session engine. It shares the desktop
//! app's profiles file, keyring entries and refresh lock, so a sign-in in one is a sign-in in
//! the other. Each command resolves a profile, calls one engine API and maps the result to
//! output and an exit code (see `--help`).

mod args;
mod context;
mod error;
mod output;
mod password;
mod profiles;

use std::io::{IsTerminal, Read};
use std::process::ExitCode;
use std::time::Instant;

use clap::{CommandFactory, Parser};
use tessera_session::{header, ApiRequest, Method};

use crate::args::{Cli, Command, OutputFormat, ProfileCommand, RequestArgs};
use crate::context::Context;
use crate::error::{exit, CliError, CliResult};

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TESSERA_LOG")
                .unwrap_or_else(|_| "off".into()),
        )
        .with_writer(std::io::stderr)
        .init();
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
    match runtime.block_on(run(&cli)) {
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

async fn run(cli: &Cli) -> CliResult<u8> {
    let context = Context::from_cli(cli)?;
    match &cli.command {
        Command::Completions { shell } => {
            clap_complete::generate(
                *shell,
                &mut Cli::command(),
                "tessera-cli",
                &mut std::io::stdout(),
            );
            Ok(exit::OK)
        }
        Command::Profile(command @ ProfileCommand::Remove { name }) => {
            // Sign the profile out first, so no tokens stay behind in the keyring.
            let profile = tessera_session::ProfilesFile::load(&context.profiles_path())?
                .get(name)?
                .clone();
            match context.open(name, profile, cli.verbose) {
                Ok(opened) => {
                    if let Err(e) = opened.session.logout().await {
                        eprintln!("tessera-cli: signing {name} out failed ({}); removing it anyway", e.code());
                    }
                    opened.close().await;
                }
                Err(e) => eprintln!(
                    "tessera-cli: could not open {name} to sign it out ({}): its keyring entry may remain",
                    e.code()
                ),
            }
            profiles::run(&context.profiles_path(), command)?;
            Ok(exit::OK)
        }
        Command::Profile(
            command @ ProfileCommand::Edit {
                name,
                url: Some(url),
                ..
            },
        ) => {
            // A new server: sign out at the old one first, so its token never reaches the new.
            let new_base_url = tessera_session::Profile::from_base_url(url)
                .map_err(|e| CliError::usage(format!("--url {url:?}: {e}")))?
                .base_url;
            let profile = tessera_session::ProfilesFile::load(&context.profiles_path())?
                .get(name)?
                .clone();
            let outcome = match context.open(name, profile, cli.verbose) {
                Ok(opened) => {
                    let outcome = opened.session.sign_out_if_moved(&new_base_url).await;
                    opened.close().await;
                    outcome.map_err(|e| e.code().to_owned())
                }
                Err(e) => Err(e.code().to_owned()),
            };
            // Not signed out (no keyring, say): the stored session stays bound to the old
            // server and is never sent to the new one.
            match outcome.unwrap_or_else(|code| {
                eprintln!(
                    "tessera-cli: could not sign {name} out at its old server first ({code}); its session stays bound to that server"
                );
                None
            }) {
                Some(outcome) if outcome.server_revoked => eprintln!(
                    "signed {name} out at its old server first; that server blacklisted the refresh token"
                ),
                Some(outcome) => eprintln!(
                    "signed {name} out locally first{}",
                    outcome
                        .server_note
                        .map(|n| format!("; {}", output::shown(&n)))
                        .unwrap_or_default()
                ),
                None => {}
            }
            profiles::run(&context.profiles_path(), command)?;
            Ok(exit::OK)
        }
        Command::Profile(command) => {
            profiles::run(&context.profiles_path(), command)?;
            Ok(exit::OK)
        }
        Command::Login(args) => {
            // Check the profile (URL, plain-http rule) before asking for a password.
            let opened = context.open_session(cli)?;
            let password = match password::read(args.password_stdin) {
                Ok(password) => password,
                Err(e) => {
                    opened.close().await;
                    return Err(e);
                }
            };
            let result = opened.session.login(&args.username, password).await;
            let base = opened.session.profile().base_url.to_string();
            opened.close().await;
            let status = result?;
            eprintln!(
                "signed in to {} ({base}){}",
                status.profile,
                status
                    .user_id
                    .map(|id| format!(" as user id {}", output::shown(&id)))
                    .unwrap_or_default()
            );
            Ok(exit::OK)
        }
        Command::Status(args) => {
            let opened = context.open_session(cli)?;
            let status = opened.session.load().await?;
            let base = opened.session.profile().base_url.to_string();
            opened.close().await;
            output::status(&status, &base, None, args.json);
            Ok(if status.signed_in {
                exit::OK
            } else {
                exit::LOGIN_REQUIRED
            })
        }
        Command::Request(args) => request(cli, &context, args).await,
        Command::Logout => {
            let opened = context.open_session(cli)?;
            let outcome = opened.session.logout().await;
            opened.close().await;
            let outcome = outcome?;
            match (outcome.server_revoked, outcome.server_note) {
                (true, _) => eprintln!("signed out; the server blacklisted the refresh token"),
                (false, Some(note)) => {
                    eprintln!("signed out locally; {}", output::shown(&note));
                }
                (false, None) => eprintln!("signed out"),
            }
            Ok(exit::OK)
        }
    }
}

async fn request(cli: &Cli, context: &Context, args: &RequestArgs) -> CliResult<u8> {
    let method = Method::from_bytes(args.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| CliError::usage(format!("{:?} is not an HTTP method", args.method)))?;
    let mut request = ApiRequest::new(method, args.path.clone());
    let mut has_content_type = false;
    for raw in &args.headers {
        let (name, value) = raw
            .split_once(':')
            .ok_or_else(|| CliError::usage(format!("-H {raw:?}: use 'Name: value'")))?;
        let name = header::HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| CliError::usage(format!("-H {raw:?}: invalid header name")))?;
        if name == header::AUTHORIZATION {
            return Err(CliError::usage(
                "-H Authorization: Tessera sets the Authorization header itself",
            ));
        }
        has_content_type |= name == header::CONTENT_TYPE;
        let value = header::HeaderValue::from_str(value.trim())
            .map_err(|_| CliError::usage(format!("-H {raw:?}: invalid header value")))?;
        request = request.header(name, value);
    }
    if let Some(json) = &args.json {
        let value: serde_json::Value = serde_json::from_str(json)
            .map_err(|e| CliError::usage(format!("--json: the body is not valid JSON ({e})")))?;
        request = request.json(&value)?;
    } else if let Some(data) = &args.data {
        let bytes = read_data(data)?;
        if !has_content_type {
            let kind = if serde_json::from_slice::<serde_json::Value>(&bytes).is_ok() {
                "application/json"
            } else {
                "application/octet-stream"
            };
            request = request.header(header::CONTENT_TYPE, header::HeaderValue::from_static(kind));
        }
        request = request.body(bytes);
    }

    let opened = context.open_session(cli)?;
    // A new process: read the session from the keyring (refreshing it if it is due).
    if let Err(e) = opened.session.restore().await {
        opened.close().await;
        return Err(e.into());
    }
    let started = Instant::now();
    let result = opened.session.request(request).await;
    let header_type = opened.session.profile().auth_header_type.clone();
    let profile_name = match (&cli.server, &cli.profile) {
        (None, Some(name)) => name.clone(),
        _ => "NAME".to_owned(),
    };
    opened.close().await;
    let response = result?;
    let elapsed = started.elapsed().as_millis();
    eprintln!(
        "HTTP {} · {elapsed} ms{}",
        response.status,
        if response.replayed {
            " · replayed after 401"
        } else {
            ""
        }
    );
    let terminal = std::io::stdout().is_terminal();
    let pretty = match args.output {
        Some(OutputFormat::Pretty) => true,
        Some(OutputFormat::Raw) => false,
        None => terminal,
    };
    let note = output::body(&response.body, pretty, terminal).map_err(|source| CliError::Io {
        what: "writing the response".into(),
        source,
    })?;
    if let Some(note) = note {
        eprintln!("tessera-cli: {note}");
    }
    if let Some(hint) =
        tessera_session::hints::auth_header_hint(response.status, &response.body, &header_type)
    {
        eprintln!(
            "tessera-cli: hint: {} To change it: tessera-cli profile edit {profile_name} --auth-header-type TYPE",
            output::shown(&hint)
        );
    }
    if response.is_success() {
        Ok(exit::OK)
    } else {
        Err(CliError::HttpStatus {
            status: response.status,
        })
    }
}

/// `--data`: literal text, `@FILE`, or `@-` for standard input.
fn read_data(data: &str) -> CliResult<Vec<u8>> {
    match data.strip_prefix('@') {
        Some("-") => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .map_err(|source| CliError::Io {
                    what: "reading the body from standard input".into(),
                    source,
                })?;
            Ok(buf)
        }
        Some(path) => {
            std::fs::read(path).map_err(|e| CliError::usage(format!("--data @{path}: {e}")))
        }
        None => Ok(data.as_bytes().to_vec()),
    }
}
