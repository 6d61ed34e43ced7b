//! How the proxy benchmark measures: sequential and in-flight blocks, the summaries and
//! ratios, the overhead and curl comparisons, the 1000-request batches and their refresh counts.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use anyhow::{bail, Context as _};
use serde_json::{json, Value};
use tessera_bench::engine_clients::TARGET;
use tessera_bench::{env_usize, median, ms, percentile, refreshes, us, verdict, Row};
use tessera_session::Workspace;
use tessera_testkit::TestServer;

/// Mean time per request of `n` sequential `job`s.
pub(crate) async fn sequential<F, Fut>(n: usize, job: F) -> anyhow::Result<Duration>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let started = Instant::now();
    for _ in 0..n {
        job().await?;
    }
    Ok(started.elapsed() / n.max(1) as u32)
}

/// Wall time / `n` for `n` `job`s run by `in_flight` workers (each takes the next until `n`
/// were taken).
pub(crate) async fn concurrent<F, Fut>(
    n: usize,
    in_flight: usize,
    job: F,
) -> anyhow::Result<Duration>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let taken = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..in_flight.min(n) {
        let (taken, job) = (taken.clone(), job.clone());
        workers.spawn(async move {
            while taken.fetch_add(1, Ordering::Relaxed) < n {
                job().await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(joined) = workers.join_next().await {
        joined.context("worker")??;
    }
    Ok(started.elapsed() / n.max(1) as u32)
}

pub(crate) async fn block(
    s: &Arc<Subjects>,
    v: Variant,
    n: usize,
    in_flight: usize,
) -> anyhow::Result<f64> {
    let mean = if in_flight <= 1 {
        sequential(n, || async { s.one(v).await.map(drop) }).await?
    } else {
        let s = s.clone();
        concurrent(n, in_flight, move || {
            let s = s.clone();
            async move { s.one(v).await.map(drop) }
        })
        .await?
    };
    Ok(us(mean))
}

pub(crate) async fn curl_block(
    s: &Arc<Subjects>,
    v: Curl,
    n: usize,
    in_flight: usize,
) -> anyhow::Result<f64> {
    let mean = if in_flight <= 1 {
        sequential(n, || s.curl(v)).await?
    } else {
        let s = s.clone();
        concurrent(n, in_flight, move || {
            let s = s.clone();
            async move { s.curl(v).await }
        })
        .await?
    };
    Ok(us(mean))
}

/// One workload's samples, rotated over `rounds`: `samples[variant][round]` (µs/request).
pub(crate) fn summary(names: &[&str], samples: &[Vec<f64>]) -> Value {
    Value::Array(
        names
            .iter()
            .zip(samples)
            .map(|(name, s)| {
                json!({
                    "name": name,
                    "median": median(s),
                    "p10": percentile(s, 10.0),
                    "p90": percentile(s, 90.0),
                    "samples": s,
                })
            })
            .collect(),
    )
}

/// Per-round ratios `a[i] / b[i]`.
pub(crate) fn ratios(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x / y).collect()
}

pub(crate) async fn overhead(s: &Arc<Subjects>) -> anyhow::Result<(Vec<Row>, String, Value)> {
    let rounds = env_usize("BENCH_ROUNDS", 30);
    let seq_block = env_usize("BENCH_BLOCK", 200);
    let conc_block = env_usize("BENCH_CONCURRENT_BLOCK", 1000);
    let in_flight = env_usize("BENCH_IN_FLIGHT", 32);
    let names: Vec<&str> = Variant::ALL.iter().map(|v| v.name()).collect();

    let mut rows = Vec::new();
    let mut details = String::from(
        "\n**5. Local proxy: every variant** (µs per request, median over rounds of the block means)\n\n\
         | variant | sequential | in flight |\n|---|---|---|\n",
    );
    let mut raw = serde_json::Map::new();
    let mut medians = Vec::new();
    for (workload, n, flight) in [
        ("sequential", seq_block, 1),
        ("concurrent", conc_block, in_flight),
    ] {
        // Warm-up: connections open (as many as the workload keeps in flight), caches settled.
        for variant in Variant::ALL {
            block(s, variant, n.max(300), flight).await?;
        }
        let mut samples: Vec<Vec<f64>> = vec![Vec::new(); Variant::ALL.len()];
        for round in 0..rounds {
            for k in 0..Variant::ALL.len() {
                let index = (round + k) % Variant::ALL.len();
                samples[index].push(block(s, Variant::ALL[index], n, flight).await?);
            }
        }
        let med: Vec<f64> = samples.iter().map(|s| median(s)).collect();
        let [bare, session, send, forward, proxy] = [med[0], med[1], med[2], med[3], med[4]];
        let ratio = proxy / forward;
        let label = if flight > 1 {
            format!("{flight} in flight, median of {rounds}×{n}")
        } else {
            format!("sequential, median of {rounds}×{n}")
        };
        rows.push(Row {
            what: format!("5a. proxy: authenticated GET, µs/request ({label})"),
            subject: format!("{proxy:.1} µs (through the proxy)"),
            baseline: format!("{forward:.1} µs (Workspace::forward)"),
            ratio: Some(ratio),
            goal: format!("≤ {GOAL:.2}×"),
            met: verdict(ratio, GOAL),
        });
        rows.push(Row {
            what: format!("5b. same ({workload}), vs Workspace::send (Session::request)"),
            subject: format!("{proxy:.1} µs"),
            baseline: format!("{send:.1} µs"),
            ratio: Some(proxy / send),
            goal: "(diagnostic)".into(),
            met: None,
        });
        rows.push(Row {
            what: format!("5b. same ({workload}), vs bare reqwest straight to the server"),
            subject: format!("{proxy:.1} µs"),
            baseline: format!("{bare:.1} µs"),
            ratio: Some(proxy / bare),
            goal: "(diagnostic)".into(),
            met: None,
        });
        raw.insert(
            workload.to_owned(),
            json!({
                "block": n,
                "in_flight": flight,
                "rounds": rounds,
                "unit": if flight > 1 { "µs per request (wall time / requests)" } else { "µs per request (block mean)" },
                "variants": summary(&names, &samples),
                "proxy_over_forward_per_round_median": median(&ratios(&samples[4], &samples[3])),
                "proxy_over_send_per_round_median": median(&ratios(&samples[4], &samples[2])),
                "proxy_over_bare_per_round_median": median(&ratios(&samples[4], &samples[0])),
            }),
        );
        medians.push([bare, session, send, forward, proxy]);
    }
    for (i, variant) in Variant::ALL.iter().enumerate() {
        details.push_str(&format!(
            "| {} | {:.1} | {:.1} |\n",
            variant.name(),
            medians[0][i],
            medians[1][i]
        ));
    }
    raw.insert("target".into(), json!(TARGET));
    Ok((rows, details, Value::Object(raw)))
}

pub(crate) async fn curl_overhead(s: &Arc<Subjects>) -> anyhow::Result<(Vec<Row>, String, Value)> {
    let rounds = env_usize("BENCH_CURL_ROUNDS", 10);
    let seq_block = env_usize("BENCH_CURL_BLOCK", 40);
    let conc_block = env_usize("BENCH_CURL_CONCURRENT_BLOCK", 160);
    let in_flight = env_usize("BENCH_IN_FLIGHT", 32);
    let names: Vec<&str> = Curl::ALL.iter().map(|v| v.name()).collect();

    let mut rows = Vec::new();
    let mut details = String::from(
        "\n**5c. curl, one process per request** (µs per request, process spawn included)\n\n\
         | variant | sequential | in flight |\n|---|---|---|\n",
    );
    let mut raw = serde_json::Map::new();
    let mut medians = Vec::new();
    for (workload, n, flight) in [
        ("sequential", seq_block, 1),
        ("concurrent", conc_block, in_flight),
    ] {
        for variant in Curl::ALL {
            curl_block(s, variant, n.min(40), flight).await?;
        }
        let mut samples: Vec<Vec<f64>> = vec![Vec::new(); Curl::ALL.len()];
        for round in 0..rounds {
            for k in 0..Curl::ALL.len() {
                let index = (round + k) % Curl::ALL.len();
                samples[index].push(curl_block(s, Curl::ALL[index], n, flight).await?);
            }
        }
        let (direct, proxy) = (median(&samples[0]), median(&samples[1]));
        let label = if flight > 1 {
            format!("{flight} in flight, median of {rounds}×{n}")
        } else {
            format!("sequential, median of {rounds}×{n}")
        };
        rows.push(Row {
            what: format!("5c. proxy: one curl process per GET, µs/request ({label})"),
            subject: format!("{:.0} µs (curl → proxy)", proxy),
            baseline: format!("{:.0} µs (curl → server, own Bearer)", direct),
            ratio: Some(proxy / direct),
            goal: "(no goal set)".into(),
            met: None,
        });
        raw.insert(
            workload.to_owned(),
            json!({
                "block": n,
                "in_flight": flight,
                "rounds": rounds,
                "unit": if flight > 1 { "µs per request (wall time / requests)" } else { "µs per request (block mean)" },
                "variants": summary(&names, &samples),
                "proxy_over_direct_per_round_median": median(&ratios(&samples[1], &samples[0])),
            }),
        );
        medians.push([direct, proxy]);
    }
    for (i, variant) in Curl::ALL.iter().enumerate() {
        details.push_str(&format!(
            "| {} | {:.0} | {:.0} |\n",
            variant.name(),
            medians[0][i],
            medians[1][i]
        ));
    }
    let version = std::process::Command::new("curl")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(str::to_owned))
        .unwrap_or_default();
    raw.insert("curl_version".into(), json!(version));
    Ok((rows, details, Value::Object(raw)))
}

/// `n` concurrent requests through `target` from a fresh client: wall time from the first
/// spawn to the last answer.
pub(crate) async fn batch(target: &reqwest::Url, n: usize) -> anyhow::Result<Duration> {
    let client = client()?;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (client, target) = (client.clone(), target.clone());
        tasks.spawn(async move { get_through(&client, &target).await });
    }
    let mut failures = 0usize;
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                failures += 1;
                first_error.get_or_insert(format!("{error:#}"));
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
            "{failures} of {n} requests through the proxy failed; first: {}",
            first_error.unwrap_or_default()
        );
    }
    Ok(elapsed)
}

