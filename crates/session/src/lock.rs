//! The cross-process refresh lock.
//!
//! The desktop app and any number of CLI processes share one session. Only one of them may
//! spend a refresh token at a time (with rotation + blacklist, the second would be refused and
//! end the session). Refreshes therefore run under an exclusive OS file lock (`flock` /
//! `LockFileEx` via `fs4`) on `<lock dir>/<profile>.refresh.lock`; whoever gets it re-reads the
//! keyring before refreshing. The lock is taken with non-blocking attempts in a loop (so a task
//! waiting for it can be cancelled and never pins a thread) and given up after a timeout. The OS
//! releases it when the holder exits or crashes.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::paths;

/// A held refresh lock; released on drop.
#[derive(Debug)]
pub struct RefreshLockGuard {
    file: File,
    path: PathBuf,
}

impl RefreshLockGuard {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RefreshLockGuard {
    fn drop(&mut self) {
        if let Err(e) = fs4::FileExt::unlock(&self.file) {
            tracing::warn!(error = %e, "could not release the refresh lock (the OS releases it on close)");
        }
    }
}

/// The lock file of a profile.
pub fn lock_file(dir: &Path, profile: &str) -> PathBuf {
    dir.join(format!("{profile}.refresh.lock"))
}

/// Takes the profile's refresh lock, waiting at most `timeout`.
pub async fn acquire(dir: &Path, profile: &str, timeout: Duration) -> Result<RefreshLockGuard> {
    let path = lock_file(dir, profile);
    let open_path = path.clone();
    let dir = dir.to_path_buf();
    let file = tokio::task::spawn_blocking(move || -> Result<File> {
        // Private (0700 dir, 0600 file on Unix), and tightened when found looser.
        paths::create_private_dir(&dir).map_err(|e| Error::io(&dir, &e))?;
        let file = paths::private_file_options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&open_path)
            .map_err(|e| Error::io(&open_path, &e))?;
        paths::make_private(&open_path).map_err(|e| Error::io(&open_path, &e))?;
        Ok(file)
    })
    .await
    .map_err(|e| Error::internal(format!("lock task failed: {e}")))??;

    let started = Instant::now();
    let mut pause = Duration::from_millis(2);
    loop {
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => {
                tracing::trace!(
                    waited_ms = started.elapsed().as_millis() as u64,
                    "refresh lock taken"
                );
                return Ok(RefreshLockGuard { file, path });
            }
            Err(fs4::TryLockError::WouldBlock) => {
                if started.elapsed() >= timeout {
                    return Err(Error::LockTimeout {
                        secs: timeout.as_secs().max(1),
                    });
                }
                let jitter = Duration::from_millis(fastrand::u64(..=pause.as_millis() as u64));
                tokio::time::sleep(pause + jitter).await;
                pause = (pause * 2).min(Duration::from_millis(25));
            }
            Err(fs4::TryLockError::Error(e)) => return Err(Error::io(&path, &e)),
        }
    }
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
