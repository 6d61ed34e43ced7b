//! Real-package Django stacks (`tests/django/stacks/<stack>`): djoser, dj-rest-auth 7.2 and
//! 2.2.8, django-ninja-jwt and the "simplejwt + custom views" tutorial, each a small project in
//! its own virtualenv (`.venv-stacks/<stack>`, made by `bash scripts/setup.sh test`).
//!
//! They exist so client tests meet the packages' real wire formats (paths, field names,
//! cookies, MFA) instead of a re-implementation. [`TestServer::start_stack`] starts one through
//! `tests/django/serve.py`; every stack has the same `/_test/` controls as the other backends,
//! and a protected echo endpoint ([`Stack::echo_path`]) answering
//! `{"user": <username>, "body": <JSON body>}`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context as _};
use serde_json::{json, Value};

use crate::binaries::workspace_root;
use crate::options::{ServerOptions, SigningAlgorithm};

/// One real-package Django JWT stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stack {
    /// djoser 2.3.5 (simplejwt's views under `/auth/jwt/`).
    Djoser,
    /// dj-rest-auth 7.2.0 (+ `dj_rest_auth.mfa`), mounted at `/dj-rest-auth/`.
    DjRestAuth,
    /// dj-rest-auth 2.2.8, mounted at `/dj-rest-auth/` (trailing slashes required).
    DjRestAuthLegacy,
    /// django-ninja-jwt 5.4.5, `NinjaJWTDefaultController` at `/api/` (no trailing slashes).
    NinjaJwt,
    /// simplejwt + hand-written `/user/login` (email) and `/user/logout` views.
    Tutorial,
}

impl Stack {
    pub const ALL: [Stack; 5] = [
        Stack::Djoser,
        Stack::DjRestAuth,
        Stack::DjRestAuthLegacy,
        Stack::NinjaJwt,
        Stack::Tutorial,
    ];

    /// The directory name under `tests/django/stacks/` and `.venv-stacks/`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Djoser => "djoser",
            Self::DjRestAuth => "dj_rest_auth",
            Self::DjRestAuthLegacy => "dj_rest_auth_legacy",
            Self::NinjaJwt => "ninja_jwt",
            Self::Tutorial => "tutorial",
        }
    }

    /// `POST`: username (tutorial: email) + password.
    pub fn login_path(self) -> &'static str {
        match self {
            Self::Djoser => "/auth/jwt/create/",
            Self::DjRestAuth | Self::DjRestAuthLegacy => "/dj-rest-auth/login/",
            Self::NinjaJwt => "/api/token/pair",
            Self::Tutorial => "/user/login",
        }
    }

    /// `POST {"refresh": ...}` (dj-rest-auth cookie mode: the refresh cookie, empty body).
    pub fn refresh_path(self) -> &'static str {
        match self {
            Self::Djoser => "/auth/jwt/refresh/",
            Self::DjRestAuth | Self::DjRestAuthLegacy => "/dj-rest-auth/token/refresh/",
            Self::NinjaJwt => "/api/token/refresh",
            Self::Tutorial => "/api/token/refresh/",
        }
    }

    /// `POST {"token": ...}`; the tutorial has none.
    pub fn verify_path(self) -> Option<&'static str> {
        match self {
            Self::Djoser => Some("/auth/jwt/verify/"),
            Self::DjRestAuth | Self::DjRestAuthLegacy => Some("/dj-rest-auth/token/verify/"),
            Self::NinjaJwt => Some("/api/token/verify"),
            Self::Tutorial => None,
        }
    }

    /// The blacklisting logout; djoser and ninja-jwt's default controller have none.
    pub fn logout_path(self) -> Option<&'static str> {
        match self {
            Self::Djoser | Self::NinjaJwt => None,
            Self::DjRestAuth | Self::DjRestAuthLegacy => Some("/dj-rest-auth/logout/"),
            Self::Tutorial => Some("/user/logout"),
        }
    }

    /// The body field logout reads the refresh token from (dj-rest-auth 7.2 cookie mode reads
    /// the refresh cookie instead).
    pub fn logout_field(self) -> Option<&'static str> {
        match self {
            Self::Djoser | Self::NinjaJwt => None,
            Self::DjRestAuth | Self::DjRestAuthLegacy => Some("refresh"),
            Self::Tutorial => Some("refresh_token"),
        }
    }

    /// `GET`, protected: the current user.
    pub fn me_path(self) -> &'static str {
        match self {
            Self::Djoser => "/auth/users/me/",
            Self::DjRestAuth | Self::DjRestAuthLegacy => "/dj-rest-auth/user/",
            Self::NinjaJwt => "/api/me",
            Self::Tutorial => "/user/me",
        }
    }

    /// `POST`, protected: answers `{"user": <username>, "body": <JSON body>}`, 401 otherwise.
    pub fn echo_path(self) -> &'static str {
        match self {
            Self::NinjaJwt => "/api/echo",
            _ => "/api/echo/",
        }
    }

    /// `POST {"ephemeral_token", "code"}` (dj-rest-auth 7.2 with MFA on only).
    pub fn mfa_verify_path(self) -> Option<&'static str> {
        (self == Self::DjRestAuth).then_some("/dj-rest-auth/mfa/verify/")
    }

    /// The JSON body that signs `username` in (the tutorial logs in by `<username>@example.com`).
    pub fn login_body(self, username: &str, password: &str) -> Value {
        match self {
            Self::Tutorial => {
                json!({"email": format!("{username}@example.com"), "password": password})
            }
            _ => json!({"username": username, "password": password}),
        }
    }

    /// The access token's key in the login answer.
    pub fn login_access_field(self) -> &'static str {
        match self {
            Self::DjRestAuthLegacy | Self::Tutorial => "access_token",
            _ => "access",
        }
    }

    /// The refresh token's key in the login answer (`""` there in cookie mode).
    pub fn login_refresh_field(self) -> &'static str {
        match self {
            Self::DjRestAuthLegacy | Self::Tutorial => "refresh_token",
            _ => "refresh",
        }
    }

    /// Whether [`StackOptions::cookie_mode`] / `csrf` apply (dj-rest-auth only).
    pub fn supports_cookie_mode(self) -> bool {
        matches!(self, Self::DjRestAuth | Self::DjRestAuthLegacy)
    }

    /// Whether [`StackOptions::auth_header_type`] applies (the DRF stacks; ninja's JWTAuth
    /// accepts `Bearer` only).
    pub fn supports_auth_header_type(self) -> bool {
        self != Self::NinjaJwt
    }

    /// `tests/django/stacks/<name>`.
    pub fn project_dir(self) -> PathBuf {
        workspace_root()
            .join("tests")
            .join("django")
            .join("stacks")
            .join(self.name())
    }
}

