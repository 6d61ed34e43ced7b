//! Errors as they cross IPC: always `{code, message}` (plus `fields` for per-field server
//! validation errors) with a stable, machine-readable code, so the UI decides on `code` and
//! shows `message` to the user. Never a token: engine errors are redacted at the source.

use std::collections::BTreeMap;

use serde::Serialize;

/// An error returned by a Tauri command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandError {
    /// Stable machine-readable code (`snake_case`), e.g. `invalid_credentials`.
    pub code: String,
    /// What happened and what the user can do about it.
    pub message: String,
    /// DRF-style `{field: [messages]}` when the server rejected some fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<BTreeMap<String, Vec<String>>>,
}

impl CommandError {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            fields: None,
        }
    }
}

impl From<tessera_session::Error> for CommandError {
    fn from(error: tessera_session::Error) -> Self {
        let fields = match &error {
            tessera_session::Error::Validation { fields } => Some(fields.clone()),
            _ => None,
        };
        Self {
            code: error.code().to_owned(),
            // A message may quote a proxy URL: never its password.
            message: tessera_session::redact::url_credentials_in_text(&error.to_string())
                .into_owned(),
            fields,
        }
    }
}

/// What every command returns.
pub type CommandResult<T> = Result<T, CommandError>;
