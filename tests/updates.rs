//! Signed updates, end to end through the app's own update code (`tessera_app::updates`) and the
//! real tauri-plugin-updater: a loopback server plays GitHub's release feed (`latest.json` plus
//! the artifact), signed with a throwaway minisign key made in the test. The app must accept a
//! good signature and refuse a tampered artifact, a foreign key and a signature made for another
//! version. The feed entry the plugin picks must suit the installation: a `.deb` install is
//! offered "Install and restart" only for a `.deb`, and is told where to get a release whose
//! feed has only an AppImage (the plugin's fallback), without downloading it. Also checks that
//! the shipped configuration carries a valid public key and an HTTPS feed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Cursor;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use minisign::KeyPair;
use serde_json::{json, Value};
use tauri::test::{mock_builder, mock_context, noop_assets, MockRuntime};
use tauri::{App, Manager};
use tauri_plugin_updater::UpdaterExt;
use tessera_app::installation::{Installer, RELEASES_PAGE};
use tessera_app::updates;

#[path = "updates/release_feed.rs"]
mod release_feed;

const ARTIFACT: &[u8] = b"pretend this is Tessera_9.9.9_amd64.deb";

/// A throwaway key pair; the public half in the form `plugins.updater.pubkey` takes.
fn keys() -> (KeyPair, String) {
    let pair = KeyPair::generate_unencrypted_keypair().unwrap();
    let pubkey = B64.encode(pair.pk.to_box().unwrap().to_string());
    (pair, pubkey)
}

/// A `.sig` file's content as the Tauri CLI writes it: base64 of a minisign signature whose
/// trusted comment records the file and the version it was signed for.
fn sign(pair: &KeyPair, data: &[u8], version: &str) -> String {
    let trusted = format!("timestamp:1700000000\tfile:tessera.AppImage.tar.gz\tversion:{version}");
    let signature = minisign::sign(
        Some(&pair.pk),
        &pair.sk,
        Cursor::new(data),
        Some(&trusted),
        Some("signature from tauri secret key"),
    )
    .unwrap();
    B64.encode(signature.to_string())
}

#[derive(Clone)]
struct Feed {
    manifest: Arc<Mutex<Value>>,
    artifact: Arc<Mutex<Vec<u8>>>,
    downloads: Arc<AtomicUsize>,
}

async fn manifest(State(feed): State<Feed>) -> Response {
    let manifest = feed.manifest.lock().unwrap().clone();
    if manifest.is_null() {
        return StatusCode::NO_CONTENT.into_response();
    }
    axum::Json(manifest).into_response()
}

async fn artifact(State(feed): State<Feed>) -> Vec<u8> {
    feed.downloads.fetch_add(1, Ordering::SeqCst);
    feed.artifact.lock().unwrap().clone()
}

