//! A [`SecretStore`] in plain files, shared by several processes — FOR TESTS ONLY (no
//! encryption). It lets the multi-process tests share one session without a desktop keyring;
//! the real Secret Service is covered by `tests/secret_service.rs`.

use std::path::PathBuf;

use tessera_session::{SecretStore, StoreError};
use zeroize::Zeroizing;

pub struct FileStore {
    dir: PathBuf,
}

impl FileStore {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    fn path(&self, account: &str) -> PathBuf {
        let name: String = account.bytes().map(|b| format!("{b:02x}")).collect();
        self.dir.join(name)
    }
}

fn io(e: std::io::Error) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

impl SecretStore for FileStore {
    fn get(&self, account: &str) -> Result<Option<Zeroizing<String>>, StoreError> {
        match std::fs::read_to_string(self.path(account)) {
            Ok(s) => Ok(Some(Zeroizing::new(s))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    fn set(&self, account: &str, secret: &str) -> Result<(), StoreError> {
        std::fs::create_dir_all(&self.dir).map_err(io)?;
        let tmp = self.dir.join(format!(
            ".tmp.{}.{:x}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::write(&tmp, secret).map_err(io)?;
        std::fs::rename(&tmp, self.path(account)).map_err(io)
    }

    fn delete(&self, account: &str) -> Result<(), StoreError> {
        match std::fs::remove_file(self.path(account)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(e)),
        }
    }
}
