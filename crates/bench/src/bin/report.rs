//! The last step of `scripts/bench.sh`: measures the `.deb` packages (size, biggest entries,
//! the app binary's sections), then joins every benchmark's rows with a description of the
//! machine into `artifacts/bench/summary.md` (and `summary.json`) and prints it.
//!
//! Environment: `TESSERA_APP_DEB`, `TESSERA_BASELINE_DEB` (paths of the two `.deb`s),
//! `TESSERA_APP_BIN` (the release app binary, for `size`), `BENCH_LOADAVG_START`.

use std::path::Path;
use std::process::{Command, ExitCode};

use anyhow::Context as _;
use serde_json::json;
use tessera_bench::{
    guard_no_token, out_dir, release_binary, write_results_with, Row, TABLE_HEADER,
};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench report: {error:#}");
            ExitCode::FAILURE
        }
    }
}

const MB: f64 = 1_000_000.0;
const MIB: f64 = 1_048_576.0;

fn run() -> anyhow::Result<()> {
    let dir = out_dir()?;
    if let (Some(app), Some(base)) = (
        std::env::var_os("TESSERA_APP_DEB"),
        std::env::var_os("TESSERA_BASELINE_DEB"),
    ) {
        debs(Path::new(&app), Path::new(&base))?;
    } else {
        eprintln!("bench report: TESSERA_APP_DEB / TESSERA_BASELINE_DEB not set, no .deb figures");
    }

    let mut summary = String::from("# Tessera benchmarks\n\n");
    summary.push_str(&machine());
    summary.push('\n');
    summary.push_str(TABLE_HEADER);
    summary.push('\n');
    let mut details = String::new();
    let mut rows = Vec::new();
    for name in ["engine", "cli", "launch", "deb", "proxy"] {
        if let Ok(md) = std::fs::read_to_string(dir.join(format!("{name}.md"))) {
            summary.push_str(&md);
        }
        if let Ok(md) = std::fs::read_to_string(dir.join(format!("{name}.details.md"))) {
            details.push_str(&md);
            details.push('\n');
        }
        if let Ok(text) = std::fs::read_to_string(dir.join(format!("{name}.json"))) {
            let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            rows.push(json!({"bench": name, "result": value}));
        }
    }
    summary.push_str(&details);
    guard_no_token(&summary)?;
    std::fs::write(dir.join("summary.md"), &summary).context("writing summary.md")?;
    let all = serde_json::to_string_pretty(&json!({"machine": machine(), "benchmarks": rows}))?;
    guard_no_token(&all)?;
    std::fs::write(dir.join("summary.json"), all).context("writing summary.json")?;
    println!("\n{summary}");
    println!("(written to {})", dir.join("summary.md").display());
    Ok(())
}

fn debs(app: &Path, base: &Path) -> anyhow::Result<()> {
    let size = |p: &Path| -> anyhow::Result<u64> {
        Ok(std::fs::metadata(p)
            .with_context(|| format!("{} not found", p.display()))?
            .len())
    };
    let (a, b) = (size(app)?, size(base)?);
    let rows = vec![Row {
        what: "4c. `.deb` size".into(),
        subject: format!("{:.2} MiB ({:.2} MB)", a as f64 / MIB, a as f64 / MB),
        baseline: format!("{:.2} MiB ({:.2} MB)", b as f64 / MIB, b as f64 / MB),
        ratio: Some(a as f64 / b as f64),
        goal: "≤ 5 MB".into(),
        met: Some((a as f64) <= 5.0 * MB),
    }];
    let mut details =
        String::from("\n**What is in the `.deb`s** (largest entries, installed size)\n\n");
    for (label, deb) in [("app", app), ("baseline", base)] {
        details.push_str(&format!("{label} (`{}`):\n\n```\n", deb.display()));
        details.push_str(&largest_entries(deb, 6));
        details.push_str("```\n\n");
    }
    let mut binaries = Vec::new();
    for (label, env, name) in [
        ("app", "TESSERA_APP_BIN", "tessera"),
        ("baseline", "TESSERA_BASELINE_BIN", "tessera-baseline"),
    ] {
        if let Ok(bin) = release_binary(env, name) {
            let out = Command::new("size").arg(&bin).output();
            if let Ok(out) = out {
                let text = String::from_utf8_lossy(&out.stdout).into_owned();
                details.push_str(&format!(
                    "`size` of the {label} binary:\n\n```\n{text}```\n\n"
                ));
                binaries.push(json!({"subject": label, "size": text}));
            }
        }
    }
    write_results_with(
        "deb",
        &rows,
        &details,
        &json!({"app_deb_bytes": a, "baseline_deb_bytes": b, "binaries": binaries}),
    )
}

/// The `n` largest files of a `.deb` (from `dpkg-deb -c`).
fn largest_entries(deb: &Path, n: usize) -> String {
    let Ok(out) = Command::new("dpkg-deb").arg("-c").arg(deb).output() else {
        return "(dpkg-deb not available)\n".into();
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let mut entries: Vec<(u64, String)> = text
        .lines()
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            let size = parts.nth(2)?.parse().ok()?;
            let path = parts.nth(2)?.to_owned();
            Some((size, path))
        })
        .collect();
    entries.sort_by_key(|e| std::cmp::Reverse(e.0));
    entries
        .iter()
        .take(n)
        .map(|(size, path)| format!("{:>10.1} KiB  {path}\n", *size as f64 / 1024.0))
        .collect()
}

fn first_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

fn machine() -> String {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "?".into());
    let mem_kib: u64 = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let os = read("/etc/os-release")
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_owned())
        .unwrap_or_else(|| "?".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load_now = read("/proc/loadavg");
    let load_start = std::env::var("BENCH_LOADAVG_START").unwrap_or_else(|_| "?".into());
    let date = first_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let lines = [
        format!("- date: {date}"),
        format!("- CPU: {cpu}, {cores} cores available to this process"),
        format!("- memory: {:.1} GiB", mem_kib as f64 / MIB),
        format!("- OS: {os}, kernel {}", first_line("uname", &["-r"])),
        format!(
            "- WebKitGTK: {}",
            first_line(
                "dpkg-query",
                &["-W", "-f=${Version}", "libwebkit2gtk-4.1-0"]
            )
        ),
        format!("- {}", first_line("rustc", &["--version"])),
        format!(
            "- load average (1/5/15 min) at start: {}, at the end: {}",
            load_start.trim(),
            load_now
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        ),
    ];
    let text = lines.join("\n") + "\n";
    if text.contains("eyJ") {
        return String::new();
    }
    text
}