/// Starts the loopback release feed; returns it and its base URL.
async fn start_feed() -> (Feed, String) {
    let feed = Feed {
        manifest: Arc::new(Mutex::new(Value::Null)),
        artifact: Arc::new(Mutex::new(ARTIFACT.to_vec())),
        downloads: Arc::new(AtomicUsize::new(0)),
    };
    let app = Router::new()
        .route("/latest.json", get(manifest))
        .route("/tessera.AppImage.tar.gz", get(artifact))
        .route("/Tessera_9.9.9_amd64.deb", get(artifact))
        .with_state(feed.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (feed, base)
}

fn announce(feed: &Feed, base: &str, version: &str, signature: &str) {
    *feed.manifest.lock().unwrap() = json!({
        "version": version,
        "notes": "Faster sign-in.",
        "pub_date": "2026-11-01T12:00:00Z",
        "platforms": {
            "linux-x86_64": {"signature": signature, "url": format!("{base}/tessera.AppImage.tar.gz")},
            "linux-x86_64-deb": {"signature": signature, "url": format!("{base}/Tessera_9.9.9_amd64.deb")},
            "darwin-aarch64": {"signature": signature, "url": format!("{base}/tessera.AppImage.tar.gz")},
            "darwin-x86_64": {"signature": signature, "url": format!("{base}/tessera.AppImage.tar.gz")},
            "windows-x86_64": {"signature": signature, "url": format!("{base}/tessera.AppImage.tar.gz")}
        }
    });
}

/// The app's commands and the updater plugin on Tauri's mock runtime, trusting `pubkey` and
/// reading the feed at `base`.
fn app(pubkey: &str, base: &str) -> App<MockRuntime> {
    let mut context = mock_context(noop_assets());
    context.config_mut().plugins.0.insert(
        "updater".into(),
        json!({"pubkey": pubkey, "endpoints": [format!("{base}/latest.json")]}),
    );
    tessera_app::with_commands(mock_builder())
        .plugin(tauri_plugin_updater::Builder::new().build())
        .build(context)
        .unwrap()
}

/// A check as a `.deb` installation makes it.
async fn check(app: &App<MockRuntime>) -> Option<updates::UpdateInfo> {
    check_as(app, Installer::Deb).await
}

async fn check_as(app: &App<MockRuntime>, installer: Installer) -> Option<updates::UpdateInfo> {
    let handle = app.handle();
    // The plugin picks `linux-x86_64-deb` only for a binary the bundler marked as a .deb; the
    // test binary has no marker, so name the target the plugin would pick.
    let mut builder = handle.updater_builder();
    if installer == Installer::Deb {
        builder = builder.target("linux-x86_64-deb");
    }
    updates::check_as(handle, builder, installer).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_good_signature_is_accepted_and_the_window_sees_the_update() {
    let (pair, pubkey) = keys();
    let (feed, base) = start_feed().await;
    announce(&feed, &base, "9.9.9", &sign(&pair, ARTIFACT, "9.9.9"));
    let app = app(&pubkey, &base);

    // Nothing is waiting before a check; installing then is a clear error, not a crash.
    let pending = app.state::<updates::PendingUpdate>();
    assert_eq!(pending.info(), None);
    let none = updates::download(app.handle()).await.err().unwrap();
    assert_eq!(none.code(), "no_update");

    let found = check(&app)
        .await
        .expect("9.9.9 is newer than the running app");
    assert_eq!(found.version, "9.9.9");
    assert_eq!(found.notes.as_deref(), Some("Faster sign-in."));
    assert!(found.installable, "{found:?}");
    assert!(found.note.contains("administrator password"), "{found:?}");
    assert_eq!(pending.info(), Some(found));

    let (_, bytes) = updates::download(app.handle()).await.unwrap();
    assert_eq!(bytes, ARTIFACT);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tampered_artifact_is_refused() {
    let (pair, pubkey) = keys();
    let (feed, base) = start_feed().await;
    announce(&feed, &base, "9.9.9", &sign(&pair, ARTIFACT, "9.9.9"));
    let mut tampered = ARTIFACT.to_vec();
    tampered[3] ^= 0x01;
    *feed.artifact.lock().unwrap() = tampered;
    let app = app(&pubkey, &base);

    assert!(check(&app).await.is_some());
    let error = updates::download(app.handle()).await.err().unwrap();
    assert_eq!(error.code(), "update_signature", "{error:?}");
    assert!(
        error.message().contains("not installed"),
        "{}",
        error.message()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signature_from_another_key_is_refused() {
    let (_, pubkey) = keys();
    let (attacker, _) = keys();
    let (feed, base) = start_feed().await;
    announce(&feed, &base, "9.9.9", &sign(&attacker, ARTIFACT, "9.9.9"));
    let app = app(&pubkey, &base);

    assert!(check(&app).await.is_some());
    let error = updates::download(app.handle()).await.err().unwrap();
    assert_eq!(error.code(), "update_signature", "{error:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_old_release_announced_as_new_is_refused() {
    // A genuine, validly signed old artifact paired with an inflated version (a downgrade
    // attack through the unsigned feed): the version inside the signature gives it away.
    let (pair, pubkey) = keys();
    let (feed, base) = start_feed().await;
    announce(&feed, &base, "9.9.9", &sign(&pair, ARTIFACT, "0.0.1"));
    let app = app(&pubkey, &base);

    assert!(check(&app).await.is_some());
    let error = updates::download(app.handle()).await.err().unwrap();
    assert_eq!(error.code(), "update_signature", "{error:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_update_when_the_feed_has_nothing_newer() {
    let (pair, pubkey) = keys();
    let (feed, base) = start_feed().await;
    let app = app(&pubkey, &base);
    let running = app.package_info().version.to_string();

    // 204 No Content: nothing published for this platform.
    assert_eq!(check(&app).await, None);
    // The running version itself is not an update.
    announce(&feed, &base, &running, &sign(&pair, ARTIFACT, &running));
    assert_eq!(check(&app).await, None);
    assert_eq!(app.state::<updates::PendingUpdate>().info(), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_feed_is_a_network_error() {
    let (_, pubkey) = keys();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let app = app(&pubkey, &base);
    let handle = app.handle();
    let error = updates::check(handle, handle.updater_builder())
        .await
        .err()
        .unwrap();
    assert_eq!(error.code(), "update_network", "{error:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deb_install_offered_only_an_appimage_is_told_where_to_get_it() {
    let (pair, pubkey) = keys();
    let (feed, base) = start_feed().await;
    announce(&feed, &base, "9.9.9", &sign(&pair, ARTIFACT, "9.9.9"));
    // Only the plain Linux entry, as in the issue: the plugin falls back to it for a .deb.
    feed.manifest.lock().unwrap()["platforms"]
        .as_object_mut()
        .unwrap()
        .remove("linux-x86_64-deb");
    let app = app(&pubkey, &base);
    let handle = app.handle();
    // What the plugin itself picks for a .deb install without a `-deb` entry: the AppImage.
    let found = updates::check_as(handle, handle.updater_builder(), Installer::Deb)
        .await
        .unwrap()
        .expect("the release is found");
    assert_eq!(found.version, "9.9.9");
    assert!(!found.installable, "{found:?}");
    assert!(
        found.note.contains("no .deb package update"),
        "{}",
        found.note
    );
    assert!(found.note.contains(RELEASES_PAGE), "{}", found.note);

    // Installing anyway (a stale window, a script) is refused before anything is downloaded.
    let error = updates::download(handle).await.err().unwrap();
    assert_eq!(error.code(), "update_unsupported", "{error:?}");
    assert!(error.message().contains(RELEASES_PAGE));
    assert_eq!(feed.downloads.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_build_without_a_bundle_marker_is_never_offered_an_install() {
    // The test binary, like a build from source or a distribution's package, has no marker.
    assert_eq!(Installer::current(), Installer::Unknown);
    let (pair, pubkey) = keys();
    let (feed, base) = start_feed().await;
    announce(&feed, &base, "9.9.9", &sign(&pair, ARTIFACT, "9.9.9"));
    let app = app(&pubkey, &base);
    let handle = app.handle();
    let found = updates::check(handle, handle.updater_builder())
        .await
        .unwrap()
        .expect("the release is found");
    assert!(!found.installable, "{found:?}");
    assert!(found.note.contains("package manager"), "{}", found.note);
    let error = updates::install(handle).await.err().unwrap();
    assert_eq!(error.code(), "update_unsupported", "{error:?}");
    assert_eq!(feed.downloads.load(Ordering::SeqCst), 0);
}

#[test]
fn the_shipped_configuration_has_a_valid_key_and_an_https_feed() {
    let config: Value = serde_json::from_str(include_str!("../tauri.conf.json")).unwrap();
    let updater = &config["plugins"]["updater"];
    let pubkey = B64
        .decode(updater["pubkey"].as_str().unwrap())
        .expect("pubkey is base64");
    let pubkey = String::from_utf8(pubkey).unwrap();
    minisign::PublicKeyBox::from_string(&pubkey)
        .unwrap()
        .into_public_key()
        .expect("pubkey is a minisign public key");
    let endpoints = updater["endpoints"].as_array().unwrap();
    assert!(!endpoints.is_empty());
    for endpoint in endpoints {
        let url = url::Url::parse(endpoint.as_str().unwrap()).unwrap();
        assert_eq!(url.scheme(), "https", "{url}");
        assert!(url.path().ends_with("/latest.json"), "{url}");
    }
    assert_eq!(config["bundle"]["createUpdaterArtifacts"], json!(true));
}