pub(crate) async fn concurrent_batches(
    workspace: &Arc<Workspace>,
    server: &TestServer,
    expired: Vec<Lent>,
) -> anyhow::Result<(Vec<Row>, Value)> {
    let n = env_usize("BENCH_BATCH", 1000);
    let mut valid_ms = Vec::new();
    let mut expired_ms = Vec::new();
    let mut expired_refreshes = Vec::new();
    for (round, old) in expired.into_iter().enumerate() {
        if !workspace.status(&old.name).await?.access_expired {
            bail!("round {round}: the access token is not expired yet");
        }
        let fresh = lend(workspace, server, &format!("valid-{round}")).await?;
        let order: [bool; 2] = if round % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        for is_expired in order {
            server.reset().await?;
            let lent = if is_expired { &old } else { &fresh };
            let took = batch(&lent.target, n).await?;
            let (total, ok) = refreshes(server).await?;
            if is_expired {
                if total != 1 || ok != 1 {
                    bail!("round {round}: {n} requests through the proxy on an expired token made {total} refresh calls ({ok} successful), expected exactly 1");
                }
                expired_refreshes.push(total);
                expired_ms.push(ms(took));
            } else {
                if total != 0 {
                    bail!("round {round}: {n} requests through the proxy on a valid token made {total} refresh calls");
                }
                valid_ms.push(ms(took));
            }
        }
        old.proxy.stop().await;
        fresh.proxy.stop().await;
    }
    let (v, e) = (median(&valid_ms), median(&expired_ms));
    let rounds = valid_ms.len();
    let rows = vec![
        Row {
            what: format!("5d. proxy: {n} concurrent requests, expired token: refreshes"),
            subject: format!("1 in each of {rounds} batches"),
            baseline: "0 (valid token)".into(),
            ratio: None,
            goal: "exactly 1".into(),
            met: Some(true),
        },
        Row {
            what: format!(
                "5d. proxy: {n} concurrent requests: batch wall time (median of {rounds})"
            ),
            subject: format!("{e:.1} ms (expired)"),
            baseline: format!("{v:.1} ms (valid)"),
            ratio: Some(e / v),
            goal: "(no goal set)".into(),
            met: None,
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
