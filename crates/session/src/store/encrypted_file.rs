//! The encrypted-file store (issue 16): being written.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::{SecretStore, StoreError};
use crate::error::{Error, Result};
use crate::secret::Password;

/// Sessions in one passphrase-sealed file in the data directory.
#[derive(Debug)]
pub struct EncryptedFileStore {
    path: PathBuf,
}

impl EncryptedFileStore {
    /// Opens the sealed file at `path` (created by the first write) with `passphrase`.
    pub fn open(path: PathBuf, passphrase: &Password) -> Result<Self> {
        let _ = passphrase;
        let _ = path;
        Err(Error::NotSupported {
            detail: "the encrypted-file store is not built yet".into(),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl SecretStore for EncryptedFileStore {
    fn get(&self, _account: &str) -> Result<Option<Zeroizing<String>>, StoreError> {
        Err(StoreError::Unavailable("not built yet".into()))
    }
    fn set(&self, _account: &str, _secret: &str) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("not built yet".into()))
    }
    fn delete(&self, _account: &str) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("not built yet".into()))
    }
}
