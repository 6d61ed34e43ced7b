//! Redacts anything shaped like a JWT (three base64url segments, the first starting `eyJ`)
//! from text shown to a user — the app's request console and the CLI's output — so that a
//! response that happens to carry tokens never puts them on a screen or in a log. Both passes
//! are linear: each byte is looked at a bounded number of times.
//!
//! It also hides the password of URLs with credentials (`http://user:pass@proxy:3128`), which
//! a profile's proxy may carry: [`url_credentials`] for one URL, [`url_credentials_in_text`]
//! for messages that quote one, and [`keep_stored_url`] so that a form showing the redacted
//! value can be saved without losing the stored password.

use std::borrow::Cow;

/// What replaces a token.
pub const REDACTED: &str = "[token redacted]";

fn is_b64url(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// Whether `word` looks like a compact JWS: `eyJ…` `.` segment `.` segment (signature may be empty).
fn is_jwt(word: &str) -> bool {
    let mut parts = word.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    header.starts_with("eyJ")
        && header.len() > 8
        && !payload.is_empty()
        && [header, payload, signature]
            .iter()
            .all(|p| p.chars().all(is_b64url))
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Replaces every JWT-shaped word in `text` with [`REDACTED`].
pub fn redact_tokens(text: &str) -> Cow<'_, str> {
    match redact_token_bytes(text.as_bytes()) {
        Cow::Borrowed(_) => Cow::Borrowed(text),
        // Only ASCII words were replaced by ASCII: still UTF-8.
        Cow::Owned(bytes) => Cow::Owned(
            String::from_utf8(bytes)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        ),
    }
}

/// [`redact_tokens`] over bytes that need not be UTF-8 (a raw body); anything else is kept
/// byte for byte.
pub fn redact_token_bytes(bytes: &[u8]) -> Cow<'_, [u8]> {
    let Some(mut start) = find(bytes, b"eyJ") else {
        return Cow::Borrowed(bytes);
    };
    let mut out = Vec::with_capacity(bytes.len());
    let mut copied = 0;
    loop {
        // Only at a word boundary.
        let boundary = start == 0 || !is_word_byte(bytes[start - 1]);
        let end = bytes[start..]
            .iter()
            .position(|&b| !is_word_byte(b))
            .map_or(bytes.len(), |e| start + e);
        let word = std::str::from_utf8(&bytes[start..end]).unwrap_or("");
        if boundary && is_jwt(word) {
            out.extend_from_slice(&bytes[copied..start]);
            out.extend_from_slice(REDACTED.as_bytes());
            copied = end;
        }
        match find(&bytes[end..], b"eyJ") {
            Some(next) => start = end + next,
            None => break,
        }
    }
    if copied == 0 && out.is_empty() {
        return Cow::Borrowed(bytes);
    }
    out.extend_from_slice(&bytes[copied..]);
    Cow::Owned(out)
}

/// What replaces the password of a URL.
pub const HIDDEN_PASSWORD: &str = "***";

/// Where the userinfo password of the URL at the start of `text` is: the byte range of the
/// password, when `user:password@` comes before the host.
fn password_range(text: &str) -> Option<std::ops::Range<usize>> {
    let authority_start = text.find("://").map_or(0, |i| i + 3);
    let rest = &text[authority_start..];
    let authority_len = rest
        .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace() || c == '"')
        .unwrap_or(rest.len());
    let authority = &rest[..authority_len];
    let at = authority.rfind('@')?;
    let colon = authority[..at].find(':')?;
    Some(authority_start + colon + 1..authority_start + at)
}

/// `url` with its password (if any) replaced by [`HIDDEN_PASSWORD`]:
/// `http://user:pass@proxy:3128/` → `http://user:***@proxy:3128/`. Works on text that does not
/// parse as a URL as well; a URL without a password is returned as it is.
pub fn url_credentials(url: &str) -> String {
    match password_range(url) {
        Some(range) if !range.is_empty() => {
            format!(
                "{}{HIDDEN_PASSWORD}{}",
                &url[..range.start],
                &url[range.end..]
            )
        }
        _ => url.to_owned(),
    }
}

/// Whether `url` carries a password.
pub fn has_credentials(url: &str) -> bool {
    password_range(url).is_some_and(|r| !r.is_empty())
}

