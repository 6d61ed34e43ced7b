//! Where secrets live: a small synchronous key/value trait, the OS keyring behind it, and the
//! stores for machines without one (`store/keyutils.rs`, `store/encrypted_file.rs`), chosen by
//! `store/chain.rs`.
//!
//! [`SecretStore`] is deliberately blocking and tiny (get/set/delete one string per account);
//! the async, timeout-guarded, chunking layer on top is `vault.rs`. [`KeyringStore`] uses keyring
//! v3 with the native stores (Windows Credential Manager, macOS Keychain, Linux Secret Service
//! with keyutils as a cache) and refuses to run on a builder that would not persist — keyring v3
//! silently falls back to its mock store when built without native features. `FakeStore` (in
//! `store/fake.rs`) is an in-memory store with a size limit and error injection, for tests: it
//! exists only in this crate's tests and with the `test-util` feature.

use keyring::credential::{CredentialBuilder, CredentialPersistence};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

// keyring v3 picks its mock store on targets without a native backend: refuse to build there.
#[cfg(not(any(
    target_os = "linux",
    target_os = "macos",
    target_os = "windows",
    target_os = "ios"
)))]
compile_error!(
    "tessera-session stores tokens in the OS keyring; this target has no native keyring backend \
     in keyring v3 (it would silently use the non-persistent mock store)"
);

/// The default service prefix: the app identifier.
pub const DEFAULT_SERVICE: &str = crate::paths::APP_IDENTIFIER;

/// Longest secret one keyring entry is asked to hold, in characters. Windows Credential Manager
/// stores `set_password` as UTF-16 and rejects blobs over 2560 bytes (1280 characters); stay well
/// below for every platform so that the same layout is used (and tested) everywhere.
pub const KEYRING_MAX_ENTRY_CHARS: usize = 1000;

/// Why a store operation failed. `NoEntry` is not an error: `get` answers `None`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be used now (locked, absent, access denied).
    #[error("{0}")]
    Unavailable(String),
    /// The secret is too long for one entry.
    #[error("the secret is too long for one keyring entry ({0})")]
    TooLong(String),
    /// Anything else (bad encoding, ambiguous entries, platform failure).
    #[error("{0}")]
    Other(String),
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::KeyringUnavailable {
            detail: e.to_string(),
        }
    }
}

/// A blocking secret store, one string per account name. Implementations must be safe to call
/// from several threads (and, for real stores, several processes).
pub trait SecretStore: Send + Sync + 'static {
    /// The secret stored under `account`, `None` when there is none.
    fn get(&self, account: &str) -> Result<Option<Zeroizing<String>>, StoreError>;
    /// Stores (or replaces) the secret.
    fn set(&self, account: &str, secret: &str) -> Result<(), StoreError>;
    /// Deletes the secret; deleting a missing entry succeeds.
    fn delete(&self, account: &str) -> Result<(), StoreError>;
    /// The longest secret one entry holds, in characters.
    fn max_entry_chars(&self) -> usize {
        KEYRING_MAX_ENTRY_CHARS
    }
}

/// The OS keyring (keyring v3 native stores), entries under one service name.
pub struct KeyringStore {
    service: String,
    builder: Box<CredentialBuilder>,
}

impl std::fmt::Debug for KeyringStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyringStore")
            .field("service", &self.service)
            .finish()
    }
}

impl KeyringStore {
    /// The platform's native store, service `service` (normally [`DEFAULT_SERVICE`]).
    /// Fails with `keyring_unavailable` if this build's keyring store would not persist.
    pub fn new(service: &str) -> Result<Self> {
        Self::with_builder(service, keyring::default::default_credential_builder())
    }

    /// With an explicit keyring credential builder (must persist until deleted).
    pub fn with_builder(service: &str, builder: Box<CredentialBuilder>) -> Result<Self> {
        if service.trim().is_empty() {
            return Err(Error::KeyringUnavailable {
                detail: "the keyring service name is empty".into(),
            });
        }
        check_persistent(builder.as_ref())?;
        Ok(Self {
            service: service.to_owned(),
            builder,
        })
    }

    /// The service name entries are stored under.
    pub fn service(&self) -> &str {
        &self.service
    }

    fn entry(&self, account: &str) -> Result<keyring::Entry, StoreError> {
        self.builder
            .build(None, &self.service, account)
            .map(keyring::Entry::new_with_credential)
            .map_err(map_keyring_error)
    }
}

/// Refuses credential builders that do not keep secrets on disk (keyring's mock store keeps them
/// in the entry object, keyutils alone until reboot).
pub fn check_persistent(builder: &CredentialBuilder) -> Result<()> {
    match builder.persistence() {
        CredentialPersistence::UntilDelete => Ok(()),
        other => {
            let what = match other {
                CredentialPersistence::EntryOnly => "keyring's in-memory mock store",
                CredentialPersistence::ProcessOnly => "a per-process store",
                CredentialPersistence::UntilReboot => "a store that forgets on reboot",
                _ => "a non-persistent store",
            };
            Err(Error::KeyringUnavailable {
                detail: format!(
                    "this build would keep tokens in {what} instead of the OS keyring; it must be built with keyring's native features"
                ),
            })
        }
    }
}

fn map_keyring_error(e: keyring::Error) -> StoreError {
    match e {
        keyring::Error::NoStorageAccess(inner) => StoreError::Unavailable(format!(
            "no access to the keyring (locked, missing or denied: {inner}); unlock it, or start a Secret Service such as gnome-keyring"
        )),
        keyring::Error::PlatformFailure(inner) => {
            StoreError::Unavailable(format!("the keyring failed ({inner})"))
        }
        keyring::Error::TooLong(what, max) => StoreError::TooLong(format!("{what} over {max}")),
        other => StoreError::Other(other.to_string()),
    }
}

impl SecretStore for KeyringStore {
    fn get(&self, account: &str) -> Result<Option<Zeroizing<String>>, StoreError> {
        match self.entry(account)?.get_password() {
            Ok(secret) => Ok(Some(Zeroizing::new(secret))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(map_keyring_error(e)),
        }
    }

    fn set(&self, account: &str, secret: &str) -> Result<(), StoreError> {
        self.entry(account)?
            .set_password(secret)
            .map_err(map_keyring_error)
    }

    fn delete(&self, account: &str) -> Result<(), StoreError> {
        match self.entry(account)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(map_keyring_error(e)),
        }
    }
}

mod chain;
mod encrypted_file;
#[cfg(target_os = "linux")]
mod keyutils;
pub use chain::{auto_order, choose_store, ChosenStore, StoreChoice, StoreKind, SEALED_FILE};
pub use encrypted_file::EncryptedFileStore;
#[cfg(target_os = "linux")]
pub use keyutils::KeyutilsStore;

#[cfg(any(test, feature = "test-util"))]
mod fake;
#[cfg(any(test, feature = "test-util"))]
pub use fake::{FakeOp, FakeStore};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mock_keyring_is_refused() {
        let err = KeyringStore::with_builder(
            "dev.tessera.desktop",
            keyring::mock::default_credential_builder(),
        )
        .unwrap_err();
        assert_eq!(err.code(), "keyring_unavailable");
        assert!(err.to_string().contains("mock"), "{err}");
    }

    #[test]
    fn this_build_uses_a_persistent_native_store() {
        // Building the store touches no keyring daemon; it only checks the compiled-in backend.
        let store = KeyringStore::new(DEFAULT_SERVICE).unwrap();
        assert_eq!(store.service(), "dev.tessera.desktop");
        assert!(KeyringStore::new(" ").is_err());
    }
}
