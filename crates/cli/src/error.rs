//! The CLI's errors and the exit code each one maps to (documented in `--help` and the README).
//! Engine errors keep their stable code; the message says what to do.

use tessera_session::Error as EngineError;

/// Exit codes, as documented.
pub mod exit {
    pub const OK: u8 = 0;
    pub const HTTP_ERROR: u8 = 1;
    pub const USAGE: u8 = 2;
    /// Sign in (again); also a sign-in left unfinished at its second factor (`mfa_*`).
    pub const LOGIN_REQUIRED: u8 = 3;
    pub const NETWORK: u8 = 4;
    pub const KEYRING: u8 = 5;
    /// The server answered, but not in a way Tessera can use (`bad_response`: no token where
    /// one belongs, an unreadable token; `token_rejected`: a token failed verification).
    pub const BAD_RESPONSE: u8 = 6;
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad flags or input the user can fix.
    #[error("{0}")]
    Usage(String),
    /// The server answered with an error status.
    #[error("the server answered {status}")]
    HttpStatus { status: u16 },
    /// An error from the session engine.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The server asks for a second-factor code, and there is no way to get one.
    #[error("the server asks for a second-factor code: pass --otp CODE or --otp-stdin")]
    SecondFactorNeeded,
    /// Reading or writing a local file or stream.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

impl CliError {
    pub fn usage(message: impl Into<String>) -> Self {
        CliError::Usage(message.into())
    }

    /// A stable machine code, as the engine's.
    pub fn code(&self) -> &str {
        match self {
            CliError::Usage(_) => "usage",
            CliError::HttpStatus { .. } => "http_error",
            CliError::SecondFactorNeeded => EngineError::SecondFactorRequired.code(),
            CliError::Engine(e) => e.code(),
            CliError::Io { .. } => "io",
        }
    }

    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => exit::USAGE,
            CliError::HttpStatus { .. } | CliError::Io { .. } => exit::HTTP_ERROR,
            CliError::SecondFactorNeeded => exit::LOGIN_REQUIRED,
            CliError::Engine(e) => match e {
                EngineError::SessionExpired { .. }
                | EngineError::LoginRequired { .. }
                | EngineError::InvalidCredentials { .. }
                | EngineError::SecondFactorRequired
                | EngineError::SecondFactorRejected { .. }
                | EngineError::SecondFactorExpired { .. } => exit::LOGIN_REQUIRED,
                EngineError::BadResponse { .. } | EngineError::TokenRejected { .. } => {
                    exit::BAD_RESPONSE
                }
                EngineError::Network { .. }
                | EngineError::Timeout { .. }
                | EngineError::Tls { .. }
                | EngineError::LockTimeout { .. } => exit::NETWORK,
                EngineError::KeyringUnavailable { .. } => exit::KEYRING,
                EngineError::InvalidProfile { .. }
                | EngineError::ProfileNotFound { .. }
                | EngineError::ProfilesFileCorrupt { .. }
                | EngineError::InsecureUrl { .. }
                | EngineError::CrossOrigin { .. }
                | EngineError::NotSupported { .. }
                | EngineError::ReservedEndpoint { .. }
                | EngineError::NoProfileChosen
                | EngineError::InvalidMethod { .. }
                | EngineError::InvalidJson { .. } => exit::USAGE,
                _ => exit::HTTP_ERROR,
            },
        }
    }
}

pub type CliResult<T> = Result<T, CliError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_and_http_errors_map_to_their_codes() {
        assert_eq!(CliError::usage("x").exit_code(), exit::USAGE);
        assert_eq!(
            CliError::HttpStatus { status: 404 }.exit_code(),
            exit::HTTP_ERROR
        );
        let unusable = CliError::Engine(EngineError::BadResponse {
            detail: "no access token".into(),
        });
        assert_eq!(unusable.exit_code(), exit::BAD_RESPONSE);
        let rejected = CliError::Engine(EngineError::TokenRejected {
            detail: "bad signature".into(),
        });
        assert_eq!(rejected.exit_code(), exit::BAD_RESPONSE);
    }

    #[test]
    fn an_unfinished_sign_in_exits_3_with_the_engine_codes() {
        let unfinished = [
            (CliError::SecondFactorNeeded, "mfa_required"),
            (EngineError::SecondFactorRequired.into(), "mfa_required"),
            (
                EngineError::SecondFactorRejected {
                    server_detail: None,
                }
                .into(),
                "mfa_code_rejected",
            ),
            (
                EngineError::SecondFactorExpired {
                    reason: "expired".into(),
                }
                .into(),
                "mfa_expired",
            ),
        ];
        for (error, code) in unfinished {
            assert_eq!(error.exit_code(), exit::LOGIN_REQUIRED, "{error}");
            assert_eq!(error.code(), code);
        }
        assert!(CliError::SecondFactorNeeded
            .to_string()
            .contains("--otp CODE or --otp-stdin"));
    }
}
