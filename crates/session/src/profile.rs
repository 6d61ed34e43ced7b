//! A profile: one named backend and everything needed to talk to it.
//!
//! Profiles are non-secret settings shared by the app and the CLI (see `profiles_file.rs`).
//! Defaults are simplejwt's; custom Django login views (`access_token`/`refresh_token`, login by
//! `email`) are a matter of changing field names. Unknown fields are kept in `extra` so that a
//! newer or older app does not lose them on a round-trip. Setting an optional path to `null`
//! switches that endpoint off (missing means "use the default").

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::{Host, Url};

use crate::claims::VerificationConfig;
use crate::error::{Error, Result};

/// One backend. See the module docs for the meaning of defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// The API's base URL; endpoint paths are appended to its path.
    pub base_url: Url,
    /// Token obtain endpoint (`TokenObtainPairView`, or the sliding obtain view).
    #[serde(default = "defaults::obtain_path")]
    pub obtain_path: String,
    /// Token refresh endpoint.
    #[serde(default = "defaults::refresh_path")]
    pub refresh_path: String,
    /// Token verify endpoint; `null` when the server has none.
    #[serde(default = "defaults::verify_path")]
    pub verify_path: Option<String>,
    /// Blacklist (logout) endpoint; `null` when the server has none.
    #[serde(default = "defaults::blacklist_path")]
    pub blacklist_path: Option<String>,
    /// A custom registration endpoint (e.g. a `RegisterView` taking name/email/password).
    #[serde(default)]
    pub registration_path: Option<String>,
    /// A "current user" endpoint (e.g. `/api/me/`) the app and CLI use to show who is signed in.
    #[serde(default)]
    pub me_path: Option<String>,
    /// The login field: the user model's USERNAME_FIELD (`username`, `email`, ...).
    #[serde(default = "defaults::login_field")]
    pub login_field: String,
    /// The password field.
    #[serde(default = "defaults::password_field")]
    pub password_field: String,
    /// Access token field in obtain/refresh responses (`access` or `access_token`).
    #[serde(default = "defaults::access_field")]
    pub access_field: String,
    /// Refresh token field in obtain/refresh responses (`refresh` or `refresh_token`).
    #[serde(default = "defaults::refresh_field")]
    pub refresh_field: String,
    /// Field carrying the refresh token in refresh and blacklist request bodies.
    #[serde(default = "defaults::refresh_field")]
    pub refresh_request_field: String,
    /// Sliding-token mode (simplejwt `TokenObtainSlidingView`/`TokenRefreshSlidingView`).
    #[serde(default)]
    pub sliding: bool,
    /// Sliding mode: token field in responses and in refresh bodies.
    #[serde(default = "defaults::sliding_token_field")]
    pub sliding_token_field: String,
    /// `Authorization: <type> <token>`; simplejwt AUTH_HEADER_TYPES (`Bearer`, `JWT`).
    #[serde(default = "defaults::auth_header_type")]
    pub auth_header_type: String,
    /// simplejwt USER_ID_CLAIM.
    #[serde(default = "defaults::user_id_claim")]
    pub user_id_claim: String,
    /// Refresh this long before `exp` (shrunk for short-lived tokens).
    #[serde(default = "defaults::refresh_margin_secs")]
    pub refresh_margin_secs: u64,
    /// Total time allowed for one request.
    #[serde(default = "defaults::request_timeout_secs")]
    pub request_timeout_secs: u64,
    /// Time allowed to connect.
    #[serde(default = "defaults::connect_timeout_secs")]
    pub connect_timeout_secs: u64,
    /// A PEM CA certificate (or bundle) trusted for this profile only, in addition to the system roots.
    #[serde(default)]
    pub ca_cert_file: Option<PathBuf>,
    /// A proxy URL for this profile (`http://`, `https://`, `socks5://` if supported).
    #[serde(default)]
    pub proxy: Option<String>,
    /// Allow plain `http://` to a host other than this machine. Off: credentials in clear text.
    #[serde(default)]
    pub allow_insecure_http: bool,
    /// Verify token signatures with a public key or JWKS.
    #[serde(default)]
    pub verification: Option<VerificationConfig>,
    /// Fields this version does not know; kept as they are.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

