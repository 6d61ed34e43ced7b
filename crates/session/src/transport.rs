//! HTTP for one profile: the reqwest clients with the safety rules of the issue baked in.
//!
//! Two clients per profile. The *auth* client (sign-in, refresh, blacklist, registration, JWKS)
//! follows no redirect at all: reqwest re-sends the body on 307/308, and that body holds a
//! password or a refresh token. The *api* client follows at most five redirects and only within
//! the profile's origin, so a bearer token never leaves it. Both have connect and total timeouts
//! (reqwest has none by default) and refuse plain http to non-loopback hosts unless the profile
//! allows it. Response bodies are read up to a size cap.
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
//!
//! **Reserved endpoints.** [`Transport::is_auth_url`] compares paths as a server would route
//! them, not as typed: see [`routed_path`].

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, CONTENT_TYPE};
use reqwest::{redirect, Method};
use url::{Origin, Url};

use crate::error::{Error, Result};
use crate::profile::{check_transport_security, is_loopback, is_loopback_name, Profile};

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
        let api_policy = redirect::Policy::custom(move |attempt| {
            let ok_origin = attempt.url().origin() == same_origin;
            let ok_scheme = check_transport_security(attempt.url(), allow_http).is_ok();
            if attempt.previous().len() >= 5 || !ok_origin || !ok_scheme {
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
            auth_paths: profile
                .auth_endpoint_paths()
                .iter()
                .map(|p| routed_path(p))
                .collect(),
        })
    }

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

    /// A request target: a path under the base URL, or an absolute URL on the same origin.
    pub fn resolve(&self, target: &str) -> Result<Url> {
        if target.contains("://") {
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

    /// Whether `url` (a resolved request target) is one of the profile's token endpoints. Only
    /// the path is compared, as the server would route it ([`routed_path`]: decoded, dot
    /// segments resolved, empty segments and trailing slashes dropped), the query aside: combine
    /// with [`Self::resolve`], which keeps other origins out.
    pub fn is_auth_url(&self, url: &Url) -> bool {
        let path = routed_path(url.path());
        self.auth_paths.contains(&path)
    }

    /// POSTs a JSON body to an authentication endpoint. No redirect is followed.
    pub async fn post_auth(
        &self,
        url: Url,
        body: Bytes,
        timeout: Option<Duration>,
    ) -> Result<HttpResponse> {
        let request = self
            .auth
            .post(url)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .body(body);
        self.send(request, timeout).await
    }

    /// GETs a public document (a JWKS) without following redirects.
    pub async fn get_auth(&self, url: Url) -> Result<HttpResponse> {
        check_transport_security(&url, self.profile.allow_insecure_http)?;
        let request = self
            .auth
            .get(url)
            .header(ACCEPT, HeaderValue::from_static("application/json"));
        self.send(request, None).await
    }

    /// Sends an API request (same-origin redirects only).
    pub async fn send_api(
        &self,
        method: Method,
        url: Url,
        headers: HeaderMap,
        body: Option<reqwest::Body>,
        timeout: Option<Duration>,
    ) -> Result<HttpResponse> {
        let mut request = self.api.request(method, url).headers(headers);
        if let Some(body) = body {
            request = request.body(body);
        }
        self.send(request, timeout).await
    }

    /// Sends with the given total timeout (else the profile's) and reads the capped body.
    async fn send(
        &self,
        mut request: reqwest::RequestBuilder,
        timeout: Option<Duration>,
    ) -> Result<HttpResponse> {
        if let Some(t) = timeout {
            request = request.timeout(t);
        }
        let secs = timeout.map_or(self.profile.request_timeout_secs, |t| t.as_secs().max(1));
        let response = request
            .send()
            .await
            .map_err(|e| map_reqwest_error(&e, secs))?;
        self.read(response, secs).await
    }

    async fn read(&self, mut response: reqwest::Response, secs: u64) -> Result<HttpResponse> {
        let status = response.status().as_u16();
        // The body is read after this; nothing needs the response's own headers any more.
        let headers = std::mem::take(response.headers_mut());
        let url = response.url().clone();
        match response.content_length() {
            Some(len) if len > self.max_body as u64 => return Err(too_big(self.max_body)),
            // A declared length within the cap: hyper never yields more than it (a longer body is
            // an error), so the body is read whole, without copying it chunk by chunk.
            Some(_) => {
                let body = response
                    .bytes()
                    .await
                    .map_err(|e| map_reqwest_error(&e, secs))?;
                if body.len() > self.max_body {
                    return Err(too_big(self.max_body));
                }
                return Ok(HttpResponse {
                    status,
                    headers,
                    body,
                    url,
                });
            }
            None => {}
        }
        // No declared length: chunk by chunk up to the cap. A body of one chunk is kept as it is.
        let mut first: Option<Bytes> = None;
        let mut rest: Vec<u8> = Vec::new();
        let mut total = 0usize;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| map_reqwest_error(&e, secs))?
        {
            total = total.saturating_add(chunk.len());
            if total > self.max_body {
                return Err(too_big(self.max_body));
            }
            match &first {
                None if rest.is_empty() => first = Some(chunk),
                _ => {
                    if let Some(head) = first.take() {
                        rest.reserve(head.len() + chunk.len());
                        rest.extend_from_slice(&head);
                    }
                    rest.extend_from_slice(&chunk);
                }
            }
        }
        let body = match first {
            Some(only) => only,
            None => Bytes::from(rest),
        };
        Ok(HttpResponse {
            status,
            headers,
            body,
            url,
        })
    }
}

