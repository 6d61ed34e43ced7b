//! Tessera's local authenticating proxy: lends a signed-in profile's session to the tools QA
//! already uses — curl, HTTPie, pytest, k6, Postman — without ever handing them a token.
//!
//! [`LocalProxy::start`] binds a loopback port and serves
//! `http://127.0.0.1:PORT/CAPABILITY/…`: a request under the capability (a fresh random path
//! segment, [`capability`]) goes to `<base_url>/…` through the engine's one request path
//! ([`tessera_session::Workspace::forward`]: fresh token, refresh before expiry, single flight
//! across every process using the profile, replay once after a 401). Anything else is refused
//! before it reaches the server. The tool never sees a token: the proxy adds the
//! `Authorization` header on the way out and masks the token if the server echoes it back
//! ([`forward`]). The engine's refusals (signed out, a token endpoint, a network failure) come
//! back as JSON answers with stable codes ([`refusal`]).
//!
//! The CLI runs it (`tessera-cli proxy`, `tessera-cli exec`), the app runs it from its "Share
//! with local tools" switch; both only map arguments and output.

pub mod capability;
mod forward;
mod headers;
pub mod refusal;
mod server;

pub use capability::{Capability, ProxyUrl};
pub use server::{LocalProxy, ProxyError, ProxyOptions, DEFAULT_REPLAY_LIMIT};
