//! The fault and bad-input suite: servers that answer garbage, networks that fail, redirects
//! that would carry credentials away, a keyring that fails right after a refresh. Each case
//! must end in a specific error code with a readable message, and with the session intact (or
//! ended on purpose) — never a hang (every call is bounded by a tokio timeout that fails the
//! test) and never a panic.
//!
//! Most servers here are raw TCP (`common/raw_server.rs`): a canned HTTP answer, or a
//! misbehaviour no HTTP framework would produce. Refresh faults start from a signed-in session
//! whose tokens are forged and stored in a fake keyring (`common/fault_client.rs`), so that the
//! only network call is the refresh under test. The keyring faults run against the reference
//! backend.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../common/mod.rs"]
mod common;

mod bad_responses;
mod keyring_after_refresh;
mod network;
mod redirects;