mod defaults {
    pub fn obtain_path() -> String {
        "/api/token/".into()
    }
    pub fn refresh_path() -> String {
        "/api/token/refresh/".into()
    }
    pub fn verify_path() -> Option<String> {
        Some("/api/token/verify/".into())
    }
    pub fn blacklist_path() -> Option<String> {
        Some("/api/token/blacklist/".into())
    }
    pub fn login_field() -> String {
        "username".into()
    }
    pub fn password_field() -> String {
        "password".into()
    }
    pub fn access_field() -> String {
        "access".into()
    }
    pub fn refresh_field() -> String {
        "refresh".into()
    }
    pub fn sliding_token_field() -> String {
        "token".into()
    }
    pub fn auth_header_type() -> String {
        "Bearer".into()
    }
    pub fn user_id_claim() -> String {
        "user_id".into()
    }
    pub fn refresh_margin_secs() -> u64 {
        60
    }
    pub fn request_timeout_secs() -> u64 {
        30
    }
    pub fn connect_timeout_secs() -> u64 {
        10
    }
}

impl Profile {
    /// A profile with simplejwt's defaults.
    pub fn new(base_url: Url) -> Self {
        Self {
            base_url,
            obtain_path: defaults::obtain_path(),
            refresh_path: defaults::refresh_path(),
            verify_path: defaults::verify_path(),
            blacklist_path: defaults::blacklist_path(),
            registration_path: None,
            me_path: None,
            login_field: defaults::login_field(),
            password_field: defaults::password_field(),
            access_field: defaults::access_field(),
            refresh_field: defaults::refresh_field(),
            refresh_request_field: defaults::refresh_field(),
            sliding: false,
            sliding_token_field: defaults::sliding_token_field(),
            auth_header_type: defaults::auth_header_type(),
            user_id_claim: defaults::user_id_claim(),
            refresh_margin_secs: defaults::refresh_margin_secs(),
            request_timeout_secs: defaults::request_timeout_secs(),
            connect_timeout_secs: defaults::connect_timeout_secs(),
            ca_cert_file: None,
            proxy: None,
            allow_insecure_http: false,
            verification: None,
            extra: Map::new(),
        }
    }

    /// Parses the base URL with `url` and builds a default profile.
    pub fn from_base_url(base_url: &str) -> Result<Self> {
        let url = Url::parse(base_url).map_err(|e| Error::InvalidProfile {
            detail: format!("{base_url:?} is not a URL ({e})"),
        })?;
        let profile = Self::new(url);
        profile.validate()?;
        Ok(profile)
    }

    /// The field names custom Django login views use: `email` + `password` in,
    /// `access_token`/`refresh_token` out, `refresh_token` on refresh and logout.
    pub fn with_custom_view_fields(mut self) -> Self {
        self.login_field = "email".into();
        self.access_field = "access_token".into();
        self.refresh_field = "refresh_token".into();
        self.refresh_request_field = "refresh_token".into();
        self
    }

