//! Presets: one word for the endpoints, field names and header of a Django JWT stack, so that a
//! profile for djoser, dj-rest-auth or django-ninja-jwt works without a flag per setting. The
//! values are what the real packages answer (measured: `docs/reference/django-stacks.md`); a
//! preset fills a profile, and any setting given after it wins.

use super::Profile;
use crate::error::{Error, Result};

/// A Django JWT stack with its URLs mounted where the package's docs mount them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// djangorestframework-simplejwt's own views at `/api/token/...` (the defaults).
    Simplejwt,
    /// djoser's JWT views at `/auth/jwt/...`; djoser has no JWT logout, so sign-out is local.
    Djoser,
    /// dj-rest-auth ≥ 3.0 with `USE_JWT` in body mode (`JWT_AUTH_HTTPONLY = False`) at
    /// `/dj-rest-auth/...`; sign-out blacklists through its logout view.
    DjRestAuth,
    /// dj-rest-auth ≥ 3.0 in cookie mode (`JWT_AUTH_HTTPONLY`, the default): the refresh token
    /// travels only as an HttpOnly cookie, kept with the tokens in the keyring.
    DjRestAuthCookie,
    /// dj-rest-auth before 3.0: `access_token`/`refresh_token` at login, `refresh` at refresh
    /// and logout.
    DjRestAuthLegacy,
    /// django-ninja-jwt's default controller at `/api/token/...` (no trailing slashes; no
    /// blacklist endpoint unless the project adds one).
    NinjaJwt,
}

impl Preset {
    /// Every preset, in the order the help lists them.
    pub const ALL: [Preset; 6] = [
        Preset::Simplejwt,
        Preset::Djoser,
        Preset::DjRestAuth,
        Preset::DjRestAuthCookie,
        Preset::DjRestAuthLegacy,
        Preset::NinjaJwt,
    ];

    /// The preset's one word.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Simplejwt => "simplejwt",
            Preset::Djoser => "djoser",
            Preset::DjRestAuth => "dj-rest-auth",
            Preset::DjRestAuthCookie => "dj-rest-auth-cookie",
            Preset::DjRestAuthLegacy => "dj-rest-auth-legacy",
            Preset::NinjaJwt => "ninja-jwt",
        }
    }

    /// The preset called `name`; an unknown name is `invalid_profile`, listing the known ones.
    pub fn parse(name: &str) -> Result<Self> {
        let wanted = name.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|p| p.name() == wanted)
            .ok_or_else(|| Error::InvalidProfile {
                detail: format!(
                    "unknown preset {name:?}: use one of {}",
                    Self::ALL.map(Preset::name).join(", ")
                ),
            })
    }

    /// Gives `profile` the stack's endpoints, field names and header (simplejwt's defaults for
    /// whatever the stack does not change); its server, timeouts, proxy, CA, verification,
    /// registration path and unknown fields stay. Records the preset's name.
    pub fn apply(self, profile: &mut Profile) {
        let kept = std::mem::replace(profile, Profile::new(profile.base_url.clone()));
        let mut next = Profile {
            registration_path: kept.registration_path,
            refresh_margin_secs: kept.refresh_margin_secs,
            request_timeout_secs: kept.request_timeout_secs,
            connect_timeout_secs: kept.connect_timeout_secs,
            ca_cert_file: kept.ca_cert_file,
            proxy: kept.proxy,
            allow_insecure_http: kept.allow_insecure_http,
            verification: kept.verification,
            extra: kept.extra,
            preset: Some(self.name().to_owned()),
            ..Profile::new(kept.base_url)
        };
        let mut endpoints =
            |[obtain, refresh, verify]: [&str; 3], blacklist: Option<&str>, me: Option<&str>| {
                next.obtain_path = obtain.to_owned();
                next.refresh_path = refresh.to_owned();
                next.verify_path = Some(verify.to_owned());
                next.blacklist_path = blacklist.map(str::to_owned);
                next.me_path = me.map(str::to_owned);
            };
        match self {
            Preset::Simplejwt => {}
            Preset::Djoser => endpoints(
                [
                    "/auth/jwt/create/",
                    "/auth/jwt/refresh/",
                    "/auth/jwt/verify/",
                ],
                None,
                Some("/auth/users/me/"),
            ),
            Preset::DjRestAuth | Preset::DjRestAuthCookie | Preset::DjRestAuthLegacy => endpoints(
                [
                    "/dj-rest-auth/login/",
                    "/dj-rest-auth/token/refresh/",
                    "/dj-rest-auth/token/verify/",
                ],
                Some("/dj-rest-auth/logout/"),
                Some("/dj-rest-auth/user/"),
            ),
            Preset::NinjaJwt => endpoints(
                ["/api/token/pair", "/api/token/refresh", "/api/token/verify"],
                None,
                None,
            ),
        }
        match self {
            Preset::DjRestAuth | Preset::DjRestAuthCookie => {
                // `dj_rest_auth.mfa`; a server without it never asks for a code.
                next.mfa_verify_path = Some("/dj-rest-auth/mfa/verify/".into());
            }
            Preset::DjRestAuthLegacy => {
                // Login answers `access_token`/`refresh_token`; refresh answers `access`/`refresh`
                // and refresh and logout read `refresh`.
                next.access_field = "access_token".into();
                next.refresh_field = "refresh_token".into();
                next.renewal_access_field = Some("access".into());
                next.renewal_refresh_field = Some("refresh".into());
            }
            _ => {}
        }
        *profile = next;
    }
}
