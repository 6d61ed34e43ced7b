//! The one settings file that holds every profile (`profiles.json` in the data directory),
//! shared by the desktop app and the CLI: both read it with [`ProfilesFile::load`] and change it
//! with [`ProfilesFile::update`]. (tauri-plugin-store keeps only the app's own settings, such
//! as the window's size and the last update check, in another file, `settings.json`.)
//!
//! Shape: `{"profiles": {NAME: {...}}, "last_profile": NAME, ...any other key}`. Unknown keys,
//! at the top level and inside profiles, survive a load/save round-trip. Writes go to a temporary
//! file in the same directory and are renamed over the original, so a crash never leaves half a
//! file. A file that does not parse is reported (with line and column) and never overwritten: a
//! save over a corrupt file fails too, so nothing replaces it silently.
//!
//! On Unix the file, its lock file and its directory are private (0600/0700, see
//! [`crate::paths`]): created so, and tightened on the next load or update when found looser.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::file_lock::FileLock;
use crate::paths;
use crate::paths::parent_dir;
use crate::profile::Profile;

/// The settings file's content.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProfilesFile {
    /// Profiles by name.
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
    /// The profile used last (what the app opens and the CLI uses without `--profile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_profile: Option<String>,
    /// Every other key (the app's own settings), kept as it is.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Profile names become keyring account names and lock file names: keep them tame.
pub fn validate_profile_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidProfile {
            detail: format!(
                "the profile name {name:?} must be 1 to 64 letters, digits, '-', '_' or '.', not starting with '.'"
            ),
        })
    }
}

impl ProfilesFile {
    /// Reads the file. A missing (or empty) file is an empty set of profiles; a file that does
    /// not parse is `profiles_file_corrupt`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(Error::io(path, &e)),
        };
        tighten(path);
        Self::parse(path, &text)
    }

    fn parse(path: &Path, text: &str) -> Result<Self> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        let file: Self = serde_json::from_str(text).map_err(|e| Error::ProfilesFileCorrupt {
            path: path.display().to_string(),
            detail: e.to_string(),
        })?;
        let corrupt = |detail: String| Error::ProfilesFileCorrupt {
            path: path.display().to_string(),
            detail,
        };
        for (name, profile) in &file.profiles {
            validate_profile_name(name).map_err(|e| corrupt(e.to_string()))?;
            profile
                .validate()
                .map_err(|e| corrupt(format!("profile {name:?}: {e}")))?;
        }
        Ok(file)
    }

    /// Writes the file atomically. Fails, leaving the file alone, when the file on disk is corrupt.
    pub fn save(&self, path: &Path) -> Result<()> {
        match fs::read_to_string(path) {
            Ok(existing) => {
                Self::parse(path, &existing)?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(path, &e)),
        }
        let mut json = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::internal(format!("cannot serialise profiles: {e}")))?;
        json.push(b'\n');
        write_atomically(path, &json)
    }

    /// Load, change, save — under a lock file (`<file>.lock`, the data directory's one file
    /// lock, see `file_lock.rs`) so that the app and CLI processes do not lose each other's
    /// edits.
    pub fn update<T>(
        path: &Path,
        change: impl FnOnce(&mut ProfilesFile) -> Result<T>,
    ) -> Result<T> {
        let _lock = FileLock::acquire_blocking(&lock_path(path), Duration::from_secs(10))?;
        let mut file = Self::load(path)?;
        let out = change(&mut file)?;
        file.save(path)?;
        Ok(out)
    }

    /// The named profile.
    pub fn get(&self, name: &str) -> Result<&Profile> {
        self.profiles
            .get(name)
            .ok_or_else(|| Error::ProfileNotFound {
                name: name.to_owned(),
            })
    }

    /// Adds or replaces a profile after validating it.
    pub fn upsert(&mut self, name: &str, profile: Profile) -> Result<()> {
        validate_profile_name(name)?;
        profile.validate()?;
        self.profiles.insert(name.to_owned(), profile);
        Ok(())
    }

    /// Removes a profile (and forgets it as last used).
    pub fn remove(&mut self, name: &str) -> Option<Profile> {
        if self.last_profile.as_deref() == Some(name) {
            self.last_profile = None;
        }
        self.profiles.remove(name)
    }
}

