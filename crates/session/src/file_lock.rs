//! The one exclusive OS file lock of the data directory (`flock` / `LockFileEx` via `fs4`),
//! used for the refresh lock ([`crate::lock`]) and for edits of the profiles file
//! ([`crate::profiles_file`]), so that both open, wait and give up the same way.
//!
//! The lock file and its directory are private (0600 / 0700 on Unix, see [`crate::paths`]):
//! created so, and tightened when found looser. The lock is taken with non-blocking attempts
//! in a loop, with a short growing pause between them, and given up after a timeout; the async
//! form waits on tokio's timer (a waiting task can be cancelled and never pins a thread), the
//! blocking form on the calling thread. The OS releases the lock when the holder exits or
//! crashes; a held [`FileLock`] releases it on drop.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::paths;

/// A held exclusive lock on a file; released on drop.
#[derive(Debug)]
pub struct FileLock {
    file: File,
    path: PathBuf,
}

impl FileLock {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes the lock on `path`, waiting at most `timeout` on the calling thread.
    pub(crate) fn acquire_blocking(path: &Path, timeout: Duration) -> Result<Self> {
        let file = open_private(path)?;
        let mut attempts = Attempts::new(timeout);
        loop {
            match attempts.next(&file, path)? {
                Attempt::Taken => return Ok(Self::held(file, path)),
                Attempt::Wait(pause) => std::thread::sleep(pause),
            }
        }
    }

    /// Takes the lock on `path`, waiting at most `timeout`. The file is opened on a blocking
    /// thread; between attempts the task sleeps on tokio's timer.
    pub(crate) async fn acquire(path: &Path, timeout: Duration) -> Result<Self> {
        let open_path = path.to_path_buf();
        let file = tokio::task::spawn_blocking(move || open_private(&open_path))
            .await
            .map_err(|e| Error::internal(format!("lock task failed: {e}")))??;
        let mut attempts = Attempts::new(timeout);
        loop {
            match attempts.next(&file, path)? {
                Attempt::Taken => return Ok(Self::held(file, path)),
                Attempt::Wait(pause) => tokio::time::sleep(pause).await,
            }
        }
    }

    fn held(file: File, path: &Path) -> Self {
        Self {
            file,
            path: path.to_path_buf(),
        }
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        if let Err(e) = fs4::FileExt::unlock(&self.file) {
            tracing::warn!(path = %self.path.display(), error = %e, "could not release a file lock (the OS releases it on close)");
        }
    }
}

/// Opens (creating) the lock file: private directory, private file, tightened when looser.
fn open_private(path: &Path) -> Result<File> {
    let dir = paths::parent_dir(path);
    paths::create_private_dir(&dir).map_err(|e| Error::io(&dir, &e))?;
    let file = paths::private_file_options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| Error::io(path, &e))?;
    paths::make_private(path).map_err(|e| Error::io(path, &e))?;
    Ok(file)
}

/// What one lock attempt says.
enum Attempt {
    Taken,
    /// Held elsewhere: try again after this pause.
    Wait(Duration),
}

/// The attempt loop both forms share: non-blocking tries, a pause growing from 2 to 25 ms
/// (with jitter, so that waiting processes do not retry in step), `lock_timeout` at the end.
struct Attempts {
    started: Instant,
    timeout: Duration,
    pause: Duration,
}

impl Attempts {
    fn new(timeout: Duration) -> Self {
        Self {
            started: Instant::now(),
            timeout,
            pause: Duration::from_millis(2),
        }
    }

    fn next(&mut self, file: &File, path: &Path) -> Result<Attempt> {
        match fs4::FileExt::try_lock(file) {
            Ok(()) => {
                tracing::trace!(
                    path = %path.display(),
                    waited_ms = self.started.elapsed().as_millis() as u64,
                    "file lock taken"
                );
                Ok(Attempt::Taken)
            }
            Err(fs4::TryLockError::WouldBlock) => {
                if self.started.elapsed() >= self.timeout {
                    return Err(Error::LockTimeout {
                        secs: self.timeout.as_secs().max(1),
                    });
                }
                let jitter = Duration::from_millis(fastrand::u64(..=self.pause.as_millis() as u64));
                let wait = self.pause + jitter;
                self.pause = (self.pause * 2).min(Duration::from_millis(25));
                Ok(Attempt::Wait(wait))
            }
            Err(fs4::TryLockError::Error(e)) => Err(Error::io(path, &e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_blocking_and_async_forms_exclude_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("x.lock");
        let held = FileLock::acquire_blocking(&path, Duration::from_secs(1)).unwrap();
        assert_eq!(held.path(), path);
        let err = FileLock::acquire_blocking(&path, Duration::from_millis(30)).unwrap_err();
        assert_eq!(err.code(), "lock_timeout");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let err = runtime
            .block_on(FileLock::acquire(&path, Duration::from_millis(30)))
            .unwrap_err();
        assert_eq!(err.code(), "lock_timeout");
        drop(held);
        let again = runtime
            .block_on(FileLock::acquire(&path, Duration::from_millis(30)))
            .unwrap();
        let err = FileLock::acquire_blocking(&path, Duration::from_millis(30)).unwrap_err();
        assert_eq!(err.code(), "lock_timeout");
        drop(again);
        FileLock::acquire_blocking(&path, Duration::from_millis(30)).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn lock_files_and_their_directory_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        let locks = dir.path().join("locks");
        let path = locks.join("p.lock");
        drop(FileLock::acquire_blocking(&path, Duration::from_secs(1)).unwrap());
        assert_eq!((mode(&locks), mode(&path)), (0o700, 0o600));
        std::fs::set_permissions(&locks, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(FileLock::acquire_blocking(&path, Duration::from_secs(1)).unwrap());
        assert_eq!((mode(&locks), mode(&path)), (0o700, 0o600));
    }
}
