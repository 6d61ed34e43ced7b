//! Remembers the main window's size and position in tauri-plugin-store (`settings.json` in the
//! app's data directory), so the app reopens where the user left it. Non-secret by design.

use serde::{Deserialize, Serialize};
use tauri::{LogicalPosition, LogicalSize, Manager, Runtime, WebviewWindow, WindowEvent};
use tauri_plugin_store::StoreExt;

const STORE_FILE: &str = "settings.json";
const KEY: &str = "main_window";

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Geometry {
    width: f64,
    height: f64,
    x: f64,
    y: f64,
}

/// Restores the saved geometry (if any, and if sane) and saves it again when the window closes.
pub fn track<R: Runtime>(window: &WebviewWindow<R>) {
    restore(window);
    let handle = window.clone();
    window.on_window_event(move |event| {
        if let WindowEvent::CloseRequested { .. } = event {
            save(&handle);
        }
    });
}

fn restore<R: Runtime>(window: &WebviewWindow<R>) {
    let Ok(store) = window.app_handle().store(STORE_FILE) else {
        return;
    };
    let Some(saved) = store
        .get(KEY)
        .and_then(|v| serde_json::from_value::<Geometry>(v).ok())
    else {
        return;
    };
    // Ignore nonsense (a corrupted or hand-edited file): the window keeps its defaults.
    let sane = |v: f64, lo: f64, hi: f64| v.is_finite() && v >= lo && v <= hi;
    if sane(saved.width, 720.0, 10_000.0) && sane(saved.height, 520.0, 10_000.0) {
        let _ = window.set_size(LogicalSize::new(saved.width, saved.height));
        if sane(saved.x, -10_000.0, 10_000.0) && sane(saved.y, -10_000.0, 10_000.0) {
            let _ = window.set_position(LogicalPosition::new(saved.x, saved.y));
        }
    }
}

fn save<R: Runtime>(window: &WebviewWindow<R>) {
    let (Ok(scale), Ok(size), Ok(position)) = (
        window.scale_factor(),
        window.inner_size(),
        window.outer_position(),
    ) else {
        return;
    };
    let size = size.to_logical::<f64>(scale);
    let position = position.to_logical::<f64>(scale);
    let geometry = Geometry {
        width: size.width,
        height: size.height,
        x: position.x,
        y: position.y,
    };
    if let (Ok(store), Ok(value)) = (
        window.app_handle().store(STORE_FILE),
        serde_json::to_value(geometry),
    ) {
        store.set(KEY, value);
        if let Err(error) = store.save() {
            tracing::warn!(%error, "could not save the window geometry");
        }
    }
}
