//! Shared helpers of Tessera's benchmark programs (`scripts/bench.sh` runs them): statistics,
//! where results go, and the one place results are written.
//!
//! Every program writes `artifacts/bench/<name>.json` (all raw samples, for later analysis) and
//! `artifacts/bench/<name>.md` (its rows of the summary table); `report` joins them. Benchmarks
//! are measurements, not tests: a program exits non-zero only when a *correctness* check fails
//! (a request that did not succeed, a refresh count other than the expected one), never because a
//! figure missed its goal.

pub mod engine_clients;
pub mod process_tree;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use serde::Serialize;

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    tessera_testkit::workspace_root()
}

/// `artifacts/bench/` (created), or `$TESSERA_BENCH_OUT`.
pub fn out_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::var_os("TESSERA_BENCH_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("artifacts").join("bench"));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// A release binary of the workspace: `$<env>` if set, else `target/release/<name>` (or
/// `$CARGO_TARGET_DIR/release/<name>`).
pub fn release_binary(env: &str, name: &str) -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os(env) {
        return Ok(PathBuf::from(path));
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let path = target.join("release").join(name);
    if !path.is_file() {
        anyhow::bail!(
            "{} not found: build it in release mode first (or set {env})",
            path.display()
        );
    }
    Ok(path)
}

/// A positive integer from the environment, else `default` (how many rounds, etc.).
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n: &usize| *n > 0)
        .unwrap_or(default)
}

/// Median of the samples (0 for none).
pub fn median(samples: &[f64]) -> f64 {
    percentile(samples, 50.0)
}

/// Nearest-rank-interpolated percentile (0 for none).
pub fn percentile(samples: &[f64], p: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (p / 100.0) * (sorted.len() - 1) as f64;
    let low = rank.floor() as usize;
    let high = rank.ceil() as usize;
    let (a, b) = (sorted[low], sorted[high.min(sorted.len() - 1)]);
    a + (b - a) * (rank - low as f64)
}

/// Milliseconds as f64.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Microseconds as f64.
pub fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000_000.0
}

/// One row of the summary table.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub what: String,
    pub subject: String,
    pub baseline: String,
    pub ratio: Option<f64>,
    pub goal: String,
    /// `Some(true)` met, `Some(false)` missed, `None` no goal.
    pub met: Option<bool>,
}

impl Row {
    pub fn markdown(&self) -> String {
        let ratio = self
            .ratio
            .map_or_else(|| "—".to_owned(), |r| format!("{r:.3}×"));
        let verdict = match self.met {
            Some(true) => "met",
            Some(false) => "**missed**",
            None => "—",
        };
        format!(
            "| {} | {} | {} | {} | {} | {} |",
            self.what, self.subject, self.baseline, ratio, self.goal, verdict
        )
    }
}

/// Header of the summary table.
pub const TABLE_HEADER: &str =
    "| benchmark | Tessera | baseline | ratio | goal | |\n|---|---|---|---|---|---|";

/// Writes `<name>.json` (the raw data) and `<name>.md` (the rows), and prints the rows.
pub fn write_results(name: &str, rows: &[Row], raw: &serde_json::Value) -> anyhow::Result<()> {
    write_results_with(name, rows, "", raw)
}

/// As [`write_results`], with more markdown (details) written to `<name>.details.md`.
pub fn write_results_with(
    name: &str,
    rows: &[Row],
    details: &str,
    raw: &serde_json::Value,
) -> anyhow::Result<()> {
    let dir = out_dir()?;
    if !details.is_empty() {
        guard_no_token(details)?;
        write(&dir.join(format!("{name}.details.md")), details)?;
        println!("{details}");
    }
    let json = serde_json::json!({ "rows": rows, "raw": raw });
    let text = serde_json::to_string_pretty(&json).context("serialising results")?;
    guard_no_token(&text)?;
    write(&dir.join(format!("{name}.json")), &text)?;
    let md: Vec<String> = rows.iter().map(Row::markdown).collect();
    let md = md.join("\n") + "\n";
    write(&dir.join(format!("{name}.md")), &md)?;
    println!("{TABLE_HEADER}\n{md}");
    Ok(())
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Refuses to write anything that looks like a JWT.
pub fn guard_no_token(text: &str) -> anyhow::Result<()> {
    if text.contains("eyJ") {
        anyhow::bail!("refusing to write benchmark output that contains a JWT-looking string");
    }
    Ok(())
}

/// Total refreshes the server saw since its counters were last reset (any status), and the
/// successful ones (`POST /api/token/refresh/ 200`), from the backend's `/_test/` counters.
pub async fn refreshes(server: &tessera_testkit::TestServer) -> anyhow::Result<(u64, u64)> {
    let counters = server.counters().await?;
    let total = counters
        .iter()
        .filter(|(k, _)| k.starts_with("POST /api/token/refresh/"))
        .map(|(_, n)| n)
        .sum();
    let ok = counters
        .get("POST /api/token/refresh/ 200")
        .copied()
        .unwrap_or(0);
    Ok((total, ok))
}

/// Formats a ratio against a goal.
pub fn verdict(ratio: f64, goal: f64) -> Option<bool> {
    Some(ratio <= goal)
}
