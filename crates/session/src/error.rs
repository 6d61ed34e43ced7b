//! One error type for everything a session can run into, with stable machine codes.
//!
//! The desktop app and the CLI branch on [`Error::code`] (never on the message) and show
//! [`Error`]'s `Display`, which tells a user what to do next. Errors serialise as
//! `{"code": ..., "message": ...}` (plus `fields` for per-field server validation errors).
//! Answers from the server (`ServerError`, `Http`, `Validation`, `InvalidCredentials`) are kept
//! apart from transport failures (`Network`, `Timeout`, `Tls`) and from answers we could not
//! understand (`BadResponse`). Errors never carry a token or a password.

use std::collections::BTreeMap;

use serde::ser::{Serialize, SerializeMap, Serializer};

/// Everything that can go wrong in a session. `Clone` so that one failed refresh can be handed
/// to every request that was waiting for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The sign-in endpoint answered 401: wrong user name/e-mail or password, or inactive user.
    #[error("The server did not accept these credentials. Check the user name or e-mail and the password, then try again.")]
    InvalidCredentials {
        /// The server's (translated, display-only) `detail`.
        server_detail: Option<String>,
    },
    /// The server rejected some fields (DRF's `{field: [messages]}`).
    #[error("The server rejected the form: {}. Correct it and try again.", summarise_fields(.fields))]
    Validation {
        /// Field name → messages, as the server sent them.
        fields: BTreeMap<String, Vec<String>>,
    },
    /// The refresh token was refused (expired, blacklisted, invalid): the session is over.
    #[error("Your session has ended ({reason}). Sign in again.")]
    SessionExpired {
        /// Why, in words a user understands.
        reason: String,
    },
    /// There is no session for this profile (never signed in, signed out, or signed out elsewhere).
    #[error("You are not signed in to this profile ({reason}). Sign in first.")]
    LoginRequired {
        /// Why, in words a user understands.
        reason: String,
    },
    /// The session store could not be used: the OS keyring locked, missing or not answering, no
    /// store at all on this machine, or the encrypted file's passphrase wrong or its content
    /// changed. The detail says which, and what to do.
    #[error("The session store is not available: {detail}.")]
    KeyringUnavailable {
        /// What the keyring said.
        detail: String,
    },
    /// The server could not be reached (DNS, refused connection, reset, proxy).
    #[error("Could not reach the server: {detail}. Check your network connection, the proxy and the profile's URL.")]
    Network {
        /// What failed.
        detail: String,
    },
    /// The server did not answer in time.
    #[error("The server did not answer within {secs} s. Try again later, or raise the profile's request timeout.")]
    Timeout {
        /// The timeout that expired, in seconds.
        secs: u64,
    },
    /// The TLS handshake or certificate check failed.
    #[error("The secure connection to the server failed: {detail}. If the server uses a private CA, set the profile's CA certificate file; certificates need a subjectAltName matching the host.")]
    Tls {
        /// What failed.
        detail: String,
    },
    /// Plain `http://` to a host that is not this machine, without the profile's explicit opt-in.
    #[error("Refusing to send credentials over plain http to {host}. Use https, or enable \"allow insecure http\" in the profile if you really mean it.")]
    InsecureUrl {
        /// The host that would have received credentials in clear text.
        host: String,
    },
    /// An authenticated request aimed at another origin than the profile's server.
    #[error("Refusing to send your token to {url}: it is not on the profile's server ({origin}). Use a path, or a URL on the profile's server.")]
    CrossOrigin {
        /// The requested URL.
        url: String,
        /// The profile's origin.
        origin: String,
    },
    /// The server answered 5xx.
    #[error("The server failed ({status}{}). Try again later; if it persists, tell the server's administrators.", detail_suffix(.detail))]
    ServerError {
        /// HTTP status.
        status: u16,
        /// The body's `detail`, if any.
        detail: Option<String>,
    },
    /// The server answered 429.
    #[error("The server is rate limiting requests. Wait{} and try again.", retry_suffix(.retry_after_secs))]
    RateLimited {
        /// The server's `Retry-After`, in seconds.
        retry_after_secs: Option<u64>,
    },
    /// Another unexpected status from an authentication endpoint (404 on a wrong path, 405, 403, 3xx).
    #[error("The server answered {status} on {endpoint}{}. Check the profile's URL and paths.", detail_suffix(.detail))]
    Http {
        /// HTTP status.
        status: u16,
        /// Which endpoint (obtain, refresh, register, ...).
        endpoint: String,
        /// The body's `detail` (or `code`), if any.
        detail: Option<String>,
    },
    /// The server answered something that is not what a simplejwt server sends.
    #[error("The server's answer could not be used: {detail}.{}", bad_response_advice(.detail))]
    BadResponse {
        /// What was wrong with it.
        detail: String,
    },
    /// A token failed signature/algorithm/exp/type verification against the configured key.
    #[error("The server sent a token that failed verification: {detail}. Check the profile's verifying key, algorithm and JWKS URL.")]
    TokenRejected {
        /// What failed.
        detail: String,
    },
    /// The profile is unusable as written.
    #[error("The profile is invalid: {detail}. Fix it in the settings.")]
    InvalidProfile {
        /// What is wrong.
        detail: String,
    },
    /// No profile of that name.
    #[error("There is no profile named {name:?}. Create it first, or pick another one.")]
    ProfileNotFound {
        /// The requested name.
        name: String,
    },
    /// The profiles file exists but is not valid; it is left untouched.
    #[error("The settings file {path} is damaged ({detail}); it was left as it is. Repair or move it away, then try again.")]
    ProfilesFileCorrupt {
        /// The file.
        path: String,
        /// The parse error (line and column).
        detail: String,
    },
    /// A file could not be read or written.
    #[error("Could not use {path}: {detail}. Check that the directory exists and is writable.")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        detail: String,
    },
    /// Another process held the refresh lock for too long.
    #[error("Another Tessera process has been refreshing this session for more than {secs} s. Try again; if it persists, close other Tessera windows and CLI commands.")]
    LockTimeout {
        /// How long we waited.
        secs: u64,
    },
    /// The profile does not support this operation (e.g. registration without a registration path).
    #[error("{detail}")]
    NotSupported {
        /// What is missing.
        detail: String,
    },
    /// An authenticated request aimed at one of the profile's token endpoints: their answers
    /// are tokens, so sign-in, refresh and sign-out go through the engine's own calls only.
    #[error(
        "{target} is a token endpoint, which Tessera calls itself: sign in or sign out instead."
    )]
    ReservedEndpoint {
        /// The path or URL asked for.
        target: String,
    },
    /// The password was right and the server wants a second factor (dj-rest-auth's MFA): the
    /// engine keeps the server's one-time sign-in token; answer with a code.
    #[error("This account has two-factor sign-in: enter the 6-digit code from your authenticator app (or a recovery code).")]
    SecondFactorRequired,
    /// The server refused the code (wrong, already used, or out of time).
    #[error("The server did not accept this code{}. Enter the current code from your authenticator app, or an unused recovery code.", detail_suffix(.server_detail))]
    SecondFactorRejected {
        /// The server's (display-only) message.
        server_detail: Option<String>,
    },
    /// The one-time sign-in step the code answers has expired on the server (five minutes by
    /// default), or none is pending.
    #[error("{reason}: sign in with your password again.")]
    SecondFactorExpired {
        /// Why.
        reason: String,
    },
    /// No profile was named and there is no default one.
    #[error("No profile chosen: name one (--profile NAME), point at a server (--server URL), or make one the default.")]
    NoProfileChosen,
    /// A typed request names no HTTP method.
    #[error("“{method}” is not an HTTP method.")]
    InvalidMethod {
        /// What was typed.
        method: String,
    },
    /// A typed request body is not valid JSON.
    #[error("The body is not valid JSON: {detail}.")]
    InvalidJson {
        /// The parser's message (line and column).
        detail: String,
    },
    /// A bug or a runtime failure (a task panicked or the runtime shut down).
    #[error("Internal error: {detail}. Please report it.")]
    Internal {
        /// What happened.
        detail: String,
    },
}

