//! Local proxy benchmarks (`tessera-proxy`, issue 17) against the reference backend (release
//! build) on loopback, in one run:
//!
//! 1. **Proxy overhead per request**: `GET /api/hello/` sent by a keep-alive `reqwest` client
//!    through a [`LocalProxy`] lending a signed-in profile, vs the same request made directly on
//!    the engine the proxy calls — `Workspace::forward` on the same profile of the same
//!    workspace, body read to the end (the proxy's own path minus its HTTP hop). For context,
//!    also `Workspace::send` (`Session::request` after the workspace's per-request profile
//!    lookup), `Session::request` on the workspace's session held by the caller, and a bare
//!    `reqwest` client straight to the server with a fixed `Authorization` header (its token
//!    from the benchmark's own `POST /api/token/`). Two workloads: sequential requests on a warm
//!    connection, and `BENCH_IN_FLIGHT` (32) requests in flight (workers sharing one client,
//!    figure = wall time / requests). Variants rotate which goes first; the figure is the median
//!    over rounds of each block's mean time per request.
//! 2. **curl**: a real `curl` process per request, process spawn included, to the server
//!    directly (with `Authorization: Bearer …` from the benchmark's own `POST /api/token/`) vs
//!    to the proxy (no credentials). Both read the same kind of config from stdin (`curl -q -K
//!    -`), so neither the token nor the proxy's capability appears on a command line.
//!    Sequential and `BENCH_IN_FLIGHT` in flight.
//! 3. **1000 concurrent requests through the proxy on an expired access token**: proxies
//!    started on freshly signed-in profiles (access tokens live 10 s) are left until the token
//!    expired; then 1000 concurrent requests from a fresh `reqwest` client go through one of
//!    them, and 1000 through a proxy on a just-signed-in profile (valid token), order
//!    alternating. The backend's `/_test/` counters must show exactly one refresh per expired
//!    batch and none per valid one, else the program fails.
//!
//! Workspaces are built as the shells build theirs: `Workspace::new(WorkspaceConfig::new(dir,
//! FakeStore))`, profiles added with `add_profile` and signed in with `sign_in`; one for the
//! overhead benchmarks (its one profile), one for the batches (their profiles).
//!
//! Nothing secret is printed or written: the capability URL and the tokens stay in memory,
//! `reqwest` errors lose their URL, curl's messages are redacted, and the output is checked for
//! JWT-looking strings before it is written.
//!
//! Environment: `TESSERA_BACKEND_BIN` (default `target/release/tessera-backend`),
//! `BENCH_ROUNDS` (30), `BENCH_BLOCK` (200 sequential requests), `BENCH_CONCURRENT_BLOCK`
//! (1000 requests), `BENCH_IN_FLIGHT` (32), `BENCH_CURL_ROUNDS` (10), `BENCH_CURL_BLOCK` (40
//! sequential curl processes), `BENCH_CURL_CONCURRENT_BLOCK` (160), `BENCH_BATCH_ROUNDS` (9),
//! `BENCH_BATCH` (1000). `BENCH_PROFILE_ONLY=proxy|forward|send|session|bare`: only
//! `BENCH_BLOCK` sequential requests of that variant, for a profiler.

mod measure;
mod subjects;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use measure::*;
use serde_json::json;
use subjects::*;
use tessera_bench::{env_usize, write_results_with};
use tessera_session::Workspace;
use tessera_testkit::{BackendKind, ServerOptions, TestServer};

