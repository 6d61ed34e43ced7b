//! Advice for answers that are not errors of the engine but have a likely local cause. A
//! simplejwt server that expects another `Authorization` keyword (`AUTH_HEADER_TYPES`, e.g.
//! `JWT` instead of `Bearer`) ignores the header Tessera sent and answers 401 "Authentication
//! credentials were not provided." (or `bad_authorization_header`), which reads as if no token
//! had been sent. When that 401 names the server's scheme (`WWW-Authenticate: JWT realm=...`,
//! as DRF's does), the engine sends the request again with it (`request.rs`) and no hint is
//! needed; for servers that name none, the CLI and the app's console ask [`auth_header_hint`]
//! what to say.

/// DRF's `NotAuthenticated` detail (English; translated servers also send `code` when the
/// project's exception handler adds it).
const NOT_AUTHENTICATED: &str = "Authentication credentials were not provided.";

/// A hint when a 401 to an authenticated request says the server saw no usable
/// `Authorization` header although Tessera sent `header_type <token>`.
pub fn auth_header_hint(status: u16, body: &[u8], header_type: &str) -> Option<String> {
    if status != 401 {
        return None;
    }
    let json: serde_json::Value = serde_json::from_slice(body).ok()?;
    let code = json.get("code").and_then(serde_json::Value::as_str);
    let detail = json.get("detail").and_then(serde_json::Value::as_str);
    let matches = matches!(code, Some("not_authenticated" | "bad_authorization_header"))
        || detail == Some(NOT_AUTHENTICATED);
    matches.then(|| {
        format!(
            "The server ignored the \"Authorization: {header_type} …\" header Tessera sent. Check the profile's auth header type: it must match the server's AUTH_HEADER_TYPES (simplejwt's default is Bearer, some projects use JWT); Detect in the profile form (tessera-cli profile edit NAME --detect) reads it from the server."
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_only_at_an_ignored_header() {
        let not_provided = br#"{"detail": "Authentication credentials were not provided."}"#;
        let bad_header = br#"{"detail": "Authorization header must contain two space-delimited values", "code": "bad_authorization_header"}"#;
        let hint = auth_header_hint(401, not_provided, "JWT").unwrap();
        assert!(hint.contains("Authorization: JWT") && hint.contains("auth header type"));
        assert!(auth_header_hint(401, bad_header, "Bearer").is_some());
        let expired =
            br#"{"detail": "Given token not valid for any token type", "code": "token_not_valid"}"#;
        assert_eq!(auth_header_hint(401, expired, "Bearer"), None);
        assert_eq!(auth_header_hint(403, not_provided, "JWT"), None);
        assert_eq!(auth_header_hint(401, b"not json", "JWT"), None);
    }
}
