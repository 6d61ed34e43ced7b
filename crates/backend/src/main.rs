//! `tessera-backend`: parses the command line, starts the server, prints where it listens and
//! which accounts exist, and shuts down cleanly on Ctrl-C / SIGTERM.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser as _;
use tessera_backend::cli::Args;
use tessera_backend::Server;
use tokio::sync::mpsc;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("tessera-backend: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let listen = args.listen;
    let exit_on_stdin_eof = args.exit_on_stdin_eof;
    let config = args.into_config()?;
    let server = Server::bind(config, listen)
        .await
        .map_err(|err| anyhow::anyhow!("cannot start on {listen}: {err}"))?;

    // Tests read this first line to learn the port; keep its shape.
    println!("Listening on {}", server.url());
    if let Some(account) = server.generated_account() {
        println!(
            "Demo account: {} / {} (generated; choose one with --user NAME:PASSWORD)",
            account.username, account.password
        );
    } else if !server.accounts().is_empty() {
        println!("Accounts: {}", server.accounts().join(", "));
    }

    wait_for_stop(exit_on_stdin_eof).await;
    tracing::info!("shutting down");
    match tokio::time::timeout(Duration::from_secs(10), server.shutdown()).await {
        Ok(result) => result?,
        Err(_) => tracing::warn!("in-flight requests did not finish within 10 s"),
    }
    Ok(())
}

async fn wait_for_stop(exit_on_stdin_eof: bool) {
    let (tx, mut stdin_closed) = mpsc::channel::<()>(1);
    if exit_on_stdin_eof {
        // A plain thread: a blocked read must not keep the runtime from shutting down.
        std::thread::spawn(move || {
            let mut sink = std::io::sink();
            let _ = std::io::copy(&mut std::io::stdin().lock(), &mut sink);
            let _ = tx.blocking_send(());
        });
    } else {
        drop(tx);
    }
    let stdin_eof = async {
        if stdin_closed.recv().await.is_none() {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate() => {}
        _ = stdin_eof => {}
    }
}

#[cfg(unix)]
async fn terminate() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut signal) => {
            signal.recv().await;
        }
        Err(_) => std::future::pending::<()>().await,
    }
}

#[cfg(not(unix))]
async fn terminate() {
    std::future::pending::<()>().await
}
