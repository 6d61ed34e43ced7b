//! An in-memory [`SecretStore`] for tests (of this crate and of its users, with the
//! `test-util` feature): a per-entry size limit like the Windows Credential Manager's, queued
//! failures and an optional hang, so keyring faults are provoked without a keyring. Kept out
//! of the normal build so that no release binary can store tokens in it.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use zeroize::Zeroizing;

use super::{SecretStore, StoreError, KEYRING_MAX_ENTRY_CHARS};

/// Which operation an injected [`FakeStore`] failure applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FakeOp {
    /// `get`
    Get,
    /// `set`
    Set,
    /// `delete`
    Delete,
}

#[derive(Default)]
struct FakeInner {
    entries: BTreeMap<String, String>,
    failures: VecDeque<(FakeOp, StoreError)>,
    hang: Option<Duration>,
    writes: u64,
    reads: u64,
}

/// An in-memory store for tests: a per-entry size limit (like Windows' 2560-byte limit), queued
/// failures, and an optional hang (a locked Secret Service that never answers).
pub struct FakeStore {
    max_chars: usize,
    inner: Mutex<FakeInner>,
}

impl Default for FakeStore {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeStore {
    /// A store whose entries hold at most [`KEYRING_MAX_ENTRY_CHARS`] characters.
    pub fn new() -> Self {
        Self::with_max_chars(KEYRING_MAX_ENTRY_CHARS)
    }

    /// A store whose entries hold at most `max_chars` characters (longer `set`s fail `TooLong`).
    pub fn with_max_chars(max_chars: usize) -> Self {
        Self {
            max_chars,
            inner: Mutex::new(FakeInner::default()),
        }
    }

    /// How many `get`s were attempted.
    pub fn reads(&self) -> u64 {
        self.lock().reads
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FakeInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next `op` fails with `error` (queued, in order).
    pub fn fail_next(&self, op: FakeOp, error: StoreError) {
        self.lock().failures.push_back((op, error));
    }

    /// Every call sleeps this long first (or stops hanging with `None`).
    pub fn set_hang(&self, hang: Option<Duration>) {
        self.lock().hang = hang;
    }

    /// A copy of every entry (account → secret), to assert on layout and content.
    pub fn snapshot(&self) -> BTreeMap<String, String> {
        self.lock().entries.clone()
    }

    /// How many successful `set`s happened.
    pub fn writes(&self) -> u64 {
        self.lock().writes
    }

    fn before(&self, op: FakeOp) -> Result<(), StoreError> {
        let hang = {
            let mut inner = self.lock();
            if let Some(pos) = inner.failures.iter().position(|(o, _)| *o == op) {
                if let Some((_, err)) = inner.failures.remove(pos) {
                    return Err(err);
                }
            }
            inner.hang
        };
        if let Some(hang) = hang {
            std::thread::sleep(hang);
        }
        Ok(())
    }
}

impl SecretStore for FakeStore {
    fn get(&self, account: &str) -> Result<Option<Zeroizing<String>>, StoreError> {
        self.lock().reads += 1;
        self.before(FakeOp::Get)?;
        Ok(self
            .lock()
            .entries
            .get(account)
            .cloned()
            .map(Zeroizing::new))
    }

    fn set(&self, account: &str, secret: &str) -> Result<(), StoreError> {
        self.before(FakeOp::Set)?;
        let len = secret.chars().count();
        if len > self.max_chars {
            return Err(StoreError::TooLong(format!(
                "{len} characters, limit {}",
                self.max_chars
            )));
        }
        let mut inner = self.lock();
        inner.entries.insert(account.to_owned(), secret.to_owned());
        inner.writes += 1;
        Ok(())
    }

    fn delete(&self, account: &str) -> Result<(), StoreError> {
        self.before(FakeOp::Delete)?;
        self.lock().entries.remove(account);
        Ok(())
    }

    fn max_entry_chars(&self) -> usize {
        self.max_chars
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fake_store_limits_and_injects() {
        let store = FakeStore::with_max_chars(4);
        store.set("a", "1234").unwrap();
        assert!(matches!(
            store.set("a", "12345"),
            Err(StoreError::TooLong(_))
        ));
        assert_eq!(
            store.get("a").unwrap().as_deref().map(String::as_str),
            Some("1234")
        );
        store.fail_next(FakeOp::Get, StoreError::Unavailable("locked".into()));
        assert_eq!(
            store.get("a"),
            Err(StoreError::Unavailable("locked".into()))
        );
        assert!(store.get("a").unwrap().is_some());
        store.delete("a").unwrap();
        store.delete("a").unwrap();
        assert_eq!(store.get("a").unwrap(), None);
        assert_eq!(store.writes(), 1);
    }
}
