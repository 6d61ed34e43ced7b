//! What every request handler shares: the database, the token service, the clock, the
//! settings that change behaviour, and the test controls when they are enabled.

use std::sync::Arc;

use crate::clock::Clock;
use crate::db::Database;
use crate::error::ApiError;
use crate::password;
use crate::test_controls::TestControls;
use crate::tokens::TokenService;

/// Shared application state (behind an `Arc`, see [`AppRef`]).
pub struct AppState {
    pub db: Arc<Database>,
    pub tokens: TokenService,
    pub clock: Arc<Clock>,
    pub rotate_refresh_tokens: bool,
    pub blacklist_after_rotation: bool,
    pub password_iterations: u32,
    /// Some only with `--test-controls`.
    pub controls: Option<TestControls>,
    /// Verified against when a username is unknown, so that the answer takes as long as for
    /// a wrong password (Django's ModelBackend does the same).
    pub dummy_hash: String,
}

/// The handle handlers receive.
pub type AppRef = Arc<AppState>;

impl AppState {
    /// Makes a hash that no password is expected to match, at the configured cost.
    pub fn make_dummy_hash(iterations: u32) -> String {
        password::hash(&crate::tokens::new_jti(), iterations)
    }
}

/// Runs blocking work (SQLite, PBKDF2) on tokio's blocking pool.
pub async fn blocking<T, F>(work: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| ApiError::Internal(format!("blocking task failed: {err}")))?
}
