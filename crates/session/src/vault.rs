//! The session's tokens in a [`SecretStore`]: storage format, chunking, timeouts.
//!
//! One logical entry per profile (account `session:<profile>`). A token pair with big claims can
//! exceed what one keyring entry holds (Windows: 2560 bytes), so a blob longer than the store's
//! limit is split into numbered chunk entries (`session:<profile>:<generation>:<i>`) and the main
//! entry holds a small manifest (generation, count, length, checksum). A writer stores the new
//! chunks under the other of two generations before switching the manifest, then deletes the old
//! chunks, so a reader in another process sees either the old or the new blob, never a mix (it
//! re-reads when a checksum does not match). With two known generations, chunks that a failed
//! write left behind are always found and deleted (by the next write and by sign-out).
//!
//! Every store call runs on a blocking thread under a timeout: a locked Secret Service can block
//! forever, and a user must get `keyring_unavailable` instead. The calls of one vault run in the
//! order they were made, and a call made under the refresh lock keeps that lock until it has
//! really finished, timeout or not — so a write that timed out can never land after a later
//! delete, nor after another process took the lock.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::lock::RefreshLockGuard;
use crate::secret::{AccessToken, RefreshToken};
use crate::store::{SecretStore, StoreError};

const MANIFEST_PREFIX: &str = "tessera-chunked:v1:";
/// No session blob comes near this (two tokens and an origin); a manifest announcing more is
/// damaged, not a reason to allocate.
const MAX_BLOB_BYTES: usize = 1 << 20;
const FORMAT_VERSION: u8 = 1;

/// What is kept for a signed-in profile.
#[derive(Debug, Clone)]
pub struct StoredSession {
    /// The access (or sliding) token.
    pub access: AccessToken,
    /// The refresh token (none in sliding mode).
    pub refresh: Option<RefreshToken>,
    /// The origin the tokens were issued by; tokens are never sent to another one.
    pub origin: String,
    /// Estimated server-minus-local clock offset, milliseconds.
    pub offset_ms: i64,
    /// The base URL the tokens were issued for: the session is used only while the profile
    /// points there (older entries have none and are bound to `origin` alone).
    pub base_url: Option<String>,
    /// The blacklist endpoint of that server, where sign-out sends the refresh token even when
    /// the profile has been pointed elsewhere since.
    pub blacklist_url: Option<String>,
    /// Whether the tokens passed the profile's signature check. A renewed pair is stored
    /// before it is verified (so a rotated refresh token is never lost to a failed JWKS fetch)
    /// and verified by whoever reads it next.
    pub verified: bool,
}

#[derive(Serialize)]
struct BlobOut<'a> {
    v: u8,
    access: &'a str,
    refresh: Option<&'a str>,
    origin: &'a str,
    offset_ms: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    base_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    blacklist_url: Option<&'a str>,
    verified: bool,
}

#[derive(Deserialize)]
struct BlobIn {
    v: u8,
    access: String,
    refresh: Option<String>,
    origin: String,
    #[serde(default)]
    offset_ms: i64,
    #[serde(default)]
    base_url: Option<String>,
    #[serde(default)]
    blacklist_url: Option<String>,
    #[serde(default = "verified_by_default")]
    verified: bool,
}

/// Entries written before the flag existed were verified before they were stored.
fn verified_by_default() -> bool {
    true
}

impl StoredSession {
    fn to_blob(&self) -> Result<Zeroizing<String>> {
        let out = BlobOut {
            v: FORMAT_VERSION,
            access: self.access.expose_secret(),
            refresh: self.refresh.as_ref().map(RefreshToken::expose_secret),
            origin: &self.origin,
            offset_ms: self.offset_ms,
            base_url: self.base_url.as_deref(),
            blacklist_url: self.blacklist_url.as_deref(),
            verified: self.verified,
        };
        let mut buf = Zeroizing::new(Vec::with_capacity(
            out.access.len() + out.refresh.map_or(0, str::len) + out.origin.len() + 128,
        ));
        serde_json::to_writer(&mut *buf, &out)
            .map_err(|e| Error::internal(format!("cannot serialise the session: {e}")))?;
        let text = String::from_utf8(std::mem::take(&mut *buf))
            .map_err(|e| Error::internal(format!("session blob is not UTF-8: {e}")))?;
        Ok(Zeroizing::new(text))
    }

