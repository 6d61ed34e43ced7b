//! Engine benchmarks against the reference backend (release build) on loopback:
//!
//! 1. **Request overhead**: `GET /api/hello/` through `Session::request` vs a bare `reqwest`
//!    client with a fixed `Authorization` header, and vs a `reqwest` client configured like the
//!    engine's transport (user agent, timeouts, same-origin redirect policy, pool limit) to tell
//!    the transport's cost from the engine's own. Blocks of sequential requests on a warm
//!    connection, rotated so each variant runs first, second and third equally often; the figure
//!    is the median over rounds of each block's mean time per request.
//! 2. **1000 concurrent requests on an expired token**: one batch on a freshly signed-in session
//!    (valid token) vs one batch on a session whose access token expired, interleaved. The
//!    backend's `/_test/` counters must show exactly one refresh per expired batch and none per
//!    valid batch (else the program fails).
//!
//! Environment: `TESSERA_BACKEND_BIN` (default `target/release/tessera-backend`),
//! `BENCH_ROUNDS` (30), `BENCH_BLOCK` (200 requests), `BENCH_BATCH_ROUNDS` (9),
//! `BENCH_BATCH` (1000).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use serde_json::{json, Value};
use tessera_bench::engine_clients::{clients, signed_in, Variant, TARGET};
use tessera_bench::{
    env_usize, median, ms, percentile, refreshes, us, verdict, write_results, Row,
};
use tessera_session::{ApiRequest, Session};
use tessera_testkit::{ServerOptions, TestServer};
/// Access tokens of the batch benchmark live this long (a valid batch must finish well before
/// `exp − margin`, the margin being a quarter of the lifetime).
const BATCH_ACCESS_LIFETIME: u64 = 10;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench engine: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    if std::env::var_os("TESSERA_BACKEND_BIN").is_none() {
        let bin = tessera_bench::release_binary("TESSERA_BACKEND_BIN", "tessera-backend")?;
        std::env::set_var("TESSERA_BACKEND_BIN", bin);
    }
    let lock_root = tempfile::tempdir().context("temp dir")?;
    if let Ok(only) = std::env::var("BENCH_PROFILE_ONLY") {
        return profile_only(&only, lock_root.path()).await;
    }

    // The batch server first: its expired sessions age while the overhead benchmark runs.
    let batch_server = TestServer::start(
        tessera_testkit::BackendKind::Rust,
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
        expired.push(signed_in(&batch_server, lock_root.path(), &format!("expired-{i}")).await?);
    }
    let aged_from = Instant::now();

    let server = TestServer::start(
        tessera_testkit::BackendKind::Rust,
        ServerOptions {
            access_lifetime_secs: 3_600,
            ..ServerOptions::default()
        },
    )
    .await?;
    let (overhead_rows, overhead_raw) = request_overhead(&server, lock_root.path()).await?;
    drop(server);

    let wait = Duration::from_millis(BATCH_ACCESS_LIFETIME * 1000 + 1_000);
    if let Some(left) = wait.checked_sub(aged_from.elapsed()) {
        tokio::time::sleep(left).await;
    }
    let (batch_rows, batch_raw) =
        concurrent_batches(&batch_server, lock_root.path(), expired).await?;

    let mut rows = overhead_rows;
    rows.extend(batch_rows);
    write_results(
        "engine",
        &rows,
        &json!({"request_overhead": overhead_raw, "concurrent_refresh": batch_raw}),
    )
}

/// For profilers (`valgrind --tool=callgrind`, `perf`): only `BENCH_BLOCK` (default 200)
/// sequential requests of one variant (`engine`, `bare` or `configured`) after a warm-up, so
/// each variant's cost can be read alone. Prints nothing but the mean.
async fn profile_only(only: &str, lock_root: &std::path::Path) -> anyhow::Result<()> {
    let server = TestServer::start(
        tessera_testkit::BackendKind::Rust,
        ServerOptions {
            access_lifetime_secs: 3_600,
            ..ServerOptions::default()
        },
    )
    .await?;
    let clients = clients(&server, lock_root).await?;
    let variant = match only {
        "engine" => Variant::Engine,
        "bare" => Variant::Bare,
        "configured" => Variant::EngineLikeReqwest,
        other => bail!("BENCH_PROFILE_ONLY={other:?}: expected engine, bare or configured"),
    };
    let n = env_usize("BENCH_BLOCK", 200);
    clients.block(variant, 50).await?;
    let mean = clients.block(variant, n).await?;
    println!("{}: {:.1} µs/request over {n}", variant.name(), us(mean));
    Ok(())
}

