//! The release app against the hello-world Tauri baseline (`bench/baseline`), side by side in
//! one run under a display (`scripts/session-env.sh`: Xvfb + D-Bus + keyring):
//!
//! * **launch to interactive**: spawn → the ready line on stderr (`tessera: ready` /
//!   `baseline: ready`, printed when `TESSERA_REPORT_READY` is set and the page has called the
//!   app's ready command). Every measured run is a first launch: fresh `XDG_DATA_HOME`,
//!   `XDG_CONFIG_HOME` and `XDG_CACHE_HOME`. One unmeasured warm-up launch of each comes first.
//! * **idle memory**: after the ready line and `BENCH_IDLE_SECS` (5) of idling, PSS
//!   (`/proc/PID/smaps_rollup`) summed over the process and all its descendants (the WebKit web
//!   and network processes), found through `/proc/*/stat` parent links.
//!
//! Runs interleave app and baseline, alternating which goes first. Then the app runs a few more
//! times under WebKit environment settings (`WEBKIT_DISABLE_COMPOSITING_MODE`, ...) to show
//! what each changes. With `BENCH_SCREENSHOT=1`, a screenshot of the display (ImageMagick
//! `import`) per subject/variant goes to `artifacts/bench/`.
//!
//! The app runs with `TESSERA_NO_UPDATE_CHECK=1`: its once-a-day update check would reach
//! github.com, which a loopback benchmark must not depend on.
//!
//! Environment: `TESSERA_APP_BIN`, `TESSERA_BASELINE_BIN` (default `target/release/...`),
//! `BENCH_LAUNCH_RUNS` (8), `BENCH_VARIANT_RUNS` (3), `BENCH_IDLE_SECS` (5),
//! `BENCH_VARIANTS` (the app's extra variants: `K=V,K=V;K=V`, one per `;`).

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use serde_json::json;
use tessera_bench::process_tree::{descendants, process_name, pss_kib_of, stop_tree};
use tessera_bench::{
    env_usize, median, ms, out_dir, percentile, release_binary, write_results_with, Row,
};