/// A URL path as a server would route it, for comparing it with a token endpoint's path.
///
/// Conservative on purpose: a path that routes to a token endpoint under any plausible
/// normalisation must compare equal to it. So the path is percent-decoded once (every `%XX`,
/// hex digits in either case, `%2F` included: a WSGI server decodes `PATH_INFO` once before
/// Django routes it), then split on `/` with empty segments (`//`, a trailing slash) and `.`
/// dropped and `..` removing the previous segment (as reverse proxies and URL normalisers do),
/// and joined again with a leading `/`. Not done: a second decoding (`%2574` stays `%74`, which
/// Django does not route as `t`) and case folding (Django paths are case-sensitive).
pub fn routed_path(path: &str) -> String {
    let decoded = percent_decode(path.as_bytes());
    let decoded = String::from_utf8_lossy(&decoded);
    let mut segments: Vec<&str> = Vec::new();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    format!("/{}", segments.join("/"))
}

/// Decodes every `%XX` once; a `%` not followed by two hex digits is kept as it is.
fn percent_decode(input: &[u8]) -> Vec<u8> {
    fn hex(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%' {
            if let (Some(h), Some(l)) = (
                input.get(i + 1).copied().and_then(hex),
                input.get(i + 2).copied().and_then(hex),
            ) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(input[i]);
        i += 1;
    }
    out
}

fn too_big(max: usize) -> Error {
    Error::bad_response(format!("the response is larger than {max} bytes"))
}

/// The usual certificate failures in words, ahead of rustls' own text.
fn tls_summary(lower: &str) -> Option<&'static str> {
    if lower.contains("unknownissuer") || lower.contains("unknown issuer") {
        Some("the server's certificate is not signed by an authority this profile trusts (self-signed, or from a private CA)")
    } else if lower.contains("not valid for name") || lower.contains("notvalidforname") {
        Some("the server's certificate was issued for another host name")
    } else if lower.contains("certificate expired") || lower.contains("expired") {
        Some("the server's certificate has expired (or this computer's clock is wrong)")
    } else if lower.contains("not valid yet") || lower.contains("notvalidyet") {
        Some("the server's certificate is not valid yet (or this computer's clock is wrong)")
    } else {
        None
    }
}

