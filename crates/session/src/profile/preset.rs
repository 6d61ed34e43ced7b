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
    /// dj-rest-auth before 3.0: `access_token`/`refresh_token` at login, `refresh` at refresh
    /// and logout.
    DjRestAuthLegacy,
    /// django-ninja-jwt's default controller at `/api/token/...` (no trailing slashes; no
    /// blacklist endpoint unless the project adds one).
    NinjaJwt,
}

impl Preset {
    /// Every preset, in the order the help lists them.
    pub const ALL: [Preset; 5] = [
        Preset::Simplejwt,
        Preset::Djoser,
        Preset::DjRestAuth,
        Preset::DjRestAuthLegacy,
        Preset::NinjaJwt,
    ];

    /// The preset's one word.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Simplejwt => "simplejwt",
            Preset::Djoser => "djoser",
            Preset::DjRestAuth => "dj-rest-auth",
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

    /// Sets the stack's endpoints, field names and header on `profile` (its server, timeouts,
    /// proxy, CA and verification stay) and records the preset's name.
    pub fn apply(self, profile: &mut Profile) {
        let mut fresh = Profile::new(profile.base_url.clone());
        let set = |p: &mut Profile, paths: [&str; 3], blacklist: Option<&str>, me: Option<&str>| {
            p.obtain_path = paths[0].to_owned();
            p.refresh_path = paths[1].to_owned();
            p.verify_path = Some(paths[2].to_owned());
            p.blacklist_path = blacklist.map(str::to_owned);
            p.me_path = me.map(str::to_owned);
        };
        match self {
            Preset::Simplejwt => {}
            Preset::Djoser => set(
                &mut fresh,
                [
                    "/auth/jwt/create/",
                    "/auth/jwt/refresh/",
                    "/auth/jwt/verify/",
                ],
                None,
                Some("/auth/users/me/"),
            ),
            Preset::DjRestAuth | Preset::DjRestAuthLegacy => set(
                &mut fresh,
                [
                    "/dj-rest-auth/login/",
                    "/dj-rest-auth/token/refresh/",
                    "/dj-rest-auth/token/verify/",
                ],
                Some("/dj-rest-auth/logout/"),
                Some("/dj-rest-auth/user/"),
            ),
            Preset::NinjaJwt => set(
                &mut fresh,
                ["/api/token/pair", "/api/token/refresh", "/api/token/verify"],
                None,
                None,
            ),
        }
        if self == Preset::DjRestAuthLegacy {
            fresh.access_field = "access_token".into();
            fresh.refresh_field = "refresh_token".into();
        }
        let stack = [
            (&mut profile.obtain_path, fresh.obtain_path),
            (&mut profile.refresh_path, fresh.refresh_path),
            (&mut profile.login_field, fresh.login_field),
            (&mut profile.password_field, fresh.password_field),
            (&mut profile.access_field, fresh.access_field),
            (&mut profile.refresh_field, fresh.refresh_field),
            (
                &mut profile.refresh_request_field,
                fresh.refresh_request_field,
            ),
            (&mut profile.auth_header_type, fresh.auth_header_type),
            (&mut profile.user_id_claim, fresh.user_id_claim),
        ];
        for (target, value) in stack {
            *target = value;
        }
        profile.verify_path = fresh.verify_path;
        profile.blacklist_path = fresh.blacklist_path;
        profile.me_path = fresh.me_path;
        profile.sliding = false;
        profile.preset = Some(self.name().to_owned());
    }
}
