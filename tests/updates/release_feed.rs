//! `scripts/verify-feed.py`, the release workflow's check of `latest.json`, run on feeds made
//! here the way a release makes them: every bundle's file signed with a throwaway key (the
//! trusted comment names the file, as the Tauri CLI writes it), a release JSON listing the
//! assets, a folder of the downloaded `.sig` assets. A complete feed passes; each way a real
//! release goes wrong (a missing entry, a file of the wrong kind, another file's signature, a
//! foreign key, an asset not uploaded, a wrong version) fails with a message naming the entry.
//! `--complete` turns a feed with only the plain keys into one the check accepts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use super::keys;

const TAG: &str = "v0.2.0";
const BASE: &str = "https://github.com/tessera-app/tessera/releases/download";

/// Each feed key and the file a release built by the workflow uploads for it.
const FILES: &[(&str, &str)] = &[
    ("darwin-aarch64", "Tessera_aarch64.app.tar.gz"),
    ("darwin-aarch64-app", "Tessera_aarch64.app.tar.gz"),
    ("darwin-x86_64", "Tessera_x64.app.tar.gz"),
    ("darwin-x86_64-app", "Tessera_x64.app.tar.gz"),
    ("linux-x86_64", "Tessera_0.2.0_amd64.AppImage"),
    ("linux-x86_64-appimage", "Tessera_0.2.0_amd64.AppImage"),
    ("linux-x86_64-deb", "Tessera_0.2.0_amd64.deb"),
    ("linux-x86_64-rpm", "Tessera-0.2.0-1.x86_64.rpm"),
    ("windows-x86_64", "Tessera_0.2.0_x64-setup.exe"),
    ("windows-x86_64-nsis", "Tessera_0.2.0_x64-setup.exe"),
    ("windows-x86_64-msi", "Tessera_0.2.0_x64_en-US.msi"),
];

/// A `.sig` for `file` as `tauri signer sign` writes it.
fn sig_for(pair: &minisign::KeyPair, file: &str) -> String {
    use base64::Engine;
    let trusted = format!("timestamp:1700000000\tfile:{file}");
    let signature = minisign::sign(
        Some(&pair.pk),
        &pair.sk,
        std::io::Cursor::new(file.as_bytes()),
        Some(&trusted),
        Some("signature from tauri secret key"),
    )
    .unwrap();
    base64::engine::general_purpose::STANDARD.encode(signature.to_string())
}

struct Release {
    dir: tempfile::TempDir,
    pubkey: String,
    sigs: BTreeMap<String, String>,
}

impl Release {
    /// Every bundle built and signed; the `.sig` assets downloaded into `sigs/`.
    fn new() -> Release {
        let (pair, pubkey) = keys();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sigs")).unwrap();
        let mut sigs = BTreeMap::new();
        for (_, file) in FILES {
            let sig = sig_for(&pair, file);
            std::fs::write(dir.path().join("sigs").join(format!("{file}.sig")), &sig).unwrap();
            sigs.insert((*file).to_owned(), sig);
        }
        let release = Release { dir, pubkey, sigs };
        release.write_assets(&release.asset_names());
        release
    }

