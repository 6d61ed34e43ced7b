//! Tauri commands: the only door between the webview and Rust. Each one maps its arguments,
//! calls the engine's [`tessera_session::Workspace`] and maps the answer; the rules (profiles,
//! sessions, launch, who-am-I) live in the engine. None returns a token or a password: the
//! password comes in once, on sign-in or sign-up, and so does a second-factor code; each is
//! wrapped (zeroized on drop) at once. The `share_*` commands run the local proxy of "Share
//! with local tools" ([`crate::sharing`]); the commands that sign a profile out, switch away
//! from it, save or remove it stop that proxy first when it lends the profile.

use std::collections::BTreeMap;

use tauri::{AppHandle, Runtime, State};
use tessera_session::detect::Detection;
use tessera_session::profile::Preset;
use tessera_session::workspace::{typed_request, ProfileListing};
use tessera_session::{probe, LogoutOutcome, Password, Profile, Registration, SessionStatus};

use crate::error::CommandResult;
use crate::models::{AppInfo, ConsoleResponse, SharingInfo, SignedIn, StartView};
use crate::state::AppState;
use crate::updates::{self, PendingUpdate, UpdateInfo};

/// The product name and version from the Tauri configuration.
#[tauri::command]
pub fn app_info<R: Runtime>(app: AppHandle<R>) -> AppInfo {
    let package = app.package_info();
    AppInfo {
        name: package.name.clone(),
        version: package.version.to_string(),
    }
}

/// Called once by the page when its first screen is interactive. With `TESSERA_REPORT_READY`
/// set it prints `tessera: ready` on stderr, which launch benchmarks time from outside.
#[tauri::command]
pub fn app_ready() {
    if std::env::var_os("TESSERA_REPORT_READY").is_some() {
        eprintln!("tessera: ready");
    }
}

/// Applies the command line (`--server`, `--profile`), picks the profile to show and restores
/// its session.
#[tauri::command]
pub async fn app_start(state: State<'_, AppState>) -> CommandResult<StartView> {
    let start = state.workspace.start(&state.launch.launch()).await?;
    let user = match &start.status {
        Some(status) => state.workspace.signed_in_user(status).await,
        None => None,
    };
    let problem = state.launch.problems.first().cloned();
    let store = state.workspace.store_kind().name();
    Ok(StartView::new(start, user, problem, store))
}

/// The form's profile with a Django stack's endpoints, field names and header filled in (the
/// engine's preset, recorded in `preset`); the form shows it, and what the user changes after
/// wins. An unknown preset is `invalid_profile`, naming the known ones.
#[tauri::command]
pub fn profile_apply_preset(profile: serde_json::Value, preset: String) -> CommandResult<Profile> {
    let mut profile = profile_from(profile)?;
    Preset::parse(&preset)?.apply(&mut profile);
    Ok(profile)
}

/// Which Django stack the form's server runs, from harmless probes (no password, token or
/// cookie is sent): the profile to show in the form (saved only when the user saves), the
/// preset it matched and the findings, in words. Nothing found is `not_supported`. A proxy
/// password shown as `***` is the stored one of `previous_name` (or of the profile copied).
#[tauri::command]
pub async fn profile_detect(
    state: State<'_, AppState>,
    previous_name: Option<String>,
    profile: serde_json::Value,
) -> CommandResult<Detection> {
    let profile = profile_from(profile)?;
    let found = state
        .workspace
        .detect_profile(previous_name.as_deref(), profile);
    Ok(found.await?)
}

/// Creates or updates a profile, renaming it when `previous_name` differs. Sharing the
/// profile stops first: a rename or a new server URL signs it out.
#[tauri::command]
pub async fn profile_save(
    state: State<'_, AppState>,
    name: String,
    previous_name: Option<String>,
    profile: serde_json::Value,
) -> CommandResult<ProfileListing> {
    let profile = profile_from(profile)?;
    let previous = previous_name.as_deref();
    state.sharing.stop_lending(previous.unwrap_or(&name)).await;
    Ok(state
        .workspace
        .save_profile(&name, previous, profile)
        .await?
        .listing)
}

/// Stops sharing the profile, signs it out, then deletes it.
#[tauri::command]
pub async fn profile_delete(
    state: State<'_, AppState>,
    name: String,
) -> CommandResult<ProfileListing> {
    state.sharing.stop_lending(&name).await;
    Ok(state.workspace.remove_profile(&name).await?.listing)
}

/// Remembers the profile picked on the login screen (sharing another profile stops).
#[tauri::command]
pub async fn profile_select(state: State<'_, AppState>, name: String) -> CommandResult<()> {
    state.sharing.stop_unless(&name).await;
    Ok(state.workspace.select_profile(&name).await?)
}

