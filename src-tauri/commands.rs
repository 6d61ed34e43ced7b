//! Tauri commands: the only door between the webview and Rust. Each command takes managed
//! state, calls one engine API and maps its error. None returns a token or a password: the
//! password comes in once, on sign-in or sign-up, and is wrapped (zeroized on drop) at once.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;
use tauri::{AppHandle, Runtime, State};
use tessera_session::profiles_file::validate_profile_name;
use tessera_session::{
    header, hints, pretty, probe, redact, ApiRequest, LogoutOutcome, Method, Password, Profile,
    ProfilesFile, Registration, SessionStatus,
};

use crate::error::{CommandError, CommandResult};
use crate::state::AppState;
use crate::updates::{self, PendingUpdate, UpdateInfo};

/// Non-secret facts about the running app, shown in the UI footer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AppInfo {
    pub name: String,
    pub version: String,
}

/// One saved profile, as the window sees it: a proxy password is shown as `***`.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileEntry {
    pub name: String,
    /// The profile, its proxy URL redacted (`http://user:***@proxy/`). Saving it back with
    /// that value unchanged keeps the stored password.
    pub profile: Profile,
    /// The stored proxy URL has a password (hidden in `profile.proxy`).
    pub proxy_has_credentials: bool,
}

impl ProfileEntry {
    fn new(name: String, mut profile: Profile) -> Self {
        let proxy_has_credentials = profile
            .proxy
            .as_deref()
            .is_some_and(redact::has_credentials);
        profile.proxy = profile.proxy.as_deref().map(redact::url_credentials);
        Self {
            name,
            profile,
            proxy_has_credentials,
        }
    }
}

/// Every saved profile and the one used last.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileList {
    pub profiles: Vec<ProfileEntry>,
    pub last_profile: Option<String>,
    /// The engine's defaults (simplejwt's), the starting point of a new profile.
    pub defaults: Option<Profile>,
}

impl From<ProfilesFile> for ProfileList {
    fn from(file: ProfilesFile) -> Self {
        Self {
            defaults: url::Url::parse("https://api.example.com/")
                .ok()
                .map(Profile::new),
            profiles: file
                .profiles
                .into_iter()
                .map(|(name, profile)| ProfileEntry::new(name, profile))
                .collect(),
            last_profile: file.last_profile,
        }
    }
}

/// What the window needs to show its first screen.
#[derive(Debug, Clone, Serialize)]
pub struct Start {
    pub profiles: ProfileList,
    pub selected: Option<String>,
    /// The restored session of `selected`, when there is one.
    pub status: Option<SessionStatus>,
    /// Why the session could not be restored, or a problem with the command line.
    pub error: Option<CommandError>,
}

/// Who is signed in, for the home screen.
#[derive(Debug, Clone, Serialize)]
pub struct UserInfo {
    pub display: String,
}

/// A response shown in the request console.
#[derive(Debug, Clone, Serialize)]
pub struct ConsoleResponse {
    pub status: u16,
    pub elapsed_ms: u64,
    /// Pretty-printed JSON, or the text; anything shaped like a JWT is redacted. At most
    /// `tessera_session::pretty::CONSOLE_MAX_BYTES` (1 MiB).
    pub body: String,
    /// `body` was cut at the console's limit.
    pub truncated: bool,
    /// Why a JSON body is shown as received (too large or too deep to re-indent).
    pub note: Option<String>,
    /// Advice when the answer has a likely local cause (the wrong Authorization header type).
    pub hint: Option<String>,
    /// The request was replayed once after a 401 and a refresh.
    pub replayed: bool,
}

/// Returns the product name and version from the Tauri configuration.
#[tauri::command]
pub fn app_info<R: Runtime>(app: AppHandle<R>) -> CommandResult<AppInfo> {
    let package = app.package_info();
    Ok(AppInfo {
        name: package.name.clone(),
        version: package.version.to_string(),
    })
}