    fn asset_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.sigs.keys().cloned().collect();
        names.extend(self.sigs.keys().map(|f| format!("{f}.sig")));
        names.push("Tessera_0.2.0_x64.dmg".into());
        names
    }

    fn write_assets(&self, names: &[String]) {
        let assets: Vec<Value> = names
            .iter()
            .map(
                |n| json!({"name": n, "browser_download_url": format!("{BASE}/untagged-1a2b/{n}")}),
            )
            .collect();
        let release = json!({"tag_name": TAG, "assets": assets});
        std::fs::write(self.path("release.json"), release.to_string()).unwrap();
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The feed a complete release has, restricted to `keys`.
    fn feed(&self, keys: &[&str]) -> Value {
        let platforms: serde_json::Map<String, Value> = FILES
            .iter()
            .filter(|(k, _)| keys.contains(k))
            .map(|(k, f)| {
                let entry = json!({"signature": self.sigs[*f], "url": format!("{BASE}/{TAG}/{f}")});
                ((*k).to_owned(), entry)
            })
            .collect();
        json!({"version": "0.2.0", "notes": "", "pub_date": "2026-12-04T00:00:00Z", "platforms": platforms})
    }

    /// Runs the check on `feed`; its exit status and everything it printed.
    fn check(&self, feed: &Value, extra: &[&str]) -> (i32, String) {
        std::fs::write(self.path("latest.json"), feed.to_string()).unwrap();
        let out = Command::new("python3")
            .arg(script())
            .arg(self.path("latest.json"))
            .args(["--version", "0.2.0", "--tag", TAG, "--pubkey", &self.pubkey])
            .arg("--release")
            .arg(self.path("release.json"))
            .arg("--sigs")
            .arg(self.path("sigs"))
            .args(extra)
            .output()
            .expect("python3 runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code().unwrap_or(-1), text)
    }
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/verify-feed.py")
}

fn all_keys() -> Vec<&'static str> {
    FILES.iter().map(|(k, _)| *k).collect()
}

fn set(feed: &mut Value, key: &str, field: &str, value: Value) {
    feed["platforms"][key][field] = value;
}

#[test]
fn a_complete_release_feed_passes() {
    let release = Release::new();
    let (code, out) = release.check(&release.feed(&all_keys()), &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("11 feed entries"), "{out}");
}

#[test]
fn every_missing_installer_entry_fails_by_name() {
    let release = Release::new();
    for key in all_keys() {
        let keys: Vec<&str> = all_keys().into_iter().filter(|k| *k != key).collect();
        let (code, out) = release.check(&release.feed(&keys), &[]);
        assert_eq!(code, 1, "without {key}: {out}");
        assert!(out.contains(&format!("::error::{key}: no entry")), "{out}");
    }
}

#[test]
fn a_deb_entry_pointing_at_the_appimage_fails() {
    // The plugin would download the AppImage for a .deb install and fail to install it.
    let release = Release::new();
    let mut feed = release.feed(&all_keys());
    let appimage = feed["platforms"]["linux-x86_64-appimage"].clone();
    feed["platforms"]["linux-x86_64-deb"] = appimage;
    let (code, out) = release.check(&feed, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("linux-x86_64-deb: Tessera_0.2.0_amd64.AppImage is not a .deb file"),
        "{out}"
    );
}

#[test]
fn a_signature_made_for_another_file_fails() {
    let release = Release::new();
    let mut feed = release.feed(&all_keys());
    let rpm_sig = release.sigs["Tessera-0.2.0-1.x86_64.rpm"].clone();
    set(&mut feed, "linux-x86_64-deb", "signature", json!(rpm_sig));
    let (code, out) = release.check(&feed, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(
            "linux-x86_64-deb: the feed's signature is not the one in Tessera_0.2.0_amd64.deb.sig"
        ),
        "{out}"
    );
    assert!(
        out.contains("made for 'Tessera-0.2.0-1.x86_64.rpm', not for Tessera_0.2.0_amd64.deb"),
        "{out}"
    );
}

#[test]
fn a_signature_by_a_key_the_app_does_not_trust_fails() {
    let release = Release::new();
    let (stranger, _) = keys();
    let mut feed = release.feed(&all_keys());
    let msi = "Tessera_0.2.0_x64_en-US.msi";
    let foreign = sig_for(&stranger, msi);
    std::fs::write(release.path("sigs").join(format!("{msi}.sig")), &foreign).unwrap();
    set(&mut feed, "windows-x86_64-msi", "signature", json!(foreign));
    let (code, out) = release.check(&feed, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("windows-x86_64-msi: signed by key"), "{out}");
    assert!(out.contains("signed by different keys"), "{out}");
}

