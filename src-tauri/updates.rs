//! Signed self-updates through tauri-plugin-updater.
//!
//! Why it exists: end users install Tessera from GitHub releases and should hear about a newer
//! release without it ever getting in the way. On start the app asks the release feed
//! (`plugins.updater.endpoints` in `tauri.conf.json`) at most once a day, in the background,
//! and stays silent on any failure; sign-in never waits for it. A newer release is kept here
//! and announced to the window (`update-available`) with [`installation`]'s verdict: whether
//! this installation can install the file the feed offers (and what installing does), or where
//! to get the release instead. It is downloaded, checked against the public key compiled into
//! the app (minisign) and installed only when the user asks, and only when installable.
//! `TESSERA_NO_UPDATE_CHECK=1` turns the start-up check off (tests, benchmarks, managed
//! installs).

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tauri_plugin_store::StoreExt;
use tauri_plugin_updater::{Update, UpdaterBuilder, UpdaterExt};

use crate::error::{CommandError, CommandResult};
use crate::installation::{self, Installer, Verdict};

/// How often the start-up check may ask the feed.
pub const CHECK_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);
/// The event the window listens to.
pub const EVENT: &str = "update-available";
const STORE_FILE: &str = "settings.json";
const LAST_CHECK_KEY: &str = "updates_last_check";

/// A newer release, as the window sees it (nothing here is secret).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UpdateInfo {
    pub version: String,
    pub current_version: String,
    pub notes: Option<String>,
    pub date: Option<String>,
    /// How this copy was installed.
    pub installer: Installer,
    /// Whether "Install and restart" is offered.
    pub installable: bool,
    /// What installing does, or (not installable) where to get the release.
    pub note: String,
}

/// The release found by the last check, waiting for the user, with what this installation
/// can do with it.
#[derive(Default)]
pub struct PendingUpdate(Mutex<Option<(Update, Verdict)>>);

impl PendingUpdate {
    fn set(&self, update: Option<(Update, Verdict)>) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = update;
        }
    }

    fn get(&self) -> Option<(Update, Verdict)> {
        self.0.lock().ok().and_then(|slot| slot.clone())
    }

    /// What the window shows, if a newer release is waiting.
    pub fn info(&self) -> Option<UpdateInfo> {
        self.0
            .lock()
            .ok()
            .and_then(|slot| slot.as_ref().map(|(u, v)| info(u, v)))
    }
}

fn info(update: &Update, verdict: &Verdict) -> UpdateInfo {
    UpdateInfo {
        version: update.version.clone(),
        current_version: update.current_version.clone(),
        notes: update.body.clone(),
        date: update.date.map(|d| d.to_string()),
        installer: verdict.installer,
        installable: verdict.installable,
        note: verdict.note.clone(),
    }
}

/// What `installer` can do with `update` (the entry the plugin chose for this bundle).
fn judge(update: &Update, installer: Installer) -> Verdict {
    let app_image = std::env::var_os("APPIMAGE").map(std::path::PathBuf::from);
    installation::verdict(
        installer,
        update.download_url.as_str(),
        &update.version,
        app_image.as_deref(),
    )
}

/// Whether a check is due at `now`, given the time of the last one (seconds since the epoch).
/// A last check in the future (the clock was set back) counts as due, so a wrong clock cannot
/// silence updates for good.
pub fn check_due(last_check: Option<u64>, now: SystemTime) -> bool {
    let Ok(now) = now.duration_since(UNIX_EPOCH) else {
        return true;
    };
    match last_check {
        None => true,
        Some(last) if last > now.as_secs() => true,
        Some(last) => now.as_secs() - last >= CHECK_INTERVAL.as_secs(),
    }
}

/// Starts the quiet start-up check in the background, unless disabled or done within the
/// last day. Returns at once.
pub fn spawn_startup_check<R: Runtime>(app: &AppHandle<R>) {
    if std::env::var_os("TESSERA_NO_UPDATE_CHECK").is_some() {
        return;
    }
    let store = app.store(STORE_FILE).ok();
    let last = store
        .as_ref()
        .and_then(|s| s.get(LAST_CHECK_KEY))
        .and_then(|v| v.as_u64());
    let now = SystemTime::now();
    if !check_due(last, now) {
        return;
    }
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let builder = app.updater_builder().timeout(Duration::from_secs(20));
        let outcome = check(&app, builder).await;
        match outcome {
            Ok(Some(found)) => tracing::info!(version = %found.version, "update available"),
            Ok(None) => tracing::debug!("no update"),
            // Quiet by design: offline, a proxy or GitHub being down is not the user's problem.
            Err(error) => tracing::debug!(code = error.code(), "update check failed"),
        }
        if let (Some(store), Ok(now)) = (store, now.duration_since(UNIX_EPOCH)) {
            store.set(LAST_CHECK_KEY, now.as_secs());
            let _ = store.save();
        }
    });
}