    fn from_blob(blob: &str) -> Option<Self> {
        let parsed: BlobIn = serde_json::from_str(blob).ok()?;
        if parsed.v != FORMAT_VERSION || parsed.access.is_empty() {
            return None;
        }
        Some(Self {
            access: AccessToken::new(parsed.access),
            refresh: parsed.refresh.map(RefreshToken::new),
            origin: parsed.origin,
            offset_ms: parsed.offset_ms,
            base_url: parsed.base_url,
            blacklist_url: parsed.blacklist_url,
            verified: parsed.verified,
        })
    }
}

/// The keyring account holding a profile's session.
pub fn account_for(profile: &str) -> String {
    format!("session:{profile}")
}

/// The refresh lock, shared with the keyring calls made under it: a call that outlives its
/// timeout keeps the lock until it has finished, so its write can never land after another
/// process took over.
pub type HeldLock = Arc<RefreshLockGuard>;

/// Async, timeout-guarded access to stored sessions.
///
/// Store calls of one vault run one after another, in the order they were made (a mutex taken
/// on the blocking thread): a delete issued after a write that timed out still lands after it.
#[derive(Clone)]
pub struct Vault {
    store: Arc<dyn SecretStore>,
    timeout: Duration,
    order: Arc<std::sync::Mutex<()>>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// Every store operation gives up after `timeout` with `keyring_unavailable`.
    pub fn new(store: Arc<dyn SecretStore>, timeout: Duration) -> Self {
        Self {
            store,
            timeout,
            order: Arc::new(std::sync::Mutex::new(())),
        }
    }

    async fn blocking<T: Send + 'static>(
        &self,
        what: &'static str,
        held: Option<&HeldLock>,
        op: impl FnOnce(&dyn SecretStore) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = Arc::clone(&self.store);
        let order = Arc::clone(&self.order);
        let held = held.cloned();
        let task = tokio::task::spawn_blocking(move || {
            let _in_order = order.lock().unwrap_or_else(|p| p.into_inner());
            let result = op(store.as_ref());
            // The refresh lock (if any) is released only now, whatever the caller saw.
            drop(held);
            result
        });
        match tokio::time::timeout(self.timeout, task).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) => Err(Error::internal(format!(
                "keyring {what} task failed: {join}"
            ))),
            Err(_) => {
                tracing::warn!(
                    operation = what,
                    timeout_ms = self.timeout.as_millis() as u64,
                    "keyring did not answer"
                );
                Err(Error::KeyringUnavailable {
                    detail: format!(
                        "the keyring did not answer a {what} within {:.1} s (it may be locked and waiting for a password)",
                        self.timeout.as_secs_f64()
                    ),
                })
            }
        }
    }

    /// The profile's stored session, `None` when signed out. An unreadable entry is removed and
    /// reported as `login_required`.
    pub async fn load(&self, profile: &str) -> Result<Option<StoredSession>> {
        self.load_with(profile, true).await
    }

    /// Like [`Vault::load`], but an unreadable entry is reported and left alone (read-only
    /// commands such as `status` never change the keyring).
    pub async fn peek(&self, profile: &str) -> Result<Option<StoredSession>> {
        self.load_with(profile, false).await
    }

    async fn load_with(
        &self,
        profile: &str,
        remove_unreadable: bool,
    ) -> Result<Option<StoredSession>> {
        let account = account_for(profile);
        self.blocking("read", None, move |store| {
            let Some(blob) = read_blob(store, &account)? else {
                return Ok(None);
            };
            match StoredSession::from_blob(&blob) {
                Some(session) => Ok(Some(session)),
                None if remove_unreadable => {
                    tracing::warn!("stored session unreadable; removing it");
                    delete_blob(store, &account)?;
                    Err(Error::LoginRequired {
                        reason: "the stored session could not be read and was removed".into(),
                    })
                }
                None => Err(Error::LoginRequired {
                    reason: "the stored session could not be read".into(),
                }),
            }
        })
        .await
    }

    /// Stores the session (replacing the previous one).
    pub async fn save(&self, profile: &str, session: &StoredSession) -> Result<()> {
        self.save_held(profile, session, None).await
    }

    /// Stores the session under the refresh lock, which stays held until the write is over.
    pub async fn save_held(
        &self,
        profile: &str,
        session: &StoredSession,
        held: Option<&HeldLock>,
    ) -> Result<()> {
        let account = account_for(profile);
        let blob = session.to_blob()?;
        self.blocking("write", held, move |store| {
            Ok(write_blob(store, &account, &blob)?)
        })
        .await
    }

    /// Deletes every entry of the profile's session.
    pub async fn clear(&self, profile: &str) -> Result<()> {
        self.clear_held(profile, None).await
    }

    /// Deletes every entry of the profile's session, holding the refresh lock until done.
    pub async fn clear_held(&self, profile: &str, held: Option<&HeldLock>) -> Result<()> {
        let account = account_for(profile);
        self.blocking("delete", held, move |store| {
            Ok(delete_blob(store, &account)?)
        })
        .await
    }
}

