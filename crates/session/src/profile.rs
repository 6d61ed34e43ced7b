//! A profile: one named backend and everything needed to talk to it.
//!
//! Profiles are non-secret settings shared by the app and the CLI (see `profiles_file.rs`).
//! Defaults are simplejwt's; custom Django login views (`access_token`/`refresh_token`, login by
//! `email`) are a matter of changing field names. Unknown fields are kept in `extra` so that a
//! newer or older app does not lose them on a round-trip. Setting an optional path to `null`
//! switches that endpoint off (missing means "use the default").
//!
//! Here: the [`Profile`] struct, its defaults and the URLs it derives. What a profile may say
//! (and the plain-http rule every URL obeys) is `profile/validate.rs`; the names ad-hoc
//! `--server URL` profiles get are `profile/ad_hoc.rs` ([`ad_hoc_name`]); the Django stacks a
//! profile can start from are `profile/preset.rs` ([`Preset`]).

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

use crate::claims::VerificationConfig;
use crate::error::{Error, Result};

mod ad_hoc;
mod preset;
#[cfg(test)]
mod tests;
mod validate;

pub use ad_hoc::ad_hoc_name;
pub use preset::Preset;
pub use validate::{check_transport_security, is_loopback, is_loopback_name};

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
    /// Field carrying the refresh token in refresh (and, unless `logout_request_field` says
    /// otherwise, blacklist) request bodies.
    #[serde(default = "defaults::refresh_field")]
    pub refresh_request_field: String,
    /// Access token field of the refresh answer when it differs from the login answer's
    /// (dj-rest-auth < 3.0: `access_token` at login, `access` at refresh); unset: `access_field`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal_access_field: Option<String>,
    /// Refresh token field of the refresh answer when it differs from the login answer's;
    /// unset: `refresh_field`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal_refresh_field: Option<String>,
    /// Field carrying the refresh token in the logout (blacklist) body when the logout view
    /// reads another one than the refresh view (a custom `/user/logout` reading
    /// `refresh_token`); unset: `refresh_request_field`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logout_request_field: Option<String>,
    /// The cookie carrying the refresh token when the server keeps it out of the body
    /// (dj-rest-auth's `JWT_AUTH_REFRESH_COOKIE` with `JWT_AUTH_HTTPONLY`). Unset: a cookie set
    /// by the sign-in answer whose value is a refresh token is recognised by itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_cookie: Option<String>,
    /// Second-factor endpoint (dj-rest-auth's `mfa/verify/`), posted the sign-in answer's
    /// `ephemeral_token` and the user's code when the server asks for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_verify_path: Option<String>,
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
    /// The preset the profile was made from (`djoser`, `dj-rest-auth`, ...; see `preset.rs`),
    /// shown to the user; the settings themselves are the fields above.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
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
            renewal_access_field: None,
            renewal_refresh_field: None,
            logout_request_field: None,
            refresh_cookie: None,
            mfa_verify_path: None,
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
            preset: None,
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
    /// registration, second factor) on the base URL, without trailing slashes: what
    /// [`crate::transport::Transport`] computes its reserved paths from, once.
    pub fn auth_endpoint_paths(&self) -> Vec<String> {
        [
            Some(&self.obtain_path),
            Some(&self.refresh_path),
            self.verify_path.as_ref(),
            self.blacklist_path.as_ref(),
            self.registration_path.as_ref(),
            self.mfa_verify_path.as_ref(),
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

    /// Token fields of the refresh answer: its own names when set, else the login answer's.
    pub(crate) fn renewal_fields(&self) -> (&str, &str) {
        (
            self.renewal_access_field
                .as_deref()
                .unwrap_or(&self.access_field),
            self.renewal_refresh_field
                .as_deref()
                .unwrap_or(&self.refresh_field),
        )
    }

    /// Request body field for the logout (blacklist) call.
    pub(crate) fn logout_body_field(&self) -> &str {
        self.logout_request_field
            .as_deref()
            .unwrap_or(&self.refresh_request_field)
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
