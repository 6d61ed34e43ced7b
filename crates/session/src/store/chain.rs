//! Which store a workspace keeps its sessions in, decided once per process and shown to the
//! user: the OS keyring (Secret Service, macOS Keychain, Windows Credential Manager); on Linux
//! without a reachable Secret Service, the kernel keyring (`store/keyutils.rs`); the
//! passphrase-sealed file (`store/encrypted_file.rs`) only when asked for (`--store
//! encrypted-file`, `TESSERA_STORE=encrypted-file`) — never plain text, never chosen silently.
//! Where nothing is available, the error names the options in one sentence.
//!
//! A store is "reachable" when reading an entry that does not exist answers "none": that is one
//! D-Bus round trip for the Secret Service and one `keyctl` call for the kernel keyring, and it
//! writes nothing.

use std::path::Path;
use std::sync::Arc;

use super::{EncryptedFileStore, KeyringStore, SecretStore};
use crate::error::{Error, Result};
use crate::secret::Password;

/// An account no session ever uses: reading it tells whether a store answers.
const PROBE_ACCOUNT: &str = "tessera-store-probe";

/// The file the encrypted-file store keeps, in the data directory.
pub const SEALED_FILE: &str = "sessions.sealed";

/// Where sessions live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// The OS keyring.
    Os,
    /// The Linux kernel keyring.
    Keyutils,
    /// The passphrase-sealed file in the data directory.
    EncryptedFile,
}

impl StoreKind {
    /// The name shown by `status` (`"store"` in JSON) and taken by `--store`.
    pub fn name(self) -> &'static str {
        match self {
            StoreKind::Os if cfg!(target_os = "macos") => "keychain",
            StoreKind::Os if cfg!(windows) => "credential-manager",
            StoreKind::Os => "secret-service",
            StoreKind::Keyutils => "keyutils",
            StoreKind::EncryptedFile => "encrypted-file",
        }
    }
}

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StoreChoice {
    /// The OS keyring, else (Linux) the kernel keyring.
    #[default]
    Auto,
    /// That store only.
    Only(StoreKind),
}

impl StoreChoice {
    /// `auto`, `os` (or the OS store's own name), `keyutils`, `encrypted-file`.
    pub fn parse(text: &str) -> Result<Self> {
        let wanted = text.trim().to_ascii_lowercase();
        match wanted.as_str() {
            "" | "auto" => Ok(StoreChoice::Auto),
            "os" | "secret-service" | "keychain" | "credential-manager" => {
                Ok(StoreChoice::Only(StoreKind::Os))
            }
            "keyutils" | "kernel" => Ok(StoreChoice::Only(StoreKind::Keyutils)),
            "encrypted-file" => Ok(StoreChoice::Only(StoreKind::EncryptedFile)),
            _ => Err(Error::InvalidProfile {
                detail: format!(
                    "unknown store {text:?}: use auto, {}, keyutils or encrypted-file",
                    StoreKind::Os.name()
                ),
            }),
        }
    }

    /// `$TESSERA_STORE`, else `auto`.
    pub fn from_env() -> Result<Self> {
        match std::env::var("TESSERA_STORE") {
            Ok(text) => Self::parse(&text),
            Err(_) => Ok(StoreChoice::Auto),
        }
    }
}

/// The store chosen, and why the ones before it were passed over (for `--verbose`).
pub struct ChosenStore {
    /// The store.
    pub store: Arc<dyn SecretStore>,
    /// Which one it is.
    pub kind: StoreKind,
    /// The stores tried before it, and why each could not be used.
    pub skipped: Vec<String>,
}

impl std::fmt::Debug for ChosenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChosenStore")
            .field("kind", &self.kind)
            .field("skipped", &self.skipped)
            .finish()
    }
}