/// Called once by the page when its first screen is interactive. With `TESSERA_REPORT_READY`
/// set it prints `tessera: ready` on stderr, which launch benchmarks time from outside.
#[tauri::command]
pub fn app_ready() {
    if std::env::var_os("TESSERA_REPORT_READY").is_some() {
        eprintln!("tessera: ready");
    }
}

/// Applies the command line (`--server`, `--profile`), picks the profile to open and restores
/// its session from the keyring when there is one.
#[tauri::command]
pub async fn app_start<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> CommandResult<Start> {
    let mut error = state
        .launch
        .problems
        .first()
        .map(|problem| CommandError::new("invalid_arguments", problem.clone()));
    if let (Some(url), Some(name)) = (
        state.launch.server.clone(),
        state.launch.server_profile_name(),
    ) {
        let saved = state
            .update_profiles(move |file| {
                let mut profile = file
                    .profiles
                    .get(&name)
                    .cloned()
                    .unwrap_or_else(|| Profile::new(url.clone()));
                profile.base_url = url.clone();
                profile.validate()?;
                file.upsert(&name, profile)?;
                file.last_profile = Some(name.clone());
                Ok(())
            })
            .await;
        if let Err(e) = saved {
            error = Some(e.into());
        }
    }
    let file = state.load_profiles().await?;
    let selected = state
        .launch
        .profile
        .clone()
        .filter(|name| file.profiles.contains_key(name))
        .or_else(|| {
            file.last_profile
                .clone()
                .filter(|name| file.profiles.contains_key(name))
        })
        .or_else(|| file.profiles.keys().next().cloned());
    if let Some(wanted) = &state.launch.profile {
        if !file.profiles.contains_key(wanted) && error.is_none() {
            error = Some(CommandError::new(
                "unknown_profile",
                format!("There is no profile named “{wanted}”. Add it under “Manage profiles”."),
            ));
        }
    }
    let mut status = None;
    if let Some(name) = &selected {
        match restore(&app, &state, name).await {
            Ok(restored) => status = Some(restored),
            Err(e) => error = error.or(Some(e)),
        }
    }
    Ok(Start {
        profiles: file.into(),
        selected,
        status,
        error,
    })
}

async fn restore<R: Runtime>(
    app: &AppHandle<R>,
    state: &AppState,
    name: &str,
) -> CommandResult<SessionStatus> {
    let session = state.session(app, name).await?;
    match session.restore().await {
        Ok(status) => {
            if status.signed_in {
                state.keep_fresh(name).await;
            }
            Ok(status)
        }
        // Server unreachable: the tokens are still in the keyring; show the session anyway.
        Err(e) if e.is_transient() && session.status().signed_in => {
            state.keep_fresh(name).await;
            Ok(session.status())
        }
        // Simply signed out: nothing to show. An expired session keeps its reason.
        Err(e) if e.code() == "login_required" => {
            let mut status = session.status();
            status.reason = None;
            Ok(status)
        }
        Err(e) if e.needs_login() => Ok(session.status()),
        Err(e) => Err(e.into()),
    }
}

/// Lists every saved profile.
#[tauri::command]
pub async fn profile_list(state: State<'_, AppState>) -> CommandResult<ProfileList> {
    Ok(state.load_profiles().await?.into())
}

