//! Drives the real Tessera window over WebDriver: starts `tauri-driver` (which starts
//! WebKitWebDriver and the app), opens a session on the release-mode binary, and stores
//! screenshots as test artifacts. Shared by every end-to-end test.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use fantoccini::{Client, ClientBuilder, Locator};
use tokio::process::{Child, Command};

pub mod a11y;
pub mod ui;

/// Environment variable naming the app binary under test (set by `scripts/test.sh`).
pub const APP_BIN_ENV: &str = "TESSERA_APP_BIN";

/// The release-mode app binary the tests drive.
pub fn app_binary() -> Result<PathBuf> {
    let path = std::env::var_os(APP_BIN_ENV)
        .map(PathBuf::from)
        .with_context(|| {
            format!(
            "{APP_BIN_ENV} is not set: run the end-to-end tests through `bash scripts/test.sh`, \
             which builds the app like a release and provides Xvfb, tauri-driver and a keyring"
        )
        })?;
    let path = if path.is_absolute() {
        path
    } else {
        workspace_root().join(path)
    };
    if !path.is_file() {
        bail!(
            "{APP_BIN_ENV}={} does not exist: build it with `npx tauri build --no-bundle`",
            path.display()
        );
    }
    Ok(path)
}

/// The test server's user and password, owned (its first configured user).
pub fn credentials(server: &tessera_testkit::TestServer) -> (String, String) {
    server
        .user()
        .map(|(u, p)| (u.to_owned(), p.to_owned()))
        .unwrap_or_default()
}

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Where tests store screenshots and other artifacts (`artifacts/e2e/`).
pub fn artifacts_dir() -> Result<PathBuf> {
    let dir = workspace_root().join("artifacts").join("e2e");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding a free loopback port")?;
    Ok(listener.local_addr()?.port())
}

/// A running `tauri-driver`, killed when dropped.
pub struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    /// Starts `tauri-driver` on free loopback ports and waits until it answers.
    pub async fn start() -> Result<Self> {
        Self::start_with_env(&[]).await
    }

    /// Like [`Driver::start`], with extra environment variables for the app it launches
    /// (e.g. its own `XDG_DATA_HOME`, so each test has its own profiles file).
    pub async fn start_with_env(env: &[(&str, &std::ffi::OsStr)]) -> Result<Self> {
        if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
            bail!("no display: run the end-to-end tests through `bash scripts/test.sh` (it starts Xvfb)");
        }
        let port = free_port()?;
        let native_port = free_port()?;
        let driver = std::env::var("TAURI_DRIVER").unwrap_or_else(|_| "tauri-driver".to_owned());
        let child = Command::new(&driver)
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native_port.to_string(),
            ])
            .envs(env.iter().map(|(k, v)| (*k, *v)))
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| {
                format!("starting {driver}: install it with `bash scripts/setup.sh test`")
            })?;
        let mut driver = Self { child, port };
        driver.wait_ready(native_port).await?;
        Ok(driver)
    }

    /// Waits until tauri-driver and the native WebKitWebDriver it starts both listen: a
    /// session request that reaches tauri-driver before WebKitWebDriver listens fails with a
    /// dropped connection (tauri-apps/tauri#3576).
    async fn wait_ready(&mut self, native_port: u16) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("tauri-driver exited early with {status}");
            }
            let listening = |port: u16| async move {
                tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .is_ok()
            };
            if listening(self.port).await && listening(native_port).await {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "tauri-driver (port {}) and WebKitWebDriver (port {native_port}) did not both listen within 30 s",
                    self.port
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Opens a WebDriver session: tauri-driver launches `app` with `args`.
    pub async fn launch(&self, app: &Path, args: &[&str]) -> Result<Client> {
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), "wry".into());
        caps.insert(
            "tauri:options".into(),
            serde_json::json!({ "application": app, "args": args }),
        );
        // Several rustls crypto providers are compiled in (reqwest's ring, fantoccini's): pick one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = ClientBuilder::rustls()
            .context("WebDriver client TLS setup")?
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .context("opening a WebDriver session on the app")?;
        Ok(client)
    }
}

/// Waits until the page says it is interactive (`<body data-ready="true">`).
pub async fn wait_until_ready(client: &Client) -> Result<()> {
    client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css("body[data-ready='true']"))
        .await
        .context("the page never signalled readiness (body[data-ready=true])")?;
    Ok(())
}

/// Saves a PNG screenshot of the window under `artifacts/e2e/NAME.png`.
pub async fn save_screenshot(client: &Client, name: &str) -> Result<PathBuf> {
    let png = client.screenshot().await.context("taking a screenshot")?;
    let path = artifacts_dir()?.join(format!("{name}.png"));
    std::fs::write(&path, png).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// The `data-testid` locator used across the UI.
pub fn testid(id: &str) -> String {
    format!("[data-testid='{id}']")
}

/// Only one Tessera may run at a time (single-instance plugin): tests that launch the app hold
/// this lock for as long as their app runs.
pub async fn app_slot() -> tokio::sync::MutexGuard<'static, ()> {
    static SLOT: std::sync::OnceLock<tokio::sync::Mutex<()>> = std::sync::OnceLock::new();
    SLOT.get_or_init(|| tokio::sync::Mutex::new(()))
        .lock()
        .await
}
