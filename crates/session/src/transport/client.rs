//! How a profile's two HTTP clients are built: which certificates are trusted, which proxy
//! is used for which target, which names never reach a resolver, and which redirects are
//! followed. Everything a client decides before a request is sent is decided here.
//!
//! **Trust.** Certificates are checked against the operating system's trust store (read by
//! rustls-native-certs: the platform store, or `SSL_CERT_FILE` / `SSL_CERT_DIR` when set) plus
//! the profile's CA file, hostname verification on. The web PKI roots compiled into reqwest
//! (webpki-roots) are never loaded, even when another crate of the build enables them: a CA the
//! OS store removed or distrusts is not trusted here.
//!
//! **Proxies.** A loopback target (see [`crate::profile::is_loopback`]) is always reached
//! directly, never through a proxy, so a password sent to `http://127.0.0.1:...` cannot be read
//! by one: the clients of a loopback profile ignore the environment's proxies (`HTTP_PROXY`,
//! `HTTPS_PROXY`, `ALL_PROXY`, ...) altogether, and the profile's `proxy` is used only for
//! non-loopback URLs (e.g. a remote JWKS). A remote profile uses the profile's proxy if set, else
//! the environment's, as reqwest reads them. The plain-http rule is the same with or without a
//! proxy: `http://` to a remote host is refused (`insecure_url`) unless `allow_insecure_http`,
//! and since loopback never uses a proxy, no plain-http request goes through one unless the
//! profile allowed plain http. An https target goes through an `http://` proxy in a CONNECT
//! tunnel, so the proxy sees the host name only.
//!
//! **`*.localhost`.** `localhost` and every name under it are this machine (RFC 6761): the
//! clients resolve them to 127.0.0.1 and ::1 themselves (for the base URL's and the JWKS URL's
//! host), never through the system resolver or DNS, so the plain-http exemption they get cannot
//! send a password to whatever a resolver answers.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use reqwest::redirect;
use url::Url;

use super::routing::routed_path;
use super::Transport;
use crate::error::{Error, Result};
use crate::profile::{check_transport_security, is_loopback, is_loopback_name, Profile};

const USER_AGENT: &str = concat!("tessera/", env!("CARGO_PKG_VERSION"));

impl Transport {
    /// Builds the clients; fails on an invalid profile, an unreadable CA file or a bad proxy.
    pub fn new(profile: &Profile, max_body: usize) -> Result<Self> {
        profile.validate()?;
        let mut roots = Vec::new();
        if let Some(path) = &profile.ca_cert_file {
            let pem = std::fs::read(path).map_err(|e| Error::io(path, &e))?;
            roots =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| Error::InvalidProfile {
                    detail: format!(
                        "the CA certificate file {} is not PEM ({e})",
                        path.display()
                    ),
                })?;
            if roots.is_empty() {
                return Err(Error::InvalidProfile {
                    detail: format!(
                        "the CA certificate file {} holds no certificate",
                        path.display()
                    ),
                });
            }
        }
        let origin = profile.base_url.origin();
        let allow_http = profile.allow_insecure_http;
        let proxy = match &profile.proxy {
            Some(proxy) => {
                // Checked as reqwest would (scheme, syntax), then applied through `custom`.
                reqwest::Proxy::all(proxy.as_str()).map_err(|e| Error::InvalidProfile {
                    detail: format!(
                        "the proxy {:?} cannot be used ({e})",
                        crate::redact::url_credentials(proxy)
                    ),
                })?;
                Some(Url::parse(proxy).map_err(|e| Error::InvalidProfile {
                    detail: format!(
                        "the proxy {:?} is not a URL ({e})",
                        crate::redact::url_credentials(proxy)
                    ),
                })?)
            }
            None => None,
        };
        let loopback_base = is_loopback(&profile.base_url);
        // The `*.localhost` names this profile talks to, pinned to this machine.
        let pinned_names: Vec<String> = std::iter::once(&profile.base_url)
            .chain(
                profile
                    .verification
                    .as_ref()
                    .and_then(|v| v.jwks_url.as_ref()),
            )
            .filter_map(|url| match url.host() {
                Some(url::Host::Domain(d)) if is_loopback_name(d) => Some(d.to_ascii_lowercase()),
                _ => None,
            })
            .collect();
        let loopback_addrs = [
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            SocketAddr::from((Ipv6Addr::LOCALHOST, 0)),
        ];
        let build = |policy: redirect::Policy| -> Result<reqwest::Client> {
            let mut builder = reqwest::Client::builder()
                .user_agent(USER_AGENT)
                .redirect(policy)
                .connect_timeout(Duration::from_secs(profile.connect_timeout_secs))
                .timeout(Duration::from_secs(profile.request_timeout_secs))
                .read_timeout(Duration::from_secs(profile.request_timeout_secs))
                // A burst of requests must not leave hundreds of idle connections open (small
                // servers stop accepting new ones at their connection limit).
                .pool_max_idle_per_host(16)
                // The OS store only: no bundled web PKI roots (whatever features are unified).
                .tls_built_in_root_certs(false)
                .tls_built_in_native_certs(true);
            for cert in &roots {
                builder = builder.add_root_certificate(cert.clone());
            }
            if loopback_base {
                // No environment proxy for a loopback server (reqwest would use one).
                builder = builder.no_proxy();
            }
            if let Some(proxy) = &proxy {
                // Adding a proxy also switches the environment's off, as before.
                let proxy = proxy.clone();
                builder = builder.proxy(reqwest::Proxy::custom(move |target| {
                    (!is_loopback(target)).then(|| proxy.clone())
                }));
            }
            for name in &pinned_names {
                builder = builder.resolve_to_addrs(name, &loopback_addrs);
            }
            builder
                .build()
                .map_err(|e| Error::internal(format!("cannot build the HTTP client: {e}")))
        };
        let same_origin = origin.clone();
        let auth_paths: Vec<String> = profile
            .auth_endpoint_paths()
            .iter()
            .map(|p| routed_path(p))
            .collect();
        let reserved = auth_paths.clone();
        // A same-origin redirect into a token endpoint would hand the request (its body, its
        // Authorization) to it and its tokens back to the caller: stopped like another origin.
        let api_policy = redirect::Policy::custom(move |attempt| {
            let ok_origin = attempt.url().origin() == same_origin;
            let ok_scheme = check_transport_security(attempt.url(), allow_http).is_ok();
            let ok_target = !reserved.contains(&routed_path(attempt.url().path()));
            if attempt.previous().len() >= 5 || !ok_origin || !ok_scheme || !ok_target {
                attempt.stop()
            } else {
                attempt.follow()
            }
        });
        Ok(Self {
            auth: build(redirect::Policy::none())?,
            api: build(api_policy)?,
            profile: profile.clone(),
            origin,
            max_body,
            auth_paths,
        })
    }
}
