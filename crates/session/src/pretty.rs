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
//!
//! Here: [`format`] and [`for_display`]; the single-pass re-indenter and its [`Limits`] are
//! `pretty/reindent.rs`.

use std::borrow::Cow;

use crate::redact;

mod reindent;
#[cfg(test)]
mod tests;

use reindent::{mib, reindent, Stop};
pub use reindent::{Limits, LIMITS};

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