const READY_TIMEOUT: Duration = Duration::from_secs(60);

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench launch: {error:#}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Clone)]
struct Subject {
    label: String,
    bin: PathBuf,
    ready_line: &'static str,
    env: Vec<(String, String)>,
}

/// One launch's figures.
#[derive(Debug, Clone)]
struct Sample {
    launch_ms: f64,
    pss_kib: u64,
    /// PSS per process name (summed when a name occurs twice).
    by_process: BTreeMap<String, u64>,
}

fn run() -> anyhow::Result<()> {
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        bail!("no display: run under scripts/session-env.sh");
    }
    let runs = env_usize("BENCH_LAUNCH_RUNS", 8);
    let variant_runs = env_usize("BENCH_VARIANT_RUNS", 3);
    let idle = Duration::from_secs(env_usize("BENCH_IDLE_SECS", 5) as u64);
    let screenshots = std::env::var_os("BENCH_SCREENSHOT").is_some();
    let app = Subject {
        label: "app".into(),
        bin: release_binary("TESSERA_APP_BIN", "tessera")?,
        ready_line: "tessera: ready",
        // The once-a-day update check would reach github.com: not part of what is measured.
        env: vec![("TESSERA_NO_UPDATE_CHECK".to_owned(), "1".to_owned())],
    };
    let baseline = Subject {
        label: "baseline".into(),
        bin: release_binary("TESSERA_BASELINE_BIN", "tessera-baseline")?,
        ready_line: "baseline: ready",
        env: Vec::new(),
    };

    // Warm-up: binaries, libraries and fonts into the page cache.
    for subject in [&app, &baseline] {
        launch(subject, Duration::from_millis(500), false)
            .with_context(|| format!("warm-up launch of the {}", subject.label))?;
    }
    let (mut app_samples, mut base_samples) = (Vec::new(), Vec::new());
    for round in 0..runs {
        let shot = screenshots && round == 0;
        if round % 2 == 0 {
            app_samples.push(launch(&app, idle, shot)?);
            base_samples.push(launch(&baseline, idle, shot)?);
        } else {
            base_samples.push(launch(&baseline, idle, shot)?);
            app_samples.push(launch(&app, idle, shot)?);
        }
        eprintln!(
            "launch round {round}: app {:.0} ms {:.1} MB, baseline {:.0} ms {:.1} MB",
            app_samples[round].launch_ms,
            mb(app_samples[round].pss_kib),
            base_samples[round].launch_ms,
            mb(base_samples[round].pss_kib)
        );
    }

    // WebKit environment settings, each tried on the app (interleaved round-robin).
    // `BENCH_VARIANTS="K=V,K=V;K=V"` replaces the list (one variant per `;`).
    let spec = std::env::var("BENCH_VARIANTS").unwrap_or_else(|_| {
        "WEBKIT_DISABLE_COMPOSITING_MODE=1;WEBKIT_DISABLE_DMABUF_RENDERER=1;\
         WEBKIT_DISABLE_COMPOSITING_MODE=1,WEBKIT_DISABLE_DMABUF_RENDERER=1"
            .to_owned()
    });
    let subjects: Vec<Subject> = spec
        .split(';')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|variant| {
            let mut env = app.env.clone();
            env.extend(variant.split(',').filter_map(|kv| {
                kv.split_once('=')
                    .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            }));
            Subject {
                label: format!("app, {variant}"),
                env,
                ..app.clone()
            }
        })
        .collect();
    let mut variant_samples: Vec<Vec<Sample>> = vec![Vec::new(); subjects.len()];
    for round in 0..variant_runs {
        for (i, subject) in subjects.iter().enumerate() {
            variant_samples[i].push(launch(subject, idle, screenshots && round == 0)?);
        }
    }

    let launch_of = |s: &[Sample]| s.iter().map(|x| x.launch_ms).collect::<Vec<_>>();
    let pss_of = |s: &[Sample]| s.iter().map(|x| mb(x.pss_kib)).collect::<Vec<_>>();
    let (app_launch, base_launch) = (
        median(&launch_of(&app_samples)),
        median(&launch_of(&base_samples)),
    );
    let (app_pss, base_pss) = (
        median(&pss_of(&app_samples)),
        median(&pss_of(&base_samples)),
    );
    let launch_ratio = app_launch / base_launch;
    let pss_ratio = app_pss / base_pss;
    let mut rows = vec![
        Row {
            what: format!("4a. launch → interactive (median of {runs} first launches)"),
            subject: format!("{app_launch:.0} ms"),
            baseline: format!("{base_launch:.0} ms"),
            ratio: Some(launch_ratio),
            goal: "≤ 1.1× and < 1 s".into(),
            met: Some(launch_ratio <= 1.1 && app_launch < 1000.0),
        },
        Row {
            what: format!(
                "4b. idle PSS, app + WebKit processes ({}s after ready, median of {runs})",
                idle.as_secs()
            ),
            subject: format!("{app_pss:.1} MB"),
            baseline: format!("{base_pss:.1} MB"),
            ratio: Some(pss_ratio),
            goal: "≤ 1.1×".into(),
            met: Some(pss_ratio <= 1.1),
        },
    ];
    for (subject, samples) in subjects.iter().zip(&variant_samples) {
        let pss = median(&pss_of(samples));
        rows.push(Row {
            what: format!("4b. idle PSS, {} (median of {variant_runs})", subject.label),
            subject: format!("{pss:.1} MB"),
            baseline: format!("{base_pss:.1} MB (baseline, default)"),
            ratio: Some(pss / base_pss),
            goal: "(exploration)".into(),
            met: None,
        });
    }

    // Per-process breakdown (medians).
    let mut details =
        String::from("\n**Idle PSS by process (MB, medians)**\n\n| subject | total | ");
    let names = [
        "tessera",
        "tessera-baseline",
        "WebKitWebProcess",
        "WebKitNetworkProcess",
    ];
    let mut all: Vec<(String, &Vec<Sample>)> = vec![
        ("app".into(), &app_samples),
        ("baseline".into(), &base_samples),
    ];
    for (subject, samples) in subjects.iter().zip(&variant_samples) {
        all.push((subject.label.clone(), samples));
    }
    details.push_str("main process | WebKitWebProcess | WebKitNetworkProcess | other | launch ms |\n|---|---|---|---|---|---|---|\n");
    let mut breakdown = Vec::new();
    for (label, samples) in &all {
        let col = |name: &str| {
            median(
                &samples
                    .iter()
                    .map(|s| mb(s.by_process.get(name).copied().unwrap_or(0)))
                    .collect::<Vec<_>>(),
            )
        };
        let main = col(names[0]) + col(names[1]);
        let (web, net) = (col(names[2]), col(names[3]));
        let total = median(&pss_of(samples));
        let launch_med = median(&launch_of(samples));
        details.push_str(&format!(
            "| {label} | {total:.1} | {main:.1} | {web:.1} | {net:.1} | {:.1} | {launch_med:.0} |\n",
            (total - main - web - net).max(0.0)
        ));
        breakdown.push(json!({
            "subject": label,
            "launch_ms": launch_of(samples),
            "pss_mb": pss_of(samples),
            "by_process_kib": samples.iter().map(|s| &s.by_process).collect::<Vec<_>>(),
            "launch_p10_p90": [percentile(&launch_of(samples), 10.0), percentile(&launch_of(samples), 90.0)],
        }));
    }
    write_results_with(
        "launch",
        &rows,
        &details,
        &json!({"runs": runs, "variant_runs": variant_runs, "idle_secs": idle.as_secs(), "subjects": breakdown}),
    )
}