    /// Checks everything that can be checked without the network.
    pub fn validate(&self) -> Result<()> {
        let invalid = |detail: String| Err(Error::InvalidProfile { detail });
        match self.base_url.scheme() {
            "https" | "http" => {}
            other => {
                return invalid(format!(
                    "the URL scheme must be https or http, not {other:?}"
                ))
            }
        }
        if self.base_url.host().is_none() {
            return invalid("the base URL has no host".into());
        }
        if !self.base_url.username().is_empty() || self.base_url.password().is_some() {
            return invalid("the base URL must not contain a user name or password".into());
        }
        check_transport_security(&self.base_url, self.allow_insecure_http)?;
        let paths = [
            ("obtain_path", Some(&self.obtain_path)),
            ("refresh_path", Some(&self.refresh_path)),
            ("verify_path", self.verify_path.as_ref()),
            ("blacklist_path", self.blacklist_path.as_ref()),
            ("registration_path", self.registration_path.as_ref()),
        ];
        for (name, path) in paths {
            if let Some(path) = path {
                if path.contains("://") || path.starts_with("//") {
                    return invalid(format!("{name} must be a path on the base URL, not a URL"));
                }
            }
        }
        let fields = [
            ("login_field", &self.login_field),
            ("password_field", &self.password_field),
            ("access_field", &self.access_field),
            ("refresh_field", &self.refresh_field),
            ("refresh_request_field", &self.refresh_request_field),
            ("sliding_token_field", &self.sliding_token_field),
            ("user_id_claim", &self.user_id_claim),
        ];
        for (name, value) in fields {
            if value.trim().is_empty() {
                return invalid(format!("{name} must not be empty"));
            }
        }
        if self.auth_header_type.is_empty()
            || !self
                .auth_header_type
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return invalid(format!(
                "auth_header_type must be one word such as Bearer or JWT, not {:?}",
                self.auth_header_type
            ));
        }
        if self.request_timeout_secs == 0 || self.connect_timeout_secs == 0 {
            return invalid("timeouts must be at least one second".into());
        }
        if let Some(proxy) = &self.proxy {
            Url::parse(proxy).map_err(|e| Error::InvalidProfile {
                detail: format!(
                    "the proxy {:?} is not a URL ({e})",
                    crate::redact::url_credentials(proxy)
                ),
            })?;
        }
        Ok(())
    }

    /// The full URL of an endpoint path: the base URL's path followed by `path`.
    /// `https://h/app` + `/api/token/` → `https://h/app/api/token/`.
    pub fn endpoint(&self, path: &str) -> Result<Url> {
        let mut url = self.base_url.clone();
        let (path_part, query) = match path.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path, None),
        };
        let base = url.path().trim_end_matches('/').to_owned();
        let joined = format!("{base}/{}", path_part.trim_start_matches('/'));
        url.set_path(&joined);
        url.set_query(query);
        url.set_fragment(None);
        Ok(url)
    }

    /// The paths of the token endpoints that are configured (obtain, refresh, verify, blacklist,
    /// registration) on the base URL, without trailing slashes. Their answers are tokens, so the
    /// engine's request path refuses them (`reserved_endpoint`): the transport computes these
    /// once and checks each resolved target against them
    /// ([`crate::transport::Transport::is_auth_url`]).
    pub fn auth_endpoint_paths(&self) -> Vec<String> {
        [
            Some(&self.obtain_path),
            Some(&self.refresh_path),
            self.verify_path.as_ref(),
            self.blacklist_path.as_ref(),
            self.registration_path.as_ref(),
        ]
        .into_iter()
        .flatten()
        .filter_map(|path| self.endpoint(path).ok())
        .map(|url| url.path().trim_end_matches('/').to_owned())
        .collect()
    }

    /// The refresh margin, as configured.
    pub fn refresh_margin(&self) -> Duration {
        Duration::from_secs(self.refresh_margin_secs)
    }

    /// Response field for the access (or sliding) token.
    pub(crate) fn response_access_field(&self) -> &str {
        if self.sliding {
            &self.sliding_token_field
        } else {
            &self.access_field
        }
    }

    /// Request body field for the refresh call.
    pub(crate) fn refresh_body_field(&self) -> &str {
        if self.sliding {
            &self.sliding_token_field
        } else {
            &self.refresh_request_field
        }
    }
}

/// The profile name an ad-hoc `--server URL` is known by (in the app and the CLI alike, so both
/// find the same keyring entry): a readable prefix (host and explicit port, e.g.
/// `127.0.0.1-8000`, `staging.example.com`) and a hash of the whole base URL, e.g.
/// `127.0.0.1-8000-3f2a9c01b7de`.
///
/// The hash (64-bit FNV-1a, folded to 48 bits, 12 hex digits) covers scheme, host, port (the
/// scheme's default when none is given) and path, all as the URL parser normalised them, so
/// `http://localhost:18086` and `https://localhost-18086/` (the same prefix) get different names,
/// and so do two paths on one host: a session is bound to its base URL. Query and fragment are
/// left out (no endpoint uses them). The name always passes
/// [`crate::profiles_file::validate_profile_name`].
pub fn ad_hoc_name(url: &Url) -> String {
    const HASH_DIGITS: usize = 12;
    let host = url.host_str().unwrap_or("server");
    let key = format!(
        "{}://{}:{}{}",
        url.scheme(),
        host,
        url.port_or_known_default().map_or(0, u32::from),
        url.path()
    );
    let readable_host = host.trim_matches(|c| c == '[' || c == ']');
    let raw = match url.port() {
        Some(port) => format!("{readable_host}-{port}"),
        None => readable_host.to_owned(),
    };
    let prefix: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let prefix = prefix.trim_start_matches('.');
    let prefix: String = prefix.chars().take(64 - 1 - HASH_DIGITS).collect();
    let prefix = if prefix.is_empty() { "server" } else { &prefix };
    format!(
        "{prefix}-{:0width$x}",
        fnv1a_48(key.as_bytes()),
        width = HASH_DIGITS
    )
}