/// Creates or updates a profile (renaming it when `previous_name` differs). A new or renamed
/// profile never replaces another one silently. A renamed profile signs out of its old name
/// (keyring entries are per profile name), once the save has worked.
#[tauri::command]
pub async fn profile_save<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    name: String,
    previous_name: Option<String>,
    profile: serde_json::Value,
) -> CommandResult<ProfileList> {
    let mut profile: Profile = serde_json::from_value(profile).map_err(|e| {
        CommandError::new("invalid_profile", format!("This profile is not valid: {e}"))
    })?;
    validate_profile_name(&name)?;
    let previous_name = previous_name.filter(|old| !old.is_empty());
    let creating = previous_name.as_deref() != Some(name.as_str());
    // Pointed at another server: sign out at the old one first (the engine's rule), so that no
    // token of the old server is ever sent to the new one.
    if let Some(old) = previous_name.as_deref() {
        if let Ok(session) = state.session(&app, old).await {
            match session.sign_out_if_moved(&profile.base_url).await {
                Ok(Some(_)) => state.forget(old).await,
                Ok(None) => {}
                Err(error) => tracing::warn!(
                    profile = old,
                    code = error.code(),
                    "sign-out before moving the profile failed"
                ),
            }
        }
    }
    let saved = state
        .update_profiles(move |file| {
            // The window shows proxy passwords as `***`: an untouched value keeps the stored
            // one (of this profile, or of the profile it was copied from).
            let stored = previous_name
                .as_deref()
                .and_then(|old| file.profiles.get(old))
                .and_then(|p| p.proxy.clone())
                .filter(|old| Some(redact::url_credentials(old)) == profile.proxy)
                .or_else(|| {
                    file.profiles
                        .values()
                        .filter_map(|p| p.proxy.clone())
                        .find(|old| Some(redact::url_credentials(old)) == profile.proxy)
                });
            profile.proxy = redact::keep_stored_url(profile.proxy.take(), stored.as_deref());
            profile.validate()?;
            if creating && file.profiles.contains_key(&name) {
                return Err(tessera_session::Error::InvalidProfile {
                    detail: format!("a profile named “{name}” exists already: pick another name"),
                });
            }
            let renamed_from = previous_name.filter(|old| *old != name);
            if let Some(old) = &renamed_from {
                file.remove(old);
            }
            file.upsert(&name, profile)?;
            file.last_profile = Some(name.clone());
            Ok((file.clone(), renamed_from))
        })
        .await;
    let (file, renamed_from) = saved?;
    if let Some(old) = renamed_from {
        sign_out_quietly(&app, &state, &old).await;
    }
    Ok(file.into())
}

/// Deletes a profile, signing it out first (blacklist, then keyring entries removed).
#[tauri::command]
pub async fn profile_delete<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    name: String,
) -> CommandResult<ProfileList> {
    sign_out_quietly(&app, &state, &name).await;
    let file = state
        .update_profiles(move |file| {
            file.remove(&name);
            if file.last_profile.as_deref() == Some(name.as_str()) {
                file.last_profile = file.profiles.keys().next().cloned();
            }
            Ok(file.clone())
        })
        .await?;
    Ok(file.into())
}

async fn sign_out_quietly<R: Runtime>(app: &AppHandle<R>, state: &AppState, name: &str) {
    match state.session(app, name).await {
        Ok(session) => {
            if let Err(error) = session.logout().await {
                tracing::warn!(
                    profile = name,
                    code = error.code(),
                    "sign-out of a removed profile failed"
                );
            }
        }
        Err(error) => {
            tracing::warn!(
                profile = name,
                code = error.code(),
                "could not open a removed profile to sign it out"
            );
        }
    }
    state.forget(name).await;
}

/// Remembers the profile picked on the login screen. Off the main thread: the CLI may hold the
/// file's lock for a moment.
#[tauri::command]
pub async fn profile_select(state: State<'_, AppState>, name: String) -> CommandResult<()> {
    state
        .update_profiles(move |file| {
            file.get(&name)?;
            file.last_profile = Some(name.clone());
            Ok(())
        })
        .await?;
    Ok(())
}

/// Checks that a profile's server answers like a simplejwt obtain endpoint.
#[tauri::command]
pub async fn profile_test(profile: serde_json::Value) -> CommandResult<probe::ProbeReport> {
    let profile: Profile = serde_json::from_value(profile).map_err(|e| {
        CommandError::new("invalid_profile", format!("This profile is not valid: {e}"))
    })?;
    Ok(probe::probe(&profile).await?)
}

/// Signs in; the password is wrapped at once and zeroized when dropped.
#[tauri::command]
pub async fn session_login<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    profile: String,
    login: String,
    password: String,
) -> CommandResult<SessionStatus> {
    let password = Password::new(password);
    let session = state.session(&app, &profile).await?;
    let status = session.login(&login, password).await?;
    state.keep_fresh(&profile).await;
    Ok(status)
}