/// Classifies a reqwest error as timeout, TLS or network. Never includes a body.
pub(crate) fn map_reqwest_error(e: &reqwest::Error, timeout_secs: u64) -> Error {
    if e.is_timeout() {
        return Error::Timeout { secs: timeout_secs };
    }
    let mut chain = Vec::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        chain.push(s.to_string());
        source = s.source();
    }
    let text = chain.join(": ");
    let lower = text.to_ascii_lowercase();
    if [
        "certificate",
        "tls",
        "handshake",
        "unknownissuer",
        "notvalidforname",
        "x509",
    ]
    .iter()
    .any(|needle| lower.contains(needle))
    {
        let detail = match tls_summary(&lower) {
            Some(summary) => format!("{summary} ({text})"),
            None => text,
        };
        return Error::Tls { detail };
    }
    if e.is_builder() {
        return Error::InvalidProfile { detail: text };
    }
    Error::Network { detail: text }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport(base: &str) -> Transport {
        Transport::new(&Profile::from_base_url(base).unwrap(), 1 << 20).unwrap()
    }

    #[test]
    fn absolute_targets_must_stay_on_the_origin() {
        let t = transport("https://api.example.com/v1/");
        assert_eq!(
            t.resolve("/api/echo/").unwrap().as_str(),
            "https://api.example.com/v1/api/echo/"
        );
        assert_eq!(
            t.resolve("https://api.example.com/other").unwrap().as_str(),
            "https://api.example.com/other"
        );
        for other in [
            "https://evil.example.com/x",
            "http://api.example.com/x",
            "https://api.example.com:444/x",
        ] {
            assert_eq!(
                t.resolve(other).unwrap_err().code(),
                "cross_origin",
                "{other}"
            );
        }
    }

    #[test]
    fn token_paths_are_recognised_on_the_resolved_url() {
        let mut profile = Profile::from_base_url("https://api.example.com/app/").unwrap();
        profile.registration_path = Some("/api/register".into());
        let t = Transport::new(&profile, 1 << 20).unwrap();
        let is_auth = |target: &str| t.is_auth_url(&t.resolve(target).unwrap());
        for target in [
            // relative, with and without slashes
            "/api/token/",
            "api/token",
            "/api/token",
            "/api/token//",
            "/api/token/refresh/",
            "/api/token/verify/",
            "/api/token/blacklist/",
            // configured without a trailing slash, asked with one
            "/api/register/",
            "/api/register",
            // query strings
            "/api/token/refresh/?x=1",
            "/api/token?next=/api/hello/",
            // absolute on the profile's origin
            "https://api.example.com/app/api/token/",
            "https://api.example.com/app/api/token/verify",
            "https://api.example.com/app/api/token/refresh/?a=b",
        ] {
            assert!(is_auth(target), "{target}");
        }
        for target in [
            "/api/hello/",
            "/api/token/x/",
            "/api/",
            "/",
            "/api/tokens/",
            "/api/hello/?next=/api/token/",
            // the token path without the base URL's path is another endpoint
            "https://api.example.com/api/token/",
            "https://api.example.com/app/api/hello/",
        ] {
            assert!(!is_auth(target), "{target}");
        }
        // Another origin never gets this far: `resolve` refuses it.
        assert_eq!(
            t.resolve("https://evil.example.com/app/api/token/")
                .unwrap_err()
                .code(),
            "cross_origin"
        );
        // Switched-off endpoints are ordinary paths.
        profile.verify_path = None;
        let t = Transport::new(&profile, 1 << 20).unwrap();
        for (target, reserved) in [
            ("/api/token/verify/", false),
            ("/api/token/", true),
            ("/api/hello/", false),
            ("https://api.example.com/app/api/token/refresh", true),
        ] {
            assert_eq!(
                t.is_auth_url(&t.resolve(target).unwrap()),
                reserved,
                "{target}"
            );
        }
    }

    #[test]
    fn reserved_paths_are_compared_as_the_server_routes_them() {
        let mut profile = Profile::from_base_url("https://api.example.com/").unwrap();
        profile.registration_path = Some("/api/register/".into());
        let t = Transport::new(&profile, 1 << 20).unwrap();
        let is_auth = |target: &str| t.is_auth_url(&t.resolve(target).unwrap());
        for target in [
            // percent-encoded letters (Django decodes the path once before routing)
            "/api/%74oken/",
            "/api/%74%6F%6B%65%6E/",
            "/api/%74%6f%6b%65%6e/refresh/",
            "/%61pi/token/verify/",
            "/api/token%2Fblacklist/",
            "/api/regist%65r",
            // dot segments, plain and encoded
            "/api/x/../token/",
            "/api/./token/refresh/",
            "/api/x/%2e%2e/token/",
            "/api/x/%2E%2E/token/",
            "/api/%2e/token/",
            "/../api/token/",
            // duplicate slashes anywhere
            "/api//token/",
            "//api/token/",
            "/api/token//refresh/",
            "https://api.example.com//api//token/",
        ] {
            assert!(is_auth(target), "{target} must be reserved");
        }
        for target in [
            // decoded once only: %2574 is `%74` on the server, not `t`
            "/api/%2574oken/",
            // Django's paths are case-sensitive
            "/API/token/",
            "/api/Token/",
            "/api/%54oken/",
            "/api/token/refresh/x/",
            "/api/x/token/",
            "/api/tok%20en/",
        ] {
            assert!(!is_auth(target), "{target} must not be reserved");
        }
    }

    #[test]
    fn a_ca_file_that_is_not_pem_is_a_profile_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "hello").unwrap();
        let mut profile = Profile::from_base_url("https://x.example").unwrap();
        profile.ca_cert_file = Some(path);
        assert_eq!(
            Transport::new(&profile, 1024).unwrap_err().code(),
            "invalid_profile"
        );
        profile.ca_cert_file = Some(dir.path().join("missing.pem"));
        assert_eq!(Transport::new(&profile, 1024).unwrap_err().code(), "io");
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_network_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let t = transport(&format!("http://127.0.0.1:{port}"));
        let url = t.endpoint("/api/token/").unwrap();
        let err = t
            .post_auth(url, Bytes::from_static(b"{}"), None)
            .await
            .unwrap_err();
        assert_eq!(err.code(), "network", "{err}");
    }
}
