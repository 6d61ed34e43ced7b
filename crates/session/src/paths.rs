//! Where the app and the CLI keep shared, non-secret files, so that both find the same ones.
//!
//! The data directory matches Tauri's `app_data_dir()` for the identifier `dev.tessera.desktop`
//! (`$XDG_DATA_HOME` or `~/.local/share` on Linux, `~/Library/Application Support` on macOS,
//! `%APPDATA%` on Windows, each followed by the identifier). The profiles file is
//! `profiles.json` in it (read and written by [`crate::profiles_file`], in the app as in the
//! CLI); refresh lock files and sign-out marks go to `locks/`.
//!
//! On Unix these are private to the user: directories 0700, files 0600, created so
//! ([`create_private_dir`], [`private_file_options`]) and tightened when found looser
//! ([`make_private`]) — a profile may hold a proxy password, and the lock and sign-out mark
//! files tell who is signed in where. Elsewhere the platform's per-user data directory rules.
//! Files written whole (`profiles.json`, the encrypted session file) are replaced atomically
//! ([`write_private_atomically`]).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The mode of the data directory and its subdirectories.
pub const PRIVATE_DIR_MODE: u32 = 0o700;
/// The mode of every file in the data directory.
pub const PRIVATE_FILE_MODE: u32 = 0o600;

/// Creates `dir` (and missing parents) with mode 0700 on Unix; an existing `dir` that is
/// readable or writable by others is tightened to 0700 (parents that already exist are left
/// alone).
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, PRIVATE_DIR_MODE);
    builder.create(dir)?;
    make_private(dir)
}

/// Options that create a file with mode 0600 on Unix (the mode applies only when the file is
/// created; pair with [`make_private`] for a file that may exist already).
pub fn private_file_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, PRIVATE_FILE_MODE);
    options
}

/// Removes group and other permissions from an existing file or directory (0755 → 0700,
/// 0644 → 0600). A missing path is not an error. No-op outside Unix.
pub fn make_private(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = match std::fs::metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

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

/// The directory `path` is in (`.` for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Replaces `path` with `bytes` so that a reader sees the old file or the new one, never a
/// part: a private temporary file beside it, fsynced, renamed over it, the directory synced
/// (Unix; best effort). The directory is created private when missing.
pub(crate) fn write_private_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = parent_dir(path);
    create_private_dir(&dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{name}.{}.{:x}.tmp",
        std::process::id(),
        fastrand::u64(..)
    ));
    let result = (|| {
        // Created 0600, so the renamed file is private too.
        let mut file = private_file_options()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    #[cfg(unix)]
    if let Ok(d) = fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn private_paths_are_created_and_tightened() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a").join("b");
        create_private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        create_private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        let file = dir.join("f");
        private_file_options()
            .write(true)
            .create_new(true)
            .open(&file)
            .unwrap();
        assert_eq!(mode(&file), 0o600);
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        make_private(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        make_private(&dir.join("missing")).unwrap();
    }

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
