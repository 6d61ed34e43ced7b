//! HTTP for one profile: the reqwest clients with the network rules baked in, and the URL
//! rules every request target passes.
//!
//! Two clients per profile. The *auth* client (sign-in, refresh, blacklist, registration, JWKS)
//! follows no redirect at all: reqwest re-sends the body on 307/308, and that body holds a
//! password or a refresh token. The *api* client follows at most five redirects and only within
//! the profile's origin, so a bearer token never leaves it. Both have connect and total timeouts
//! (reqwest has none by default) and refuse plain http to non-loopback hosts unless the profile
//! allows it. Response bodies are read up to a size cap.
//!
//! The parts: how the clients are built — trust store, proxies, `*.localhost` pinning,
//! redirect policies (`transport/client.rs`); how a request is sent and its body read under the
//! cap, and how reqwest's errors are classified (`transport/send.rs`); how a path is compared
//! with the reserved token endpoints, as a server would route it (`transport/routing.rs`,
//! [`routed_path`]). Here: the [`Transport`] itself and the target rules ([`Transport::resolve`],
//! [`Transport::is_auth_url`]).

use bytes::Bytes;
use reqwest::header::HeaderMap;
use url::{Origin, Url};

use crate::error::{Error, Result};
use crate::profile::{check_transport_security, Profile};

mod client;
mod routing;
mod send;
#[cfg(test)]
mod tests;

pub use routing::routed_path;
pub(crate) use send::map_reqwest_error;
pub use send::STREAMED_BODY_LIMIT;

/// A fully read HTTP response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// Body (at most the cap).
    pub body: Bytes,
    /// The final URL.
    pub url: Url,
}

/// The profile's HTTP clients and URL rules.
#[derive(Debug, Clone)]
pub struct Transport {
    auth: reqwest::Client,
    api: reqwest::Client,
    profile: Profile,
    origin: Origin,
    max_body: usize,
    /// The token endpoints' paths (obtain, refresh, verify, blacklist, registration) on the base
    /// URL, as [`routed_path`] normalises them: computed once, compared with every request's
    /// target.
    auth_paths: Vec<String>,
}

impl Transport {
    /// The profile this transport serves.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The profile's origin, as text (`https://host:port`).
    pub fn origin_text(&self) -> String {
        self.origin.ascii_serialization()
    }

    /// An endpoint of the profile.
    pub fn endpoint(&self, path: &str) -> Result<Url> {
        let url = self.profile.endpoint(path)?;
        check_transport_security(&url, self.profile.allow_insecure_http)?;
        Ok(url)
    }

    /// A request target: a path under the base URL, or an absolute URL on the same origin. A
    /// target that starts with `/` is always a path (its query may hold a URL).
    pub fn resolve(&self, target: &str) -> Result<Url> {
        if !target.starts_with('/') && target.contains("://") {
            let url = Url::parse(target).map_err(|e| Error::InvalidProfile {
                detail: format!("{target:?} is not a URL ({e})"),
            })?;
            if url.origin() != self.origin {
                return Err(Error::CrossOrigin {
                    url: url.to_string(),
                    origin: self.origin_text(),
                });
            }
            check_transport_security(&url, self.profile.allow_insecure_http)?;
            Ok(url)
        } else {
            self.endpoint(target)
        }
    }

    /// Whether `url` (a resolved request target) is one of the profile's token endpoints, whose
    /// answers are tokens: the engine's request path refuses them (`reserved_endpoint`), so
    /// sign-in, refresh and sign-out go through the engine only. The endpoint paths are computed
    /// once, from [`Profile::auth_endpoint_paths`]. Only the path is compared, as the server
    /// would route it ([`routed_path`]: decoded, dot segments resolved, empty segments and
    /// trailing slashes dropped), the query aside: combine with [`Self::resolve`], which keeps
    /// other origins out.
    pub fn is_auth_url(&self, url: &Url) -> bool {
        let path = routed_path(url.path());
        self.auth_paths.contains(&path)
    }
}
