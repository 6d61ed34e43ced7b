//! Tessera's session engine: everything about a signed-in session to a Django REST Framework +
//! simplejwt API (or a compatible server), once, for every shell (the desktop app, the CLI).
//!
//! Shells start with a [`Workspace`] (profiles, launch resolution, open sessions, who-am-I);
//! under it, one [`Session`] per profile does the sign-in, refresh and request work.
//!
//! Start with [`Session::open`] (a [`SessionConfig`] with a [`Profile`], a [`SecretStore`] —
//! [`KeyringStore`] in real use — and the shared lock directory), then [`Session::restore`] or
//! [`Session::login`], and send requests with [`Session::request`]. Errors carry stable codes
//! ([`Error::code`]); [`SessionEvent`]s report what happened. No module logs a token or a
//! password.

mod accept;
mod auto_refresh;
pub mod claims;
pub mod clock;
pub mod cookies;
pub mod detect;
mod echo_mask;
mod elsewhere;
mod engine;
pub mod error;
pub mod events;
mod file_lock;
pub mod hints;
pub mod lock;
pub mod logging;
mod options;
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
pub mod response;
mod revoke;
pub mod sanitize;
mod schedule;
mod second_factor;
pub mod secret;
pub mod session;
pub mod signin;
mod signout;
pub mod status;
pub mod store;
#[cfg(test)]
mod test_tokens;
pub mod transport;
pub mod vault;
mod wire;
pub mod workspace;

pub use claims::{Claims, VerificationConfig};
#[cfg(any(test, feature = "test-util"))]
pub use clock::ManualClock;
pub use clock::{Clock, SystemClock};
pub use cookies::CookieJar;
pub use error::{Error, Result};
pub use events::SessionEvent;
pub use profile::Profile;
pub use profiles_file::ProfilesFile;
pub use refresh::RetryPolicy;
pub use request::ApiRequest;
pub use response::{ApiResponse, BodyStream, StreamedResponse};
pub use secret::{AccessToken, OneTimeToken, Password, RefreshToken};
pub use session::{AutoRefresh, Session, SessionConfig, SessionOptions};
pub use signin::{LogoutOutcome, Registration};
pub use status::SessionStatus;
#[cfg(any(test, feature = "test-util"))]
pub use store::{FakeOp, FakeStore};
pub use store::{KeyringStore, SecretStore, StoreError, DEFAULT_SERVICE};

/// HTTP types used in [`ApiRequest`] and [`ApiResponse`].
pub use reqwest::{header, Method};
pub use workspace::{Launch, Workspace, WorkspaceConfig};
