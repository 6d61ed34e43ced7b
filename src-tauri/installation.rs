//! How this copy of Tessera was installed, and so what an update can do for it.
//!
//! Why it exists: tauri-plugin-updater picks the feed entry `{os}-{arch}-{installer}` of the
//! running bundle and, when the feed has none, silently falls back to `{os}-{arch}` (on Linux
//! the AppImage). A `.deb` install handed an AppImage then fails with "invalid updater binary
//! format" (tauri-apps/plugins-workspace#3108). So before the window offers "Install and
//! restart", the app decides here whether the file the feed offers is one this installation can
//! install. Where it cannot (a build without a bundle marker: from source, a distribution's own
//! package, `cargo run`; an AppImage in a folder the user cannot write; a feed without this
//! installer's entry) the window says that a new version exists and where to get it, and the
//! install command refuses, so no button ever leads to a failing install.

use std::path::Path;

use serde::Serialize;
use tauri::utils::config::BundleType;

/// Where users get a release by hand.
pub const RELEASES_PAGE: &str = concat!(env!("CARGO_PKG_REPOSITORY"), "/releases/latest");

/// The kind of package this copy of Tessera came in (the bundler writes it into the binary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Installer {
    Deb,
    Rpm,
    AppImage,
    Nsis,
    Msi,
    MacApp,
    /// No bundle marker: built from source, packaged by a distribution, or `cargo run`.
    Unknown,
}

impl Installer {
    /// The running copy's installer.
    pub fn current() -> Self {
        Self::from_bundle(tauri::utils::platform::bundle_type())
    }

    /// The installer for the bundle type the bundler recorded in the binary.
    pub fn from_bundle(bundle: Option<BundleType>) -> Self {
        match bundle {
            Some(BundleType::Deb) => Self::Deb,
            Some(BundleType::Rpm) => Self::Rpm,
            Some(BundleType::AppImage) => Self::AppImage,
            Some(BundleType::Nsis) => Self::Nsis,
            Some(BundleType::Msi) => Self::Msi,
            Some(BundleType::App | BundleType::Dmg) => Self::MacApp,
            _ => Self::Unknown,
        }
    }

    /// What users call the package, as in "installed as a .deb package".
    pub fn label(self) -> &'static str {
        match self {
            Self::Deb => ".deb package",
            Self::Rpm => ".rpm package",
            Self::AppImage => "AppImage",
            Self::Nsis => "Windows installer",
            Self::Msi => "Windows MSI package",
            Self::MacApp => "macOS app",
            Self::Unknown => "build",
        }
    }

    /// Whether a downloaded file named `file` (the last segment of the feed entry's URL) is a
    /// package this installer can install.
    pub fn accepts(self, file: &str) -> bool {
        let file = file.to_ascii_lowercase();
        match self {
            Self::Deb => file.ends_with(".deb"),
            Self::Rpm => file.ends_with(".rpm"),
            Self::AppImage => file.ends_with(".appimage") || file.ends_with(".appimage.tar.gz"),
            Self::Nsis => file.ends_with("-setup.exe") || file.ends_with(".nsis.zip"),
            Self::Msi => file.ends_with(".msi") || file.ends_with(".msi.zip"),
            Self::MacApp => file.ends_with(".app.tar.gz"),
            Self::Unknown => false,
        }
    }

    /// What pressing "Install and restart" will do, said before the user presses it.
    pub fn what_happens(self) -> &'static str {
        match self {
            Self::Deb => "Installing updates the system package (dpkg): your system asks for an administrator password, then Tessera restarts.",
            Self::Rpm => "Installing updates the system package (rpm): your system asks for an administrator password, then Tessera restarts.",
            Self::AppImage => "Installing replaces this AppImage file with the new one, then Tessera restarts.",
            Self::Nsis => "Installing runs the new installer for your user account (no administrator rights needed), then Tessera restarts.",
            Self::Msi => "Installing runs the new MSI package: Windows asks for administrator permission, then Tessera restarts.",
            Self::MacApp => "Installing replaces Tessera.app with the new version, then Tessera restarts.",
            Self::Unknown => "",
        }
    }
}

/// Whether the update the feed offers can be installed here, and what the window says about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub installer: Installer,
    pub installable: bool,
    /// Before the button: what installing does. Without a button: where to get the release.
    pub note: String,
}

