//! Detection: which Django JWT stack a server runs, from its own answers to harmless requests
//! (`detect/probes.rs`: empty POSTs and GETs, never a password, a token or a cookie), so that
//! `profile add --detect` and the app's "Detect" save a profile that works unchanged.
//!
//! The rules are the fingerprints measured on the real packages
//! (`docs/reference/django-stacks.md`): which candidate sign-in endpoints exist and what an
//! empty POST's field errors name (djoser and simplejwt ask for the `USERNAME_FIELD` and the
//! password, dj-rest-auth for the password only, ninja-jwt with flat strings); dj-rest-auth's
//! refresh answering 401 to an empty body; its version by the slash rule (2.x redirects
//! `login` to `login/`); its cookie mode by what its logout says it misses; its MFA by
//! `mfa/verify/` answering; the header prefix by the `WWW-Authenticate` scheme of a protected
//! endpoint. What can only be learnt at sign-in is learnt there by the engine itself: a refresh
//! token set as a cookie (`cookies.rs`), the other usual token field spelling (`accept.rs`).
//! When a profile already names its own sign-in path (a custom view), only its paths are
//! probed: the login field, the refresh and logout fields, trailing slashes.

mod probes;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::profile::{Preset, Profile};
use crate::transport::Transport;
use probes::{login_field, only_field, Prober};

/// What detection found: the profile to save and, in words, why.
#[derive(Debug, Clone, Serialize)]
pub struct Detection {
    /// The detected settings on top of the given profile's server, CA, proxy and timeouts.
    pub profile: Profile,
    /// The preset the stack matched, when it matched one.
    pub preset: Option<String>,
    /// What was found, one fact per line, for the user.
    pub findings: Vec<String>,
    /// How many requests were sent.
    pub probes: usize,
}

/// Where dj-rest-auth is mounted in the wild: its docs' prefix first.
const DJ_REST_AUTH_PREFIXES: [&str; 4] =
    ["/dj-rest-auth", "/auth", "/api/auth", "/api/dj-rest-auth"];

/// Detects the stack behind `profile`'s base URL. A profile whose sign-in path is not
/// simplejwt's default is taken as a custom view: only its own paths are probed.
pub async fn detect(profile: &Profile) -> Result<Detection> {
    let mut prober = Prober {
        transport: Transport::new(profile, 64 * 1024)?,
        sent: 0,
    };
    let defaults = Profile::new(profile.base_url.clone());
    let mut out = Detection {
        profile: profile.clone(),
        preset: None,
        findings: Vec::new(),
        probes: 0,
    };
    let found = if profile.obtain_path != defaults.obtain_path && profile.preset.is_none() {
        custom_views(&mut prober, &mut out).await?
    } else {
        stacks(&mut prober, &mut out).await?
    };
    if !found {
        return Err(Error::NotSupported {
            detail: format!(
                "No Django JWT sign-in endpoint answered at {} (tried {}). If the API lives under a prefix, put it in the URL (…/api/); otherwise choose the stack's preset ({}) or give its sign-in, refresh and logout paths.",
                profile.base_url,
                out.findings.join("; "),
                Preset::ALL.map(Preset::name).join(", ")
            ),
        });
    }
    header_prefix(&mut prober, &mut out).await?;
    out.probes = prober.sent;
    out.profile.validate()?;
    Ok(out)
}