async fn request_overhead(
    server: &TestServer,
    lock_root: &std::path::Path,
) -> anyhow::Result<(Vec<Row>, Value)> {
    let rounds = env_usize("BENCH_ROUNDS", 30);
    let block = env_usize("BENCH_BLOCK", 200);
    let clients = clients(server, lock_root).await?;

    // Warm-up: connections open, caches and branch predictors settled.
    for variant in Variant::ALL {
        clients.block(variant, block.max(300)).await?;
    }
    let mut per_variant: Vec<Vec<f64>> = vec![Vec::new(); 3];
    for round in 0..rounds {
        for k in 0..3 {
            let index = (round + k) % 3;
            let mean = clients.block(Variant::ALL[index], block).await?;
            per_variant[index].push(us(mean));
        }
    }
    let engine_vs_bare: Vec<f64> = per_variant[2]
        .iter()
        .zip(&per_variant[0])
        .map(|(e, b)| e / b)
        .collect();
    let [bare_med, configured_med, engine_med] = [
        median(&per_variant[0]),
        median(&per_variant[1]),
        median(&per_variant[2]),
    ];
    let ratio = engine_med / bare_med;
    let rows = vec![
        Row {
            what: format!("1. authenticated GET, µs/request (median of {rounds}×{block})"),
            subject: format!("{engine_med:.1} µs"),
            baseline: format!("{bare_med:.1} µs (bare reqwest)"),
            ratio: Some(ratio),
            goal: "≤ 1.03×".into(),
            met: verdict(ratio, 1.03),
        },
        Row {
            what: "1b. same, vs reqwest with the engine's client settings".into(),
            subject: format!("{engine_med:.1} µs"),
            baseline: format!("{configured_med:.1} µs"),
            ratio: Some(engine_med / configured_med),
            goal: "(diagnostic)".into(),
            met: None,
        },
    ];
    let raw = json!({
        "target": TARGET,
        "rounds": rounds,
        "block": block,
        "unit": "µs per request (block mean)",
        "variants": Variant::ALL.iter().zip(&per_variant).map(|(v, s)| json!({
            "name": v.name(),
            "median": median(s),
            "p10": percentile(s, 10.0),
            "p90": percentile(s, 90.0),
            "samples": s,
        })).collect::<Vec<_>>(),
        "engine_over_bare_per_round_median": median(&engine_vs_bare),
    });
    Ok((rows, raw))
}

async fn batch(session: &Session, n: usize) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let session = session.clone();
        tasks.spawn(async move { session.request(ApiRequest::get(TARGET)).await });
    }
    let mut failures = 0usize;
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(response)) if response.status == 200 => {}
            Ok(Ok(response)) => {
                failures += 1;
                first_error.get_or_insert(format!("status {}", response.status));
            }
            Ok(Err(error)) => {
                failures += 1;
                first_error.get_or_insert(format!("{} ({})", error.code(), error));
            }
            Err(error) => {
                failures += 1;
                first_error.get_or_insert(format!("task: {error}"));
            }
        }
    }
    let elapsed = started.elapsed();
    if failures > 0 {
        bail!(
            "{failures} of {n} requests failed; first: {}",
            first_error.unwrap_or_default()
        );
    }
    Ok(elapsed)
}

async fn concurrent_batches(
    server: &TestServer,
    lock_root: &std::path::Path,
    expired: Vec<Session>,
) -> anyhow::Result<(Vec<Row>, Value)> {
    let n = env_usize("BENCH_BATCH", 1000);
    let mut valid_ms = Vec::new();
    let mut expired_ms = Vec::new();
    let mut expired_refreshes = Vec::new();
    for (round, old) in expired.into_iter().enumerate() {
        if !old.status().access_expired {
            bail!("round {round}: the access token is not expired yet");
        }
        let fresh = signed_in(server, lock_root, &format!("valid-{round}")).await?;
        let order: [bool; 2] = if round % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        for is_expired in order {
            server.reset().await?;
            let session = if is_expired { &old } else { &fresh };
            let took = batch(session, n).await?;
            let (total, ok) = refreshes(server).await?;
            if is_expired {
                if total != 1 || ok != 1 {
                    bail!("round {round}: {n} requests on an expired token made {total} refresh calls ({ok} successful), expected exactly 1");
                }
                expired_refreshes.push(total);
                expired_ms.push(ms(took));
            } else {
                if total != 0 {
                    bail!(
                        "round {round}: {n} requests on a valid token made {total} refresh calls"
                    );
                }
                valid_ms.push(ms(took));
            }
        }
    }
    let (v, e) = (median(&valid_ms), median(&expired_ms));
    let ratio = e / v;
    let rounds = valid_ms.len();
    let rows = vec![
        Row {
            what: format!("2. {n} concurrent requests, expired token: refreshes"),
            subject: format!("1 in each of {rounds} batches"),
            baseline: "0 (valid token)".into(),
            ratio: None,
            goal: "exactly 1".into(),
            met: Some(true),
        },
        Row {
            what: format!("2. {n} concurrent requests: batch wall time (median of {rounds})"),
            subject: format!("{e:.1} ms (expired)"),
            baseline: format!("{v:.1} ms (valid)"),
            ratio: Some(ratio),
            goal: "≤ 1.2×".into(),
            met: verdict(ratio, 1.2),
        },
    ];
    let raw = json!({
        "batch": n,
        "rounds": rounds,
        "valid_ms": valid_ms,
        "expired_ms": expired_ms,
        "expired_refreshes": expired_refreshes,
        "valid_p10_p90": [percentile(&valid_ms, 10.0), percentile(&valid_ms, 90.0)],
        "expired_p10_p90": [percentile(&expired_ms, 10.0), percentile(&expired_ms, 90.0)],
    });
    Ok((rows, raw))
}
