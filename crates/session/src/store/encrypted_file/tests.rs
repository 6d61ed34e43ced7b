//! The encrypted-file store's tests: round trips, several stores on one file (as several
//! processes), wrong passphrases, damage and tampering, file modes, concurrency, the vault.
//! New files are sealed with cheap argon2 costs (`format::NEW_FILE_COSTS`) except where the
//! real ones are the point.

use std::sync::Arc;
use std::time::Instant;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::Value;

use super::*;
use crate::secret::{AccessToken, RefreshToken};
use crate::vault::{StoredSession, Vault};

const JWT: &str =
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJxYS11c2VyIiwiZXhwIjoxOTAwMDAwMDAwfQ.c2lnbmF0dXJlLXNlY3JldA";
const DAMAGED: &str = "was changed outside Tessera or is damaged";

fn pass(text: &str) -> Password {
    Password::new(text.to_owned())
}

fn sealed_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("data").join("sessions.sealed")
}

fn open(path: &Path, passphrase: &str) -> EncryptedFileStore {
    EncryptedFileStore::open(path.to_path_buf(), &pass(passphrase)).unwrap()
}

fn pair_json(n: usize) -> String {
    format!(r#"{{"v":1,"access":"{JWT}.{n}","refresh":"{JWT}.r{n}"}}"#)
}

/// No 12-character piece of `secret` is in `bytes` (a shorter one, such as `eyJ`, may turn up
/// in random base64).
fn assert_no_piece_of(bytes: &[u8], secret: &str) {
    for window in secret.as_bytes().windows(12) {
        assert!(
            !bytes.windows(12).any(|w| w == window),
            "found {:?}",
            String::from_utf8_lossy(window)
        );
    }
}

#[test]
fn secrets_round_trip_and_the_first_write_creates_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = sealed_path(&dir);
    let store = open(&path, "correct horse");
    assert_eq!(store.path(), path);
    assert_eq!(store.max_entry_chars(), 256 * 1024);
    // Reads and deletes without a file create nothing, not even the directory or lock file.
    assert!(store.get("session:prod").unwrap().is_none());
    store.delete("session:prod").unwrap();
    assert!(!path.parent().unwrap().exists());

    store.set("session:prod", &pair_json(1)).unwrap();
    store.set("session:dev", "dev secret").unwrap();
    assert_eq!(
        store
            .get("session:prod")
            .unwrap()
            .as_deref()
            .map(String::as_str),
        Some(pair_json(1).as_str())
    );
    store.set("session:prod", &pair_json(2)).unwrap();
    assert_eq!(
        store
            .get("session:prod")
            .unwrap()
            .as_deref()
            .map(String::as_str),
        Some(pair_json(2).as_str())
    );
    store.delete("session:prod").unwrap();
    assert!(store.get("session:prod").unwrap().is_none());
    assert_eq!(
        store
            .get("session:dev")
            .unwrap()
            .as_deref()
            .map(String::as_str),
        Some("dev secret")
    );
    // Deleting what is not there succeeds and does not rewrite the file.
    let before = fs::read(&path).unwrap();
    store.delete("session:prod").unwrap();
    store.delete("never-there").unwrap();
    assert_eq!(fs::read(&path).unwrap(), before);

    // Too long for one entry: refused, nothing written.
    let long = "x".repeat(256 * 1024 + 1);
    assert!(matches!(
        store.set("big", &long),
        Err(StoreError::TooLong(_))
    ));
    assert_eq!(fs::read(&path).unwrap(), before);
    store.set("big", &long[1..]).unwrap();
    assert_eq!(store.get("big").unwrap().unwrap().len(), 256 * 1024);
}

#[cfg(unix)]
#[test]
fn the_file_and_a_missing_directory_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a").join("b").join("sessions.sealed");
    let store = open(&path, "pw");
    store.set("k", "v").unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    assert_eq!(mode(&dir.path().join("a")), 0o700);
    // No temporary file is left behind.
    let names: Vec<_> = fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}"); // the file and its lock file
                                             // Found looser (restored from a backup, say): tightened by the next read.
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    assert!(store.get("k").unwrap().is_some());
    assert_eq!(mode(&path), 0o600);
    store.set("k", "w").unwrap();
    assert_eq!(mode(&path), 0o600);
}

