//! Redacts anything shaped like a JWT (three base64url segments, the first starting `eyJ`)
//! from text shown to a user — the app's request console and the CLI's output — so that a
//! response that happens to carry tokens never puts them on a screen or in a log.

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

/// Replaces every JWT-shaped word in `text` with [`REDACTED`].
pub fn redact_tokens(text: &str) -> Cow<'_, str> {
    if !text.contains("eyJ") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("eyJ") {
        // Only at a word boundary.
        let boundary = rest[..start]
            .chars()
            .next_back()
            .is_none_or(|c| !(is_b64url(c) || c == '.'));
        let end = rest[start..]
            .find(|c: char| !(is_b64url(c) || c == '.'))
            .map_or(rest.len(), |e| start + e);
        out.push_str(&rest[..start]);
        let word = &rest[start..end];
        if boundary && is_jwt(word) {
            out.push_str(REDACTED);
        } else {
            out.push_str(word);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    Cow::Owned(out)
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
