//! The Linux kernel keyring (keyutils): where sessions live on a machine without a Secret
//! Service — a CI runner, a container, a server over SSH.
//!
//! Entries are `user` keys in the **user keyring** of the calling user (`@u`): one per user,
//! shared by every process of that user whatever shell, login or CI step started it, never
//! written to disk (a session ends at reboot at the latest). Each key is also linked into the
//! user's **persistent keyring** where the kernel offers one, so that it outlives the last
//! process of the user for `/proc/sys/kernel/keys/persistent_keyring_expiry` seconds (three
//! days by default) — the SSH case. Keys are made readable and writable by their user, not
//! only by a process that "possesses" them: possession depends on which session keyring a
//! process was started in, and a CI agent, `dbus-run-session` or a container's init start
//! processes in different ones (measured here: a key written by one process in the persistent
//! keyring was "access denied" to the next one in about one run in three).
//! The crate keyring's `KeyutilsCredential` is not used: it adds keys to the session keyring,
//! which a process without a session keyring of its own cannot search — every call then
//! answers "no entry".

use linux_keyutils::{KeyError, KeyPermissionsBuilder, KeyRing, KeyRingIdentifier, Permission};
use zeroize::Zeroizing;

use super::{SecretStore, StoreError};
use crate::error::{Error, Result};

/// A kernel `user` key holds at most 32767 bytes; the vault chunks below that.
const MAX_KEY_BYTES: usize = 32_000;

/// Sessions in the user's kernel keyring, under descriptions `<service>:<account>`.
pub struct KeyutilsStore {
    service: String,
    keyring: KeyRing,
    /// The persistent keyring, where the kernel offers one: every key is linked there too.
    persistent: Option<KeyRing>,
}

impl std::fmt::Debug for KeyutilsStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyutilsStore")
            .field("service", &self.service)
            .finish()
    }
}

impl KeyutilsStore {
    /// The user keyring (and the persistent keyring, when there is one). `keyring_unavailable`
    /// where the kernel refuses (no keyutils, a seccomp profile that blocks `keyctl`).
    pub fn new(service: &str) -> Result<Self> {
        if service.trim().is_empty() {
            return Err(Error::KeyringUnavailable {
                detail: "the keyring service name is empty".into(),
            });
        }
        let keyring = KeyRing::from_special_id(KeyRingIdentifier::User, true).map_err(|e| {
            Error::KeyringUnavailable {
                detail: format!("the kernel keyring refused ({})", describe(e)),
            }
        })?;
        let persistent = KeyRing::get_persistent(KeyRingIdentifier::User).ok();
        Ok(Self {
            service: service.to_owned(),
            keyring,
            persistent,
        })
    }

    fn description(&self, account: &str) -> String {
        format!("{}:{account}", self.service)
    }
}

fn describe(e: KeyError) -> String {
    match e {
        KeyError::AccessDenied => "access denied".into(),
        KeyError::QuotaExceeded => "the user's key quota is full".into(),
        KeyError::OperationNotSupported => "not supported by this kernel".into(),
        other => format!("{other:?}"),
    }
}

fn unavailable(what: &str, e: KeyError) -> StoreError {
    match e {
        KeyError::QuotaExceeded => StoreError::TooLong(format!("{what}: {}", describe(e))),
        e => StoreError::Unavailable(format!(
            "the kernel keyring failed to {what} ({})",
            describe(e)
        )),
    }
}

/// The answers keyutils gives for "no such key": a search that met a key being invalidated
/// (a sign-out or rotation in another process), or a keyring in the tree it could not search,
/// answers "access denied" instead of "no key" (keyring-rs found the same; observed here: a
/// fresh process's first search in the persistent keyring). A store that is really refused
/// fails at `set`, with its own error.
fn is_missing(e: &KeyError) -> bool {
    matches!(
        e,
        KeyError::KeyDoesNotExist
            | KeyError::KeyRevoked
            | KeyError::KeyExpired
            | KeyError::AccessDenied
    )
}

impl SecretStore for KeyutilsStore {
    fn get(&self, account: &str) -> std::result::Result<Option<Zeroizing<String>>, StoreError> {
        let key = match self.keyring.search(&self.description(account)) {
            Ok(key) => key,
            Err(e) if is_missing(&e) => return Ok(None),
            Err(e) => return Err(unavailable("search", e)),
        };
        let bytes = match key.read_to_vec() {
            Ok(bytes) => Zeroizing::new(bytes),
            Err(e) if is_missing(&e) => return Ok(None),
            Err(e) => return Err(unavailable("read a key", e)),
        };
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| StoreError::Other("a kernel keyring entry is not UTF-8".into()))?;
        Ok(Some(Zeroizing::new(text.to_owned())))
    }

    fn set(&self, account: &str, secret: &str) -> std::result::Result<(), StoreError> {
        if secret.is_empty() {
            return Err(StoreError::Other(
                "an empty secret cannot be a kernel key".into(),
            ));
        }
        if secret.len() > MAX_KEY_BYTES {
            return Err(StoreError::TooLong(format!("{} bytes", secret.len())));
        }
        // `add_key` replaces the payload of an existing key of the same description atomically.
        let key = self
            .keyring
            .add_key(&self.description(account), secret.as_bytes())
            .map_err(|e| unavailable("store a key", e))?;
        let perms = KeyPermissionsBuilder::builder()
            .posessor(Permission::ALL)
            .user(Permission::ALL)
            .build();
        key.set_perms(perms)
            .map_err(|e| unavailable("give a key to its user", e))?;
        if let Some(persistent) = &self.persistent {
            // Best effort: without it the key lives while the user has a process.
            let _ = persistent.link_key(key);
        }
        Ok(())
    }

    fn delete(&self, account: &str) -> std::result::Result<(), StoreError> {
        match self.keyring.search(&self.description(account)) {
            Ok(key) => match key.invalidate() {
                Ok(()) => Ok(()),
                Err(e) if is_missing(&e) => Ok(()),
                Err(e) => Err(unavailable("delete a key", e)),
            },
            Err(e) if is_missing(&e) => Ok(()),
            Err(e) => Err(unavailable("search", e)),
        }
    }

    fn max_entry_chars(&self) -> usize {
        // Characters, not bytes: a multi-byte secret stays within the key size.
        MAX_KEY_BYTES / 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> KeyutilsStore {
        let service = format!(
            "dev.tessera.test-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        );
        KeyutilsStore::new(&service).unwrap()
    }

    #[test]
    fn keys_round_trip_and_are_shared_by_a_second_store() {
        let a = store();
        let b = KeyutilsStore::new(&a.service).unwrap();
        assert_eq!(a.get("acct").unwrap(), None);
        a.set("acct", "eyJ-first").unwrap();
        assert_eq!(
            b.get("acct").unwrap().as_deref().map(String::as_str),
            Some("eyJ-first")
        );
        b.set("acct", "second").unwrap();
        assert_eq!(
            a.get("acct").unwrap().as_deref().map(String::as_str),
            Some("second")
        );
        a.delete("acct").unwrap();
        a.delete("acct").unwrap();
        assert_eq!(b.get("acct").unwrap(), None);
        assert!(format!("{a:?}").contains("dev.tessera.test"));
    }

    #[test]
    fn oversized_and_empty_secrets_are_refused() {
        let s = store();
        assert!(matches!(
            s.set("big", &"x".repeat(MAX_KEY_BYTES + 1)),
            Err(StoreError::TooLong(_))
        ));
        assert!(s.set("empty", "").is_err());
        s.set("near", &"y".repeat(s.max_entry_chars())).unwrap();
        s.delete("near").unwrap();
    }
}
