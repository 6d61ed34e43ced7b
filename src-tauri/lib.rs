//! The Tessera desktop shell: a thin Tauri layer over the Tauri-free session engine.
//!
//! Commands live in [`commands`], each a few lines over the engine's `Workspace` that map
//! arguments, the answer ([`models`]) and the error ([`error`], `{code, message}`). No profile,
//! request, refresh or keyring logic belongs here.

pub mod commands;
pub mod error;
pub mod installation;
pub mod launch;
pub mod models;
pub mod sharing;
pub mod state;
pub mod updates;
mod webkit;
mod window_state;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use tauri::{Manager, Runtime};
use tessera_session::{SecretStore, WorkspaceConfig};

use crate::launch::LaunchOptions;
use crate::state::AppState;

/// Registers every command the window may call.
pub fn with_commands<R: Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder
        .manage(updates::PendingUpdate::default())
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::app_ready,
            commands::app_start,
            commands::profile_apply_preset,
            commands::profile_detect,
            commands::profile_save,
            commands::profile_delete,
            commands::profile_select,
            commands::profile_test,
            commands::session_login,
            commands::session_verify_code,
            commands::session_register,
            commands::session_status,
            commands::session_request,
            commands::session_logout,
            commands::share_start,
            commands::share_stop,
            commands::share_status,
            commands::update_status,
            commands::update_install,
        ])
}

/// The app's state for a data directory and a secret store.
pub fn app_state(
    data_dir: PathBuf,
    store: Arc<dyn SecretStore>,
    launch: LaunchOptions,
) -> AppState {
    AppState::new(WorkspaceConfig::new(data_dir, store), launch)
}

/// Runs the desktop app until its last window closes.
pub fn run() -> ExitCode {
    webkit::before_start();
    // The updater plugin logs a failed check as an error; the check is quiet by design
    // (offline is normal), and `updates` reports real failures itself.
    tessera_session::logging::init("warn,tauri_plugin_updater=off");
    let launch = LaunchOptions::parse(
        std::env::args_os()
            .skip(1)
            .map(|a| a.to_string_lossy().into_owned()),
    );
    let builder = tauri::Builder::default()
        // First: a second launch focuses this window instead of racing it for the session.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.unminimize();
                let _ = window.show();
                let _ = window.set_focus();
            }
        }))
        .plugin(tauri_plugin_store::Builder::default().build())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_updater::Builder::new().build())
        .setup(move |app| {
            let data_dir = app.path().app_data_dir()?;
            let config = WorkspaceConfig::system(Some(data_dir), &app.config().identifier)?;
            let state = AppState::new(config, launch);
            state.attach(app.handle());
            app.manage(state);
            if let Some(window) = app.get_webview_window("main") {
                window_state::track(&window);
            }
            webkit::tune(app);
            updates::spawn_startup_check(app.handle());
            Ok(())
        });
    match with_commands(builder).build(tauri::generate_context!()) {
        Ok(app) => {
            // Quitting stops "Share with local tools".
            app.run(|app, event| {
                if let tauri::RunEvent::Exit = event {
                    if let Some(state) = app.try_state::<AppState>() {
                        sharing::stop_on_exit(&state.sharing);
                    }
                }
            });
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("tessera: could not start the desktop app: {error}");
            ExitCode::FAILURE
        }
    }
}
