//! The cross-process refresh lock.
//!
//! The desktop app and any number of CLI processes share one session. Only one of them may
//! spend a refresh token at a time (with rotation + blacklist, the second would be refused and
//! end the session). Refreshes therefore run under an exclusive OS file lock (`flock` /
//! `LockFileEx` via `fs4`) on `<lock dir>/<profile>.refresh.lock`; whoever gets it re-reads the
//! keyring before refreshing. The lock itself is the data directory's one file lock
//! ([`crate::file_lock`]: non-blocking attempts in a loop, so a task waiting for it can be
//! cancelled and never pins a thread, given up after a timeout); the OS releases it when the
//! holder exits or crashes.
//!
//! Beside it lives each profile's sign-out mark, which tells a refresh that a sign-out is
//! waiting for the lock or went ahead meanwhile.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::file_lock::FileLock;
use crate::paths;

/// A held refresh lock; released on drop. [`RefreshLockGuard::path`] is the lock file.
pub type RefreshLockGuard = FileLock;

/// The lock file of a profile.
pub fn lock_file(dir: &Path, profile: &str) -> PathBuf {
    dir.join(format!("{profile}.refresh.lock"))
}

/// Takes the profile's refresh lock, waiting at most `timeout`.
pub async fn acquire(dir: &Path, profile: &str, timeout: Duration) -> Result<RefreshLockGuard> {
    FileLock::acquire(&lock_file(dir, profile), timeout).await
}

/// The sign-out mark of a profile: `<lock dir>/<profile>.signout`, holding `<nonce> waiting`
/// while a sign-out waits for the refresh lock and `<nonce> done` once it has gone ahead. A
/// refresh reads it when it takes the lock and again before and after storing what the server
/// renewed; a changed mark means "signed out meanwhile", and the renewed refresh token is then
/// left for the waiting sign-out to blacklist, or blacklisted by the refresh itself.
pub fn signout_mark_file(dir: &Path, profile: &str) -> PathBuf {
    dir.join(format!("{profile}.signout"))
}

/// What a sign-out mark says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignoutMark(pub Option<String>);

impl SignoutMark {
    /// A sign-out is waiting for the refresh lock (and will blacklist what it finds stored).
    pub fn is_waiting(&self) -> bool {
        self.0.as_deref().is_some_and(|m| m.ends_with(" waiting"))
    }
}

/// Reads the profile's sign-out mark (none yet: `SignoutMark(None)`). Small file, read directly.
pub fn read_signout_mark(dir: &Path, profile: &str) -> SignoutMark {
    SignoutMark(
        std::fs::read_to_string(signout_mark_file(dir, profile))
            .ok()
            .map(|text| text.trim().to_owned()),
    )
}

/// When the profile's sign-out mark was last written (none yet: `None`).
pub fn signout_mark_written_at(dir: &Path, profile: &str) -> Option<std::time::SystemTime> {
    std::fs::metadata(signout_mark_file(dir, profile))
        .and_then(|meta| meta.modified())
        .ok()
}

/// Writes the profile's sign-out mark atomically (temporary file + rename).
pub fn write_signout_mark(dir: &Path, profile: &str, mark: &str) -> Result<()> {
    paths::create_private_dir(dir).map_err(|e| Error::io(dir, &e))?;
    let path = signout_mark_file(dir, profile);
    let tmp = dir.join(format!(
        ".{profile}.signout.{}.{:x}",
        std::process::id(),
        fastrand::u64(..)
    ));
    let written = paths::private_file_options()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut f| std::io::Write::write_all(&mut f, mark.as_bytes()));
    written.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(&tmp, &e)
    })?;
    std::fs::rename(&tmp, &path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(&path, &e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_lock_is_exclusive_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let first = acquire(dir.path(), "p", Duration::from_secs(1))
            .await
            .unwrap();
        assert!(first.path().ends_with("p.refresh.lock"));
        // A second open file description (as another process would have) cannot take it.
        let err = acquire(dir.path(), "p", Duration::from_millis(50))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "lock_timeout");
        // Other profiles are independent.
        let _other = acquire(dir.path(), "q", Duration::from_millis(50))
            .await
            .unwrap();
        drop(first);
        let _again = acquire(dir.path(), "p", Duration::from_millis(50))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_waiter_gets_the_lock_when_it_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let held = acquire(dir.path(), "p", Duration::from_secs(1))
            .await
            .unwrap();
        let path = dir.path().to_path_buf();
        let waiter =
            tokio::spawn(async move { acquire(&path, "p", Duration::from_secs(10)).await });
        tokio::task::yield_now().await;
        drop(held);
        waiter.await.unwrap().unwrap();
    }
}