struct Manifest {
    generation: u64,
    count: usize,
    len: usize,
    checksum: u64,
}

impl Manifest {
    fn parse(text: &str) -> Option<Self> {
        let rest = text.strip_prefix(MANIFEST_PREFIX)?;
        let mut parts = rest.split(':');
        let generation = u64::from_str_radix(parts.next()?, 16).ok()?;
        let count: usize = parts.next()?.parse().ok()?;
        let len: usize = parts.next()?.parse().ok()?;
        let checksum = u64::from_str_radix(parts.next()?, 16).ok()?;
        if parts.next().is_some() || len > MAX_BLOB_BYTES || count == 0 || count > len.max(1) {
            return None;
        }
        Some(Self {
            generation,
            count,
            len,
            checksum,
        })
    }

    fn render(&self) -> String {
        format!(
            "{MANIFEST_PREFIX}{:016x}:{}:{}:{:016x}",
            self.generation, self.count, self.len, self.checksum
        )
    }

    fn chunk_account(&self, account: &str, i: usize) -> String {
        format!("{account}:{:016x}:{i}", self.generation)
    }
}

/// FNV-1a: detects a torn read (chunks from two generations), not an attacker.
fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn split_chars(text: &str, max_chars: usize) -> Vec<&str> {
    let max_chars = max_chars.max(1);
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut count = 0;
    for (idx, _) in text.char_indices() {
        if count == max_chars {
            pieces.push(&text[start..idx]);
            start = idx;
            count = 0;
        }
        count += 1;
    }
    if start < text.len() || pieces.is_empty() {
        pieces.push(&text[start..]);
    }
    pieces
}

/// Chunk sets alternate between two generations, so the chunks of a write that failed midway
/// are always found again (and deleted) by the next write or by a sign-out.
const SLOTS: [u64; 2] = [0, 1];

/// Stores `blob` under `account`, chunked when it is longer than the store's entry limit. A
/// write that fails midway removes the chunks it wrote (best effort; [`delete_blob`] sweeps
/// both generations in any case).
pub(crate) fn write_blob(
    store: &dyn SecretStore,
    account: &str,
    blob: &str,
) -> Result<(), StoreError> {
    let previous = store.get(account)?.and_then(|text| Manifest::parse(&text));
    let max = store.max_entry_chars();
    if blob.chars().count() <= max && !blob.starts_with(MANIFEST_PREFIX) {
        store.set(account, blob)?;
    } else {
        let pieces = split_chars(blob, max);
        let generation = match &previous {
            Some(p) if p.generation == SLOTS[0] => SLOTS[1],
            _ => SLOTS[0],
        };
        let manifest = Manifest {
            generation,
            count: pieces.len(),
            len: blob.len(),
            checksum: checksum(blob.as_bytes()),
        };
        // Leftovers of an earlier failed write in this generation go first.
        sweep_generation(store, account, generation, 0);
        for (i, piece) in pieces.iter().enumerate() {
            if let Err(e) = store.set(&manifest.chunk_account(account, i), piece) {
                sweep_generation(store, account, generation, 0);
                return Err(e);
            }
        }
        if let Err(e) = store.set(account, &manifest.render()) {
            sweep_generation(store, account, generation, 0);
            return Err(e);
        }
    }
    if let Some(old) = previous {
        for i in 0..old.count {
            // Best effort: a leftover chunk is garbage, not a secret exposure beyond the keyring.
            let _ = store.delete(&old.chunk_account(account, i));
        }
    }
    Ok(())
}

/// Deletes the chunks of `generation` from index `from` on, up to the first one missing
/// (chunks are written in order, so a failed write leaves a prefix). Best effort.
fn sweep_generation(store: &dyn SecretStore, account: &str, generation: u64, from: usize) {
    let probe = Manifest {
        generation,
        count: 0,
        len: 0,
        checksum: 0,
    };
    let max_chunks = MAX_BLOB_BYTES.div_ceil(store.max_entry_chars().max(1)) + 1;
    for i in from..max_chunks {
        let chunk = probe.chunk_account(account, i);
        match store.get(&chunk) {
            Ok(Some(_)) => {
                let _ = store.delete(&chunk);
            }
            _ => break,
        }
    }
}

