//! The data directory is private on Unix: profiles.json, its lock file, the locks/ directory
//! and the lock and sign-out mark files are created 0600/0700, and tightened when found looser.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use tessera_session::{lock, paths, Profile, ProfilesFile};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn add_profile(path: &Path) {
    ProfilesFile::update(path, |file| {
        file.upsert("p", Profile::from_base_url("https://api.example.com/")?)
    })
    .unwrap();
}

#[tokio::test]
async fn a_new_data_directory_is_private() {
    let root = tempfile::tempdir().unwrap();
    // Under a world-readable parent, as ~/.local/share is.
    set_mode(root.path(), 0o755);
    let data = root.path().join("dev.tessera.desktop");
    let profiles = paths::profiles_file(&data);
    add_profile(&profiles);
    assert_eq!(mode(&data), 0o700, "data directory");
    assert_eq!(mode(&profiles), 0o600, "profiles.json");
    assert_eq!(mode(&data.join("profiles.json.lock")), 0o600, "lock file");

    let locks = paths::lock_dir(&data);
    let guard = lock::acquire(&locks, "p", Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(mode(&locks), 0o700, "locks/");
    assert_eq!(mode(guard.path()), 0o600, "refresh lock file");
    drop(guard);
    lock::write_signout_mark(&locks, "p", "n1 waiting").unwrap();
    assert_eq!(
        mode(&lock::signout_mark_file(&locks, "p")),
        0o600,
        "sign-out mark"
    );
}

#[tokio::test]
async fn loose_modes_are_fixed_on_the_next_load_and_update() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let profiles = paths::profiles_file(&data);
    add_profile(&profiles);
    set_mode(&data, 0o755);
    set_mode(&profiles, 0o644);
    ProfilesFile::load(&profiles).unwrap();
    assert_eq!(mode(&data), 0o700, "load fixes the directory");
    assert_eq!(mode(&profiles), 0o600, "load fixes profiles.json");

    set_mode(&data, 0o755);
    set_mode(&profiles, 0o644);
    set_mode(&data.join("profiles.json.lock"), 0o644);
    add_profile(&profiles);
    assert_eq!(mode(&data), 0o700, "update fixes the directory");
    assert_eq!(mode(&profiles), 0o600, "update fixes profiles.json");
    assert_eq!(
        mode(&data.join("profiles.json.lock")),
        0o600,
        "update fixes the lock file"
    );

    let locks = paths::lock_dir(&data);
    std::fs::create_dir(&locks).unwrap();
    set_mode(&locks, 0o755);
    let file = lock::lock_file(&locks, "p");
    std::fs::write(&file, "").unwrap();
    set_mode(&file, 0o644);
    drop(
        lock::acquire(&locks, "p", Duration::from_secs(1))
            .await
            .unwrap(),
    );
    assert_eq!(mode(&locks), 0o700, "the refresh lock fixes locks/");
    assert_eq!(mode(&file), 0o600, "the refresh lock fixes its file");
}
