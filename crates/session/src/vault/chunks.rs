//! A blob longer than one keyring entry holds, split over numbered chunk entries.
//!
//! A token pair with big claims can exceed what one keyring entry holds (Windows: 2560 bytes),
//! so a blob longer than the store's limit is split into numbered chunk entries
//! (`session:<profile>:<generation>:<i>`) and the main entry holds a small manifest
//! (generation, count, length, checksum). A writer stores the new chunks under the other of two
//! generations before switching the manifest, then deletes the old chunks, so a reader in
//! another process sees either the old or the new blob, never a mix (it re-reads when a
//! checksum does not match). With two known generations, chunks that a failed write left
//! behind are always found and deleted (by the next write and by sign-out).
//!
//! These are the blocking calls the vault runs on its ordered blocking thread.

use std::time::Duration;

use zeroize::Zeroizing;

use crate::store::{SecretStore, StoreError};

pub(super) const MANIFEST_PREFIX: &str = "tessera-chunked:v1:";
/// No session blob comes near this (two tokens and an origin); a manifest announcing more is
/// damaged, not a reason to allocate.
const MAX_BLOB_BYTES: usize = 1 << 20;

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

pub(super) fn split_chars(text: &str, max_chars: usize) -> Vec<&str> {
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