/// Tries the known stacks in turn; `false` when none answered.
async fn stacks(prober: &mut Prober, out: &mut Detection) -> Result<bool> {
    let password = out.profile.password_field.clone();
    let mut tried: Vec<String> = Vec::new();
    // djoser: simplejwt's views under /auth/jwt/.
    tried.push("/auth/jwt/create/".into());
    if let Some((path, answer)) = prober.find("/auth/jwt/create/").await? {
        if answer.asks_for(&password) {
            adopt(out, Preset::Djoser, &path);
            if let Some(field) = login_field(&answer, &password) {
                out.profile.login_field = field;
            }
            out.findings.push(format!(
                "djoser: {path} asks for {} and a password",
                out.profile.login_field
            ));
            out.findings.push("djoser has no JWT logout endpoint: signing out ends the session here, and the refresh token stays valid on the server until it expires".into());
            return Ok(true);
        }
    }
    for prefix in DJ_REST_AUTH_PREFIXES {
        let login = format!("{prefix}/login/");
        tried.push(login.clone());
        let Some((path, answer)) = prober.find(&login).await? else {
            continue;
        };
        let refresh = prober
            .post_empty(&format!("{prefix}/token/refresh/"))
            .await?;
        if answer.asks_for(&password) && answer.fields.len() == 1 && refresh.status == 401 {
            dj_rest_auth(prober, out, prefix, &path).await?;
            return Ok(true);
        }
    }
    tried.push("/api/token/pair".into());
    if let Some((path, answer)) = prober.find("/api/token/pair").await? {
        if answer.asks_for(&password) {
            adopt(out, Preset::NinjaJwt, &path);
            out.findings.push(format!(
                "django-ninja-jwt: {path} asks for a username and a password"
            ));
            let blacklist = prober.post_empty("/api/token/blacklist").await?;
            if blacklist.status == 400 {
                out.profile.blacklist_path = Some("/api/token/blacklist".into());
                out.findings
                    .push("sign-out blacklists at /api/token/blacklist".into());
            } else {
                out.findings.push(
                    "no /api/token/blacklist endpoint: signing out ends the session here only"
                        .into(),
                );
            }
            return Ok(true);
        }
    }
    tried.push("/api/token/".into());
    if let Some((path, answer)) = prober.find("/api/token/").await? {
        if answer.asks_for(&password) {
            adopt(out, Preset::Simplejwt, &path);
            if let Some(field) = login_field(&answer, &password) {
                out.profile.login_field = field;
            }
            out.findings.push(format!(
                "simplejwt: {path} asks for {} and a password",
                out.profile.login_field
            ));
            simplejwt_extras(prober, out).await?;
            return Ok(true);
        }
    }
    out.findings
        .push(format!("POST {{}} at {}", tried.join(", ")));
    Ok(false)
}

/// Applies `preset` and the sign-in path as the server routes it. A current-user path the
/// user gave stays when the preset has none (the header prefix is read from it).
fn adopt(out: &mut Detection, preset: Preset, obtain_path: &str) {
    let given_me = out.profile.me_path.take();
    preset.apply(&mut out.profile);
    if out.profile.me_path.is_none() {
        out.profile.me_path = given_me;
    }
    out.profile.obtain_path = obtain_path.to_owned();
    out.preset = Some(preset.name().to_owned());
}

/// dj-rest-auth at `prefix`: version, cookie mode, MFA.
async fn dj_rest_auth(
    prober: &mut Prober,
    out: &mut Detection,
    prefix: &str,
    login: &str,
) -> Result<()> {
    // 2.x routes `login/` only (a redirect without the slash); 3.x+ routes both.
    let bare = prober.get(&format!("{prefix}/login")).await?;
    let legacy = matches!(bare.status, 301 | 308);
    let logout = prober.post_empty(&format!("{prefix}/logout/")).await?;
    let cookie_mode = !legacy
        && logout.status == 401
        && logout
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("cookie"));
    let preset = match (legacy, cookie_mode) {
        (true, _) => Preset::DjRestAuthLegacy,
        (false, true) => Preset::DjRestAuthCookie,
        (false, false) => Preset::DjRestAuth,
    };
    adopt(out, preset, login);
    let moved = |path: &Option<String>| {
        path.as_ref()
            .map(|p| p.replacen("/dj-rest-auth", prefix, 1))
    };
    out.profile.refresh_path = out
        .profile
        .refresh_path
        .replacen("/dj-rest-auth", prefix, 1);
    out.profile.verify_path = moved(&out.profile.verify_path);
    out.profile.blacklist_path = moved(&out.profile.blacklist_path);
    out.profile.me_path = moved(&out.profile.me_path);
    out.findings.push(format!(
        "dj-rest-auth {} at {prefix}/: sign-in asks only for a password (a username or an e-mail goes with it)",
        if legacy { "before 3.0" } else { "3.0 or later" }
    ));
    if cookie_mode {
        out.findings.push("cookie mode: the logout view reads the refresh token from a cookie; Tessera keeps that cookie with the tokens in the keyring".into());
    }
    out.profile.mfa_verify_path = None;
    if !legacy {
        let mfa_path = format!("{prefix}/mfa/verify/");
        let mfa = prober.post_empty(&mfa_path).await?;
        if mfa.asks_for("ephemeral_token") {
            out.findings.push(format!("two-factor sign-in is available ({mfa_path}): accounts with it on are asked for a code"));
            out.profile.mfa_verify_path = Some(mfa_path);
        }
    }
    Ok(())
}

