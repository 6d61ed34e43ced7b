//! Test-only: JWT-shaped strings assembled from their JSON parts at run time, so that no
//! literal token stands in a source file.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// base64url (no padding) of `text`.
pub(crate) fn b64(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(text)
}

/// `b64(header).b64(payload).signature`.
pub(crate) fn jwt(header: &str, payload: &str, signature: &str) -> String {
    format!("{}.{}.{signature}", b64(header), b64(payload))
}

/// The header of an HS256 token, encoded.
pub(crate) fn hs256_header() -> String {
    b64(r#"{"alg":"HS256"}"#)
}
