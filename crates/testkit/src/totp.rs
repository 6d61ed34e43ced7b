//! RFC 6238 one-time codes, as the user's authenticator app would show them: HMAC-SHA1, 30 s
//! steps, 6 digits (pyotp's defaults, which dj-rest-auth's MFA uses). Tests of two-step
//! sign-in compute the code the server expects from the TOTP secret they enrolled.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Context as _};
use hmac::{Hmac, Mac};

/// The code for a base32 `secret` at `unix_secs`.
pub fn totp(secret: &str, unix_secs: u64) -> anyhow::Result<String> {
    let key = data_encoding::BASE32_NOPAD
        .decode(secret.trim_end_matches('=').as_bytes())
        .context("the TOTP secret is not base32")?;
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&key).map_err(|e| anyhow!("{e}"))?;
    mac.update(&(unix_secs / 30).to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let word = digest
        .get(offset..offset + 4)
        .and_then(|w| <[u8; 4]>::try_from(w).ok())
        .map(u32::from_be_bytes)
        .ok_or_else(|| anyhow!("short HMAC digest"))?
        & 0x7fff_ffff;
    Ok(format!("{:06}", word % 1_000_000))
}

/// The code for `secret` now.
pub fn totp_now(secret: &str) -> anyhow::Result<String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the clock is before 1970")?;
    totp(secret, now.as_secs())
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc_6238_test_vectors() {
        // RFC 6238 appendix B, SHA1, secret "12345678901234567890" (base32 below), 8 → 6 digits.
        let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
        assert_eq!(super::totp(secret, 59).unwrap(), "287082");
        assert_eq!(super::totp(secret, 1_111_111_109).unwrap(), "081804");
        assert_eq!(super::totp(secret, 2_000_000_000).unwrap(), "279037");
    }
}
