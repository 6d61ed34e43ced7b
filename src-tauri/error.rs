//! Errors as they cross IPC: always `{code, message}` with a stable, machine-readable code,
//! so the UI decides on `code` and shows `message` to the user.

use serde::Serialize;

/// An error returned by a Tauri command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandError {
    /// Stable machine-readable code (`snake_case`), e.g. `invalid_credentials`.
    pub code: String,
    /// What happened and what the user can do about it.
    pub message: String,
}

impl CommandError {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
        }
    }
}
