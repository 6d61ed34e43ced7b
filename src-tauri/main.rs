//! Entry point of the Tessera desktop app: everything lives in the library so tests can
//! build the same app on Tauri's mock runtime.

// Prevents an additional console window on Windows in release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() -> std::process::ExitCode {
    tessera_app::run()
}
