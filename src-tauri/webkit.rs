//! WebKitGTK tuning for the main window (Linux only).
//!
//! Why this exists: on Linux the window is a WebKitGTK web view whose defaults suit a web
//! browser (a large in-memory page cache). Tessera shows one small local page, so the
//! benchmarks of issue 7 (docs/BENCHMARKS.md, `scripts/bench.sh`) measured WebKit's settings
//! and this module applies the ones that lowered idle memory without changing the UI.
//! Applied once from `setup` through `WebviewWindow::with_webview`; a failure is logged and
//! the window keeps WebKit's defaults.

#[cfg(target_os = "linux")]
pub fn tune<R: tauri::Runtime>(app: &tauri::App<R>) {
    use tauri::Manager as _;
    use webkit2gtk::{
        CacheModel, HardwareAccelerationPolicy, SettingsExt as _, WebContextExt as _,
        WebViewExt as _,
    };

    let Some(window) = app.get_webview_window("main") else {
        return;
    };
    let knobs = std::env::var("TESSERA_WEBKIT_EXPERIMENT").unwrap_or_default();
    if knobs.contains("mempressure") {
        let mut settings = webkit2gtk::MemoryPressureSettings::new();
        settings.set_memory_limit(64);
        webkit2gtk::WebsiteDataManager::set_memory_pressure_settings(&mut settings);
    }
    let result = window.with_webview(move |webview| {
        let view = webview.inner();
        if knobs.contains("cache") {
            if let Some(context) = view.context() {
                context.set_cache_model(CacheModel::DocumentViewer);
            }
        }
        if knobs.contains("hw-never") {
            if let Some(settings) = view.settings() {
                settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
            }
        }
        if knobs.contains("no-page-cache") {
            if let Some(settings) = view.settings() {
                settings.set_enable_page_cache(false);
            }
        }
    });
    if let Err(error) = result {
        tracing::warn!("WebKit settings not applied: {error}");
    }
}

/// Nothing to tune on the other platforms' web views.
#[cfg(not(target_os = "linux"))]
pub fn tune<R: tauri::Runtime>(_app: &tauri::App<R>) {}