/// Asks the feed `builder` points at for a newer release; remembers it and tells the window.
pub async fn check<R: Runtime>(
    app: &AppHandle<R>,
    builder: UpdaterBuilder,
) -> CommandResult<Option<UpdateInfo>> {
    check_as(app, builder, Installer::current()).await
}

/// [`check`] as an installation of kind `installer` would see it.
pub async fn check_as<R: Runtime>(
    app: &AppHandle<R>,
    builder: UpdaterBuilder,
    installer: Installer,
) -> CommandResult<Option<UpdateInfo>> {
    let updater = builder.build().map_err(to_error)?;
    let update = updater.check().await.map_err(to_error)?;
    let update = update.map(|u| {
        let verdict = judge(&u, installer);
        (u, verdict)
    });
    let found = update.as_ref().map(|(u, v)| info(u, v));
    if let Some(pending) = app.try_state::<PendingUpdate>() {
        pending.set(update);
    }
    if let Some(found) = &found {
        let _ = app.emit(EVENT, found);
    }
    Ok(found)
}

/// Downloads the waiting release and verifies its signature; the bytes are only returned
/// when the signature matches the app's public key. A release this installation cannot
/// install is not downloaded at all (`update_unsupported`, with where to get it).
pub async fn download<R: Runtime>(app: &AppHandle<R>) -> CommandResult<(Update, Vec<u8>)> {
    let (update, verdict) = app
        .try_state::<PendingUpdate>()
        .and_then(|pending| pending.get())
        .ok_or_else(|| CommandError::Update {
            code: "no_update",
            message: "No update is waiting to be installed.".to_owned(),
        })?;
    if !verdict.installable {
        return Err(CommandError::Update {
            code: "update_unsupported",
            message: verdict.note,
        });
    }
    let bytes = update.download(|_, _| {}, || {}).await.map_err(to_error)?;
    Ok((update, bytes))
}

/// Downloads, verifies and installs the waiting release, then restarts into it.
pub async fn install<R: Runtime>(app: &AppHandle<R>) -> CommandResult<()> {
    let (update, bytes) = download(app).await?;
    update.install(bytes).map_err(to_error)?;
    app.restart()
}

fn to_error(error: tauri_plugin_updater::Error) -> CommandError {
    use tauri_plugin_updater::Error as E;
    let code = match &error {
        E::Minisign(_) | E::Base64(_) | E::SignatureUtf8(_) => "update_signature",
        E::SignedVersionMismatch { .. } | E::MissingSignedVersion => "update_signature",
        E::Reqwest(_) | E::Network(_) => "update_network",
        E::ReleaseNotFound | E::TargetNotFound(_) | E::TargetsNotFound(_) => "update_not_found",
        E::InsecureTransportProtocol | E::EmptyEndpoints => "update_config",
        E::InvalidUpdaterFormat | E::BinaryNotFoundInArchive => "update_format",
        E::PackageInstallFailed | E::DebInstallFailed | E::AuthenticationFailed => "update_install",
        _ => "update_failed",
    };
    let message = match code {
        "update_signature" => {
            "The downloaded update is not signed by Tessera's release key; it was not installed."
                .to_owned()
        }
        "update_network" => format!("Could not reach the update server: {error}"),
        "update_install" => format!(
            "The update was downloaded and verified, but the system did not install it ({error}); this version keeps running. Get it from {}",
            installation::RELEASES_PAGE
        ),
        _ => format!("The update failed: {error}"),
    };
    CommandError::Update { code, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn a_check_is_due_once_a_day() {
        let day = CHECK_INTERVAL.as_secs();
        assert!(check_due(None, at(1_000_000)));
        assert!(!check_due(Some(1_000_000), at(1_000_000 + 3600)));
        assert!(!check_due(Some(1_000_000), at(1_000_000 + day - 1)));
        assert!(check_due(Some(1_000_000), at(1_000_000 + day)));
        // The clock went back: check rather than stay silent until the clock catches up.
        assert!(check_due(Some(1_000_000), at(999_000)));
    }
}
