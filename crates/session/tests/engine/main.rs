//! The engine against a simplejwt server with an injected clock, one module per topic: sign-in,
//! restore, proactive refresh and rotation, refresh failures, single-flight refresh, replay on
//! 401, sign-out, the request path (what the engine sends where, untrusted input), and the
//! workspace API the shells call (profile rules, launch resolution, who is signed in).
//!
//! Tests that only need what a simplejwt server offers run against the Rust reference backend
//! and its `/_test/` controls ([`common::backend::BackendHarness`]); those that need behaviour
//! the backend cannot produce run against the scripted server ([`common::Harness`]): see
//! `common/scripted_server` for what that is.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../common/mod.rs"]
mod common;

mod refresh;
mod refresh_failures;
mod replay;
mod request_path;
mod restore;
mod sign_in;
mod sign_out;
mod single_flight;
mod workspace;