/// Reads the blob under `account`, reassembling chunks. Retries a few times when a concurrent
/// writer is switching generations.
pub(crate) fn read_blob(
    store: &dyn SecretStore,
    account: &str,
) -> Result<Option<Zeroizing<String>>, StoreError> {
    let mut last_problem = String::new();
    for attempt in 0..5 {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(20 * attempt));
        }
        let Some(main) = store.get(account)? else {
            return Ok(None);
        };
        let Some(manifest) = Manifest::parse(&main) else {
            // Not a manifest (or a damaged one): the blob itself. A damaged manifest then fails
            // to parse as a session, and `Vault::load` removes it like any unreadable entry.
            return Ok(Some(main));
        };
        let mut blob = Zeroizing::new(String::with_capacity(manifest.len));
        let mut complete = true;
        for i in 0..manifest.count {
            match store.get(&manifest.chunk_account(account, i))? {
                Some(piece) => blob.push_str(&piece),
                None => {
                    complete = false;
                    break;
                }
            }
        }
        if complete && blob.len() == manifest.len && checksum(blob.as_bytes()) == manifest.checksum
        {
            return Ok(Some(blob));
        }
        last_problem = format!(
            "chunk set {:016x} is incomplete or inconsistent",
            manifest.generation
        );
    }
    Err(StoreError::Other(last_problem))
}

