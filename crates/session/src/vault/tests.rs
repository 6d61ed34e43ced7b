//! The vault's unit tests: round trips through size-limited stores, torn and failed chunked
//! writes, keyring errors and hangs, unreadable entries.

use zeroize::Zeroizing;

use super::chunks::{split_chars, MANIFEST_PREFIX};
use super::*;
use crate::secret::{AccessToken, RefreshToken};
use crate::store::{FakeOp, FakeStore, StoreError};

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
        cookies: Default::default(),
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