#[test]
fn a_file_or_signature_missing_from_the_release_fails() {
    let release = Release::new();
    let names: Vec<String> = release
        .asset_names()
        .into_iter()
        .filter(|n| n != "Tessera-0.2.0-1.x86_64.rpm.sig" && n != "Tessera_aarch64.app.tar.gz")
        .collect();
    release.write_assets(&names);
    let (code, out) = release.check(&release.feed(&all_keys()), &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("linux-x86_64-rpm: the release has no Tessera-0.2.0-1.x86_64.rpm.sig"),
        "{out}"
    );
    assert!(
        out.contains("darwin-aarch64-app: Tessera_aarch64.app.tar.gz is not an asset"),
        "{out}"
    );
}

#[test]
fn a_wrong_version_an_untagged_url_or_a_broken_signature_fails() {
    let release = Release::new();
    let mut feed = release.feed(&all_keys());
    feed["version"] = json!("0.1.9");
    let exe = "Tessera_0.2.0_x64-setup.exe";
    set(
        &mut feed,
        "windows-x86_64-nsis",
        "url",
        json!(format!("{BASE}/untagged-1a2b/{exe}")),
    );
    set(
        &mut feed,
        "linux-x86_64-appimage",
        "signature",
        json!("bm90IGEgc2lnbmF0dXJl"),
    );
    let (code, out) = release.check(&feed, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("the feed says version '0.1.9', expected 0.2.0"),
        "{out}"
    );
    assert!(out.contains("windows-x86_64-nsis: https://"), "{out}");
    assert!(
        out.contains("is not under /releases/download/v0.2.0/"),
        "{out}"
    );
    assert!(
        out.contains("linux-x86_64-appimage: the signature is not a minisign signature"),
        "{out}"
    );
}

#[test]
fn unreadable_input_is_status_2() {
    let release = Release::new();
    std::fs::write(release.path("latest.json"), "{\"version\": ").unwrap();
    let out = Command::new("python3")
        .arg(script())
        .arg(release.path("latest.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the feed"));
}

#[test]
fn complete_adds_the_installer_entries_a_plain_feed_lacks() {
    // What an updater action that writes only `<os>-<arch>` leaves: the plain keys.
    let release = Release::new();
    let plain = [
        "darwin-aarch64",
        "darwin-x86_64",
        "linux-x86_64",
        "windows-x86_64",
    ];
    let feed = release.feed(&plain);
    let (code, _) = release.check(&feed, &[]);
    assert_eq!(code, 1, "the plain feed alone is incomplete");
    let out_path = release.path("completed.json");
    let (code, out) = release.check(&feed, &["--complete", out_path.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    let completed: Value =
        serde_json::from_str(&std::fs::read_to_string(&out_path).unwrap()).unwrap();
    let deb = &completed["platforms"]["linux-x86_64-deb"];
    assert_eq!(deb["url"], format!("{BASE}/{TAG}/Tessera_0.2.0_amd64.deb"));
    assert_eq!(deb["signature"], release.sigs["Tessera_0.2.0_amd64.deb"]);
    assert_eq!(
        completed["platforms"]["darwin-x86_64-app"]["url"],
        format!("{BASE}/{TAG}/Tessera_x64.app.tar.gz")
    );
    assert_eq!(
        completed["platforms"].as_object().unwrap().len(),
        FILES.len()
    );
    // The existing entries are kept as they were.
    assert_eq!(
        completed["platforms"]["linux-x86_64"],
        feed["platforms"]["linux-x86_64"]
    );

    // An installer whose signature was never uploaded cannot be completed.
    std::fs::remove_file(release.path("sigs").join("Tessera-0.2.0-1.x86_64.rpm.sig")).unwrap();
    let (code, out) = release.check(&feed, &["--complete", out_path.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("linux-x86_64-rpm: no entry"), "{out}");
}