/// Creates an account on the profile's registration endpoint, then signs in.
#[tauri::command]
pub async fn session_register<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    profile: String,
    username: String,
    email: String,
    password: String,
) -> CommandResult<SessionStatus> {
    let password = Password::new(password);
    let mut fields = BTreeMap::new();
    for (key, value) in [("username", username), ("email", email)] {
        if !value.is_empty() {
            fields.insert(key.to_owned(), value);
        }
    }
    let session = state.session(&app, &profile).await?;
    let status = session.register(Registration { fields, password }).await?;
    state.keep_fresh(&profile).await;
    Ok(status)
}

/// The session's current state (expiries, claims, user), never a token.
#[tauri::command]
pub async fn session_status<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    profile: String,
) -> CommandResult<SessionStatus> {
    Ok(state.session(&app, &profile).await?.status())
}

/// Who is signed in: the profile's "me" endpoint when configured, else the token's user id.
#[tauri::command]
pub async fn session_user<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    profile: String,
) -> CommandResult<UserInfo> {
    let session = state.session(&app, &profile).await?;
    let fallback = || {
        let status = session.status();
        status
            .user_id
            .map_or_else(|| "Signed in".to_owned(), |id| format!("User {id}"))
    };
    let Some(me_path) = session.profile().me_path.clone() else {
        return Ok(UserInfo {
            display: fallback(),
        });
    };
    let response = session.request(ApiRequest::get(me_path)).await?;
    let display = response
        .json::<serde_json::Value>()
        .ok()
        .filter(|_| response.is_success())
        .and_then(|me| {
            ["username", "email", "name"]
                .iter()
                .find_map(|key| me.get(*key).and_then(|v| v.as_str()).map(str::to_owned))
        })
        .map_or_else(fallback, |name| format!("Signed in as {name}"));
    Ok(UserInfo { display })
}

/// Sends a request from the console through the engine's one authenticated request path.
#[tauri::command]
pub async fn session_request<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    profile: String,
    method: String,
    path: String,
    body: Option<String>,
) -> CommandResult<ConsoleResponse> {
    let session = state.session(&app, &profile).await?;
    let method =
        Method::from_bytes(method.trim().to_ascii_uppercase().as_bytes()).map_err(|_| {
            CommandError::new(
                "invalid_method",
                format!("“{method}” is not an HTTP method."),
            )
        })?;
    let mut request = ApiRequest::new(method, path);
    if let Some(body) = body.filter(|b| !b.trim().is_empty()) {
        let json: serde_json::Value = serde_json::from_str(&body).map_err(|e| {
            CommandError::new("invalid_json", format!("The body is not valid JSON: {e}"))
        })?;
        request = request.json(&json)?.header(
            header::ACCEPT,
            header::HeaderValue::from_static("application/json"),
        );
    }
    let started = Instant::now();
    let response = session.request(request).await?;
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    // The engine's bounded formatter: linear, redacted, at most 1 MiB over IPC.
    let shown = pretty::for_display(&response.body, true, pretty::CONSOLE_MAX_BYTES);
    Ok(ConsoleResponse {
        status: response.status,
        elapsed_ms,
        body: shown.text,
        truncated: shown.truncated,
        note: shown.note,
        hint: hints::auth_header_hint(
            response.status,
            &response.body,
            &session.profile().auth_header_type,
        ),
        replayed: response.replayed,
    })
}

/// Signs out: blacklists the refresh token (best effort) and clears the keyring.
#[tauri::command]
pub async fn session_logout<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    profile: String,
) -> CommandResult<LogoutOutcome> {
    state.stop_refreshing(&profile).await;
    Ok(state.session(&app, &profile).await?.logout().await?)
}

/// The newer release found by the start-up check, if any (the window may have missed the
/// `update-available` event while loading).
#[tauri::command]
pub fn update_status(pending: State<'_, PendingUpdate>) -> Option<UpdateInfo> {
    pending.info()
}

/// Downloads the waiting release, verifies its signature, installs it and restarts.
#[tauri::command]
pub async fn update_install<R: Runtime>(app: AppHandle<R>) -> CommandResult<()> {
    updates::install(&app).await
}