/// Shorthand used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The stable machine code of this error (`snake_case`, never changes meaning).
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidCredentials { .. } => "invalid_credentials",
            Error::Validation { .. } => "validation",
            Error::SessionExpired { .. } => "session_expired",
            Error::LoginRequired { .. } => "login_required",
            Error::KeyringUnavailable { .. } => "keyring_unavailable",
            Error::Network { .. } => "network",
            Error::Timeout { .. } => "timeout",
            Error::Tls { .. } => "tls",
            Error::InsecureUrl { .. } => "insecure_url",
            Error::CrossOrigin { .. } => "cross_origin",
            Error::ServerError { .. } => "server_error",
            Error::RateLimited { .. } => "rate_limited",
            Error::Http { .. } => "http_error",
            Error::BadResponse { .. } => "bad_response",
            Error::TokenRejected { .. } => "token_rejected",
            Error::InvalidProfile { .. } => "invalid_profile",
            Error::ProfileNotFound { .. } => "profile_not_found",
            Error::ProfilesFileCorrupt { .. } => "profiles_file_corrupt",
            Error::Io { .. } => "io",
            Error::LockTimeout { .. } => "lock_timeout",
            Error::NotSupported { .. } => "not_supported",
            Error::ReservedEndpoint { .. } => "reserved_endpoint",
            Error::SecondFactorRequired => "mfa_required",
            Error::SecondFactorRejected { .. } => "mfa_code_rejected",
            Error::SecondFactorExpired { .. } => "mfa_expired",
            Error::NoProfileChosen => "no_profile_chosen",
            Error::InvalidMethod { .. } => "invalid_method",
            Error::InvalidJson { .. } => "invalid_json",
            Error::Internal { .. } => "internal",
        }
    }

    /// Transient failures: the session is kept and the operation may be retried later.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Error::Network { .. }
                | Error::Timeout { .. }
                | Error::ServerError { .. }
                | Error::RateLimited { .. }
        )
    }

    /// The session is gone and the user has to sign in again.
    pub fn needs_login(&self) -> bool {
        matches!(
            self,
            Error::SessionExpired { .. } | Error::LoginRequired { .. }
        )
    }

    pub(crate) fn io(path: &std::path::Path, err: &std::io::Error) -> Error {
        Error::Io {
            path: path.display().to_string(),
            detail: err.to_string(),
        }
    }

    pub(crate) fn bad_response(detail: impl Into<String>) -> Error {
        Error::BadResponse {
            detail: detail.into(),
        }
    }

    pub(crate) fn internal(detail: impl Into<String>) -> Error {
        Error::Internal {
            detail: detail.into(),
        }
    }
}

