//! What a stored session is and how it is written down: [`StoredSession`] and its versioned
//! JSON blob (one string, whatever the store). Kept apart from the chunking and the store calls
//! so that the format, and what older entries default to, is read in one place.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::cookies::CookieJar;
use crate::error::{Error, Result};
use crate::secret::{AccessToken, RefreshToken};

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
    /// A cookie-mode session's cookies (`cookies.rs`); empty otherwise.
    pub cookies: CookieJar,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_cookie: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cookies: Vec<(&'a str, &'a str)>,
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
    #[serde(default)]
    refresh_cookie: Option<String>,
    #[serde(default)]
    cookies: Vec<(String, String)>,
}

/// Entries written before the flag existed were verified before they were stored.
fn verified_by_default() -> bool {
    true
}

impl StoredSession {
    pub(super) fn to_blob(&self) -> Result<Zeroizing<String>> {
        let out = BlobOut {
            v: FORMAT_VERSION,
            access: self.access.expose_secret(),
            refresh: self.refresh.as_ref().map(RefreshToken::expose_secret),
            origin: &self.origin,
            offset_ms: self.offset_ms,
            base_url: self.base_url.as_deref(),
            blacklist_url: self.blacklist_url.as_deref(),
            verified: self.verified,
            refresh_cookie: self.cookies.refresh_cookie(),
            cookies: self.cookies.exposed_others().collect(),
        };
        let mut buf = Zeroizing::new(Vec::with_capacity(
            out.access.len()
                + out.refresh.map_or(0, str::len)
                + out.origin.len()
                + out
                    .cookies
                    .iter()
                    .map(|(n, v)| n.len() + v.len() + 8)
                    .sum::<usize>()
                + 192,
        ));
        serde_json::to_writer(&mut *buf, &out)
            .map_err(|e| Error::internal(format!("cannot serialise the session: {e}")))?;
        let text = String::from_utf8(std::mem::take(&mut *buf))
            .map_err(|e| Error::internal(format!("session blob is not UTF-8: {e}")))?;
        Ok(Zeroizing::new(text))
    }

    pub(super) fn from_blob(blob: &str) -> Option<Self> {
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
            cookies: CookieJar::from_parts(parsed.refresh_cookie, parsed.cookies),
        })
    }
}
