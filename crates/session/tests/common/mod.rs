//! Test support shared by the session suites, one concept per module:
//!
//! - [`scripted_server`]: an in-process simplejwt look-alike for what the reference backend
//!   cannot do (a clock shared with the client, custom views, sliding tokens, EdDSA/JWKS,
//!   injected 401s, a record of issued tokens, ...); [`harness`] wires the engine to it.
//! - [`backend`]: the engine against the reference backend (or Django) with its test controls.
//! - [`raw_server`], [`fault_client`], [`forged_tokens`]: the fault suite's raw TCP server, its
//!   client side and checks, and tokens made by the test.
//! - [`rotator`]: a rotating server whose answers can be bent (integrity suite).
//! - [`file_store`]: a keyring in plain files shared by processes.
//! - [`requests`], [`events`]: the repeated request block and reading session events.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

pub mod backend;
pub mod events;
pub mod fault_client;
pub mod file_store;
pub mod forged_tokens;
pub mod harness;
pub mod raw_server;
pub mod requests;
pub mod rotator;
pub mod scripted_server;

// The names most suites use, at the top (each test binary uses some of them).
#[allow(unused_imports)]
pub use harness::{fast_options, Harness};
#[allow(unused_imports)]
pub use scripted_server::{MockServer, ServerConfig, ServerState};
