//! The encrypted-file store (issue 16): every session in one passphrase-sealed file in the data
//! directory (`sessions.sealed`), for machines without an OS keyring — a QA box, a container.
//! Used only when asked for (`--store encrypted-file`, see `store/chain.rs`), never as a silent
//! fallback: the file is as safe as its passphrase.
//!
//! # Format (version 1)
//!
//! One JSON object, written whole (temporary file in the same directory, fsync, rename):
//!
//! ```json
//! {
//!   "format": "tessera-sealed-sessions",
//!   "version": 1,
//!   "kdf": {"name": "argon2id", "version": 19, "m_kib": 19456, "t": 2, "p": 1, "salt": "<b64, 16 B>"},
//!   "check": "<b64, 16 B>",
//!   "aead": {"name": "xchacha20poly1305", "nonce": "<b64, 24 B>"},
//!   "header_sha256": "<b64, 16 B>",
//!   "ciphertext": "<b64>"
//! }
//! ```
//!
//! - argon2id (version 1.3) turns the passphrase and the file's random salt into 32 bytes; its
//!   costs are recorded so that they can be raised later (new files: OWASP's minimum, 19 MiB,
//!   t=2, p=1 — 25 to 60 ms optimised on a 2-core machine, 20 at once in about 0.6 s; costs
//!   above 1 GiB, t=64 or p=64 are refused as damage). HMAC-SHA256 of those bytes gives the XChaCha20-Poly1305 key (label
//!   `tessera sealed sessions v1 encryption key`) and the check value (label
//!   `tessera passphrase check`, first 16 bytes), so a wrong passphrase is told at once, apart
//!   from damage, and the check value says nothing about the key.
//! - The header — every field but `ciphertext`, as one canonical text built from the decoded
//!   values (see `format.rs`) — is the AEAD's associated data; `header_sha256` (first 16 bytes of
//!   its SHA-256) tells a damaged salt or cost from a wrong passphrase. The nonce is random and
//!   new on every write.
//! - The plaintext is a JSON object, account -> secret, built and decrypted in buffers wiped on
//!   drop (`plain.rs`).
//!
//! # Behaviour
//!
//! [`EncryptedFileStore::open`] reads an existing file and checks the passphrase (wrong: an
//! error at once, the file untouched); without a file it derives a key with a fresh salt, and the
//! first `set` creates the file (0600, its directory 0700). Every operation re-reads the file
//! under the data directory's file lock (`sessions.sealed.lock`, `file_lock.rs`), since other
//! processes write it too; writes re-encrypt the whole map. A file that does not parse, decrypt
//! or match its digest is reported as changed outside Tessera or damaged and never rewritten; a
//! file re-created by another process with the same passphrase is adopted (its salt is derived
//! once more), with another passphrase it is reported. Errors and `Debug` never show a secret.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use zeroize::Zeroizing;

use super::{SecretStore, StoreError};
use crate::error::{Error, Result};
use crate::file_lock::FileLock;
use crate::paths;
use crate::secret::Password;

mod format;
mod plain;
#[cfg(test)]
mod tests;

use format::{Kdf, Keys, Sealed, Unreadable};
use plain::Entries;

/// Longest secret one entry holds: large, so the vault never chunks a session here.
const MAX_ENTRY_CHARS: usize = 256 * 1024;
/// A bigger file is not one of ours.
const MAX_FILE_BYTES: u64 = 64 << 20;
/// How long an operation waits for another process's.
const LOCK_TIMEOUT: Duration = Duration::from_secs(10);
/// How many times in a row an operation follows a file re-created under it.
const ADOPT_ATTEMPTS: usize = 3;

/// Sessions in one passphrase-sealed file in the data directory.
pub struct EncryptedFileStore {
    file: SealedPath,
    /// Kept (wiped on drop) to derive the key again when another process re-creates the file.
    passphrase: Password,
    /// The key of the file as last seen (or of the file to be created).
    keys: Mutex<Keys>,
}

impl std::fmt::Debug for EncryptedFileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncryptedFileStore")
            .field("path", &self.file.path)
            .finish_non_exhaustive()
    }
}

