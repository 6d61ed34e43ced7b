//! Tauri commands: the only door between the webview and Rust. Each command takes managed
//! state, calls one core API and maps its error; none ever returns a token or a password.

use serde::Serialize;

use crate::error::CommandError;

/// Non-secret facts about the running app, shown in the UI footer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AppInfo {
    pub name: String,
    pub version: String,
}

/// Returns the product name and version from the Tauri configuration.
#[tauri::command]
pub fn app_info<R: tauri::Runtime>(app: tauri::AppHandle<R>) -> Result<AppInfo, CommandError> {
    let package = app.package_info();
    Ok(AppInfo {
        name: package.name.clone(),
        version: package.version.to_string(),
    })
}