/// Checks that a profile's server answers like a simplejwt obtain endpoint (a `***` proxy
/// password is the stored one, as for `profile_detect`).
#[tauri::command]
pub async fn profile_test(
    state: State<'_, AppState>,
    previous_name: Option<String>,
    profile: serde_json::Value,
) -> CommandResult<probe::ProbeReport> {
    let profile = profile_from(profile)?;
    let report = state
        .workspace
        .probe_profile(previous_name.as_deref(), profile);
    Ok(report.await?)
}

/// Signs in; the password is wrapped at once and zeroized when dropped. A server that wants a
/// second factor answers `mfa_required`: then `session_verify_code`.
#[tauri::command]
pub async fn session_login(
    state: State<'_, AppState>,
    profile: String,
    login: String,
    password: String,
) -> CommandResult<SignedIn> {
    let password = Password::new(password);
    state.sharing.stop_unless(&profile).await;
    let status = state.workspace.sign_in(&profile, &login, password).await?;
    Ok(SignedIn::new(&state.workspace, status).await)
}

/// Finishes a sign-in that answered `mfa_required` with the user's one-time or recovery code,
/// wrapped at once like a password; the server's one-time sign-in token stays in the engine.
/// `mfa_code_rejected`: the user may try again; `mfa_expired`: sign in with the password again.
#[tauri::command]
pub async fn session_verify_code(
    state: State<'_, AppState>,
    profile: String,
    code: String,
) -> CommandResult<SignedIn> {
    let code = Password::new(code);
    state.sharing.stop_unless(&profile).await;
    let status = state.workspace.verify_code(&profile, code).await?;
    Ok(SignedIn::new(&state.workspace, status).await)
}

/// Creates an account on the profile's registration endpoint, then signs in.
#[tauri::command]
pub async fn session_register(
    state: State<'_, AppState>,
    profile: String,
    username: String,
    email: String,
    password: String,
) -> CommandResult<SignedIn> {
    let fields = [("username", username), ("email", email)]
        .into_iter()
        .filter(|(_, v)| !v.is_empty());
    let registration = Registration {
        fields: fields
            .map(|(k, v)| (k.to_owned(), v))
            .collect::<BTreeMap<_, _>>(),
        password: Password::new(password),
    };
    state.sharing.stop_unless(&profile).await;
    let status = state.workspace.register(&profile, registration).await?;
    Ok(SignedIn::new(&state.workspace, status).await)
}

/// The session's current state (expiries, claims, user), never a token.
#[tauri::command]
pub async fn session_status(
    state: State<'_, AppState>,
    profile: String,
) -> CommandResult<SessionStatus> {
    Ok(state.workspace.status(&profile).await?)
}

/// Sends a request from the console through the engine's one authenticated request path.
#[tauri::command]
pub async fn session_request(
    state: State<'_, AppState>,
    profile: String,
    method: String,
    path: String,
    body: Option<String>,
) -> CommandResult<ConsoleResponse> {
    let request = typed_request(&method, path, body.as_deref())?;
    Ok(state.workspace.send(&profile, request).await?.into())
}

/// Signs out: stops sharing the session, blacklists the refresh token (best effort) and
/// clears the keyring.
#[tauri::command]
pub async fn session_logout(
    state: State<'_, AppState>,
    profile: String,
) -> CommandResult<LogoutOutcome> {
    state.sharing.stop_lending(&profile).await;
    Ok(state.workspace.sign_out(&profile).await?)
}

/// Turns "Share with local tools" on for `profile`, which must be signed in (else
/// `login_required`): a local proxy lends its session to tools at the URL returned (shown to
/// the user to copy, never logged). Sharing another profile stops first.
#[tauri::command]
pub async fn share_start(
    state: State<'_, AppState>,
    profile: String,
) -> CommandResult<SharingInfo> {
    state.sharing.start(&state.workspace, &profile).await
}

/// Turns sharing off: the proxy's port closes once tools' requests in flight finish.
#[tauri::command]
pub async fn share_stop(state: State<'_, AppState>) -> CommandResult<()> {
    state.sharing.stop().await;
    Ok(())
}

/// What is shared now (`null` when sharing is off).
#[tauri::command]
pub fn share_status(state: State<'_, AppState>) -> Option<SharingInfo> {
    state.sharing.status()
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

/// A profile as the window sent it.
fn profile_from(value: serde_json::Value) -> CommandResult<Profile> {
    serde_json::from_value(value).map_err(|e| {
        tessera_session::Error::InvalidProfile {
            detail: format!("this profile is not valid: {e}"),
        }
        .into()
    })
}
