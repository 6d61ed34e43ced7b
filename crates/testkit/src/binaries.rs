//! Finding the programs to run: the workspace, the `tessera-backend` binary (built on demand),
//! and the Python of the Django virtualenv.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use anyhow::{anyhow, bail, Context as _};

/// The workspace root (two levels above this crate's manifest).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| manifest.to_path_buf())
}

static BACKEND_BINARY: Mutex<Option<PathBuf>> = Mutex::new(None);

/// The `tessera-backend` executable: `$TESSERA_BACKEND_BIN`, else built with cargo once per
/// process (cargo's own lock makes concurrent test processes safe; an up-to-date build costs
/// well under a second).
pub fn backend_binary() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("TESSERA_BACKEND_BIN") {
        let path = PathBuf::from(path);
        if !path.is_file() {
            bail!("TESSERA_BACKEND_BIN={} is not a file", path.display());
        }
        return Ok(path);
    }
    let mut cached = BACKEND_BINARY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(path) = cached.as_ref() {
        return Ok(path.clone());
    }
    let path = build_backend()?;
    *cached = Some(path.clone());
    Ok(path)
}

fn build_backend() -> anyhow::Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut child = Command::new(&cargo)
        .current_dir(workspace_root())
        .args([
            "build",
            "--quiet",
            "-p",
            "tessera-backend",
            "--bin",
            "tessera-backend",
            "--message-format=json-render-diagnostics",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot run {cargo:?} to build tessera-backend"))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow!("cargo's stdout was not captured"))?;
    let mut executable = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.context("reading cargo's output")?;
        let Ok(message) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if message["reason"] == "compiler-artifact"
            && message["target"]["name"] == "tessera-backend"
        {
            if let Some(path) = message["executable"].as_str() {
                executable = Some(PathBuf::from(path));
            }
        }
    }
    let status = child.wait().context("waiting for cargo")?;
    if !status.success() {
        bail!("`cargo build -p tessera-backend` failed ({status})");
    }
    executable.ok_or_else(|| anyhow!("cargo built tessera-backend but reported no executable"))
}

/// The Python to run the Django project with: `$TESSERA_PYTHON`, else the workspace `.venv`.
pub fn django_python() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("TESSERA_PYTHON") {
        return Ok(PathBuf::from(path));
    }
    let venv = workspace_root().join(".venv");
    let python = if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    };
    if !python.exists() {
        bail!(
            "no Python virtualenv at {}: run scripts/setup.sh (or: python3 -m venv .venv && \
             .venv/bin/pip install -r tests/django/requirements.txt), or set TESSERA_PYTHON",
            venv.display()
        );
    }
    Ok(python)
}