impl fmt::Display for Stack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Stack-specific settings. `Default`: body mode, the dj-rest-auth docs' cookie names
/// (`my-app-auth` / `my-refresh-token`, used only in cookie mode), no CSRF, no MFA, the
/// package's MFA timeout (300 s), `Bearer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackOptions {
    /// dj-rest-auth: `JWT_AUTH_COOKIE` + `JWT_AUTH_REFRESH_COOKIE` with `JWT_AUTH_HTTPONLY=True`
    /// (7.2 then answers `"refresh": ""` and sends the refresh token only as a cookie).
    /// Off: `JWT_AUTH_HTTPONLY=False`, no cookie names, tokens in the body.
    pub cookie_mode: bool,
    /// `JWT_AUTH_COOKIE` in cookie mode.
    pub access_cookie: String,
    /// `JWT_AUTH_REFRESH_COOKIE` in cookie mode.
    pub refresh_cookie: String,
    /// dj-rest-auth: `JWT_AUTH_COOKIE_USE_CSRF=True`, and (7.2) `SessionAuthentication` after
    /// `JWTCookieAuthentication`, so that a request with the session cookie must pass CSRF.
    pub csrf: bool,
    /// dj-rest-auth 7.2: turn MFA on and enrol the first user with this base32 TOTP secret
    /// (SHA1, 6 digits, 30 s); see [`TestServer::recovery_codes`].
    pub mfa_totp_secret: Option<String>,
    /// dj-rest-auth 7.2: `MFA_EPHEMERAL_TOKEN_TIMEOUT`.
    pub mfa_ephemeral_timeout_secs: Option<u64>,
    /// DRF stacks: `SIMPLE_JWT["AUTH_HEADER_TYPES"] = (this,)`, e.g. `"JWT"`.
    pub auth_header_type: Option<String>,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            cookie_mode: false,
            access_cookie: "my-app-auth".to_owned(),
            refresh_cookie: "my-refresh-token".to_owned(),
            csrf: false,
            mfa_totp_secret: None,
            mfa_ephemeral_timeout_secs: None,
            auth_header_type: None,
        }
    }
}

