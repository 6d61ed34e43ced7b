//! The sealed file itself: its JSON header, the key derivation and the encryption (the format is
//! described in the parent module). Nothing here touches the file system.

use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, AeadInOut, Generate, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use super::plain::{self, Entries};

/// The `format` field: what the file is.
pub(super) const FORMAT: &str = "tessera-sealed-sessions";
/// The `version` field: this layout.
pub(super) const VERSION: u64 = 1;
const KDF_NAME: &str = "argon2id";
/// Argon2 version 1.3.
const ARGON2_VERSION: u32 = 0x13;
const AEAD_NAME: &str = "xchacha20poly1305";

/// argon2id cost of new files: OWASP's minimum (19 MiB, 2 passes, 1 lane), so that 20 CLI
/// processes opening the file at once stay fast. Recorded in every file: it can be raised later.
pub(super) const DEFAULT_M_KIB: u32 = 19 * 1024;
pub(super) const DEFAULT_T: u32 = 2;
pub(super) const DEFAULT_P: u32 = 1;

#[cfg(test)]
thread_local! {
    /// Unoptimised argon2 takes most of a second at the real costs: tests seal new files
    /// cheaply unless they ask for the real costs (the costs of an existing file are its own).
    pub(super) static NEW_FILE_COSTS: std::cell::Cell<(u32, u32, u32)> =
        const { std::cell::Cell::new((64, 1, 1)) };
}

fn new_file_costs() -> (u32, u32, u32) {
    #[cfg(test)]
    return NEW_FILE_COSTS.with(|c| c.get());
    #[cfg(not(test))]
    (DEFAULT_M_KIB, DEFAULT_T, DEFAULT_P)
}

/// Costs accepted from a file: a damaged or hostile header must not make us allocate gigabytes
/// or spin for minutes.
const MAX_M_KIB: u32 = 1024 * 1024;
const MAX_T: u32 = 64;
const MAX_P: u32 = 64;

const SALT_LEN: usize = 16;
const SALT_LEN_RANGE: std::ops::RangeInclusive<usize> = 16..=64;
const CHECK_LEN: usize = 16;
const DIGEST_LEN: usize = 16;
const TAG_LEN: usize = 16;

/// HMAC-SHA256 labels deriving the two values from argon2id's output.
const KEY_LABEL: &[u8] = b"tessera sealed sessions v1 encryption key";
const CHECK_LABEL: &[u8] = b"tessera passphrase check";

/// Why a file cannot be read (the parent module adds the path and what to do).
#[derive(Debug)]
pub(super) enum Unreadable {
    /// Not a sealed file of this format, or changed since it was written.
    Damaged(String),
    /// A later format version.
    Newer(u64),
}

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unreadable::Damaged(why) => f.write_str(why),
            Unreadable::Newer(v) => write!(f, "format version {v}"),
        }
    }
}

fn damaged(why: impl Into<String>) -> Unreadable {
    Unreadable::Damaged(why.into())
}

/// The argon2id parameters and salt of a file.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct Kdf {
    m_kib: u32,
    t: u32,
    p: u32,
    salt: Vec<u8>,
}

impl fmt::Debug for Kdf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "argon2id(m={} KiB, t={}, p={})",
            self.m_kib, self.t, self.p
        )
    }
}

impl Kdf {
    /// Today's costs with a fresh random salt, for a new file.
    pub(super) fn fresh() -> Result<Self, String> {
        let salt = <[u8; SALT_LEN]>::try_generate()
            .map_err(|e| format!("the system random generator failed: {e}"))?;
        let (m_kib, t, p) = new_file_costs();
        Ok(Self {
            m_kib,
            t,
            p,
            salt: salt.to_vec(),
        })
    }

    /// argon2id(passphrase, salt) -> 32 bytes, from which HMAC-SHA256 derives the encryption
    /// key and the check value (so the check value says nothing about the key).
    pub(super) fn derive(&self, passphrase: &[u8]) -> Result<Keys, String> {
        let params = argon2::Params::new(self.m_kib, self.t, self.p, Some(32))
            .map_err(|e| format!("unusable key-derivation parameters ({e})"))?;
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut master = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(passphrase, &self.salt, master.as_mut_slice())
            .map_err(|e| format!("the key derivation failed ({e})"))?;
        let mut key = Zeroizing::new([0u8; 32]);
        hmac_into(master.as_slice(), KEY_LABEL, key.as_mut_slice())?;
        let mut check = [0u8; CHECK_LEN];
        hmac_into(master.as_slice(), CHECK_LABEL, &mut check)?;
        Ok(Keys {
            kdf: self.clone(),
            key,
            check,
        })
    }
}