/// Decides for `installer` whether the file at `url` (the entry the updater chose) can be
/// installed by it. `app_image` is the AppImage file for [`Installer::AppImage`] (`$APPIMAGE`).
pub fn verdict(
    installer: Installer,
    url: &str,
    version: &str,
    app_image: Option<&Path>,
) -> Verdict {
    let file = url
        .split(['?', '#'])
        .next()
        .and_then(|path| path.rsplit('/').next())
        .unwrap_or_default();
    let manual = |why: String| Verdict {
        installer,
        installable: false,
        note: format!("{why} Get Tessera {version} from {RELEASES_PAGE}"),
    };
    if installer == Installer::Unknown {
        return manual(
            "This copy of Tessera was not installed from a Tessera release package (built from source or packaged by your distribution), so it cannot update itself. Update it the way you installed it (for example your package manager), or".to_owned(),
        );
    }
    if !installer.accepts(file) {
        return manual(format!(
            "This copy was installed as a {}, but this release offers no {} update yet.",
            installer.label(),
            installer.label()
        ));
    }
    if installer == Installer::AppImage && !app_image.is_some_and(folder_is_writable) {
        return manual(
            "This AppImage is in a folder you cannot write to, so it cannot replace itself."
                .to_owned(),
        );
    }
    Verdict {
        installer,
        installable: true,
        note: installer.what_happens().to_owned(),
    }
}

/// Whether a file can be created beside `file` (an AppImage update renames the old file away
/// and writes the new one in its place).
fn folder_is_writable(file: &Path) -> bool {
    let Some(folder) = file.parent() else {
        return false;
    };
    let probe = folder.join(format!(".tessera-update-probe-{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            true
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEB: &str =
        "https://github.com/tessera-app/tessera/releases/download/v0.2.0/Tessera_0.2.0_amd64.deb";
    const APPIMAGE: &str = "https://github.com/tessera-app/tessera/releases/download/v0.2.0/Tessera_0.2.0_amd64.AppImage";

    #[test]
    fn a_deb_install_takes_only_a_deb() {
        let yes = verdict(Installer::Deb, DEB, "0.2.0", None);
        assert!(yes.installable);
        assert!(yes.note.contains("administrator password"), "{}", yes.note);
        // The plugin's fallback to the plain entry (the AppImage) must not become a button.
        let no = verdict(Installer::Deb, APPIMAGE, "0.2.0", None);
        assert!(!no.installable);
        assert!(no.note.contains("no .deb package update"), "{}", no.note);
        assert!(no.note.contains(RELEASES_PAGE), "{}", no.note);
        assert!(no.note.contains("0.2.0"), "{}", no.note);
    }

    #[test]
    fn every_installer_knows_its_files() {
        let cases = [
            (Installer::Rpm, "Tessera-0.2.0-1.x86_64.rpm"),
            (Installer::AppImage, "Tessera_0.2.0_amd64.AppImage.tar.gz"),
            (Installer::Nsis, "Tessera_0.2.0_x64-setup.exe"),
            (Installer::Msi, "Tessera_0.2.0_x64_en-US.msi"),
            (Installer::MacApp, "Tessera_aarch64.app.tar.gz"),
        ];
        for (installer, file) in cases {
            assert!(installer.accepts(file), "{installer:?} {file}");
            assert!(!Installer::Deb.accepts(file), "{file}");
            assert!(!installer.what_happens().is_empty());
        }
        assert!(!Installer::Nsis.accepts("Tessera_0.2.0_x64_en-US.msi"));
        assert!(!Installer::Msi.accepts("Tessera_0.2.0_x64-setup.exe"));
        // A query string is not part of the file name.
        assert!(verdict(Installer::Deb, &format!("{DEB}?raw=1"), "0.2.0", None).installable);
    }

    #[test]
    fn a_build_without_a_bundle_marker_says_where_to_get_the_release() {
        assert_eq!(Installer::from_bundle(None), Installer::Unknown);
        let no = verdict(Installer::Unknown, APPIMAGE, "0.2.0", None);
        assert!(!no.installable);
        assert!(no.note.contains("package manager"), "{}", no.note);
        assert!(no.note.contains(RELEASES_PAGE), "{}", no.note);
    }

    #[test]
    fn an_appimage_replaces_itself_only_where_it_may_write() {
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("Tessera.AppImage");
        assert!(verdict(Installer::AppImage, APPIMAGE, "0.2.0", Some(&image)).installable);
        let missing = dir.path().join("gone").join("Tessera.AppImage");
        let no = verdict(Installer::AppImage, APPIMAGE, "0.2.0", Some(&missing));
        assert!(!no.installable);
        assert!(no.note.contains("cannot write"), "{}", no.note);
        assert!(!verdict(Installer::AppImage, APPIMAGE, "0.2.0", None).installable);
        assert!(
            std::fs::read_dir(dir.path()).unwrap().next().is_none(),
            "the probe stayed"
        );
    }
}
