//! Build script: lets tauri-build generate the context from `tauri.conf.json` (beside the
//! workspace's root `Cargo.toml`) and read capabilities from `src-tauri/capabilities/`.

/// Every command the shell registers; each gets an `allow-<command>` permission.
const COMMANDS: &[&str] = &[
    "app_info",
    "app_ready",
    "app_start",
    "profile_apply_preset",
    "profile_detect",
    "profile_save",
    "profile_delete",
    "profile_select",
    "profile_test",
    "session_login",
    "session_verify_code",
    "session_register",
    "session_status",
    "session_request",
    "session_logout",
    "share_start",
    "share_stop",
    "share_status",
    "update_status",
    "update_install",
];

fn main() {
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("./src-tauri/capabilities/**/*")
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(error) = tauri_build::try_build(attributes) {
        // A build script reports failure by exiting non-zero with a message on stderr.
        eprintln!("tauri-build failed: {error:#}");
        std::process::exit(1);
    }
}
