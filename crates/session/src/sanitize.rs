//! Makes text that came from a server safe to put on a terminal. A DRF `detail`, a field
//! message or a response body can carry escape sequences that retitle the terminal, change its
//! colours or move the cursor, and bidi overrides that make text read differently from what it
//! is. [`for_terminal`] replaces every such character with a visible escape (`\x1b`,
//! `\u{202e}`) and keeps the rest, so the CLI shows what the server sent without obeying it.
//!
//! Replaced: C0 controls except `\n`, `\t` and a `\r` directly before `\n` (CRLF text is
//! harmless; a lone `\r` can overwrite a line), DEL, C1 controls (U+0080–U+009F, including the
//! one-character CSI U+009B), and the bidi embeddings/overrides/isolates U+202A–U+202E and
//! U+2066–U+2069. One pass, linear in the input; text with nothing to replace is borrowed.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` must not reach a terminal as it is (`next` is the character after it).
fn is_unsafe(c: char, next: Option<char>) -> bool {
    match c {
        '\n' | '\t' => false,
        '\r' => next != Some('\n'),
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => true,
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => true,
        _ => false,
    }
}

/// `text` with every control, escape and bidi-override character replaced by a visible escape.
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    let mut chars = text.char_indices().peekable();
    let first_bad = loop {
        match chars.next() {
            None => return Cow::Borrowed(text),
            Some((i, c)) => {
                if is_unsafe(c, chars.peek().map(|&(_, n)| n)) {
                    break i;
                }
            }
        }
    };
    let mut out = String::with_capacity(text.len() + 16);
    out.push_str(&text[..first_bad]);
    let mut chars = text[first_bad..].chars().peekable();
    while let Some(c) = chars.next() {
        if is_unsafe(c, chars.peek().copied()) {
            let code = u32::from(c);
            // Writing to a String cannot fail.
            let _ = if code < 0x100 {
                write!(out, "\\x{code:02x}")
            } else {
                write!(out, "\\u{{{code:04x}}}")
            };
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// [`for_terminal`] over bytes that may not be UTF-8 (a raw body shown on a terminal): invalid
/// sequences become U+FFFD first.
pub fn bytes_for_terminal(bytes: &[u8]) -> Cow<'_, str> {
    match String::from_utf8_lossy(bytes) {
        Cow::Borrowed(text) => for_terminal(text),
        Cow::Owned(text) => Cow::Owned(for_terminal(&text).into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_a_terminal_would_obey() {
        let hostile = "\u{1b}]0;pwned\u{7}\u{1b}[31mred\u{9b}2J \u{202e}txt.exe\u{2066}x\u{7f}";
        let shown = for_terminal(hostile);
        for bad in [
            '\u{1b}', '\u{7}', '\u{9b}', '\u{202e}', '\u{2066}', '\u{7f}',
        ] {
            assert!(!shown.contains(bad), "{shown:?} keeps {bad:?}");
        }
        assert_eq!(
            shown,
            "\\x1b]0;pwned\\x07\\x1b[31mred\\x9b2J \\u{202e}txt.exe\\u{2066}x\\x7f"
        );
    }

    #[test]
    fn keeps_ordinary_text_borrowed() {
        for text in ["", "plain", "lines\nand\ttabs", "crlf\r\nok", "é ü 日本 🎉"] {
            assert!(matches!(for_terminal(text), Cow::Borrowed(_)), "{text:?}");
        }
        assert_eq!(for_terminal("over\rwrite"), "over\\x0dwrite");
        assert_eq!(for_terminal("end\r"), "end\\x0d");
        assert_eq!(bytes_for_terminal(b"a\xff\x1b"), "a\u{fffd}\\x1b");
    }
}