#[test]
fn the_file_holds_no_plaintext_and_records_the_real_costs() {
    format::NEW_FILE_COSTS
        .with(|c| c.set((format::DEFAULT_M_KIB, format::DEFAULT_T, format::DEFAULT_P)));
    let dir = tempfile::tempdir().unwrap();
    let path = sealed_path(&dir);
    let store = open(&path, "correct horse battery staple");
    let secret = pair_json(7);
    store.set("session:prod", &secret).unwrap();
    let bytes = fs::read(&path).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    // No piece of the secret, the account or the passphrase is in the file.
    assert_no_piece_of(&bytes, &secret);
    assert!(!text.contains("session:prod") && !text.contains("horse"));
    let file: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(file["format"], "tessera-sealed-sessions");
    assert_eq!(file["version"], 1);
    assert_eq!(file["kdf"]["name"], "argon2id");
    assert_eq!(file["kdf"]["version"], 19);
    assert_eq!(
        (&file["kdf"]["m_kib"], &file["kdf"]["t"], &file["kdf"]["p"]),
        (&Value::from(19456), &Value::from(2), &Value::from(1))
    );
    assert_eq!(
        B64.decode(file["kdf"]["salt"].as_str().unwrap())
            .unwrap()
            .len(),
        16
    );
    assert_eq!(
        B64.decode(file["aead"]["nonce"].as_str().unwrap())
            .unwrap()
            .len(),
        24
    );
    assert_eq!(file["aead"]["name"], "xchacha20poly1305");

    // Every write has a fresh nonce (and so a different ciphertext); the salt stays.
    store.set("session:prod", &secret).unwrap();
    let again: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    assert_ne!(again["aead"]["nonce"], file["aead"]["nonce"]);
    assert_ne!(again["ciphertext"], file["ciphertext"]);
    assert_eq!(again["kdf"]["salt"], file["kdf"]["salt"]);

    // Timing at the real costs (unoptimised here; see the report for optimised numbers).
    let started = Instant::now();
    let other = open(&path, "correct horse battery staple");
    let opened = started.elapsed();
    let got = other.get("session:prod").unwrap();
    eprintln!(
        "encrypted file, real costs: open {opened:?}, open+get {:?}, one get {:?}",
        started.elapsed(),
        {
            let t = Instant::now();
            other.get("session:prod").unwrap();
            t.elapsed()
        }
    );
    assert_eq!(got.as_deref().map(String::as_str), Some(secret.as_str()));
}

#[test]
fn stores_on_one_file_see_each_others_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = sealed_path(&dir);
    // Both opened before the file exists (two processes on a fresh machine): each has its own
    // fresh salt; the second writer adopts the first one's.
    let a = open(&path, "pw");
    let b = open(&path, "pw");
    a.set("one", "1").unwrap();
    b.set("two", "2").unwrap();
    assert_eq!(
        a.get("two").unwrap().as_deref().map(String::as_str),
        Some("2")
    );
    assert_eq!(
        b.get("one").unwrap().as_deref().map(String::as_str),
        Some("1")
    );
    // Opened after: the same.
    let c = open(&path, "pw");
    assert_eq!(
        c.get("one").unwrap().as_deref().map(String::as_str),
        Some("1")
    );
    c.delete("one").unwrap();
    assert!(a.get("one").unwrap().is_none());

    // The file moved aside and re-created by another process (new salt, same passphrase).
    fs::rename(&path, dir.path().join("old.sealed")).unwrap();
    let d = open(&path, "pw");
    d.set("three", "3").unwrap();
    assert!(a.get("two").unwrap().is_none());
    assert_eq!(
        a.get("three").unwrap().as_deref().map(String::as_str),
        Some("3")
    );
    a.set("four", "4").unwrap();
    assert_eq!(
        d.get("four").unwrap().as_deref().map(String::as_str),
        Some("4")
    );
}

#[test]
fn a_wrong_passphrase_is_refused_at_once_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = sealed_path(&dir);
    open(&path, "right one").set("k", JWT).unwrap();
    let before = fs::read(&path).unwrap();
    let err = EncryptedFileStore::open(path.clone(), &pass("wrong one")).unwrap_err();
    assert_eq!(err.code(), "keyring_unavailable");
    let text = err.to_string();
    assert!(text.contains("the passphrase does not open"), "{text}");
    assert!(text.contains("nothing was changed"), "{text}");
    assert!(!text.contains("wrong one") && !text.contains("right one") && !text.contains("eyJ"));
    assert_eq!(fs::read(&path).unwrap(), before);
    let err = EncryptedFileStore::open(path.clone(), &pass("")).unwrap_err();
    assert!(err.to_string().contains("empty"), "{err}");
    // The right one still opens it.
    assert!(open(&path, "right one").get("k").unwrap().is_some());
}

