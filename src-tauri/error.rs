//! Errors as they cross IPC: always `{code, message}` (plus `fields` for per-field server
//! validation errors) with a stable, machine-readable code, so the UI decides on `code` and
//! shows `message` to the user. Never a token (engine errors are redacted at the source) and
//! never a proxy password (hidden here, since a message may quote a profile's proxy URL).

use std::collections::BTreeMap;

use serde::ser::{Serialize, SerializeMap, Serializer};
use tessera_session::redact;

/// An error returned by a Tauri command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// Anything the engine reports (its code is kept).
    #[error(transparent)]
    Engine(#[from] tessera_session::Error),
    /// The app was launched with flags it cannot use (`invalid_arguments`).
    #[error("{0}")]
    InvalidArguments(String),
    /// Installing an update failed (`update_*`, `no_update`).
    #[error("{message}")]
    Update {
        /// `no_update`, `update_signature`, `update_network`, `update_not_found`,
        /// `update_config` or `update_failed`.
        code: &'static str,
        /// What happened.
        message: String,
    },
    /// The local proxy of "Share with local tools" did not start (`proxy_bind`,
    /// `proxy_random`, `proxy_not_loopback`); a profile that cannot be lent is an engine error.
    #[error("{message}")]
    Sharing {
        /// The proxy's stable code.
        code: &'static str,
        /// What happened.
        message: String,
    },
}

impl From<tessera_proxy::ProxyError> for CommandError {
    fn from(error: tessera_proxy::ProxyError) -> Self {
        match error {
            tessera_proxy::ProxyError::Session(engine) => CommandError::Engine(engine),
            other => CommandError::Sharing {
                code: other.code(),
                message: format!("could not share the session with local tools: {other}"),
            },
        }
    }
}

impl CommandError {
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            CommandError::Engine(e) => e.code(),
            CommandError::InvalidArguments(_) => "invalid_arguments",
            CommandError::Update { code, .. } | CommandError::Sharing { code, .. } => code,
        }
    }

    /// What the user reads: proxy passwords hidden.
    pub fn message(&self) -> String {
        redact::url_credentials_in_text(&self.to_string()).into_owned()
    }

    fn fields(&self) -> Option<&BTreeMap<String, Vec<String>>> {
        match self {
            CommandError::Engine(tessera_session::Error::Validation { fields }) => Some(fields),
            _ => None,
        }
    }
}

impl Serialize for CommandError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let fields = self.fields();
        let mut map = serializer.serialize_map(Some(2 + usize::from(fields.is_some())))?;
        map.serialize_entry("code", self.code())?;
        map.serialize_entry("message", &self.message())?;
        if let Some(fields) = fields {
            map.serialize_entry("fields", fields)?;
        }
        map.end()
    }
}

/// What every command returns.
pub type CommandResult<T> = Result<T, CommandError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_errors_keep_their_code_and_hide_proxy_passwords() {
        let error = CommandError::from(tessera_session::Error::Network {
            detail: "proxy http://qa:hunter2@proxy.example:3128/ refused".into(),
        });
        let json = serde_json::to_value(&error).unwrap_or_default();
        assert_eq!(json["code"], "network");
        let message = json["message"].as_str().unwrap_or_default();
        assert!(message.contains("qa:***@proxy.example"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
        assert!(json.get("fields").is_none());
    }

    #[test]
    fn validation_errors_carry_their_fields() {
        let mut fields = BTreeMap::new();
        fields.insert("email".to_owned(), vec!["Enter a valid email.".to_owned()]);
        let json = serde_json::to_value(CommandError::from(tessera_session::Error::Validation {
            fields,
        }))
        .unwrap_or_default();
        assert_eq!(json["code"], "validation");
        assert_eq!(json["fields"]["email"][0], "Enter a valid email.");
    }
}