impl StackOptions {
    pub(crate) fn check(&self, stack: Stack, options: &ServerOptions) -> anyhow::Result<()> {
        if (self.cookie_mode || self.csrf) && !stack.supports_cookie_mode() {
            bail!("{stack}: cookie mode and CSRF are dj-rest-auth settings");
        }
        if self.auth_header_type.is_some() && !stack.supports_auth_header_type() {
            bail!("{stack}: the header type is fixed (ninja-jwt's JWTAuth accepts Bearer only)");
        }
        if (self.mfa_totp_secret.is_some() || self.mfa_ephemeral_timeout_secs.is_some())
            && stack != Stack::DjRestAuth
        {
            bail!("{stack}: MFA is a dj-rest-auth 7.2 feature");
        }
        if let Some(secret) = &self.mfa_totp_secret {
            let base32 = |c: char| c.is_ascii_alphabetic() || ('2'..='7').contains(&c);
            if secret.is_empty() || !secret.chars().all(base32) {
                bail!("the MFA TOTP secret must be unpadded base32, got {secret:?}");
            }
            if options.users.is_empty() {
                bail!("MFA needs a user to enrol: ServerOptions::users is empty");
            }
        }
        if options.algorithm != SigningAlgorithm::Hs256 {
            bail!("{stack}: the stacks sign with HS256 only");
        }
        Ok(())
    }
}

/// The `serve.py` command line and environment for one stack.
pub(crate) fn stack_command(
    stack: Stack,
    stack_options: &StackOptions,
    options: &ServerOptions,
    database: &Path,
    port: u16,
    secret: &str,
) -> anyhow::Result<Command> {
    let flag = |on: bool| if on { "1" } else { "0" };
    let mut command = Command::new(stack_python(stack)?);
    command
        .arg(
            workspace_root()
                .join("tests")
                .join("django")
                .join("serve.py"),
        )
        .arg("--project")
        .arg(stack.project_dir())
        .args(["--settings", "stack_site.settings"])
        .args(["--email-domain", "example.com"])
        .args(["--port", &port.to_string()])
        .arg("--database")
        .arg(database)
        .arg("--exit-on-stdin-eof")
        .envs(options.django_env())
        .env("TESSERA_SECRET_KEY", secret)
        .env(
            "TESSERA_JWT_MODE",
            if stack_options.cookie_mode {
                "cookie"
            } else {
                "body"
            },
        )
        .env("TESSERA_JWT_ACCESS_COOKIE", &stack_options.access_cookie)
        .env("TESSERA_JWT_REFRESH_COOKIE", &stack_options.refresh_cookie)
        .env("TESSERA_JWT_COOKIE_USE_CSRF", flag(stack_options.csrf))
        .env_remove("DJANGO_SETTINGS_MODULE")
        .env_remove("TESSERA_MFA_TOTP")
        .env_remove("TESSERA_AUTH_HEADER_TYPE")
        .env_remove("TESSERA_MFA_EPHEMERAL_TOKEN_TIMEOUT");
    for (name, password) in &options.users {
        command.arg("--user").arg(format!("{name}:{password}"));
    }
    if let Some(header) = &stack_options.auth_header_type {
        command.env("TESSERA_AUTH_HEADER_TYPE", header);
    }
    if let Some(secret) = &stack_options.mfa_totp_secret {
        let (user, _) = options
            .users
            .first()
            .context("MFA needs a user to enrol: ServerOptions::users is empty")?;
        command.env("TESSERA_MFA_TOTP", format!("{user}:{secret}"));
    }
    if let Some(timeout) = stack_options.mfa_ephemeral_timeout_secs {
        command.env("TESSERA_MFA_EPHEMERAL_TOKEN_TIMEOUT", timeout.to_string());
    }
    Ok(command)
}

/// The Python of one stack's virtualenv: `<workspace>/.venv-stacks/<stack>/bin/python`, or
/// under `$TESSERA_STACK_VENVS/<stack>/` when that is set.
pub fn stack_python(stack: Stack) -> anyhow::Result<PathBuf> {
    let root = std::env::var_os("TESSERA_STACK_VENVS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv-stacks"));
    let venv = root.join(stack.name());
    let python = if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    };
    if !python.exists() {
        bail!(
            "no virtualenv for the {stack} stack at {}: run `bash scripts/setup.sh test` (it \
             creates .venv-stacks/<stack> from tests/django/stacks/<stack>/requirements.txt)",
            venv.display()
        );
    }
    Ok(python)
}