/// simplejwt's optional views: blacklist and verify, switched off when they are not there.
async fn simplejwt_extras(prober: &mut Prober, out: &mut Detection) -> Result<()> {
    if let Some(path) = out.profile.blacklist_path.clone() {
        out.profile.blacklist_path = prober.find(&path).await?.map(|(p, _)| p);
        if out.profile.blacklist_path.is_none() {
            out.findings.push(format!("no blacklist endpoint at {path}: signing out ends the session here, and the refresh token stays valid on the server until it expires"));
        }
    }
    if let Some(path) = out.profile.verify_path.clone() {
        out.profile.verify_path = prober.find(&path).await?.map(|(p, _)| p);
    }
    Ok(())
}

/// A profile that names its own views: each is probed where it is, for its fields and slash.
async fn custom_views(prober: &mut Prober, out: &mut Detection) -> Result<bool> {
    let password = out.profile.password_field.clone();
    let Some((obtain, answer)) = prober.find(&out.profile.obtain_path.clone()).await? else {
        out.findings
            .push(format!("POST {{}} at {}", out.profile.obtain_path));
        return Ok(false);
    };
    out.profile.obtain_path.clone_from(&obtain);
    match login_field(&answer, &password).or_else(|| named_in_detail(&answer)) {
        Some(field) => {
            out.findings.push(format!("custom sign-in view at {obtain}: it asks for {field} and {password}"));
            out.profile.login_field = field;
        }
        None => out.findings.push(format!(
            "custom sign-in view at {obtain} (answered {}); it did not name its fields, so the login field stays {:?}",
            answer.status, out.profile.login_field
        )),
    }
    if let Some((refresh, answer)) = prober.find(&out.profile.refresh_path.clone()).await? {
        if let Some(field) = only_field(&answer) {
            out.findings
                .push(format!("the refresh view at {refresh} reads {field:?}"));
            out.profile.refresh_request_field = field;
        }
        out.profile.refresh_path = refresh;
    }
    if let Some(path) = out.profile.blacklist_path.clone() {
        match prober.find(&path).await? {
            Some((logout, answer)) => {
                match only_field(&answer) {
                    Some(field) => {
                        out.findings.push(format!("the logout view at {logout} reads {field:?}"));
                        out.profile.logout_request_field = Some(field);
                    }
                    None => out.findings.push(format!("the logout view at {logout} did not name its field: sign-out sends the refresh token as both \"refresh\" and \"refresh_token\" and checks the server's answer")),
                }
                out.profile.blacklist_path = Some(logout);
            }
            None => out
                .findings
                .push(format!("nothing answers at the logout path {path}")),
        }
    }
    if let Some(path) = out.profile.verify_path.clone() {
        out.profile.verify_path = prober.find(&path).await?.map(|(p, _)| p);
    }
    Ok(true)
}

/// A hand-written view that answers `{"detail": "email and password are required."}` names its
/// login field in words only: `email` when the message speaks of an e-mail and not of a user
/// name, `username` for the reverse.
fn named_in_detail(answer: &probes::Answer) -> Option<String> {
    let detail = answer.detail.as_deref()?.to_ascii_lowercase();
    let email = detail.contains("email") || detail.contains("e-mail");
    let username = detail.contains("username") || detail.contains("user name");
    match (email, username) {
        (true, false) => Some("email".into()),
        (false, true) => Some("username".into()),
        _ => None,
    }
}

/// The `Authorization` scheme, from the `WWW-Authenticate` of the profile's protected
/// "current user" endpoint (DRF names its first `AUTH_HEADER_TYPES` entry there).
async fn header_prefix(prober: &mut Prober, out: &mut Detection) -> Result<()> {
    let Some(me) = out.profile.me_path.clone() else {
        return Ok(());
    };
    let answer = prober.get(&me).await?;
    if answer.missing() {
        out.findings
            .push(format!("no current-user endpoint at {me}"));
        out.profile.me_path = None;
        return Ok(());
    }
    if let (401, Some(scheme)) = (answer.status, answer.scheme) {
        if !scheme.eq_ignore_ascii_case(&out.profile.auth_header_type) {
            out.findings.push(format!(
                "the server wants \"Authorization: {scheme} <token>\" ({me} says so)"
            ));
        }
        out.profile.auth_header_type = scheme;
    }
    Ok(())
}
