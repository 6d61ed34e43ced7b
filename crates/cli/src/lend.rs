//! `tessera-cli proxy` and `tessera-cli exec`: the session lent to other tools through the
//! engine's local proxy (`tessera-proxy`). This module maps flags, prints the proxy's URL once
//! (stdout's first line, for scripts), waits for Ctrl-C / SIGTERM or for the command, and
//! passes the command's exit code on. The command's environment gets `TESSERA_PROXY` and loses
//! the variables that hold secrets (`TESSERA_PASSWORD`, `TESSERA_STORE_PASSPHRASE`).

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitStatus;
use std::sync::Arc;

use tessera_proxy::{LocalProxy, ProxyError, ProxyOptions};
use tessera_session::Workspace;

use crate::args::{Cli, ExecArgs, LendingArgs, ProxyArgs};
use crate::context;
use crate::error::{exit, CliError, CliResult};

/// What a command that cannot be started exits with (as a shell's "command not found").
const CANNOT_RUN: u8 = 127;

/// Environment variables a lent-to command never sees.
const SECRET_VARS: [&str; 2] = ["TESSERA_PASSWORD", "TESSERA_STORE_PASSPHRASE"];

fn options(listen: SocketAddr, lending: &LendingArgs) -> ProxyOptions {
    ProxyOptions {
        listen,
        replay_limit: lending.replay_limit,
        ..ProxyOptions::default()
    }
}

async fn start(
    cli: &Cli,
    workspace: Arc<Workspace>,
    options: ProxyOptions,
) -> CliResult<LocalProxy> {
    let name = workspace.resolve(&context::launch(cli)?).await?;
    LocalProxy::start(workspace, &name, options)
        .await
        .map_err(|e| match e {
            ProxyError::Session(e) => CliError::Engine(e),
            ProxyError::NotLoopback(_) => CliError::usage(format!("--listen: {e}")),
            other => CliError::Io {
                what: "starting the local proxy".into(),
                source: std::io::Error::other(other.to_string()),
            },
        })
}

/// `proxy`: serves until Ctrl-C or SIGTERM.
pub async fn proxy(cli: &Cli, workspace: Arc<Workspace>, args: &ProxyArgs) -> CliResult<u8> {
    let listen: SocketAddr = args.listen.parse().map_err(|_| {
        CliError::usage(format!(
            "--listen {:?}: use 127.0.0.1:PORT or [::1]:PORT",
            args.listen
        ))
    })?;
    let proxy = start(cli, workspace, options(listen, &args.lending)).await?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "TESSERA_PROXY={}", proxy.url().expose_secret())
        .and_then(|()| stdout.flush())
        .map_err(|source| CliError::Io {
            what: "writing the proxy's URL".into(),
            source,
        })?;
    eprintln!(
        "tessera-cli: lending profile {:?} on {} (Ctrl-C stops)",
        proxy.profile(),
        proxy.addr()
    );
    let _ = stop_signal().await;
    eprintln!("tessera-cli: stopping the proxy");
    proxy.stop().await;
    Ok(exit::OK)
}

/// `exec`: runs the command with a proxy, exits with its code.
pub async fn exec(cli: &Cli, workspace: Arc<Workspace>, args: &ExecArgs) -> CliResult<u8> {
    let Some((program, rest)) = args.command.split_first() else {
        return Err(CliError::usage("exec: name the command to run after --"));
    };
    let listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let proxy = start(cli, workspace, options(listen, &args.lending)).await?;
    let mut command = tokio::process::Command::new(program);
    command
        .args(rest)
        .env("TESSERA_PROXY", proxy.url().expose_secret());
    for name in SECRET_VARS {
        command.env_remove(name);
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            proxy.stop().await;
            eprintln!(
                "tessera-cli: cannot run {}: {e}",
                crate::output::shown(program)
            );
            return Ok(CANNOT_RUN);
        }
    };
    let status = loop {
        tokio::select! {
            status = child.wait() => break status,
            stop = stop_signal() => if stop == Stop::Terminate { forward_stop(&child) },
        }
    };
    proxy.stop().await;
    let status = status.map_err(|source| CliError::Io {
        what: format!("waiting for {}", crate::output::shown(program)),
        source,
    })?;
    Ok(exit_code(status))
}

/// The command's exit code, or 128 + the signal that ended it (as shells report it).
fn exit_code(status: ExitStatus) -> u8 {
    if let Some(code) = status.code() {
        // Windows codes are 32-bit: one whose low byte is 0 is still a failure.
        return match u8::try_from(code & 0xff) {
            Ok(0) if code != 0 => exit::HTTP_ERROR,
            Ok(low) => low,
            Err(_) => exit::HTTP_ERROR,
        };
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return u8::try_from(128 + (signal & 0x7f)).unwrap_or(exit::HTTP_ERROR);
        }
    }
    exit::HTTP_ERROR
}

/// Which stop arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// Ctrl-C (SIGINT): on a terminal, the command got it too (same process group).
    Interrupt,
    /// SIGTERM (Unix).
    Terminate,
}

/// Ctrl-C, or SIGTERM on Unix.
async fn stop_signal() -> Stop {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            return tokio::select! {
                _ = tokio::signal::ctrl_c() => Stop::Interrupt,
                _ = term.recv() => Stop::Terminate,
            };
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    Stop::Interrupt
}

/// Passes SIGTERM on to the command (a Ctrl-C reached it already: it is not sent twice, so a
/// test runner's own graceful interrupt is not cut short). The command decides when it ends;
/// the proxy serves it until then.
fn forward_stop(child: &tokio::process::Child) {
    #[cfg(unix)]
    if let Some(pid) = child.id().and_then(|id| i32::try_from(id).ok()) {
        use nix::sys::signal::{kill, Signal};
        let _ = kill(nix::unistd::Pid::from_raw(pid), Signal::SIGTERM);
    }
    #[cfg(not(unix))]
    let _ = child;
}