impl Serialize for Error {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let fields = match self {
            Error::Validation { fields } => Some(fields),
            _ => None,
        };
        let mut map = serializer.serialize_map(Some(if fields.is_some() { 3 } else { 2 }))?;
        map.serialize_entry("code", self.code())?;
        map.serialize_entry("message", &self.to_string())?;
        if let Some(fields) = fields {
            map.serialize_entry("fields", fields)?;
        }
        map.end()
    }
}

fn summarise_fields(fields: &BTreeMap<String, Vec<String>>) -> String {
    if fields.is_empty() {
        return "no details given".to_owned();
    }
    fields
        .iter()
        .map(|(field, messages)| format!("{field}: {}", messages.join(" ")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// One advice sentence per message: a detail that already says what to check keeps its own.
fn bad_response_advice(detail: &str) -> &'static str {
    if detail.to_lowercase().contains("check ") {
        ""
    } else {
        " Check the profile's paths and token field names."
    }
}

fn detail_suffix(detail: &Option<String>) -> String {
    match detail {
        Some(d) if !d.is_empty() => format!(": {d}"),
        _ => String::new(),
    }
}

fn retry_suffix(secs: &Option<u64>) -> String {
    match secs {
        Some(s) => format!(" {s} s"),
        None => " a moment".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_code_and_message() {
        let err = Error::SessionExpired {
            reason: "the refresh token was refused".into(),
        };
        let json = serde_json::to_value(&err).unwrap();
        assert_eq!(json["code"], "session_expired");
        assert_eq!(
            json["message"],
            "Your session has ended (the refresh token was refused). Sign in again."
        );
        assert_eq!(json.as_object().unwrap().len(), 2);
    }

    #[test]
    fn validation_errors_keep_fields() {
        let mut fields = BTreeMap::new();
        fields.insert(
            "email".to_owned(),
            vec!["Enter a valid email address.".to_owned()],
        );
        let err = Error::Validation { fields };
        let json = serde_json::to_value(&err).unwrap();
        assert_eq!(json["code"], "validation");
        assert_eq!(json["fields"]["email"][0], "Enter a valid email address.");
        assert!(err
            .to_string()
            .contains("email: Enter a valid email address."));
    }

    #[test]
    fn a_bad_response_gives_one_piece_of_advice() {
        let advised = Error::bad_response(
            "the server's access token was already expired when it arrived; check the server's ACCESS_TOKEN_LIFETIME and this computer's clock",
        )
        .to_string();
        assert_eq!(
            advised.to_lowercase().matches("check ").count(),
            1,
            "{advised}"
        );
        assert!(advised.ends_with("this computer's clock."), "{advised}");
        let plain = Error::bad_response("the answer has no \"access\" field").to_string();
        assert_eq!(
            plain,
            "The server's answer could not be used: the answer has no \"access\" field. Check the profile's paths and token field names."
        );
    }

    #[test]
    fn codes_are_stable_and_distinct() {
        let all = [
            Error::InvalidCredentials {
                server_detail: None,
            },
            Error::Validation {
                fields: BTreeMap::new(),
            },
            Error::SessionExpired {
                reason: String::new(),
            },
            Error::LoginRequired {
                reason: String::new(),
            },
            Error::KeyringUnavailable {
                detail: String::new(),
            },
            Error::Network {
                detail: String::new(),
            },
            Error::Timeout { secs: 1 },
            Error::Tls {
                detail: String::new(),
            },
            Error::InsecureUrl {
                host: String::new(),
            },
            Error::CrossOrigin {
                url: String::new(),
                origin: String::new(),
            },
            Error::ServerError {
                status: 500,
                detail: None,
            },
            Error::RateLimited {
                retry_after_secs: None,
            },
            Error::Http {
                status: 404,
                endpoint: String::new(),
                detail: None,
            },
            Error::BadResponse {
                detail: String::new(),
            },
            Error::TokenRejected {
                detail: String::new(),
            },
            Error::InvalidProfile {
                detail: String::new(),
            },
            Error::ProfileNotFound {
                name: String::new(),
            },
            Error::ProfilesFileCorrupt {
                path: String::new(),
                detail: String::new(),
            },
            Error::Io {
                path: String::new(),
                detail: String::new(),
            },
            Error::LockTimeout { secs: 1 },
            Error::NotSupported {
                detail: String::new(),
            },
            Error::SecondFactorRequired,
            Error::SecondFactorRejected {
                server_detail: None,
            },
            Error::SecondFactorExpired {
                reason: String::new(),
            },
            Error::Internal {
                detail: String::new(),
            },
        ];
        let codes: std::collections::BTreeSet<_> = all.iter().map(Error::code).collect();
        assert_eq!(codes.len(), all.len());
        for code in [
            "invalid_credentials",
            "session_expired",
            "keyring_unavailable",
            "network",
            "tls",
            "insecure_url",
            "server_error",
            "bad_response",
        ] {
            assert!(codes.contains(code), "missing {code}");
        }
        assert!(Error::Timeout { secs: 1 }.is_transient());
        assert!(!Error::SessionExpired {
            reason: String::new()
        }
        .is_transient());
        assert!(Error::LoginRequired {
            reason: String::new()
        }
        .needs_login());
    }
}