/// Access tokens of the batch benchmark live this long (a valid batch must finish well before
/// `exp − margin`, the margin being a quarter of the lifetime).
const BATCH_ACCESS_LIFETIME: u64 = 10;
/// The profile of the overhead benchmark.
const PROFILE: &str = "overhead";
/// The goal for the proxy against the engine called directly.
const GOAL: f64 = 1.10;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench proxy: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    if std::env::var_os("TESSERA_BACKEND_BIN").is_none() {
        let bin = tessera_bench::release_binary("TESSERA_BACKEND_BIN", "tessera-backend")?;
        std::env::set_var("TESSERA_BACKEND_BIN", bin);
    }
    // Two workspaces, as two shells would have: the overhead benchmark's holds its one profile
    // only (a workspace reads its profile list on every request, so more profiles would change
    // the figure), the batch benchmark's holds the batches' profiles.
    let overhead_dir = tempfile::tempdir().context("temp dir")?;
    let workspace = workspace_in(overhead_dir.path());
    if let Ok(only) = std::env::var("BENCH_PROFILE_ONLY") {
        return profile_only(&only, &workspace).await;
    }
    let batch_dir = tempfile::tempdir().context("temp dir")?;
    let batch_workspace = workspace_in(batch_dir.path());

    // The batch server first: its proxies' tokens age while the overhead benchmarks run.
    let batch_server = TestServer::start(
        BackendKind::Rust,
        ServerOptions {
            access_lifetime_secs: BATCH_ACCESS_LIFETIME,
            refresh_lifetime_secs: 3_600,
            ..ServerOptions::default()
        },
    )
    .await?;
    let batch_rounds = env_usize("BENCH_BATCH_ROUNDS", 9);
    let mut expired = Vec::new();
    for i in 0..batch_rounds {
        expired.push(lend(&batch_workspace, &batch_server, &format!("expired-{i}")).await?);
    }
    let aged_from = Instant::now();

    let server = TestServer::start(
        BackendKind::Rust,
        ServerOptions {
            access_lifetime_secs: 3_600,
            ..ServerOptions::default()
        },
    )
    .await?;
    let subjects = Arc::new(Subjects::new(&workspace, &server).await?);
    let (overhead_rows, overhead_details, overhead_raw) = overhead(&subjects).await?;
    let (curl_rows, curl_details, curl_raw) = curl_overhead(&subjects).await?;
    let subjects = Arc::into_inner(subjects).ok_or_else(|| anyhow!("subjects still shared"))?;
    subjects.proxy.stop().await;
    drop(server);

    let wait = Duration::from_millis(BATCH_ACCESS_LIFETIME * 1000 + 1_000);
    if let Some(left) = wait.checked_sub(aged_from.elapsed()) {
        tokio::time::sleep(left).await;
    }
    workspace.close().await;
    let (batch_rows, batch_raw) =
        concurrent_batches(&batch_workspace, &batch_server, expired).await?;
    batch_workspace.close().await;

    let mut rows = overhead_rows;
    rows.extend(curl_rows);
    rows.extend(batch_rows);
    write_results_with(
        "proxy",
        &rows,
        &format!("{overhead_details}{curl_details}"),
        &json!({
            "request_overhead": overhead_raw,
            "curl": curl_raw,
            "concurrent_refresh": batch_raw,
        }),
    )
}

/// For profilers (`valgrind --tool=callgrind`, `perf`): only `BENCH_BLOCK` (default 200)
/// sequential requests of one variant (`proxy`, `forward`, `send`, `session` or `bare`) after 50 of
/// warm-up, so each variant's cost can be read alone. Prints nothing but the mean.
async fn profile_only(only: &str, workspace: &Arc<Workspace>) -> anyhow::Result<()> {
    let variant = match only {
        "proxy" => Variant::Proxy,
        "forward" => Variant::Forward,
        "send" => Variant::Send,
        "session" => Variant::Session,
        "bare" => Variant::Bare,
        other => {
            bail!("BENCH_PROFILE_ONLY={other:?}: expected proxy, forward, send, session or bare")
        }
    };
    let server = TestServer::start(
        BackendKind::Rust,
        ServerOptions {
            access_lifetime_secs: 3_600,
            ..ServerOptions::default()
        },
    )
    .await?;
    let subjects = Arc::new(Subjects::new(workspace, &server).await?);
    let n = env_usize("BENCH_BLOCK", 200);
    block(&subjects, variant, 50, 1).await?;
    let mean = block(&subjects, variant, n, 1).await?;
    println!("{}: {mean:.1} µs/request over {n}", variant.name());
    Ok(())
}
