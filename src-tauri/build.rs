//! Build script: lets tauri-build generate the context from `tauri.conf.json` (beside the
//! workspace's root `Cargo.toml`) and read capabilities from `src-tauri/capabilities/`.

fn main() {
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("./src-tauri/capabilities/**/*")
        .app_manifest(tauri_build::AppManifest::new().commands(&["app_info"]));
    if let Err(error) = tauri_build::try_build(attributes) {
        // A build script reports failure by exiting non-zero with a message on stderr.
        eprintln!("tauri-build failed: {error:#}");
        std::process::exit(1);
    }
}
