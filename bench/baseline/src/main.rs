//! A hello-world Tauri app: one page that calls `ready` once loaded. It exists only as the
//! baseline of Tessera's launch, memory and package-size benchmarks (docs/BENCHMARKS.md).

// No console window on Windows in release builds, as in the app.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::process::ExitCode;

/// Called by the page once it is interactive; prints `baseline: ready` on stderr when
/// `TESSERA_REPORT_READY` is set (the benchmark times launch to this line).
#[tauri::command]
fn ready() {
    if std::env::var_os("TESSERA_REPORT_READY").is_some() {
        eprintln!("baseline: ready");
    }
}

fn main() -> ExitCode {
    match tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![ready])
        .run(tauri::generate_context!())
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("baseline: could not start: {error}");
            ExitCode::FAILURE
        }
    }
}