/// Makes an existing settings file and its directory private again (found 0644/0755, e.g.
/// written by an older version or by hand). Reading must not fail over this: a file we may
/// not change is reported in the log.
fn tighten(path: &Path) {
    for target in [parent_dir(path), path.to_path_buf()] {
        if let Err(e) = paths::make_private(&target) {
            tracing::warn!(path = %target.display(), error = %e, "could not make a settings file private");
        }
    }
}

fn lock_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".lock");
    path.with_file_name(name)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    paths::write_private_atomically(path, bytes).map_err(|e| Error::io(path, &e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn missing_file_is_empty_and_round_trip_keeps_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        assert_eq!(ProfilesFile::load(&path).unwrap(), ProfilesFile::default());
        fs::write(
            &path,
            json!({
                "theme": "dark",
                "last_profile": "prod",
                "profiles": {"prod": {"base_url": "https://api.example.com/", "login_field": "email", "colour": "red"}}
            })
            .to_string(),
        )
        .unwrap();
        ProfilesFile::update(&path, |f| {
            f.upsert("local", Profile::from_base_url("http://127.0.0.1:8000")?)
        })
        .unwrap();
        let raw: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(raw["theme"], "dark");
        assert_eq!(raw["last_profile"], "prod");
        assert_eq!(raw["profiles"]["prod"]["colour"], "red");
        assert_eq!(raw["profiles"]["prod"]["login_field"], "email");
        assert_eq!(
            raw["profiles"]["local"]["base_url"],
            "http://127.0.0.1:8000/"
        );
        let file = ProfilesFile::load(&path).unwrap();
        assert_eq!(file.get("prod").unwrap().login_field, "email");
        assert_eq!(file.get("nope").unwrap_err().code(), "profile_not_found");
    }

    #[test]
    fn corrupt_file_is_reported_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        let garbage = "{\"profiles\": {\"a\": {\"base_url\": ";
        fs::write(&path, garbage).unwrap();
        let err = ProfilesFile::load(&path).unwrap_err();
        assert_eq!(err.code(), "profiles_file_corrupt");
        assert!(err.to_string().contains("line 1"), "{err}");
        let err = ProfilesFile::default().save(&path).unwrap_err();
        assert_eq!(err.code(), "profiles_file_corrupt");
        let err = ProfilesFile::update(&path, |_| Ok(())).unwrap_err();
        assert_eq!(err.code(), "profiles_file_corrupt");
        assert_eq!(fs::read_to_string(&path).unwrap(), garbage);
        // an insecure profile written by hand is reported too
        fs::write(
            &path,
            json!({"profiles": {"a": {"base_url": "http://example.com"}}}).to_string(),
        )
        .unwrap();
        assert_eq!(
            ProfilesFile::load(&path).unwrap_err().code(),
            "profiles_file_corrupt"
        );
    }

    #[test]
    fn names_are_checked() {
        for ok in ["default", "prod-eu.1", "A_b"] {
            validate_profile_name(ok).unwrap();
        }
        for bad in ["", ".hidden", "a/b", "a b", "é", &"x".repeat(65)] {
            assert_eq!(
                validate_profile_name(bad).unwrap_err().code(),
                "invalid_profile",
                "{bad}"
            );
        }
        let mut f = ProfilesFile {
            last_profile: Some("x".into()),
            ..Default::default()
        };
        f.upsert("x", Profile::from_base_url("https://x.example").unwrap())
            .unwrap();
        assert!(f.remove("x").is_some());
        assert_eq!(f.last_profile, None);
    }

    #[test]
    fn no_temp_files_are_left_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        for _ in 0..3 {
            ProfilesFile::default().save(&path).unwrap();
        }
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("s.json")]);
    }
}