/// Opens the store `choice` asks for. `passphrase` is called only for the encrypted file.
pub fn choose_store(
    choice: StoreChoice,
    service: &str,
    data_dir: &Path,
    passphrase: &mut dyn FnMut() -> Result<Password>,
) -> Result<ChosenStore> {
    let chosen = |store: Arc<dyn SecretStore>, kind, skipped| ChosenStore {
        store,
        kind,
        skipped,
    };
    match choice {
        StoreChoice::Only(StoreKind::EncryptedFile) => {
            let store = EncryptedFileStore::open(data_dir.join(SEALED_FILE), &passphrase()?)?;
            Ok(chosen(
                Arc::new(store),
                StoreKind::EncryptedFile,
                Vec::new(),
            ))
        }
        StoreChoice::Only(kind) => {
            let store = open(kind, service)?;
            reachable(store.as_ref()).map_err(|why| Error::KeyringUnavailable {
                detail: format!("the {} store cannot be used: {why}", kind.name()),
            })?;
            Ok(chosen(store, kind, Vec::new()))
        }
        StoreChoice::Auto => {
            let mut skipped = Vec::new();
            for &kind in auto_order() {
                match open(kind, service).and_then(|store| {
                    reachable(store.as_ref())
                        .map(|()| store)
                        .map_err(|detail| Error::KeyringUnavailable { detail })
                }) {
                    Ok(store) => return Ok(chosen(store, kind, skipped)),
                    Err(e) => skipped.push(format!("{}: {}", kind.name(), reason(&e))),
                }
            }
            Err(Error::KeyringUnavailable {
                detail: format!(
                    "no store can keep the session here ({}); start a desktop keyring (Secret Service), or ask for the encrypted file: --store encrypted-file (TESSERA_STORE=encrypted-file) with a passphrase on the prompt, on stdin or in TESSERA_STORE_PASSPHRASE",
                    skipped.join("; ")
                ),
            })
        }
    }
}

/// The stores `auto` tries, in order.
pub fn auto_order() -> &'static [StoreKind] {
    if cfg!(target_os = "linux") {
        &[StoreKind::Os, StoreKind::Keyutils]
    } else {
        &[StoreKind::Os]
    }
}

fn open(kind: StoreKind, service: &str) -> Result<Arc<dyn SecretStore>> {
    match kind {
        StoreKind::Os => Ok(Arc::new(KeyringStore::new(service)?)),
        #[cfg(target_os = "linux")]
        StoreKind::Keyutils => Ok(Arc::new(super::KeyutilsStore::new(service)?)),
        #[cfg(not(target_os = "linux"))]
        StoreKind::Keyutils => Err(Error::KeyringUnavailable {
            detail: "the kernel keyring exists on Linux only".into(),
        }),
        StoreKind::EncryptedFile => Err(Error::internal(
            "the encrypted file is opened with its passphrase",
        )),
    }
}

/// Whether reading an entry that does not exist answers.
fn reachable(store: &dyn SecretStore) -> std::result::Result<(), String> {
    store
        .get(PROBE_ACCOUNT)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn reason(e: &Error) -> String {
    match e {
        Error::KeyringUnavailable { detail } => detail.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_names_parse_and_unknown_ones_are_named() {
        assert_eq!(StoreChoice::parse("auto").unwrap(), StoreChoice::Auto);
        assert_eq!(
            StoreChoice::parse(" Keyutils ").unwrap(),
            StoreChoice::Only(StoreKind::Keyutils)
        );
        assert_eq!(
            StoreChoice::parse("encrypted-file").unwrap(),
            StoreChoice::Only(StoreKind::EncryptedFile)
        );
        assert_eq!(
            StoreChoice::parse(StoreKind::Os.name()).unwrap(),
            StoreChoice::Only(StoreKind::Os)
        );
        let err = StoreChoice::parse("plaintext").unwrap_err();
        assert!(err.to_string().contains("encrypted-file"), "{err}");
        // The encrypted file is never tried unless asked for.
        assert!(!auto_order().contains(&StoreKind::EncryptedFile));
        assert_eq!(auto_order()[0], StoreKind::Os);
    }
}
