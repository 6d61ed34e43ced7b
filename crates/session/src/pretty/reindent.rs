//! The single-pass JSON re-indenter behind [`super::format`]: it checks JSON's grammar while
//! it copies, tracking only string/escape state and a stack of open containers, and writes the
//! indentation serde_json's pretty printer writes, within its [`Limits`]. Kept apart from the
//! display path so that the byte-level scanner is read (and reviewed) on its own; it uses
//! nothing of the rest of the module.

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

pub(super) fn mib(n: usize) -> String {
    format!("{} MiB", n / (1024 * 1024))
}

/// Why a body is not re-indented.
pub(super) enum Stop {
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

pub(super) fn reindent(input: &[u8], limits: &Limits) -> Result<Vec<u8>, Stop> {
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
