//! The sealed file's plaintext: a JSON object, account -> secret, written and read in buffers
//! wiped on drop.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

/// The secrets of the file: account -> secret.
pub(super) type Entries = BTreeMap<String, Zeroizing<String>>;

/// The entries as JSON, in a buffer wiped on drop (as is every buffer it outgrew).
pub(super) fn to_json(entries: &Entries) -> Result<Zeroizing<Vec<u8>>, String> {
    let estimate = 2 + entries
        .iter()
        .map(|(k, v)| k.len() + v.len() + 8)
        .sum::<usize>()
        .saturating_mul(2);
    let mut out = SecretBuf(Zeroizing::new(Vec::with_capacity(estimate)));
    serde_json::to_writer(&mut out, &EntriesOut(entries))
        .map_err(|e| format!("cannot serialise the entries ({e})"))?;
    Ok(out.0)
}

/// The entries of decrypted JSON; `None` when it is not an object of strings. (serde_json's
/// own scratch buffer, used for strings with escapes, is not wiped.)
pub(super) fn from_json(plain: &[u8]) -> Option<Entries> {
    let entries: BTreeMap<String, SecretValue> = serde_json::from_slice(plain).ok()?;
    Some(entries.into_iter().map(|(k, v)| (k, v.0)).collect())
}

/// A secret string read from the decrypted JSON, wrapped at once.
struct SecretValue(Zeroizing<String>);

impl<'de> Deserialize<'de> for SecretValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = SecretValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a secret string")
            }
            fn visit_str<E>(self, v: &str) -> Result<SecretValue, E> {
                Ok(SecretValue(Zeroizing::new(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<SecretValue, E> {
                Ok(SecretValue(Zeroizing::new(v)))
            }
        }
        deserializer.deserialize_str(Visit)
    }
}

struct EntriesOut<'a>(&'a Entries);

impl Serialize for EntriesOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }
}

/// A growing buffer whose every generation is wiped: a reallocation never leaves plaintext
/// behind in freed memory.
struct SecretBuf(Zeroizing<Vec<u8>>);

impl std::io::Write for SecretBuf {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let needed = self.0.len() + data.len();
        if needed > self.0.capacity() {
            let mut bigger = Zeroizing::new(Vec::with_capacity(needed.max(self.0.capacity() * 2)));
            bigger.extend_from_slice(&self.0);
            self.0 = bigger;
        }
        self.0.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
