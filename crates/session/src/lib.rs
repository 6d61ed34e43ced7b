//! Tessera's session engine: everything about a signed-in session to a Django REST Framework +
//! simplejwt API (or a compatible server), once, for both the desktop app and the CLI.
//!
//! Start with [`Session::open`] (a [`SessionConfig`] with a [`Profile`], a [`SecretStore`] —
//! [`KeyringStore`] in real use — and the shared lock directory), then [`Session::restore`] or
//! [`Session::login`], and send requests with [`Session::request`]. Errors carry stable codes
//! ([`Error::code`]); [`SessionEvent`]s report what happened. No module logs a token or a
//! password.

mod auto_refresh;
pub mod claims;
pub mod clock;
pub mod error;
pub mod events;
pub mod hints;
pub mod lock;
pub mod paths;
pub mod pretty;
pub mod probe;
pub mod profile;
pub mod profiles_file;
#[cfg(test)]
mod proptests;
pub mod redact;
pub mod refresh;
mod renewal;
pub mod request;
mod revoke;
pub mod sanitize;
pub mod secret;
pub mod session;
pub mod signin;
pub mod status;
pub mod store;
#[cfg(test)]
mod test_tokens;
pub mod transport;
pub mod vault;
mod wire;

pub use claims::{Claims, VerificationConfig};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Error, Result};
pub use events::SessionEvent;
pub use profile::Profile;
pub use profiles_file::ProfilesFile;
pub use refresh::RetryPolicy;
pub use request::{ApiRequest, ApiResponse};
pub use secret::{AccessToken, Password, RefreshToken};
pub use session::{AutoRefresh, Session, SessionConfig, SessionOptions};
pub use signin::{LogoutOutcome, Registration};
pub use status::SessionStatus;
pub use store::{FakeOp, FakeStore, KeyringStore, SecretStore, StoreError, DEFAULT_SERVICE};

/// HTTP types used in [`ApiRequest`] and [`ApiResponse`].
pub use reqwest::{header, Method};
