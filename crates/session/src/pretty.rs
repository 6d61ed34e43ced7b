//! The one JSON pretty-printer for bodies shown to a user (the CLI's `--output pretty` and the
//! app's request console). Parsing a body into a `serde_json::Value` and printing that costs a
//! tree many times the body's size (a 16 MB body nested 120 levels deep took 2 GB and 90 s), so
//! this is a single pass over the bytes instead: it tracks only string/escape state and a stack
//! of open containers, copies strings and numbers as they are, and writes the indentation
//! serde_json's pretty printer writes (two spaces, `": "`, `{}`/`[]` for empty containers).
//! Memory is the output plus O(depth); time is linear.
//!
//! Limits keep the output bounded: a body larger than [`Limits::max_input`], nested deeper than
//! [`Limits::max_depth`] or whose indented form would exceed [`Limits::max_output`] is shown as
//! received, with a [`Formatted::note`] that says why. A body that is not JSON is shown as
//! received, without a note. For display, [`for_display`] adds token redaction and a cap on
//! the text handed over (the console's IPC copy).

use std::borrow::Cow;

use crate::redact;

/// Bounds of the re-indenter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Larger bodies are shown as received.
    pub max_input: usize,
    /// Deeper nesting is shown as received.
    pub max_depth: usize,
    /// An indented form larger than this is abandoned; the body is shown as received.
    pub max_output: usize,
}

/// 4 MiB in, 64 levels, 16 MiB out.
pub const LIMITS: Limits = Limits {
    max_input: 4 * 1024 * 1024,
    max_depth: 64,
    max_output: 16 * 1024 * 1024,
};

/// How much text the app's request console receives over IPC (1 MiB).
pub const CONSOLE_MAX_BYTES: usize = 1024 * 1024;

/// A body ready to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Formatted {
    /// Indented JSON (no trailing newline), or the body as received (lossy UTF-8).
    pub text: String,
    /// Whether `text` is the indented form.
    pub indented: bool,
    /// Why a JSON body was shown as received, when a limit said so.
    pub note: Option<String>,
}

enum Stop {
    NotJson,
    Limit(String),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A value (top level, after `:`, after `,` in an array).
    Value,
    /// Just after `[`: a value or `]`.
    ValueOrEnd,
    /// Just after `{`: a key or `}`.
    KeyOrEnd,
    /// After `,` in an object.
    Key,
    Colon,
    CommaOrEnd,
    Done,
}

fn mib(n: usize) -> String {
    format!("{} MiB", n / (1024 * 1024))
}

/// Re-indents `input` when it is JSON within `limits`; otherwise returns it as received.
pub fn format(input: &[u8], limits: &Limits) -> Formatted {
    let as_received = |note: Option<String>| Formatted {
        text: String::from_utf8_lossy(input).into_owned(),
        indented: false,
        note,
    };
    if input.len() > limits.max_input {
        return as_received(Some(format!(
            "(shown as received: the body is larger than {}, too large to re-indent)",
            mib(limits.max_input)
        )));
    }
    match reindent(input, limits) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Formatted {
                text,
                indented: true,
                note: None,
            },
            Err(_) => as_received(None),
        },
        Err(Stop::NotJson) => as_received(None),
        Err(Stop::Limit(note)) => as_received(Some(note)),
    }
}

fn newline(out: &mut Vec<u8>, depth: usize) {
    out.push(b'\n');
    out.resize(out.len() + 2 * depth, b' ');
}

/// The end of the string starting at `start` (a `"`), index of its closing quote.
fn string_end(input: &[u8], start: usize) -> Result<usize, Stop> {
    let mut i = start + 1;
    while let Some(&b) = input.get(i) {
        match b {
            b'"' => return Ok(i),
            b'\\' => match input.get(i + 1) {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
                Some(b'u') => {
                    let hex = input.get(i + 2..i + 6).ok_or(Stop::NotJson)?;
                    if !hex.iter().all(u8::is_ascii_hexdigit) {
                        return Err(Stop::NotJson);
                    }
                    i += 6;
                }
                _ => return Err(Stop::NotJson),
            },
            0..=0x1f => return Err(Stop::NotJson),
            _ => i += 1,
        }
    }
    Err(Stop::NotJson)
}