#[test]
fn a_file_re_created_with_another_passphrase_is_named_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = sealed_path(&dir);
    let mine = open(&path, "mine");
    let theirs = open(&path, "theirs");
    theirs.set("k", "their secret").unwrap();
    let before = fs::read(&path).unwrap();
    for err in [
        mine.set("k", "my secret").unwrap_err(),
        mine.get("k").unwrap_err(),
        mine.delete("k").unwrap_err(),
    ] {
        let text = err.to_string();
        assert!(text.contains("another passphrase"), "{text}");
        assert!(text.contains("nothing was changed"), "{text}");
    }
    assert_eq!(fs::read(&path).unwrap(), before);
    assert_eq!(
        theirs.get("k").unwrap().as_deref().map(String::as_str),
        Some("their secret")
    );
}

/// Rewrites one field of the file (decoded base64, one byte flipped).
fn flip_field(file: &mut Value, pointer: &str) {
    let field = file.pointer_mut(pointer).unwrap();
    let mut bytes = B64.decode(field.as_str().unwrap()).unwrap();
    bytes[0] ^= 0x01;
    *field = Value::from(B64.encode(bytes));
}

fn edited(bytes: &[u8], edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut file: Value = serde_json::from_slice(bytes).unwrap();
    edit(&mut file);
    serde_json::to_vec_pretty(&file).unwrap()
}

#[test]
fn a_damaged_or_tampered_file_is_reported_and_never_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = sealed_path(&dir);
    let store = open(&path, "pw");
    store.set("session:prod", &pair_json(1)).unwrap();
    let good = fs::read(&path).unwrap();
    let text = String::from_utf8(good.clone()).unwrap();
    // One character of the ciphertext's base64, changed in place.
    let at = text.find("\"ciphertext\": \"").unwrap() + 20;
    let mut raw_flip = good.clone();
    raw_flip[at] = if raw_flip[at] == b'A' { b'B' } else { b'A' };

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "ciphertext byte",
            edited(&good, |f| flip_field(f, "/ciphertext")),
            DAMAGED,
        ),
        ("ciphertext char", raw_flip, DAMAGED),
        (
            "salt byte",
            edited(&good, |f| flip_field(f, "/kdf/salt")),
            DAMAGED,
        ),
        (
            "nonce byte",
            edited(&good, |f| flip_field(f, "/aead/nonce")),
            DAMAGED,
        ),
        (
            "check byte",
            edited(&good, |f| flip_field(f, "/check")),
            DAMAGED,
        ),
        (
            "digest byte",
            edited(&good, |f| flip_field(f, "/header_sha256")),
            DAMAGED,
        ),
        (
            "cost",
            edited(&good, |f| f["kdf"]["t"] = Value::from(3)),
            DAMAGED,
        ),
        (
            "huge cost",
            edited(&good, |f| f["kdf"]["m_kib"] = Value::from(u32::MAX)),
            DAMAGED,
        ),
        (
            "extra field",
            edited(&good, |f| f["plain"] = Value::from(1)),
            DAMAGED,
        ),
        (
            "cipher name",
            edited(&good, |f| f["aead"]["name"] = Value::from("none")),
            DAMAGED,
        ),
        ("truncated", good[..good.len() / 2].to_vec(), DAMAGED),
        ("not JSON", b"session:prod=eyJ...\n".to_vec(), DAMAGED),
        ("empty", Vec::new(), DAMAGED),
        (
            "another format",
            br#"{"format":"x","version":1}"#.to_vec(),
            DAMAGED,
        ),
        (
            "newer",
            edited(&good, |f| f["version"] = Value::from(2)),
            "newer Tessera",
        ),
    ];
    for (what, bytes, expected) in cases {
        fs::write(&path, &bytes).unwrap();
        let errors = [
            store.get("session:prod").unwrap_err(),
            store.set("session:prod", &pair_json(2)).unwrap_err(),
            store.delete("session:prod").unwrap_err(),
            // A later correct operation is refused too: no silent reset.
            store.set("session:new", "v").unwrap_err(),
        ];
        for err in errors {
            let text = err.to_string();
            assert!(text.contains(expected), "{what}: {text}");
            assert!(text.contains("nothing was changed"), "{what}: {text}");
            assert!(
                !text.contains("eyJ") && !text.contains("\"v\":1"),
                "{what}: {text}"
            );
        }
        let err = EncryptedFileStore::open(path.clone(), &pass("pw")).unwrap_err();
        assert_eq!(err.code(), "keyring_unavailable", "{what}");
        assert!(err.to_string().contains(expected), "{what}: {err}");
        assert_eq!(
            fs::read(&path).unwrap(),
            bytes,
            "{what}: the file was rewritten"
        );
    }
    // Put back, everything works again, and nothing was lost.
    fs::write(&path, &good).unwrap();
    assert_eq!(
        store
            .get("session:prod")
            .unwrap()
            .as_deref()
            .map(String::as_str),
        Some(pair_json(1).as_str())
    );
}