/// Deletes the blob and its chunks. Missing entries are fine.
pub(crate) fn delete_blob(store: &dyn SecretStore, account: &str) -> Result<(), StoreError> {
    if let Some(manifest) = store.get(account)?.and_then(|text| Manifest::parse(&text)) {
        for i in 0..manifest.count {
            store.delete(&manifest.chunk_account(account, i))?;
        }
    }
    // Chunks a failed write left behind belong to no manifest: sweep both generations.
    for generation in SLOTS {
        sweep_generation(store, account, generation, 0);
    }
    store.delete(account)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{FakeOp, FakeStore};

    fn big_session(token_len: usize) -> StoredSession {
        let access = format!("eyJ{}", "a".repeat(token_len));
        let refresh = format!("eyJ{}", "r".repeat(token_len));
        StoredSession {
            access: AccessToken::new(access),
            refresh: Some(RefreshToken::new(refresh)),
            origin: "https://api.example.com".into(),
            offset_ms: -600_000,
            base_url: None,
            blacklist_url: None,
            verified: true,
        }
    }

    #[tokio::test]
    async fn four_kilobyte_pair_round_trips_through_a_size_limited_store() {
        // Windows Credential Manager: 2560 bytes of UTF-16 = 1280 characters per entry.
        let fake = Arc::new(FakeStore::with_max_chars(1280));
        let vault = Vault::new(fake.clone(), Duration::from_secs(5));
        let session = big_session(2_000); // > 4 KB blob
        vault.save("prod", &session).await.unwrap();
        let entries = fake.snapshot();
        assert!(
            entries.len() >= 5,
            "expected chunks, got {:?}",
            entries.keys()
        );
        assert!(entries.values().all(|v| v.chars().count() <= 1280));
        assert!(entries["session:prod"].starts_with(MANIFEST_PREFIX));
        let loaded = vault.load("prod").await.unwrap().unwrap();
        assert!(loaded.access.same_as(&session.access));
        assert!(loaded
            .refresh
            .unwrap()
            .same_as(session.refresh.as_ref().unwrap()));
        assert_eq!(loaded.offset_ms, -600_000);
        assert_eq!(loaded.origin, "https://api.example.com");

        // A smaller session replaces it and the old chunks are gone.
        let small = big_session(100);
        vault.save("prod", &small).await.unwrap();
        assert_eq!(fake.snapshot().len(), 1);
        assert!(vault
            .load("prod")
            .await
            .unwrap()
            .unwrap()
            .access
            .same_as(&small.access));

        // Big again, twice: only one generation of chunks remains.
        vault.save("prod", &session).await.unwrap();
        let n = fake.snapshot().len();
        vault.save("prod", &session).await.unwrap();
        assert_eq!(fake.snapshot().len(), n);

        vault.clear("prod").await.unwrap();
        assert!(fake.snapshot().is_empty());
        assert!(vault.load("prod").await.unwrap().is_none());
    }

    #[test]
    fn a_torn_chunk_set_is_detected() {
        let fake = FakeStore::with_max_chars(64);
        write_blob(&fake, "acct", &"x".repeat(200)).unwrap();
        let entries = fake.snapshot();
        assert_eq!(entries.len(), 5);
        let chunk = entries.keys().find(|k| k.ends_with(":1")).unwrap().clone();
        fake.set(&chunk, &"y".repeat(64)).unwrap();
        let err = read_blob(&fake, "acct").unwrap_err();
        assert!(
            matches!(err, StoreError::Other(ref m) if m.contains("inconsistent")),
            "{err:?}"
        );
    }

    /// A store whose `n`-th `set` (from 1) fails.
    struct FailingSet {
        inner: FakeStore,
        fail_at: std::sync::atomic::AtomicU64,
    }

    impl SecretStore for FailingSet {
        fn get(&self, a: &str) -> Result<Option<Zeroizing<String>>, StoreError> {
            self.inner.get(a)
        }
        fn set(&self, a: &str, v: &str) -> Result<(), StoreError> {
            if self
                .fail_at
                .fetch_sub(1, std::sync::atomic::Ordering::SeqCst)
                == 1
            {
                return Err(StoreError::Other("the keyring refused the write".into()));
            }
            self.inner.set(a, v)
        }
        fn delete(&self, a: &str) -> Result<(), StoreError> {
            self.inner.delete(a)
        }
        fn max_entry_chars(&self) -> usize {
            self.inner.max_entry_chars()
        }
    }

    #[test]
    fn a_chunked_write_that_fails_midway_leaves_no_orphans_after_sign_out() {
        for fail_at in 1..=5 {
            let store = FailingSet {
                inner: FakeStore::with_max_chars(64),
                fail_at: std::sync::atomic::AtomicU64::new(u64::MAX),
            };
            // A first session stored in chunks, then a bigger one whose write fails midway.
            write_blob(&store, "acct", &"x".repeat(200)).unwrap();
            store
                .fail_at
                .store(fail_at, std::sync::atomic::Ordering::SeqCst);
            // The failing store may also refuse the clean-up; only sign-out must be thorough.
            let _ = write_blob(&store, "acct", &"y".repeat(300));
            store
                .fail_at
                .store(u64::MAX, std::sync::atomic::Ordering::SeqCst);
            delete_blob(&store, "acct").unwrap();
            assert!(
                store.inner.snapshot().is_empty(),
                "failure at set {fail_at}: {:?}",
                store.inner.snapshot().keys()
            );
        }
    }

    #[test]
    fn splitting_respects_characters() {
        assert_eq!(split_chars("abcdef", 4), vec!["abcd", "ef"]);
        assert_eq!(split_chars("éééé", 3), vec!["ééé", "é"]);
        assert_eq!(split_chars("", 3), vec![""]);
        let fake = FakeStore::with_max_chars(64);
        let text = "é".repeat(150);
        write_blob(&fake, "a", &text).unwrap();
        assert_eq!(fake.snapshot().len(), 4);
        assert_eq!(read_blob(&fake, "a").unwrap().unwrap().as_str(), text);
    }

    #[tokio::test]
    async fn keyring_errors_and_hangs_become_keyring_unavailable() {
        let fake = Arc::new(FakeStore::new());
        let vault = Vault::new(fake.clone(), Duration::from_millis(200));
        fake.fail_next(
            FakeOp::Get,
            StoreError::Unavailable("collection is locked".into()),
        );
        let err = vault.load("p").await.unwrap_err();
        assert_eq!(err.code(), "keyring_unavailable");
        assert!(err.to_string().contains("collection is locked"));

        fake.set_hang(Some(Duration::from_secs(3)));
        let err = vault.load("p").await.unwrap_err();
        assert_eq!(err.code(), "keyring_unavailable");
        assert!(err.to_string().contains("did not answer"), "{err}");
        fake.set_hang(None);
    }

    #[tokio::test]
    async fn garbage_in_the_keyring_means_login_required_and_is_removed() {
        let fake = Arc::new(FakeStore::new());
        fake.set("session:p", "not json").unwrap();
        let vault = Vault::new(fake.clone(), Duration::from_secs(5));
        assert_eq!(vault.load("p").await.unwrap_err().code(), "login_required");
        assert!(fake.snapshot().is_empty());
    }
}