/// Every `scheme://user:password@host` in free text (an error message) with the password
/// hidden.
pub fn url_credentials_in_text(text: &str) -> Cow<'_, str> {
    if !text.contains("://") || !text.contains('@') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let authority_start = i + 3;
        let tail = &rest[authority_start..];
        let len = tail
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | '"' | '\'' | '<' | '>' | ')') || c.is_whitespace()
            })
            .unwrap_or(tail.len());
        let authority = &tail[..len];
        out.push_str(&rest[..authority_start]);
        match authority
            .rfind('@')
            .and_then(|at| authority[..at].find(':').map(|colon| (colon, at)))
        {
            Some((colon, at)) if at > colon + 1 => {
                out.push_str(&authority[..=colon]);
                out.push_str(HIDDEN_PASSWORD);
                out.push_str(&authority[at..]);
            }
            _ => out.push_str(authority),
        }
        rest = &tail[len..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// What to store when a form sends back `submitted` for a URL it was shown redacted: the
/// stored URL when `submitted` is exactly its redacted form (the user did not touch it),
/// `submitted` otherwise.
pub fn keep_stored_url(submitted: Option<String>, stored: Option<&str>) -> Option<String> {
    match (submitted, stored) {
        (Some(new), Some(old)) if has_credentials(old) && new == url_credentials(old) => {
            Some(old.to_owned())
        }
        (submitted, _) => submitted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_tokens::{hs256_header, jwt};

    #[test]
    fn redacts_tokens_wherever_they_stand() {
        let token = jwt(r#"{"alg":"HS256"}"#, r#"{"sub":"1"}"#, "c2lnbmF0dXJl");
        let text = format!("{{\"access\": \"{token}\", \"n\": 1}}\n{token}");
        let out = redact_tokens(&text);
        assert!(!out.contains("eyJ"), "{out}");
        assert_eq!(out.matches(REDACTED).count(), 2);
        assert!(out.contains("\"n\": 1"));
    }

    #[test]
    fn leaves_other_text_alone() {
        let glued = format!("x{}.eyJz.c2ln", hs256_header());
        for text in ["hello", "eyJ alone", "eyJabc", glued.as_str(), "a.b.c", ""] {
            assert_eq!(redact_tokens(text), text);
        }
    }

    #[test]
    fn bytes_are_kept_exactly_around_tokens() {
        let token = jwt(r#"{"alg":"HS256"}"#, r#"{"sub":"1"}"#, "c2lnbmF0dXJl");
        let raw = b"\xff\x1b[31m eyJ x ".to_vec();
        assert!(matches!(redact_token_bytes(&raw), Cow::Borrowed(_)));
        let mut with_token = raw.clone();
        with_token.extend_from_slice(token.as_bytes());
        with_token.push(0xfe);
        let mut expected = raw.clone();
        expected.extend_from_slice(REDACTED.as_bytes());
        expected.push(0xfe);
        assert_eq!(
            redact_token_bytes(&with_token).as_ref(),
            expected.as_slice()
        );
        // Linear: megabytes of near-misses in well under a second even unoptimised.
        let near_misses = "eyJ.".repeat(1 << 20) + &"eyJa ".repeat(1 << 18);
        let started = std::time::Instant::now();
        assert_eq!(redact_tokens(&near_misses), near_misses);
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }

    #[test]
    fn url_passwords_are_hidden() {
        assert_eq!(
            url_credentials("http://user:s3cret@proxy.example:3128/"),
            "http://user:***@proxy.example:3128/"
        );
        assert_eq!(
            url_credentials("user:s3cret@proxy:8080"),
            "user:***@proxy:8080"
        );
        assert_eq!(
            url_credentials("http://p@ss:w@rd@proxy"),
            "http://p@ss:***@proxy"
        );
        for plain in [
            "http://proxy:3128",
            "http://user@proxy/",
            "not a url",
            "",
            "http://:@x",
        ] {
            assert_eq!(url_credentials(plain), plain);
        }
        assert!(has_credentials("socks5://a:b@h") && !has_credentials("http://a@h"));
        let message =
            "the proxy \"http://u:hunter2@proxy:3128\" cannot be used (via https://x:y@z/)";
        let shown = url_credentials_in_text(message);
        assert!(
            !shown.contains("hunter2") && !shown.contains(":y@"),
            "{shown}"
        );
        assert_eq!(
            shown,
            "the proxy \"http://u:***@proxy:3128\" cannot be used (via https://x:***@z/)"
        );
        assert_eq!(
            url_credentials_in_text("mail a@b: http://h/"),
            "mail a@b: http://h/"
        );
    }

    #[test]
    fn an_untouched_redacted_url_keeps_the_stored_password() {
        let stored = Some("http://u:pw@proxy:3128");
        let shown = url_credentials("http://u:pw@proxy:3128");
        assert_eq!(
            keep_stored_url(Some(shown), stored).as_deref(),
            Some("http://u:pw@proxy:3128")
        );
        let changed = Some("http://u:new@proxy:3128".to_owned());
        assert_eq!(keep_stored_url(changed.clone(), stored), changed);
        assert_eq!(keep_stored_url(None, stored), None);
        let plain = Some("http://u:***@proxy".to_owned());
        assert_eq!(keep_stored_url(plain.clone(), None), plain);
    }

    #[test]
    fn survives_any_input() {
        let h = hs256_header();
        let odd = [format!("é {h}.é.x"), format!("{h}..sig")];
        for text in ["eyJ", "eyJ.", "eyJ.."]
            .into_iter()
            .chain(odd.iter().map(String::as_str))
        {
            let _ = redact_tokens(text);
        }
    }
}
