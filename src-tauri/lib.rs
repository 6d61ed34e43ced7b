//! The Tessera desktop shell: a thin Tauri layer over the Tauri-free session engine.
//!
//! Commands live in [`commands`], each a few lines that call one core API and map the error
//! to `{code, message}`. No request, refresh or keyring logic belongs here.

pub mod commands;
pub mod error;

use std::process::ExitCode;

/// Builds the Tauri application with every command and plugin the main window uses.
pub fn builder<R: tauri::Runtime>() -> tauri::Builder<R> {
    tauri::Builder::<R>::new().invoke_handler(tauri::generate_handler![commands::app_info])
}

/// Runs the desktop app until its last window closes.
pub fn run() -> ExitCode {
    match builder::<tauri::Wry>().run(tauri::generate_context!()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tessera: could not start the desktop app: {error}");
            ExitCode::FAILURE
        }
    }
}
