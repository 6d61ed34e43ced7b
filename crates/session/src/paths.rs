//! Where the app and the CLI keep shared, non-secret files, so that both find the same ones.
//!
//! The data directory matches Tauri's `app_data_dir()` for the identifier `dev.tessera.desktop`
//! (`$XDG_DATA_HOME` or `~/.local/share` on Linux, `~/Library/Application Support` on macOS,
//! `%APPDATA%` on Windows, each followed by the identifier). The profiles file is the
//! tauri-plugin-store file `profiles.json` in it; refresh lock files go to `locks/`.

use std::path::{Path, PathBuf};

/// The app identifier.
pub const APP_IDENTIFIER: &str = "dev.tessera.desktop";

/// The app's data directory, when the platform's base directory is known.
pub fn default_data_dir() -> Option<PathBuf> {
    base_data_dir().map(|base| base.join(APP_IDENTIFIER))
}

fn env_dir(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
}

fn base_data_dir() -> Option<PathBuf> {
    if cfg!(target_os = "windows") {
        env_dir("APPDATA")
    } else if cfg!(target_os = "macos") {
        env_dir("HOME").map(|h| h.join("Library").join("Application Support"))
    } else {
        env_dir("XDG_DATA_HOME").or_else(|| env_dir("HOME").map(|h| h.join(".local").join("share")))
    }
}

/// The profiles file in a data directory.
pub fn profiles_file(data_dir: &Path) -> PathBuf {
    data_dir.join("profiles.json")
}

/// The refresh lock directory in a data directory.
pub fn lock_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("locks")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_live_in_the_data_dir() {
        let d = Path::new("/data/dev.tessera.desktop");
        assert_eq!(
            profiles_file(d),
            Path::new("/data/dev.tessera.desktop/profiles.json")
        );
        assert_eq!(lock_dir(d), Path::new("/data/dev.tessera.desktop/locks"));
        if let Some(dir) = default_data_dir() {
            assert!(dir.ends_with(APP_IDENTIFIER));
        }
    }
}
