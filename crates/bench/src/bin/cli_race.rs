//! 20 `tessera-cli` processes (release build) racing on one expired access token, against the
//! reference backend: the refresh count (from the backend's `/_test/` counters; must be exactly
//! 1, else the program fails) and the wall time from the first spawn to the last exit, compared
//! with 20 processes on a valid token. Rounds interleave the two (alternating which goes first).
//!
//! Needs a Secret Service (the CLI keeps tokens in the OS keyring): run it under
//! `scripts/session-env.sh`. Each round uses its own profile (own keyring entry and refresh lock)
//! in a throwaway data directory.
//!
//! Environment: `TESSERA_BACKEND_BIN`, `TESSERA_CLI_BIN` (default `target/release/...`),
//! `BENCH_CLI_ROUNDS` (7), `BENCH_CLI_PROCESSES` (20).

use std::path::PathBuf;
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use serde_json::json;
use tessera_bench::{env_usize, median, ms, percentile, release_binary, write_results, Row};
use tessera_testkit::{BackendKind, ServerOptions, TestServer};
use tokio::io::AsyncWriteExt as _;
use tokio::process::Command;

const ACCESS_LIFETIME: u64 = 10;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench cli-race: {error:#}");
            ExitCode::FAILURE
        }
    }
}

struct Cli {
    bin: PathBuf,
    data_dir: PathBuf,
}

impl Cli {
    fn command(&self, profile: &str) -> Command {
        let mut command = Command::new(&self.bin);
        command
            .env("TESSERA_DATA_DIR", &self.data_dir)
            .env_remove("TESSERA_PROFILE")
            .env_remove("TESSERA_LOG")
            .args(["--profile", profile])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    async fn checked(&self, mut command: Command, what: &str) -> anyhow::Result<()> {
        let out = command.output().await.with_context(|| what.to_owned())?;
        if !out.status.success() {
            bail!(
                "{what}: {} {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    }

    /// Adds the profile and signs in (password on stdin).
    async fn sign_in(
        &self,
        profile: &str,
        url: &str,
        user: &str,
        password: &str,
    ) -> anyhow::Result<()> {
        let mut add = self.command(profile);
        add.args(["profile", "add", profile, "--url", url]);
        self.checked(add, "tessera-cli profile add").await?;
        let mut login = self.command(profile);
        login
            .args(["login", "--username", user, "--password-stdin"])
            .stdin(Stdio::piped());
        let mut child = login.spawn().context("tessera-cli login")?;
        let mut stdin = child.stdin.take().ok_or_else(|| anyhow!("no stdin"))?;
        stdin.write_all(format!("{password}\n").as_bytes()).await?;
        drop(stdin);
        let out = child.wait_with_output().await?;
        if !out.status.success() {
            bail!(
                "tessera-cli login: {} {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    }

    /// `n` processes doing `request GET /api/hello/` at once; wall time first spawn → last exit.
    async fn race(&self, profile: &str, n: usize) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let mut children = Vec::with_capacity(n);
        for _ in 0..n {
            let mut command = self.command(profile);
            command.args(["request", "GET", "/api/hello/"]);
            children.push(command.spawn().context("spawning tessera-cli")?);
        }
        let mut outputs = Vec::with_capacity(n);
        for child in children {
            outputs.push(child.wait_with_output().await?);
        }
        let took = started.elapsed();
        for out in &outputs {
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            if text.contains("eyJ") {
                bail!("a tessera-cli process printed something JWT-shaped");
            }
            if !out.status.success() {
                bail!(
                    "a tessera-cli request failed ({}): {}",
                    out.status,
                    text.trim()
                );
            }
        }
        Ok(took)
    }
}

async fn refreshes(server: &TestServer) -> anyhow::Result<u64> {
    Ok(server
        .counters()
        .await?
        .iter()
        .filter(|(k, _)| k.starts_with("POST /api/token/refresh/"))
        .map(|(_, n)| n)
        .sum())
}

async fn run() -> anyhow::Result<()> {
    if std::env::var_os("TESSERA_BACKEND_BIN").is_none() {
        let bin = release_binary("TESSERA_BACKEND_BIN", "tessera-backend")?;
        std::env::set_var("TESSERA_BACKEND_BIN", bin);
    }
    let rounds = env_usize("BENCH_CLI_ROUNDS", 7);
    let n = env_usize("BENCH_CLI_PROCESSES", 20);
    let data = tempfile::tempdir().context("temp dir")?;
    let cli = Cli {
        bin: release_binary("TESSERA_CLI_BIN", "tessera-cli")?,
        data_dir: data.path().join("data"),
    };
    let server = TestServer::start(
        BackendKind::Rust,
        ServerOptions {
            access_lifetime_secs: ACCESS_LIFETIME,
            refresh_lifetime_secs: 3_600,
            ..ServerOptions::default()
        },
    )
    .await?;
    let url = server.base_url().to_string();
    let (user, password) = server.user().ok_or_else(|| anyhow!("no user"))?;

    // Sessions that will have expired by the time their round comes.
    for round in 0..rounds {
        cli.sign_in(&format!("expired-{round}"), &url, user, password)
            .await?;
    }
    tokio::time::sleep(Duration::from_millis(ACCESS_LIFETIME * 1000 + 1_000)).await;

    let (mut valid_ms, mut expired_ms) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let fresh = format!("valid-{round}");
        cli.sign_in(&fresh, &url, user, password).await?;
        let order = if round % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        for is_expired in order {
            let profile = if is_expired {
                format!("expired-{round}")
            } else {
                fresh.clone()
            };
            server.reset().await?;
            let took = cli.race(&profile, n).await?;
            let count = refreshes(&server).await?;
            let expected = u64::from(is_expired);
            if count != expected {
                bail!("round {round}: {n} processes on a {} token made {count} refresh calls, expected {expected}",
                    if is_expired { "expired" } else { "valid" });
            }
            if is_expired {
                expired_ms.push(ms(took))
            } else {
                valid_ms.push(ms(took))
            }
        }
    }
    let (v, e) = (median(&valid_ms), median(&expired_ms));
    let rows = vec![
        Row {
            what: format!("3. {n} tessera-cli processes, expired token: refreshes"),
            subject: format!("1 in each of {rounds} races"),
            baseline: "0 (valid token)".into(),
            ratio: None,
            goal: "exactly 1".into(),
            met: Some(true),
        },
        Row {
            what: format!("3. {n} tessera-cli processes: wall time, first spawn → last exit (median of {rounds})"),
            subject: format!("{e:.0} ms (expired)"),
            baseline: format!("{v:.0} ms (valid)"),
            ratio: Some(e / v),
            goal: "(no goal set)".into(),
            met: None,
        },
    ];
    write_results(
        "cli",
        &rows,
        &json!({
            "processes": n,
            "rounds": rounds,
            "valid_ms": valid_ms,
            "expired_ms": expired_ms,
            "valid_p10_p90": [percentile(&valid_ms, 10.0), percentile(&valid_ms, 90.0)],
            "expired_p10_p90": [percentile(&expired_ms, 10.0), percentile(&expired_ms, 90.0)],
        }),
    )
}