/// 64-bit FNV-1a, xor-folded to 48 bits: a stable, dependency-free name hash (not a security
/// measure: names are not secrets and a collision needs a deliberately chosen second URL).
fn fnv1a_48(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash ^ (hash >> 48)) & 0xffff_ffff_ffff
}

/// Whether the URL's host is this machine: `localhost` and `*.localhost` (RFC 6761; the
/// transport resolves these names to 127.0.0.1 / ::1 itself, never through DNS),
/// 127.0.0.0/8 and ::1.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => is_loopback_name(d),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// Whether a domain name is `localhost` or under it (`api.localhost`, `localhost.`), any case.
pub fn is_loopback_name(domain: &str) -> bool {
    let d = domain.trim_end_matches('.').to_ascii_lowercase();
    d == "localhost" || d.ends_with(".localhost")
}

/// Refuses `http://` to a non-loopback host unless explicitly allowed.
pub fn check_transport_security(url: &Url, allow_insecure_http: bool) -> Result<()> {
    if url.scheme() == "http" && !allow_insecure_http && !is_loopback(url) {
        return Err(Error::InsecureUrl {
            host: url.host_str().unwrap_or_default().to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn token_endpoints_are_recognised_in_any_spelling() {
        let mut p = Profile::from_base_url("https://api.example.com/app/").unwrap();
        p.registration_path = Some("/api/register/".into());
        let reserved = |p: &Profile, target: &str| {
            let t = crate::transport::Transport::new(p, 1 << 20).unwrap();
            t.is_auth_url(&t.resolve(target).unwrap())
        };
        for target in [
            "/api/token/",
            "api/token",
            "/api/token/refresh/?x=1",
            "/api/token/blacklist/",
            "/api/register/",
            "https://api.example.com/app/api/token/verify/",
        ] {
            assert!(reserved(&p, target), "{target}");
        }
        for target in [
            "/api/hello/",
            "/api/token/x/",
            "/api/",
            "https://api.example.com/api/token/",
        ] {
            assert!(!reserved(&p, target), "{target}");
        }
        p.verify_path = None;
        assert!(!reserved(&p, "/api/token/verify/"));
    }

    fn name(url: &str) -> String {
        ad_hoc_name(&Url::parse(url).unwrap())
    }

    #[test]
    fn ad_hoc_names_are_valid_profile_names() {
        for (url, prefix) in [
            ("http://127.0.0.1:8000/", "127.0.0.1-8000-"),
            ("https://staging.example.com/api/", "staging.example.com-"),
            ("http://[::1]:9/", "--1-9-"),
            ("https://xn--bcher-kva.example/", "xn--bcher-kva.example-"),
            (
                "https://a-very-long-host-name-that-goes-on.and-on.and-on.example.com:65535/x/y/z/",
                "a-very-long-host-name-that-goes-on.and-on.and-on.e",
            ),
        ] {
            let got = name(url);
            assert!(got.starts_with(prefix), "{url}: {got}");
            crate::profiles_file::validate_profile_name(&got).unwrap();
        }
    }

    #[test]
    fn ad_hoc_names_do_not_collide_across_scheme_host_port_and_path() {
        for (a, b) in [
            ("http://localhost:18086", "https://localhost-18086/"),
            ("http://localhost:18086/", "https://localhost:18086/"),
            ("https://h.example/", "https://h.example:8443/"),
            ("https://h.example/", "http://h.example/"),
            ("https://h.example/app/", "https://h.example/other/"),
            ("https://h.example/app", "https://h.example/app/"),
            ("https://h.example/", "https://h.example:80/"),
            ("http://[::1]:9/", "http://--1:9/"),
            ("https://a.b/", "https://a-b/"),
        ] {
            assert_ne!(name(a), name(b), "{a} and {b}");
        }
    }

    #[test]
    fn ad_hoc_names_are_stable_for_the_same_base_url() {
        assert_eq!(
            name("https://h.example/app/"),
            name("https://h.example/app/")
        );
        // The same URL in other spellings the URL parser normalises.
        assert_eq!(
            name("HTTPS://H.Example:443/app/"),
            name("https://h.example/app/")
        );
        assert_eq!(name("http://localhost:80/"), name("http://localhost/"));
        assert_eq!(name("https://h.example"), name("https://h.example/"));
        // Query and fragment are no part of the base URL the session is bound to.
        assert_eq!(name("https://h.example/?x=1#y"), name("https://h.example/"));
        assert_eq!(
            name("http://127.0.0.1:8000/"),
            name("http://127.0.0.1:8000")
        );
        // Pinned: the app and the CLI (and older and newer versions) must agree on it.
        assert_eq!(
            name("http://127.0.0.1:8000/"),
            "127.0.0.1-8000-a224b92069e6"
        );
    }

    proptest::proptest! {
        #[test]
        fn ad_hoc_names_always_validate(
            scheme in proptest::sample::select(vec!["http", "https"]),
            host in "[a-z0-9][a-z0-9.-]{0,80}",
            port in proptest::option::of(1u16..),
            path in "(/[a-zA-Z0-9._~%-]{0,12}){0,4}/?",
        ) {
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            if let Ok(url) = Url::parse(&format!("{scheme}://{host}{port}{path}")) {
                let got = ad_hoc_name(&url);
                proptest::prop_assert!(
                    crate::profiles_file::validate_profile_name(&got).is_ok(),
                    "{url} -> {got}"
                );
            }
        }
    }

    #[test]
    fn minimal_json_gets_simplejwt_defaults() {
        let p: Profile =
            serde_json::from_value(json!({"base_url": "https://api.example.com"})).unwrap();
        assert_eq!(
            p,
            Profile::new(Url::parse("https://api.example.com").unwrap())
        );
        assert_eq!(p.obtain_path, "/api/token/");
        assert_eq!(p.verify_path.as_deref(), Some("/api/token/verify/"));
        assert_eq!(p.auth_header_type, "Bearer");
        p.validate().unwrap();
    }

    #[test]
    fn null_switches_an_optional_endpoint_off_and_survives_round_trip() {
        let p: Profile = serde_json::from_value(json!({
            "base_url": "https://api.example.com", "blacklist_path": null, "future_option": {"x": 1}
        }))
        .unwrap();
        assert_eq!(p.blacklist_path, None);
        let again: Profile = serde_json::from_value(serde_json::to_value(&p).unwrap()).unwrap();
        assert_eq!(again.blacklist_path, None);
        assert_eq!(again.extra["future_option"], json!({"x": 1}));
    }

    #[test]
    fn endpoints_keep_the_base_path() {
        let p = Profile::from_base_url("https://h.example/app/").unwrap();
        assert_eq!(
            p.endpoint("/api/token/").unwrap().as_str(),
            "https://h.example/app/api/token/"
        );
        let p = Profile::from_base_url("https://h.example").unwrap();
        assert_eq!(
            p.endpoint("api/echo/?a=1").unwrap().as_str(),
            "https://h.example/api/echo/?a=1"
        );
    }

    #[test]
    fn plain_http_only_to_loopback_unless_allowed() {
        for ok in [
            "http://localhost:8000",
            "http://127.0.0.1:1",
            "http://[::1]:80",
            "https://example.com",
        ] {
            Profile::from_base_url(ok).unwrap();
        }
        let err = Profile::from_base_url("http://example.com").unwrap_err();
        assert_eq!(err.code(), "insecure_url");
        assert!(err.to_string().contains("example.com"));
        let mut p = Profile::new(Url::parse("http://10.0.0.5:8000").unwrap());
        assert_eq!(p.validate().unwrap_err().code(), "insecure_url");
        p.allow_insecure_http = true;
        p.validate().unwrap();
    }

    #[test]
    fn rejects_nonsense() {
        assert_eq!(
            Profile::from_base_url("ftp://x").unwrap_err().code(),
            "invalid_profile"
        );
        assert_eq!(
            Profile::from_base_url("not a url").unwrap_err().code(),
            "invalid_profile"
        );
        assert_eq!(
            Profile::from_base_url("https://user:pw@x.example")
                .unwrap_err()
                .code(),
            "invalid_profile"
        );
        let mut p = Profile::from_base_url("https://x.example").unwrap();
        p.auth_header_type = "Bearer x".into();
        assert_eq!(p.validate().unwrap_err().code(), "invalid_profile");
        p.auth_header_type = "JWT".into();
        p.refresh_path = "https://evil.example/refresh/".into();
        assert_eq!(p.validate().unwrap_err().code(), "invalid_profile");
    }

    #[test]
    fn custom_view_preset() {
        let p = Profile::from_base_url("https://x.example")
            .unwrap()
            .with_custom_view_fields();
        assert_eq!(
            (
                p.login_field.as_str(),
                p.access_field.as_str(),
                p.refresh_request_field.as_str()
            ),
            ("email", "access_token", "refresh_token")
        );
    }
}
