//! The session's tokens in a [`SecretStore`]: one logical entry per profile (account
//! `session:<profile>`), stored through ordered, timeout-guarded calls.
//!
//! The parts: what is stored and its format (`vault/entry.rs`, [`StoredSession`]); how a blob
//! too long for one keyring entry is chunked so that readers never see a mix (`vault/chunks.rs`);
//! and, here, the [`Vault`] that makes the store calls.
//!
//! Every store call runs on a blocking thread under a timeout: a locked Secret Service can block
//! forever, and a user must get `keyring_unavailable` instead. The calls of one vault run in the
//! order they were made, and a call made under the refresh lock keeps that lock until it has
//! really finished, timeout or not — so a write that timed out can never land after a later
//! delete, nor after another process took the lock.

use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::lock::RefreshLockGuard;
use crate::store::SecretStore;

mod chunks;
mod entry;
#[cfg(test)]
mod tests;

pub(crate) use chunks::{delete_blob, read_blob, write_blob};
pub use entry::StoredSession;

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