#[test]
fn a_header_edited_with_its_digest_recomputed_is_still_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = sealed_path(&dir);
    let store = open(&path, "pw");
    store.set("session:prod", &pair_json(1)).unwrap();
    let good = fs::read(&path).unwrap();
    let tampered = |pointer: &str| {
        edited(&good, |f| {
            flip_field(f, pointer);
            format::redigest(f);
        })
    };
    // The header is the AEAD's associated data: a new nonce (or any header change that keeps
    // the key) fails authentication; a new salt or check value fails the passphrase check.
    let cases = [
        (tampered("/aead/nonce"), DAMAGED),
        (tampered("/kdf/salt"), "passphrase"),
        (tampered("/check"), "passphrase"),
    ];
    for (bytes, expected) in cases {
        fs::write(&path, &bytes).unwrap();
        for text in [
            store.get("session:prod").unwrap_err().to_string(),
            store.set("session:prod", "v").unwrap_err().to_string(),
            EncryptedFileStore::open(path.clone(), &pass("pw"))
                .unwrap_err()
                .to_string(),
        ] {
            assert!(text.contains(expected), "{text}");
            assert!(text.contains("nothing was changed"), "{text}");
        }
        assert_eq!(fs::read(&path).unwrap(), bytes);
    }
}

#[test]
fn concurrent_writers_on_two_stores_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = sealed_path(&dir);
    let stores = [Arc::new(open(&path, "pw")), Arc::new(open(&path, "pw"))];
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let store = Arc::clone(&stores[t % 2]);
            std::thread::spawn(move || {
                for i in 0..10 {
                    let account = format!("session:t{t}-{i}");
                    let secret = format!("{JWT}.{t}.{i}");
                    store.set(&account, &secret).unwrap();
                    assert_eq!(
                        store.get(&account).unwrap().as_deref().map(String::as_str),
                        Some(secret.as_str())
                    );
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let fresh = open(&path, "pw");
    for t in 0..8 {
        for i in 0..10 {
            let account = format!("session:t{t}-{i}");
            let expected = format!("{JWT}.{t}.{i}");
            for store in [&*stores[0], &*stores[1], &fresh] {
                assert_eq!(
                    store.get(&account).unwrap().as_deref().map(String::as_str),
                    Some(expected.as_str()),
                    "{account}"
                );
            }
        }
    }
}

#[test]
fn debug_shows_only_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = sealed_path(&dir);
    let store = open(&path, "hunter2-passphrase");
    store.set("k", JWT).unwrap();
    let printed = format!("{store:?} {store:#?}");
    assert!(printed.contains("sessions.sealed"), "{printed}");
    assert!(
        !printed.contains("hunter2") && !printed.contains("eyJ"),
        "{printed}"
    );
}

#[tokio::test]
async fn the_vault_keeps_sessions_in_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = sealed_path(&dir);
    let vault = Vault::new(Arc::new(open(&path, "pw")), Duration::from_secs(10));
    let session = StoredSession {
        access: AccessToken::new(format!("{JWT}.access")),
        refresh: Some(RefreshToken::new(format!("{JWT}.refresh"))),
        origin: "https://api.example.com".into(),
        offset_ms: -1_500,
        base_url: Some("https://api.example.com/api/".into()),
        blacklist_url: None,
        verified: true,
        cookies: Default::default(),
    };
    vault.save("prod", &session).await.unwrap();
    // Another process (store) reads it back.
    let other = Vault::new(Arc::new(open(&path, "pw")), Duration::from_secs(10));
    let loaded = other.load("prod").await.unwrap().unwrap();
    assert!(loaded.access.same_as(&session.access));
    assert!(loaded
        .refresh
        .unwrap()
        .same_as(session.refresh.as_ref().unwrap()));
    assert_eq!(loaded.origin, "https://api.example.com");
    assert_eq!(loaded.offset_ms, -1_500);
    assert!(loaded.verified);
    // One entry, no chunks.
    let reader = open(&path, "pw");
    assert!(reader.get("session:prod").unwrap().is_some());
    assert_no_piece_of(&fs::read(&path).unwrap(), session.access.expose_secret());
    other.clear("prod").await.unwrap();
    assert!(vault.load("prod").await.unwrap().is_none());
}
