//! What the server is told to do, independent of where it was told (command line, tests).
//! Defaults are simplejwt's defaults (5 min access, 1 day refresh, no rotation, HS256, no
//! leeway), so an unconfigured server behaves like an unconfigured simplejwt.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// PBKDF2 work factor for new hashes. Django 5.2 uses 1,000,000; this is a demo and test
/// server that is often run as an unoptimised debug build, where 1,000,000 iterations cost
/// over 20 s per login. 100,000 keeps a debug-build login around 2 s (well under 0.1 s in
/// release) and is still a real work factor; `--password-iterations` raises it.
pub const DEFAULT_PASSWORD_ITERATIONS: u32 = 100_000;

/// The JWT signing algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum SigningAlgorithm {
    /// HMAC-SHA256 with a shared secret (simplejwt's default).
    #[default]
    #[value(name = "HS256")]
    Hs256,
    /// RSA-SHA256; the public key is published at `/api/jwks/`.
    #[value(name = "RS256")]
    Rs256,
}

/// Where users and the blacklist live.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DatabaseLocation {
    /// A private in-memory database, gone when the server stops.
    #[default]
    Memory,
    /// An SQLite file (created with its parent directory if missing).
    File(PathBuf),
}

impl DatabaseLocation {
    /// `:memory:` is the in-memory database; anything else a file path.
    pub fn parse(text: &str) -> Self {
        if text == ":memory:" {
            Self::Memory
        } else {
            Self::File(PathBuf::from(text))
        }
    }
}

/// A user to create or update at start-up (`--user NAME:PASSWORD`).
#[derive(Clone, PartialEq, Eq)]
pub struct UserSpec {
    pub username: String,
    pub password: String,
}

impl UserSpec {
    /// Parses `NAME:PASSWORD` (the password may itself contain colons).
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.split_once(':') {
            Some((name, password)) if !name.is_empty() && !password.is_empty() => Ok(Self {
                username: name.to_owned(),
                password: password.to_owned(),
            }),
            _ => Err("expected NAME:PASSWORD with a non-empty name and password".to_owned()),
        }
    }
}

impl fmt::Debug for UserSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserSpec")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Everything the server needs to know.
#[derive(Clone)]
pub struct Config {
    pub database: DatabaseLocation,
    /// Users created or updated at start-up.
    pub users: Vec<UserSpec>,
    /// When true and the database holds no user at all, create `demo` with a random password
    /// (reported by [`crate::Server::generated_account`]).
    pub create_demo_user_if_empty: bool,
    pub access_lifetime: Duration,
    pub refresh_lifetime: Duration,
    /// simplejwt's ROTATE_REFRESH_TOKENS.
    pub rotate_refresh_tokens: bool,
    /// simplejwt's BLACKLIST_AFTER_ROTATION.
    pub blacklist_after_rotation: bool,
    pub algorithm: SigningAlgorithm,
    /// simplejwt's LEEWAY, for `exp` (and PyJWT's `iat`/`nbf`) checks.
    pub leeway: Duration,
    /// HS256 secret. None: a random secret stored in the database (stable across restarts).
    pub secret: Option<String>,
    /// RS256 private key (PKCS#1 or PKCS#8 PEM). None: generated once, stored in the database.
    pub private_key_pem: Option<String>,
    /// PBKDF2 iterations for hashes made from now on (existing hashes keep theirs).
    pub password_iterations: u32,
    /// Mount `/_test/` endpoints (fault injection, counters, clock). Never on by default.
    pub test_controls: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database: DatabaseLocation::Memory,
            users: Vec::new(),
            create_demo_user_if_empty: false,
            access_lifetime: Duration::from_secs(300),
            refresh_lifetime: Duration::from_secs(86_400),
            rotate_refresh_tokens: false,
            blacklist_after_rotation: false,
            algorithm: SigningAlgorithm::Hs256,
            leeway: Duration::ZERO,
            secret: None,
            private_key_pem: None,
            password_iterations: DEFAULT_PASSWORD_ITERATIONS,
            test_controls: false,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database", &self.database)
            .field("users", &self.users)
            .field("create_demo_user_if_empty", &self.create_demo_user_if_empty)
            .field("access_lifetime", &self.access_lifetime)
            .field("refresh_lifetime", &self.refresh_lifetime)
            .field("rotate_refresh_tokens", &self.rotate_refresh_tokens)
            .field("blacklist_after_rotation", &self.blacklist_after_rotation)
            .field("algorithm", &self.algorithm)
            .field("leeway", &self.leeway)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field(
                "private_key_pem",
                &self.private_key_pem.as_ref().map(|_| "<redacted>"),
            )
            .field("password_iterations", &self.password_iterations)
            .field("test_controls", &self.test_controls)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_spec_splits_at_the_first_colon() {
        let spec = UserSpec::parse("demo:pa:ss").unwrap();
        assert_eq!(spec.username, "demo");
        assert_eq!(spec.password, "pa:ss");
        assert!(UserSpec::parse("demo").is_err());
        assert!(UserSpec::parse(":pw").is_err());
        assert!(UserSpec::parse("demo:").is_err());
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let config = Config {
            users: vec![UserSpec::parse("demo:hunter2-password").unwrap()],
            secret: Some("top-secret-key".into()),
            ..Config::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("top-secret"), "{shown}");
        assert!(shown.contains("demo"));
    }

    #[test]
    fn memory_database_is_spelled_like_sqlite() {
        assert_eq!(
            DatabaseLocation::parse(":memory:"),
            DatabaseLocation::Memory
        );
        assert_eq!(
            DatabaseLocation::parse("x.db"),
            DatabaseLocation::File(PathBuf::from("x.db"))
        );
    }
}
