//! Test support for Tessera's integration tests: real backends as child processes.
//!
//! [`TestServer::start`] runs either the Django + simplejwt project (`tests/django`, served
//! by waitress from the workspace's `.venv`) or the Rust reference backend (the
//! `tessera-backend` binary) on a free loopback port with a fresh SQLite database, waits until
//! it answers, and kills it when dropped. Both expose the same `/_test/` controls
//! (request counters, injected refresh failures, response delay, clock shift), so one client
//! test can run against both. Servers can be stopped and started again on the same port with
//! the same database, to test "server gone, then back".
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use tessera_testkit::{BackendKind, ServerOptions, TestServer};
//! let server = TestServer::start(BackendKind::Rust, ServerOptions::default()).await?;
//! let login = server.url("api/token/");
//! // ... drive the client against `login` ...
//! assert_eq!(server.count("POST /api/token/ 200").await?, 0);
//! # Ok(()) }
//! ```
//!
//! Locating the servers:
//! - Rust: `$TESSERA_BACKEND_BIN` if set, else `cargo build -p tessera-backend` is run once
//!   per test process (same target directory as the tests) and the binary it reports is used.
//! - Django: `$TESSERA_PYTHON` if set, else `<workspace>/.venv/bin/python` (made by
//!   `scripts/setup.sh`: `python3 -m venv .venv && .venv/bin/pip install -r
//!   tests/django/requirements.txt`).
//! - Real-package stacks ([`Stack`]: djoser, dj-rest-auth 7.2 / 2.2.8, ninja-jwt, the
//!   simplejwt tutorial) via [`TestServer::start_stack`]: `.venv-stacks/<stack>/bin/python`
//!   (made by `bash scripts/setup.sh test`), projects in `tests/django/stacks/`.

mod binaries;
mod controls;
mod options;
mod process;
mod stack_server;
mod stacks;
mod totp;

pub use binaries::{backend_binary, django_python, workspace_root};
pub use options::{BackendKind, ServerOptions, SigningAlgorithm};
pub use process::TestServer;
pub use stacks::{stack_python, Stack, StackOptions};
pub use totp::{totp, totp_now};