fn mb(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Launches `subject` on fresh XDG directories, times the ready line, idles, samples PSS over
/// the process tree, and stops the tree.
fn launch(subject: &Subject, idle: Duration, screenshot: bool) -> anyhow::Result<Sample> {
    let dirs = tempfile::tempdir().context("temp dir")?;
    let mut command = Command::new(&subject.bin);
    for sub in ["data", "config", "cache"] {
        std::fs::create_dir_all(dirs.path().join(sub))?;
    }
    command
        .env("TESSERA_REPORT_READY", "1")
        .env("XDG_DATA_HOME", dirs.path().join("data"))
        .env("XDG_CONFIG_HOME", dirs.path().join("config"))
        .env("XDG_CACHE_HOME", dirs.path().join("cache"))
        .envs(subject.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {}", subject.bin.display()))?;
    let result = sample(subject, &mut child, started, idle, screenshot);
    stop_tree(&mut child);
    result
}

fn sample(
    subject: &Subject,
    child: &mut Child,
    started: Instant,
    idle: Duration,
    screenshot: bool,
) -> anyhow::Result<Sample> {
    let stderr = child
        .stderr
        .take()
        .ok_or_else(|| anyhow!("stderr not captured"))?;
    let (tx, rx) = mpsc::channel::<Instant>();
    let wanted = subject.ready_line;
    let label = subject.label.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.trim() == wanted {
                let _ = tx.send(Instant::now());
            } else if !line.trim().is_empty() {
                // The app's own warnings are worth seeing; they never hold a token.
                if !line.contains("eyJ") {
                    eprintln!("  [{label}] {line}");
                }
            }
        }
    });
    let ready = rx.recv_timeout(READY_TIMEOUT).map_err(|_| {
        anyhow!(
            "{} printed no {wanted:?} within {READY_TIMEOUT:?}",
            subject.label
        )
    })?;
    let launch_ms = ms(ready.duration_since(started));
    std::thread::sleep(idle);
    if let Ok(Some(status)) = child.try_wait() {
        bail!("{} exited while idle: {status}", subject.label);
    }
    let tree = descendants(child.id());
    let mut by_process = BTreeMap::new();
    let mut pss_kib = 0;
    for pid in &tree {
        let Some(pss) = pss_kib_of(*pid) else {
            continue;
        };
        let name = process_name(*pid);
        *by_process.entry(name).or_insert(0) += pss;
        pss_kib += pss;
    }
    if screenshot {
        take_screenshot(&subject.label);
    }
    Ok(Sample {
        launch_ms,
        pss_kib,
        by_process,
    })
}

fn take_screenshot(label: &str) {
    let Ok(dir) = out_dir() else { return };
    let file: String = label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let path = dir.join(format!("screen-{file}.png"));
    let ok = Command::new("import")
        .args(["-window", "root"])
        .arg(&path)
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("  (no screenshot: ImageMagick `import` failed or is missing)");
    }
}
