//! Which backend to start and how to configure it.

use std::fmt;
use std::time::Duration;

/// The two servers Tessera is tested against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BackendKind {
    /// Django + DRF + djangorestframework-simplejwt (`tests/django`).
    Django,
    /// The Rust reference backend (`crates/backend`).
    Rust,
}

impl BackendKind {
    /// Both, for tests that run against each.
    pub const ALL: [BackendKind; 2] = [BackendKind::Django, BackendKind::Rust];

    pub fn name(self) -> &'static str {
        match self {
            Self::Django => "django",
            Self::Rust => "rust",
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Token signing algorithm (RS256 is offered by the Rust backend only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SigningAlgorithm {
    #[default]
    Hs256,
    /// Signs with the throw-away key in `crates/backend/tests/fixtures/test-rsa-key.pem`.
    Rs256,
}

/// How to configure the server. `Default` is the tutorial setup with test controls on:
/// 300 s access, 86400 s refresh, rotation and blacklist-after-rotation on, one user
/// `demo` / `demo-password`.
#[derive(Clone)]
pub struct ServerOptions {
    pub access_lifetime_secs: u64,
    pub refresh_lifetime_secs: u64,
    /// ROTATE_REFRESH_TOKENS.
    pub rotate: bool,
    /// BLACKLIST_AFTER_ROTATION.
    pub blacklist_after_rotation: bool,
    /// Mount the `/_test/` endpoints.
    pub test_controls: bool,
    /// (username, password) pairs created at start.
    pub users: Vec<(String, String)>,
    /// LEEWAY for `exp` / `iat` checks.
    pub leeway_secs: u64,
    /// Rust backend only (Django always signs HS256): start fails for Django with RS256.
    pub algorithm: SigningAlgorithm,
    /// PBKDF2 iterations for password hashes: small, so logins are fast in tests.
    pub password_iterations: u32,
    /// How long to wait for the server to answer before giving up.
    pub startup_timeout: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            access_lifetime_secs: 300,
            refresh_lifetime_secs: 86_400,
            rotate: true,
            blacklist_after_rotation: true,
            test_controls: true,
            users: vec![("demo".to_owned(), "demo-password".to_owned())],
            leeway_secs: 0,
            algorithm: SigningAlgorithm::Hs256,
            password_iterations: 1_000,
            startup_timeout: Duration::from_secs(30),
        }
    }
}

impl ServerOptions {
    /// The environment `tests/django/serve.py` reads these options from (`tests/django` and
    /// every stack under `tests/django/stacks/` alike).
    pub(crate) fn django_env(&self) -> Vec<(&'static str, String)> {
        let flag = |on: bool| if on { "1" } else { "0" }.to_owned();
        vec![
            (
                "TESSERA_ACCESS_LIFETIME",
                self.access_lifetime_secs.to_string(),
            ),
            (
                "TESSERA_REFRESH_LIFETIME",
                self.refresh_lifetime_secs.to_string(),
            ),
            ("TESSERA_ROTATE_REFRESH_TOKENS", flag(self.rotate)),
            (
                "TESSERA_BLACKLIST_AFTER_ROTATION",
                flag(self.blacklist_after_rotation),
            ),
            ("TESSERA_TEST_CONTROLS", flag(self.test_controls)),
            ("TESSERA_LEEWAY", self.leeway_secs.to_string()),
            (
                "TESSERA_PASSWORD_ITERATIONS",
                self.password_iterations.to_string(),
            ),
            ("PYTHONUNBUFFERED", "1".to_owned()),
            ("PYTHONDONTWRITEBYTECODE", "1".to_owned()),
        ]
    }
}

impl fmt::Debug for ServerOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let users: Vec<&str> = self.users.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("ServerOptions")
            .field("access_lifetime_secs", &self.access_lifetime_secs)
            .field("refresh_lifetime_secs", &self.refresh_lifetime_secs)
            .field("rotate", &self.rotate)
            .field("blacklist_after_rotation", &self.blacklist_after_rotation)
            .field("test_controls", &self.test_controls)
            .field("users", &users)
            .field("leeway_secs", &self.leeway_secs)
            .field("algorithm", &self.algorithm)
            .field("password_iterations", &self.password_iterations)
            .field("startup_timeout", &self.startup_timeout)
            .finish()
    }
}