fn hmac_into(key: &[u8], label: &[u8], out: &mut [u8]) -> Result<(), String> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .map_err(|e| format!("HMAC refused the key ({e})"))?;
    mac.update(label);
    let mut tag = mac.finalize().into_bytes();
    let n = out.len().min(tag.len());
    out[..n].copy_from_slice(&tag[..n]);
    tag.as_mut_slice().zeroize();
    Ok(())
}

/// What a passphrase and a salt give: the encryption key and the check value.
pub(super) struct Keys {
    kdf: Kdf,
    key: Zeroizing<[u8; 32]>,
    check: [u8; CHECK_LEN],
}

impl Keys {
    /// The parameters these keys were derived with.
    pub(super) fn kdf(&self) -> &Kdf {
        &self.kdf
    }

    fn cipher(&self) -> Result<XChaCha20Poly1305, String> {
        XChaCha20Poly1305::new_from_slice(self.key.as_slice())
            .map_err(|e| format!("the cipher refused the key ({e})"))
    }
}

/// A file read and checked for shape, not yet decrypted.
pub(super) struct Sealed {
    kdf: Kdf,
    check: [u8; CHECK_LEN],
    nonce: XNonce,
    ciphertext: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileJson {
    format: String,
    version: u64,
    kdf: KdfJson,
    check: String,
    aead: AeadJson,
    header_sha256: String,
    ciphertext: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KdfJson {
    name: String,
    version: u32,
    m_kib: u32,
    t: u32,
    p: u32,
    salt: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AeadJson {
    name: String,
    nonce: String,
}

/// The header as one canonical text: the AEAD's associated data, and what `header_sha256`
/// hashes. Built from the decoded values, so JSON spacing or key order do not matter.
fn header_text(kdf: &Kdf, check: &[u8], nonce: &[u8]) -> String {
    format!(
        "{FORMAT}\nversion={VERSION}\nkdf={KDF_NAME} v={ARGON2_VERSION} m_kib={} t={} p={} salt={}\ncheck={}\naead={AEAD_NAME} nonce={}\n",
        kdf.m_kib,
        kdf.t,
        kdf.p,
        B64.encode(&kdf.salt),
        B64.encode(check),
        B64.encode(nonce),
    )
}

fn header_digest(header: &str) -> [u8; DIGEST_LEN] {
    let full = Sha256::digest(header.as_bytes());
    let mut out = [0u8; DIGEST_LEN];
    out.copy_from_slice(&full[..DIGEST_LEN]);
    out
}

/// Equality without an early exit.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn decode<const N: usize>(field: &str, text: &str) -> Result<[u8; N], Unreadable> {
    let bytes = B64
        .decode(text)
        .map_err(|_| damaged(format!("its {field} is not base64")))?;
    <[u8; N]>::try_from(bytes.as_slice())
        .map_err(|_| damaged(format!("its {field} is not {N} bytes long")))
}

impl Sealed {
    /// Parses and checks a file's bytes: format, version, known algorithms, costs in range,
    /// field lengths, and the header digest (which tells a damaged salt from a wrong passphrase).
    pub(super) fn parse(bytes: &[u8]) -> Result<Self, Unreadable> {
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
            damaged(format!(
                "it is not JSON (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
            return Err(damaged("it is not a Tessera sealed session file"));
        }
        match value.get("version").and_then(|v| v.as_u64()) {
            Some(VERSION) => {}
            Some(v) if v > VERSION => return Err(Unreadable::Newer(v)),
            _ => return Err(damaged("its format version is not one Tessera knows")),
        }
        let file: FileJson = serde_json::from_value(value)
            .map_err(|_| damaged("its header is incomplete or has unknown fields"))?;
        if file.kdf.name != KDF_NAME || file.kdf.version != ARGON2_VERSION {
            return Err(damaged("it names an unknown key derivation"));
        }
        if file.aead.name != AEAD_NAME {
            return Err(damaged("it names an unknown cipher"));
        }
        let (m_kib, t, p) = (file.kdf.m_kib, file.kdf.t, file.kdf.p);
        if !(1..=MAX_P).contains(&p)
            || !(1..=MAX_T).contains(&t)
            || !(8 * p..=MAX_M_KIB).contains(&m_kib)
        {
            return Err(damaged("its key-derivation costs are out of range"));
        }
        let salt = B64
            .decode(&file.kdf.salt)
            .map_err(|_| damaged("its salt is not base64"))?;
        if !SALT_LEN_RANGE.contains(&salt.len()) {
            return Err(damaged("its salt has the wrong length"));
        }
        let check = decode::<CHECK_LEN>("check value", &file.check)?;
        let nonce = decode::<24>("nonce", &file.aead.nonce)?;
        let digest = decode::<DIGEST_LEN>("header digest", &file.header_sha256)?;
        let ciphertext = B64
            .decode(&file.ciphertext)
            .map_err(|_| damaged("its ciphertext is not base64"))?;
        if ciphertext.len() < TAG_LEN {
            return Err(damaged("its ciphertext is too short"));
        }
        let kdf = Kdf { m_kib, t, p, salt };
        if !same_bytes(&header_digest(&header_text(&kdf, &check, &nonce)), &digest) {
            return Err(damaged("its header does not match its digest"));
        }
        Ok(Self {
            kdf,
            check,
            nonce: XNonce::from(nonce),
            ciphertext,
        })
    }

    /// The salt and costs the file was sealed with.
    pub(super) fn kdf(&self) -> &Kdf {
        &self.kdf
    }

    /// Whether `keys` (derived with this file's salt) are this file's: the passphrase is right.
    pub(super) fn opens_with(&self, keys: &Keys) -> bool {
        keys.kdf == self.kdf && same_bytes(&keys.check, &self.check)
    }

    /// Decrypts and parses the entries (after [`Sealed::opens_with`]).
    pub(super) fn open(&self, keys: &Keys) -> Result<Entries, Unreadable> {
        let header = header_text(&self.kdf, &self.check, &self.nonce);
        // Decrypted in place in a buffer wiped on drop (decryption only shrinks it).
        let mut plain = Zeroizing::new(Vec::with_capacity(self.ciphertext.len()));
        plain.extend_from_slice(&self.ciphertext);
        keys.cipher()
            .map_err(Unreadable::Damaged)?
            .decrypt_in_place(&self.nonce, header.as_bytes(), &mut *plain)
            .map_err(|_| damaged("its ciphertext does not decrypt"))?;
        plain::from_json(&plain)
            .ok_or_else(|| damaged("its decrypted content is not a map of entries"))
    }
}

/// Seals `entries` with `keys` and a fresh random nonce: the bytes of a whole file.
pub(super) fn seal(keys: &Keys, entries: &Entries) -> Result<Vec<u8>, String> {
    let plain = plain::to_json(entries)?;
    let nonce =
        XNonce::try_generate().map_err(|e| format!("the system random generator failed: {e}"))?;
    let header = header_text(&keys.kdf, &keys.check, &nonce);
    let ciphertext = keys
        .cipher()?
        .encrypt(
            &nonce,
            Payload {
                msg: plain.as_slice(),
                aad: header.as_bytes(),
            },
        )
        .map_err(|_| "the encryption failed".to_owned())?;
    let file = FileJson {
        format: FORMAT.to_owned(),
        version: VERSION,
        kdf: KdfJson {
            name: KDF_NAME.to_owned(),
            version: ARGON2_VERSION,
            m_kib: keys.kdf.m_kib,
            t: keys.kdf.t,
            p: keys.kdf.p,
            salt: B64.encode(&keys.kdf.salt),
        },
        check: B64.encode(keys.check),
        aead: AeadJson {
            name: AEAD_NAME.to_owned(),
            nonce: B64.encode(nonce),
        },
        header_sha256: B64.encode(header_digest(&header)),
        ciphertext: B64.encode(ciphertext),
    };
    let mut bytes =
        serde_json::to_vec_pretty(&file).map_err(|e| format!("cannot serialise the file ({e})"))?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Tests: recomputes `header_sha256` after an edit, as a deliberate tamperer would.
#[cfg(test)]
pub(super) fn redigest(file: &mut serde_json::Value) {
    let num = |v: &serde_json::Value| v.as_u64().and_then(|n| u32::try_from(n).ok()).unwrap();
    let bytes = |v: &serde_json::Value| B64.decode(v.as_str().unwrap()).unwrap();
    let kdf = Kdf {
        m_kib: num(&file["kdf"]["m_kib"]),
        t: num(&file["kdf"]["t"]),
        p: num(&file["kdf"]["p"]),
        salt: bytes(&file["kdf"]["salt"]),
    };
    let header = header_text(&kdf, &bytes(&file["check"]), &bytes(&file["aead"]["nonce"]));
    file["header_sha256"] = B64.encode(header_digest(&header)).into();
}