impl EncryptedFileStore {
    /// Opens the sealed file at `path` (created by the first write) with `passphrase`. A wrong
    /// passphrase, or a file changed outside Tessera, is `keyring_unavailable` at once.
    pub fn open(path: PathBuf, passphrase: &Password) -> Result<Self> {
        if passphrase.expose_secret().is_empty() {
            return Err(Error::KeyringUnavailable {
                detail: format!("the passphrase for {} is empty", path.display()),
            });
        }
        let file = SealedPath::new(path);
        // The key derivation runs outside the lock: processes opening at once do not queue.
        let sealed = if file.exists()? {
            let _lock = file.lock()?;
            file.read()?
        } else {
            None
        };
        let keys = match sealed {
            Some(sealed) => {
                let keys = derive(passphrase, sealed.kdf())?;
                if !sealed.opens_with(&keys) {
                    return Err(Error::KeyringUnavailable {
                        detail: format!(
                            "the passphrase does not open {}; nothing was changed",
                            file.path.display()
                        ),
                    });
                }
                sealed.open(&keys).map_err(|why| file.unreadable(why))?;
                keys
            }
            None => derive(passphrase, &Kdf::fresh().map_err(internal)?)?,
        };
        Ok(Self {
            file,
            passphrase: passphrase.clone(),
            keys: Mutex::new(keys),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.file.path
    }

    fn cached_keys(&self) -> MutexGuard<'_, Keys> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the lock and decrypts the file: the lock, the keys it is sealed with, its entries
    /// (`None` without a file). A file sealed with another salt is followed: the key is derived
    /// again outside the lock, and the file read again.
    fn open_locked(&self) -> Result<(FileLock, MutexGuard<'_, Keys>, Option<Entries>), StoreError> {
        for _ in 0..ADOPT_ATTEMPTS {
            let lock = self.file.lock()?;
            let Some(sealed) = self.file.read()? else {
                return Ok((lock, self.cached_keys(), None));
            };
            let keys = self.cached_keys();
            if keys.kdf() == sealed.kdf() {
                if !sealed.opens_with(&keys) {
                    return Err(self.file.other_passphrase());
                }
                let entries = sealed
                    .open(&keys)
                    .map_err(|why| self.file.unreadable(why))?;
                return Ok((lock, keys, Some(entries)));
            }
            drop(keys);
            drop(lock);
            let keys = derive(&self.passphrase, sealed.kdf())?;
            if !sealed.opens_with(&keys) {
                return Err(self.file.other_passphrase());
            }
            tracing::debug!(path = %self.file.path.display(), kdf = ?sealed.kdf(), "the sealed session file was re-created with the same passphrase; using its key");
            *self.cached_keys() = keys;
        }
        Err(StoreError::Unavailable(format!(
            "{} keeps being re-created by other Tessera processes; try again",
            self.file.path.display()
        )))
    }

    /// Read, change, seal, replace — under the lock. `change` says whether it changed anything.
    fn update(&self, change: impl FnOnce(&mut Entries) -> bool) -> Result<(), StoreError> {
        let (_lock, keys, entries) = self.open_locked()?;
        let mut entries = entries.unwrap_or_default();
        if !change(&mut entries) {
            return Ok(());
        }
        let bytes = format::seal(&keys, &entries).map_err(internal)?;
        paths::write_private_atomically(&self.file.path, &bytes).map_err(|e| {
            StoreError::Unavailable(format!("cannot write {}: {e}", self.file.path.display()))
        })
    }
}

fn derive(passphrase: &Password, kdf: &Kdf) -> Result<Keys, StoreError> {
    kdf.derive(passphrase.expose_secret().as_bytes())
        .map_err(internal)
}

/// The file and its lock file, and what reading them can say.
struct SealedPath {
    path: PathBuf,
    lock_path: PathBuf,
}

impl SealedPath {
    fn new(path: PathBuf) -> Self {
        let mut name = path
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_default();
        name.push(".lock");
        Self {
            lock_path: path.with_file_name(name),
            path,
        }
    }

    fn exists(&self) -> Result<bool, StoreError> {
        self.path.try_exists().map_err(|e| {
            StoreError::Unavailable(format!("cannot read {}: {e}", self.path.display()))
        })
    }

    fn lock(&self) -> Result<FileLock, StoreError> {
        FileLock::acquire_blocking(&self.lock_path, LOCK_TIMEOUT).map_err(|e| match e {
            Error::LockTimeout { secs } => StoreError::Unavailable(format!(
                "another Tessera process has kept {} locked for more than {secs} s",
                self.path.display()
            )),
            other => StoreError::Unavailable(other.to_string()),
        })
    }

    /// The file as it is now (read under the lock), checked for shape; `None` when there is none.
    fn read(&self) -> Result<Option<Sealed>, StoreError> {
        let io = |e: std::io::Error| {
            StoreError::Unavailable(format!("cannot read {}: {e}", self.path.display()))
        };
        let file = match fs::File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        let mut bytes = Vec::new();
        file.take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(self.unreadable(Unreadable::Damaged("it is far too large".into())));
        }
        if let Err(e) = paths::make_private(&self.path) {
            tracing::warn!(path = %self.path.display(), error = %e, "could not make the sealed session file private");
        }
        Sealed::parse(&bytes)
            .map(Some)
            .map_err(|why| self.unreadable(why))
    }

    fn unreadable(&self, why: Unreadable) -> StoreError {
        let path = self.path.display();
        match why {
            Unreadable::Damaged(why) => StoreError::Other(format!(
                "the sealed session file {path} was changed outside Tessera or is damaged ({why}); nothing was changed: move it aside and sign in again"
            )),
            Unreadable::Newer(v) => StoreError::Other(format!(
                "the sealed session file {path} was written by a newer Tessera (format version {v}); nothing was changed: update Tessera"
            )),
        }
    }

    fn other_passphrase(&self) -> StoreError {
        StoreError::Unavailable(format!(
            "the sealed session file {} no longer opens with the passphrase this process was started with (another Tessera process re-created it with another passphrase); nothing was changed",
            self.path.display()
        ))
    }
}

fn internal(detail: String) -> StoreError {
    StoreError::Other(format!("the sealed session file cannot be used: {detail}"))
}

impl SecretStore for EncryptedFileStore {
    fn get(&self, account: &str) -> Result<Option<Zeroizing<String>>, StoreError> {
        // No file, no lock file: a read never creates anything.
        if !self.file.exists()? {
            return Ok(None);
        }
        let (_lock, _keys, entries) = self.open_locked()?;
        Ok(entries.and_then(|mut entries| entries.remove(account)))
    }

    fn set(&self, account: &str, secret: &str) -> Result<(), StoreError> {
        let chars = secret.chars().count();
        if chars > MAX_ENTRY_CHARS {
            return Err(StoreError::TooLong(format!(
                "{chars} characters for {account:?}, over {MAX_ENTRY_CHARS}"
            )));
        }
        let secret = Zeroizing::new(secret.to_owned());
        self.update(|entries| {
            entries.insert(account.to_owned(), secret);
            true
        })
    }

    fn delete(&self, account: &str) -> Result<(), StoreError> {
        if !self.file.exists()? {
            return Ok(());
        }
        self.update(|entries| entries.remove(account).is_some())
    }

    fn max_entry_chars(&self) -> usize {
        MAX_ENTRY_CHARS
    }
}