/// The end (exclusive) of the number starting at `start`, checked against JSON's grammar.
fn number_end(input: &[u8], start: usize) -> Result<usize, Stop> {
    let mut i = start;
    let at = |i: usize| input.get(i).copied();
    let digits = |mut i: usize| {
        let from = i;
        while at(i).is_some_and(|b| b.is_ascii_digit()) {
            i += 1;
        }
        (i, i > from)
    };
    if at(i) == Some(b'-') {
        i += 1;
    }
    match at(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i = digits(i).0,
        _ => return Err(Stop::NotJson),
    }
    if at(i) == Some(b'.') {
        let (end, any) = digits(i + 1);
        if !any {
            return Err(Stop::NotJson);
        }
        i = end;
    }
    if matches!(at(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(at(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let (end, any) = digits(i);
        if !any {
            return Err(Stop::NotJson);
        }
        i = end;
    }
    Ok(i)
}

fn reindent(input: &[u8], limits: &Limits) -> Result<Vec<u8>, Stop> {
    // Every byte is copied once; indentation comes on top, checked against max_output below.
    let mut out: Vec<u8> = Vec::with_capacity(input.len().saturating_mul(2).min(limits.max_output));
    // Open containers: true for an object.
    let mut stack: Vec<bool> = Vec::new();
    let mut expect = Expect::Value;
    let mut i = input.strip_prefix(b"\xef\xbb\xbf").map_or(0, |_| 3);
    while let Some(&b) = input.get(i) {
        if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            i += 1;
            continue;
        }
        if out.len() > limits.max_output {
            return Err(Stop::Limit(format!(
                "(shown as received: the indented body would be larger than {})",
                mib(limits.max_output)
            )));
        }
        let in_object = stack.last().copied();
        match (b, expect) {
            (b'}' | b']', Expect::KeyOrEnd | Expect::ValueOrEnd | Expect::CommaOrEnd) => {
                let closes_object = b == b'}';
                if in_object != Some(closes_object)
                    || (expect == Expect::KeyOrEnd && !closes_object)
                    || (expect == Expect::ValueOrEnd && closes_object)
                {
                    return Err(Stop::NotJson);
                }
                stack.pop();
                if expect == Expect::CommaOrEnd {
                    newline(&mut out, stack.len());
                }
                out.push(b);
                expect = if stack.is_empty() {
                    Expect::Done
                } else {
                    Expect::CommaOrEnd
                };
                i += 1;
                continue;
            }
            (b',', Expect::CommaOrEnd) => {
                out.push(b',');
                newline(&mut out, stack.len());
                expect = if in_object == Some(true) {
                    Expect::Key
                } else {
                    Expect::Value
                };
                i += 1;
                continue;
            }
            (b':', Expect::Colon) => {
                out.extend_from_slice(b": ");
                expect = Expect::Value;
                i += 1;
                continue;
            }
            (_, Expect::KeyOrEnd | Expect::ValueOrEnd) => newline(&mut out, stack.len()),
            (_, Expect::Value | Expect::Key) => {}
            _ => return Err(Stop::NotJson),
        }
        // A key or a value starts here.
        let key = matches!(expect, Expect::KeyOrEnd | Expect::Key);
        if key && b != b'"' {
            return Err(Stop::NotJson);
        }
        let end = match b {
            b'{' | b'[' => {
                if stack.len() >= limits.max_depth {
                    return Err(Stop::Limit(format!(
                        "(shown as received: the body is nested deeper than {} levels)",
                        limits.max_depth
                    )));
                }
                stack.push(b == b'{');
                out.push(b);
                expect = if b == b'{' {
                    Expect::KeyOrEnd
                } else {
                    Expect::ValueOrEnd
                };
                i += 1;
                continue;
            }
            b'"' => string_end(input, i)? + 1,
            b't' | b'f' | b'n' => {
                let word: &[u8] = match b {
                    b't' => b"true",
                    b'f' => b"false",
                    _ => b"null",
                };
                if !input[i..].starts_with(word) {
                    return Err(Stop::NotJson);
                }
                i + word.len()
            }
            b'-' | b'0'..=b'9' => number_end(input, i)?,
            _ => return Err(Stop::NotJson),
        };
        out.extend_from_slice(&input[i..end]);
        i = end;
        expect = if key {
            Expect::Colon
        } else if stack.is_empty() {
            Expect::Done
        } else {
            Expect::CommaOrEnd
        };
    }
    if expect == Expect::Done {
        Ok(out)
    } else {
        Err(Stop::NotJson)
    }
}

/// A body as the app's console shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Display {
    /// The text (indented JSON or as received), JWTs redacted, at most `max_bytes` long.
    pub text: String,
    /// Why a JSON body is shown as received, if a limit said so.
    pub note: Option<String>,
    /// `text` was cut at `max_bytes`.
    pub truncated: bool,
}

/// Formats (when `pretty`), redacts JWTs and cuts the result to `max_bytes` (at a character
/// boundary). Linear in the body.
pub fn for_display(body: &[u8], pretty: bool, max_bytes: usize) -> Display {
    let formatted = if pretty {
        format(body, &LIMITS)
    } else {
        Formatted {
            text: String::from_utf8_lossy(body).into_owned(),
            indented: false,
            note: None,
        }
    };
    let mut text = match redact::redact_tokens(&formatted.text) {
        Cow::Borrowed(_) => formatted.text,
        Cow::Owned(redacted) => redacted,
    };
    let truncated = text.len() > max_bytes;
    if truncated {
        let mut cut = max_bytes;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    Display {
        text,
        note: formatted.note,
        truncated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn serde_pretty(text: &str) -> String {
        let value: serde_json::Value = serde_json::from_str(text).unwrap();
        serde_json::to_string_pretty(&value).unwrap()
    }

    #[test]
    fn matches_serde_json_on_ordinary_bodies() {
        let samples = [
            json!({"message": "Hello, World!"}).to_string(),
            json!({"a": [1, 2, {"b": null, "c": [true, false]}], "d": {}, "e": [], "f": [[]], "g": {"h": {}}}).to_string(),
            json!([{"id": 1, "name": "é \" \\ \n", "tags": ["x", "y"]}, -0.5, 12e-3, 0]).to_string(),
            r#"  { "a_spaced" :  [ 1 ,2 ] , "b_deep": {"x": {"y": {"z": [ ] } } } }  "#.to_owned(),
            "\"just a string\"".to_owned(),
            "42".to_owned(),
            "[]".to_owned(),
            r#"{"count":3,"next":null,"results":[{"id":1},{"id":2},{"id":3}]}"#.to_owned(),
        ];
        for sample in &samples {
            let ours = format(sample.as_bytes(), &LIMITS);
            assert!(ours.indented, "{sample}");
            assert_eq!(ours.note, None);
            // Numbers and escapes are copied as sent, and keys keep their order (serde_json's
            // Value sorts them): these samples use serde's forms and sorted keys.
            let expected = if sample.contains("12e-3") {
                serde_pretty(sample).replace("0.012", "12e-3")
            } else {
                serde_pretty(sample)
            };
            assert_eq!(ours.text, expected, "{sample}");
        }
    }

    #[test]
    fn anything_else_is_shown_as_received() {
        for text in [
            "",
            "not json",
            "{",
            "{\"a\" 1}",
            "[1,]",
            "{\"a\":1,}",
            "[1 2]",
            "{1: 2}",
            "01",
            "1.",
            "-",
            "tru",
            "[}",
            "{]",
            "\"a\" \"b\"",
            "\"\u{1}\"",
            "\"\\x\"",
            "[1]]",
        ] {
            let shown = format(text.as_bytes(), &LIMITS);
            assert!(!shown.indented, "{text:?} was taken for JSON");
            assert_eq!(shown.text, text);
            assert_eq!(shown.note, None);
            assert!(
                serde_json::from_str::<serde_json::Value>(text).is_err(),
                "{text:?}"
            );
        }
        let shown = format(b"{\"a\": \"\xff\"}", &LIMITS);
        assert!(!shown.indented);
    }

    /// `depth` levels of `{"k": [ ... ]}` around a payload, padded with siblings to `size` bytes.
    fn deep_body(depth: usize, size: usize) -> Vec<u8> {
        let mut body = Vec::with_capacity(size + 64);
        for _ in 0..depth / 2 {
            body.extend_from_slice(b"{\"k\":[");
        }
        while body.len() < size {
            body.extend_from_slice(b"{\"id\":12345,\"name\":\"abcdefghij\"},");
        }
        body.extend_from_slice(b"0");
        for _ in 0..depth / 2 {
            body.extend_from_slice(b"]}");
        }
        body
    }

    #[test]
    fn a_huge_deep_body_stays_bounded() {
        let body = deep_body(120, 16 * 1024 * 1024);
        assert!(body.len() >= 16 * 1024 * 1024);
        let started = std::time::Instant::now();
        let shown = format(&body, &LIMITS);
        assert!(!shown.indented);
        assert!(shown.text.len() <= body.len() + 1024);
        assert!(shown.note.as_deref().unwrap().contains("larger than 4 MiB"));
        // Under the input limit, the depth limit speaks.
        let body = deep_body(120, 3 * 1024 * 1024);
        let shown = format(&body, &LIMITS);
        assert!(!shown.indented);
        assert!(shown.text.len() <= 2 * body.len());
        assert!(shown.note.as_deref().unwrap().contains("deeper than 64"));
        // Within both, the indented form grows linearly (here about 3x, with 10 levels).
        let body = deep_body(10, 1024 * 1024);
        let shown = format(&body, &LIMITS);
        assert!(shown.indented, "{:?}", shown.note);
        assert!(shown.text.len() <= 4 * body.len(), "{}", shown.text.len());
        // Deep indentation multiplies: the output limit bounds it.
        let shown = format(&deep_body(60, 3 * 1024 * 1024), &LIMITS);
        assert!(shown.text.len() <= LIMITS.max_output + 1024);
        // And the whole display path (redaction, cap) follows.
        let display = for_display(&deep_body(120, 16 * 1024 * 1024), true, CONSOLE_MAX_BYTES);
        assert!(display.truncated && display.text.len() <= CONSOLE_MAX_BYTES);
        assert!(display.note.is_some());
        // Generous: linear work on ~40 MB, even unoptimised on a loaded machine.
        assert!(started.elapsed() < std::time::Duration::from_secs(60));
    }

    #[test]
    fn wide_shallow_bodies_hit_the_output_limit() {
        let mut body = vec![b'['; 60];
        for _ in 0..200_000 {
            body.extend_from_slice(b"1,");
        }
        body.push(b'1');
        body.extend_from_slice(&[b']'; 60]);
        let limits = Limits {
            max_output: 4 * 1024 * 1024,
            ..LIMITS
        };
        let shown = format(&body, &limits);
        assert!(!shown.indented);
        assert!(shown.note.unwrap().contains("would be larger"));
    }

    #[test]
    fn display_redacts_and_cuts_at_a_character() {
        let token = crate::test_tokens::jwt(r#"{"alg":"HS256"}"#, r#"{"sub":"1"}"#, "c2ln");
        let body = json!({"access": token, "name": "ééé"}).to_string();
        let display = for_display(body.as_bytes(), true, 10_000);
        assert!(!display.text.contains("eyJ") && display.text.contains(redact::REDACTED));
        assert!(!display.truncated);
        let display = for_display("ééé".as_bytes(), false, 3);
        assert_eq!(display.text, "é");
        assert!(display.truncated);
    }
}
