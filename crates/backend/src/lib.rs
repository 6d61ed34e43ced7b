//! Tessera's reference backend: a small server that speaks exactly what
//! djangorestframework-simplejwt 5.5 speaks (paths, claims, status codes, error bodies), so the
//! Tessera client can be developed, demonstrated and tested without a Django install.
//!
//! The crate is a library (tests start it in-process with [`Server::start`]) plus the thin
//! `tessera-backend` binary. One module per concern:
//!
//! - [`config`] and [`cli`]: what the server is told to do, and the command line that says it;
//! - [`db`]: users, the token blacklist and persisted keys in SQLite;
//! - [`password`]: Django-compatible PBKDF2-SHA256 password hashes;
//! - [`clock`]: the server's notion of "now", shiftable by test controls;
//! - [`keys`] and [`tokens`]: signing keys (HS256 / RS256 + JWKS) and simplejwt's claims rules;
//! - [`input`] and [`fields`]: request bodies and field validation the way DRF does them;
//! - [`auth`]: simplejwt's `JWTAuthentication` as an axum extractor;
//! - [`token_views`], [`demo_views`], [`routes`]: the HTTP surface;
//! - [`test_controls`] and [`test_control_views`]: opt-in fault injection and request counters
//!   for client tests (what they remember, and their `/_test/` endpoints and middleware);
//! - [`error`]: every error answer, rendered as DRF renders it, and why a token was refused;
//! - [`server`]: binding, serving and graceful shutdown.

pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo_views;
pub mod error;
pub mod fields;
pub mod input;
pub mod keys;
pub mod password;
pub mod routes;
pub mod server;
pub mod state;
pub mod test_control_views;
pub mod test_controls;
pub mod token_views;
pub mod tokens;

pub use config::{Config, DatabaseLocation, SigningAlgorithm, UserSpec};
pub use error::{ApiError, BackendError};
pub use server::Server;
