//! WebKitGTK settings for the main window (Linux only).
//!
//! Why this exists: WebKitGTK's defaults suit a web browser, and the issue-7 benchmarks
//! (`scripts/bench.sh`, docs/BENCHMARKS.md) showed that its accelerated compositing costs
//! Tessera's one small page about 80 MB of idle memory in the web process (PSS, measured under
//! Xvfb) while drawing exactly the same pixels. So the window never composites on the GPU.
//! The other settings measured there (cache model `DocumentViewer`, page cache off, memory
//! pressure limits) changed nothing measurable and are deliberately not set.
//!
//! Applied once from `setup` through `WebviewWindow::with_webview`; the setting is sent to the
//! web process, so it also applies when that process already runs. A failure is logged and the
//! window keeps WebKit's defaults.

/// Run first thing in `run()`, before GTK and WebKit start (and before any other thread): the
/// web process reads its environment when it is spawned. Without the DMA-BUF renderer WebKit
/// starts straight in the mode `tune` would switch it to anyway: measured ~48 ms faster to an
/// interactive login screen and ~10 MB less idle PSS (docs/BENCHMARKS.md). A value the user
/// set wins (e.g. `WEBKIT_DISABLE_DMABUF_RENDERER=0`).
#[cfg(target_os = "linux")]
pub fn before_start() {
    const VAR: &str = "WEBKIT_DISABLE_DMABUF_RENDERER";
    if std::env::var_os(VAR).is_none() {
        std::env::set_var(VAR, "1");
    }
}

/// Nothing to prepare on the other platforms.
#[cfg(not(target_os = "linux"))]
pub fn before_start() {}

/// Applies the settings to the `main` window's web view.
#[cfg(target_os = "linux")]
pub fn tune<R: tauri::Runtime>(app: &tauri::App<R>) {
    use tauri::Manager as _;
    use webkit2gtk::{HardwareAccelerationPolicy, SettingsExt as _, WebViewExt as _};

    let Some(window) = app.get_webview_window("main") else {
        return;
    };
    let result = window.with_webview(|webview| {
        if let Some(settings) = webview.inner().settings() {
            settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
        }
    });
    if let Err(error) = result {
        tracing::warn!("WebKit settings not applied: {error}");
    }
}

/// The other platforms' web views keep their defaults.
#[cfg(not(target_os = "linux"))]
pub fn tune<R: tauri::Runtime>(_app: &tauri::App<R>) {}
