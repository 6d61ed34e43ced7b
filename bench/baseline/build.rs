//! Build script: tauri-build generates the context from this crate's `tauri.conf.json`.

fn main() {
    if let Err(error) = tauri_build::try_build(tauri_build::Attributes::new()) {
        eprintln!("tauri-build failed: {error:#}");
        std::process::exit(1);
    }
}
