//! An installed `.deb` and an AppImage update themselves, end to end, through the real updater
//! and the real window.
//!
//! `scripts/update-test.sh` builds version N and N+1 of the `.deb` and the AppImage with a
//! test-only configuration (a loopback feed on a fixed port and a throwaway signing key; the
//! shipped `tauri.conf.json` is untouched), installs N with `dpkg -i` and runs these tests. They
//! play the release feed (`latest.json` and the N+1 files). Against `/usr/bin/tessera`, over
//! WebDriver:
//! 1. a feed that lists only an AppImage (the plugin's fallback for a `.deb`): the bar says a new
//!    version exists and where to get it, with no install button, and nothing is downloaded;
//! 2. a tampered N+1: "Install and restart" is refused, dpkg still has N and N keeps working;
//! 3. the real N+1: "Install and restart" → `dpkg-query` reports N+1, the app came back to its
//!    window by itself and restored the session without a password, and a launch of N+1 is on
//!    the home screen with the same keyring entries and refresh lock, renewing through them.
//!
//! Against a copy of N's AppImage in a folder of its own, started the way a machine without FUSE
//! runs it (`APPIMAGE_EXTRACT_AND_RUN=1`): the bar offers the AppImage; "Install and restart"
//! replaces that very file with N+1's, the app comes back by itself with the session, and the
//! file started again is N+1 on the home screen with the same keyring entries and lock.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use fantoccini::{Client, Locator};
use serde_json::{json, Value};
use tessera_e2e::a11y::axe;
use tessera_e2e::ui::{click, send, sign_in, text, visible, wait_text};
use tessera_e2e::{app_slot, save_screenshot, testid, wait_until_ready, Driver};
use tessera_session::{paths, ProfilesFile};
use tessera_testkit::{BackendKind, ServerOptions, TestServer};

const APP: &str = "/usr/bin/tessera";
const PROFILE: &str = "staging";
const ACCESS_LIFETIME: u64 = 4;

/// What the feed serves.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Offer {
    /// Only the plain `linux-x86_64` entry, an AppImage.
    AppImageOnly,
    /// The `.deb` entry, with one byte of the package flipped after signing.
    Tampered,
    /// The `.deb` entry with the real N+1 package.
    Genuine,
    /// The plain and the AppImage entries, with the real N+1 AppImage.
    AppImage,
}

#[derive(Clone)]
struct Feed {
    offer: Arc<Mutex<Offer>>,
    next: String,
    package: Arc<Vec<u8>>,
    signature: String,
    /// N+1's AppImage and its signature.
    appimage: Arc<Vec<u8>>,
    appimage_signature: String,
    downloads: Arc<AtomicUsize>,
}

impl Feed {
    fn offer(&self, offer: Offer) {
        *self.offer.lock().unwrap() = offer;
    }

    fn deb_name(&self) -> String {
        format!("Tessera_{}_amd64.deb", self.next)
    }
}

async fn latest(State(feed): State<Feed>) -> Response {
    let offer = *feed.offer.lock().unwrap();
    let port = feed_port();
    let url = |file: &str| format!("http://127.0.0.1:{port}/{file}");
    let appimage = json!({
        // The AppImage-only offer to a .deb install must not even be downloaded: any signature.
        "signature": if offer == Offer::AppImage { &feed.appimage_signature } else { &feed.signature },
        "url": url(&format!("Tessera_{}_amd64.AppImage", feed.next)),
    });
    let mut platforms = json!({ "linux-x86_64": appimage });
    if offer == Offer::AppImage {
        platforms["linux-x86_64-appimage"] = appimage;
    } else if offer != Offer::AppImageOnly {
        platforms["linux-x86_64-deb"] = json!({
            "signature": feed.signature,
            "url": url(&feed.deb_name()),
        });
    }
    axum::Json(json!({
        "version": feed.next,
        "notes": "Update test release.",
        "pub_date": "2026-12-01T12:00:00Z",
        "platforms": platforms,
    }))
    .into_response()
}

async fn serve_package(State(feed): State<Feed>) -> Response {
    feed.downloads.fetch_add(1, Ordering::SeqCst);
    let mut bytes = feed.package.as_ref().clone();
    if *feed.offer.lock().unwrap() == Offer::Tampered {
        // Past the ar header, inside the compressed data: still looks like a .deb.
        let at = bytes.len() - 100;
        bytes[at] ^= 0x01;
    }
    bytes.into_response()
}

async fn serve_appimage(State(feed): State<Feed>) -> Response {
    feed.downloads.fetch_add(1, Ordering::SeqCst);
    if *feed.offer.lock().unwrap() != Offer::AppImage {
        return StatusCode::NOT_FOUND.into_response();
    }
    feed.appimage.as_ref().clone().into_response()
}

fn feed_port() -> u16 {
    env("TESSERA_UPDATE_FEED_PORT").parse().unwrap()
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run this test through `bash scripts/update-test.sh`")
    })
}

/// Serves the feed on the port compiled into the test builds.
async fn start_feed() -> Result<Feed> {
    let dir = PathBuf::from(env("TESSERA_UPDATE_DIR"));
    let next = env("TESSERA_UPDATE_TO");
    let deb = dir.join(format!("Tessera_{next}_amd64.deb"));
    let package = std::fs::read(&deb).with_context(|| format!("reading {}", deb.display()))?;
    let signature = std::fs::read_to_string(dir.join(format!("Tessera_{next}_amd64.deb.sig")))?;
    let image = dir.join(format!("Tessera_{next}_amd64.AppImage"));
    let appimage = std::fs::read(&image).with_context(|| format!("reading {}", image.display()))?;
    let appimage_signature =
        std::fs::read_to_string(dir.join(format!("Tessera_{next}_amd64.AppImage.sig")))?;
    let feed = Feed {
        offer: Arc::new(Mutex::new(Offer::AppImageOnly)),
        next: next.clone(),
        package: Arc::new(package),
        signature: signature.trim().to_owned(),
        appimage: Arc::new(appimage),
        appimage_signature: appimage_signature.trim().to_owned(),
        downloads: Arc::new(AtomicUsize::new(0)),
    };
    let app = Router::new()
        .route("/latest.json", get(latest))
        .route(&format!("/{}", feed.deb_name()), get(serve_package))
        .route(
            &format!("/Tessera_{next}_amd64.AppImage"),
            get(serve_appimage),
        )
        .with_state(feed.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", feed_port()))
        .await
        .with_context(|| format!("the feed's port {} is taken", feed_port()))?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(feed)
}

fn installed_version() -> Result<String> {
    let out = std::process::Command::new("dpkg-query")
        .args(["-W", "-f=${Status} ${Version}", "tessera"])
        .output()?;
    let line = String::from_utf8_lossy(&out.stdout).into_owned();
    ensure!(
        line.starts_with("install ok installed "),
        "dpkg says: {line:?}"
    );
    Ok(line.rsplit(' ').next().unwrap_or_default().to_owned())
}

/// The app's keyring items: object path and attributes (never the secret itself).
fn keyring_items() -> Result<BTreeSet<String>> {
    let out = std::process::Command::new("secret-tool")
        .args(["search", "--all", "service", paths::APP_IDENTIFIER])
        .output()
        .context("running secret-tool (package libsecret-tools)")?;
    // secret-tool prints the attributes on stderr and the secret on stdout: keep stderr only
    // and skip anything that is not a path or an attribute.
    let listing =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    let mut items = BTreeSet::new();
    let mut current = String::new();
    for line in listing.lines() {
        if line.starts_with('[') {
            current = line.to_owned();
        } else if line.starts_with("attribute.") {
            items.insert(format!("{current} {line}"));
        }
    }
    Ok(items)
}

/// The refresh lock files: name and inode.
fn lock_files(data_dir: &Path) -> Result<BTreeSet<(String, u64)>> {
    let mut files = BTreeSet::new();
    for entry in std::fs::read_dir(paths::lock_dir(data_dir))? {
        let entry = entry?;
        files.insert((
            entry.file_name().to_string_lossy().into_owned(),
            entry.metadata()?.ino(),
        ));
    }
    Ok(files)
}

/// Running `tessera` processes: the installed one, or one an AppImage extracted.
fn app_pids() -> BTreeSet<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return BTreeSet::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
            exe.file_name().is_some_and(|name| name == "tessera")
        })
        .collect()
}

/// Stops every running app and waits until none is left. WebDriver stops only the process it
/// started: an AppImage's runtime, not the app it runs, nor an app the updater restarted.
async fn stop_apps() -> Result<()> {
    for signal in ["-TERM", "-KILL"] {
        for pid in app_pids() {
            let _ = std::process::Command::new("kill")
                .args([signal, &pid.to_string()])
                .status();
        }
        let quit = poll("the apps quitting", Duration::from_secs(20), || {
            app_pids().is_empty().then_some(())
        });
        if quit.await.is_ok() {
            return Ok(());
        }
    }
    bail!("apps still running after SIGKILL: {:?}", app_pids())
}

/// Whether a viewable top-level window titled "Tessera" is on the display.
fn window_on_display() -> bool {
    std::process::Command::new("xwininfo")
        .args(["-name", "Tessera"])
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).contains("IsViewable"))
        .unwrap_or(false)
}

async fn poll<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Option<T>) -> Result<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = probe() {
            return Ok(value);
        }
        if Instant::now() > deadline {
            bail!("{what} did not happen within {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

struct Install {
    xdg: tempfile::TempDir,
    /// What tauri-driver starts: /usr/bin/tessera or an AppImage file.
    app: PathBuf,
    /// The profile, and so the keyring entry, of this install.
    profile: &'static str,
    /// The desktop prefers the dark theme (the update bar is checked in both).
    dark: bool,
}

impl Install {
    /// A fresh data folder with the test server as `profile`.
    fn new(
        server: &TestServer,
        app: PathBuf,
        profile: &'static str,
        dark: bool,
    ) -> Result<Install> {
        let install = Install {
            xdg: tempfile::tempdir()?,
            app,
            profile,
            dark,
        };
        ProfilesFile::update(&paths::profiles_file(&install.data_dir()), |file| {
            let mut profile = tessera_session::Profile::new(server.base_url().clone());
            profile.me_path = Some("/api/me/".into());
            file.upsert(install.profile, profile)
        })?;
        Ok(install)
    }

    fn data_dir(&self) -> PathBuf {
        self.xdg.path().join(paths::APP_IDENTIFIER)
    }

    /// The next launch checks the feed again (the check runs at most once a day).
    fn forget_last_check(&self) -> Result<()> {
        let settings = self.data_dir().join("settings.json");
        if let Ok(raw) = std::fs::read_to_string(&settings) {
            let mut value: Value = serde_json::from_str(&raw)?;
            if let Some(map) = value.as_object_mut() {
                map.remove("updates_last_check");
            }
            std::fs::write(&settings, value.to_string())?;
        }
        Ok(())
    }

    async fn launch(&self, server: &TestServer) -> Result<(Driver, Client)> {
        self.forget_last_check()?;
        // An AppImage runs without FUSE by extracting itself; its restart after an update
        // inherits this too.
        let config = self.xdg.path().join("config");
        std::fs::create_dir_all(config.join("gtk-3.0"))?;
        std::fs::write(
            config.join("gtk-3.0/settings.ini"),
            format!(
                "[Settings]\ngtk-application-prefer-dark-theme={}\n",
                u8::from(self.dark)
            ),
        )?;
        let env = [
            ("XDG_DATA_HOME", self.xdg.path().as_os_str()),
            ("XDG_CONFIG_HOME", config.as_os_str()),
            ("APPIMAGE_EXTRACT_AND_RUN", std::ffi::OsStr::new("1")),
        ];
        let driver = Driver::start_with_env(&env).await?;
        let url = server.base_url().to_string();
        let client = driver
            .launch(&self.app, &["--server", &url, "--profile", self.profile])
            .await?;
        wait_until_ready(&client).await?;
        Ok((driver, client))
    }
}

/// After "Install and restart": a new app process replaced `before`, its window is on the
/// display, and it restored the session by itself (a `GET /api/me/` past `restores`) without a
/// sign-in. Then the WebDriver session of the replaced app is closed and every app stopped.
async fn restarted_with_the_session(
    server: &TestServer,
    before: &BTreeSet<u32>,
    restores: u64,
    sign_ins: u64,
    client: Client,
    driver: Driver,
) -> Result<()> {
    let restarted = poll("the app restarting", Duration::from_secs(60), || {
        let now = app_pids();
        (now.is_disjoint(before) && !now.is_empty()).then_some(now)
    })
    .await?;
    poll(
        "the restarted app's window",
        Duration::from_secs(60),
        || window_on_display().then_some(()),
    )
    .await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.count("GET /api/me/ 200").await? <= restores {
        ensure!(
            Instant::now() < deadline,
            "the restarted app did not restore the session within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    ensure!(
        server.count("POST /api/token/ 200").await? == sign_ins,
        "a password was used"
    );
    let _ = client.close().await;
    drop(driver);
    ensure!(
        !app_pids().is_disjoint(&restarted),
        "the restarted app quit by itself"
    );
    stop_apps().await
}

async fn footer_version(client: &Client) -> Result<String> {
    let value = client
        .execute(
            "return document.querySelector(\"[data-testid='app-version']\").textContent",
            vec![],
        )
        .await?;
    Ok(value.as_str().unwrap_or_default().to_owned())
}

async fn install_button_shown(client: &Client) -> Result<bool> {
    client
        .find(Locator::Css(&testid("update-install")))
        .await?
        .is_displayed()
        .await
        .map_err(Into::into)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_installed_deb_updates_itself_and_keeps_the_session() -> Result<()> {
    let _slot = app_slot().await;
    // Whatever a failed sibling test left running (each test stops its apps when it passes).
    stop_apps().await?;
    let from = env("TESSERA_UPDATE_FROM");
    let to = env("TESSERA_UPDATE_TO");
    ensure!(
        installed_version()? == from,
        "version {from} is not installed"
    );
    let feed = start_feed().await?;
    let server = TestServer::start(
        BackendKind::Rust,
        ServerOptions {
            access_lifetime_secs: ACCESS_LIFETIME,
            ..ServerOptions::default()
        },
    )
    .await?;
    let (user, password) = tessera_e2e::credentials(&server);
    let install = Install::new(&server, PathBuf::from(APP), PROFILE, false)?;

    // 1. Only an AppImage in the feed: a .deb install is told where to get N+1, no button.
    let (driver, client) = install.launch(&server).await?;
    ensure!(footer_version(&client).await? == format!("Tessera {from}"));
    visible(&client, "update-banner").await?;
    wait_text(&client, "update-text", |t| t.contains(&to)).await?;
    let note = text(&client, "update-note").await?;
    ensure!(
        note.contains("no .deb package update") && note.contains("/releases/latest"),
        "the note was {note:?}"
    );
    ensure!(
        !install_button_shown(&client).await?,
        "a .deb install was offered an AppImage to install"
    );
    save_screenshot(&client, "update-get-it-elsewhere").await?;
    let found = axe(&client, "update bar, get it elsewhere").await?;
    ensure!(found.is_empty(), "axe-core on the update bar: {found:?}");
    sign_in(&client, &user, &password).await?;
    visible(&client, "home-screen").await?;
    ensure!(
        feed.downloads.load(Ordering::SeqCst) == 0,
        "the AppImage was downloaded"
    );
    // A request after the access token expired: the refresh goes through the refresh lock.
    tokio::time::sleep(Duration::from_secs(ACCESS_LIFETIME + 1)).await;
    send(&client, "GET", "/api/hello/", "").await?;
    let keyring_before = keyring_items()?;
    let locks_before = lock_files(&install.data_dir())?;
    ensure!(!keyring_before.is_empty(), "no keyring item after sign-in");
    ensure!(!locks_before.is_empty(), "no refresh lock after a refresh");
    let _ = client.close().await;
    drop(driver);
    tokio::time::sleep(Duration::from_millis(500)).await;

    // 2. A tampered N+1: refused, N keeps running and working.
    feed.offer(Offer::Tampered);
    let (driver, client) = install.launch(&server).await?;
    visible(&client, "home-screen").await?;
    visible(&client, "update-install").await?;
    let note = text(&client, "update-note").await?;
    ensure!(
        note.contains("administrator password"),
        "the note was {note:?}"
    );
    click(&client, "update-install").await?;
    let error = wait_text(&client, "update-error", |t| !t.is_empty()).await?;
    ensure!(error.contains("not signed"), "the error was {error:?}");
    ensure!(
        installed_version()? == from,
        "a tampered package was installed"
    );
    let (status, _) = send(&client, "GET", "/api/hello/", "").await?;
    ensure!(
        status == "200",
        "N stopped working after the refusal: {status}"
    );
    save_screenshot(&client, "update-tampered-refused").await?;
    let found = axe(&client, "update bar, refused").await?;
    ensure!(
        found.is_empty(),
        "axe-core on the refused update: {found:?}"
    );
    let _ = client.close().await;
    drop(driver);
    tokio::time::sleep(Duration::from_millis(500)).await;

    // 3. The genuine N+1: installed by dpkg, the app restarts into it by itself.
    feed.offer(Offer::Genuine);
    let sign_ins = server.count("POST /api/token/ 200").await?;
    let restores = server.count("GET /api/me/ 200").await?;
    let (driver, client) = install.launch(&server).await?;
    visible(&client, "home-screen").await?;
    visible(&client, "update-install").await?;
    let before = app_pids();
    ensure!(
        before.len() == 1,
        "expected one running app, found {before:?}"
    );
    click(&client, "update-install").await?;
    let installed = poll("dpkg reporting N+1", Duration::from_secs(180), || {
        installed_version().ok().filter(|v| *v == to)
    })
    .await?;
    eprintln!("dpkg-query: tessera {installed}");
    // It restored the session by itself: past this launch's own restore, without a sign-in.
    restarted_with_the_session(&server, &before, restores + 1, sign_ins, client, driver).await?;

    // 4. N+1 launched again: home without a password, same keyring items and refresh lock.
    let (driver, client) = install.launch(&server).await?;
    visible(&client, "home-screen").await?;
    ensure!(footer_version(&client).await? == format!("Tessera {to}"));
    // Past the access lifetime (N+1 renews in the background or at this request).
    let refreshes = server.count("POST /api/token/refresh/ 200").await?;
    tokio::time::sleep(Duration::from_secs(ACCESS_LIFETIME + 1)).await;
    let (status, body) = send(&client, "GET", "/api/hello/", "").await?;
    ensure!(status == "200" && body.contains("Hello"), "{status} {body}");
    ensure!(
        server.count("POST /api/token/refresh/ 200").await? > refreshes,
        "no refresh"
    );
    ensure!(
        keyring_items()? == keyring_before,
        "the keyring items changed"
    );
    ensure!(
        lock_files(&install.data_dir())? == locks_before,
        "the refresh lock changed"
    );
    ensure!(
        server.count("POST /api/token/ 200").await? == sign_ins,
        "a password was used"
    );
    // N+1 is current: no update bar.
    ensure!(
        !client
            .find(Locator::Css(&testid("update-banner")))
            .await?
            .is_displayed()
            .await?,
        "N+1 offers an update to itself"
    );
    save_screenshot(&client, "update-done").await?;
    let _ = client.close().await;
    drop(driver);
    stop_apps().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_appimage_replaces_itself_and_keeps_the_session() -> Result<()> {
    let _slot = app_slot().await;
    // Whatever a failed sibling test left running (each test stops its apps when it passes).
    stop_apps().await?;
    let from = env("TESSERA_UPDATE_FROM");
    let to = env("TESSERA_UPDATE_TO");
    let feed = start_feed().await?;
    feed.offer(Offer::AppImage);
    let server = TestServer::start(
        BackendKind::Rust,
        ServerOptions {
            access_lifetime_secs: ACCESS_LIFETIME,
            ..ServerOptions::default()
        },
    )
    .await?;
    let (user, password) = tessera_e2e::credentials(&server);
    // N's AppImage where a user keeps it: a folder of their own.
    let folder = tempfile::tempdir()?;
    let image = folder.path().join("Tessera.AppImage");
    let source =
        PathBuf::from(env("TESSERA_UPDATE_DIR")).join(format!("Tessera_{from}_amd64.AppImage"));
    std::fs::copy(&source, &image).with_context(|| format!("copying {}", source.display()))?;
    std::fs::set_permissions(&image, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    ensure!(
        std::fs::read(&image)? != *feed.appimage,
        "N and N+1 are the same file"
    );
    // Its own profile: the .deb test's keyring entry stays out of the way.
    let install = Install::new(&server, image.clone(), "appimage", true)?;

    // 1. N offers the AppImage, says what will happen; sign in and renew once (the lock).
    let (driver, client) = install.launch(&server).await?;
    ensure!(footer_version(&client).await? == format!("Tessera {from}"));
    visible(&client, "update-banner").await?;
    wait_text(&client, "update-text", |t| t.contains(&to)).await?;
    visible(&client, "update-install").await?;
    let note = text(&client, "update-note").await?;
    ensure!(
        note.contains("replaces this AppImage"),
        "the note was {note:?}"
    );
    sign_in(&client, &user, &password).await?;
    visible(&client, "home-screen").await?;
    tokio::time::sleep(Duration::from_secs(ACCESS_LIFETIME + 1)).await;
    send(&client, "GET", "/api/hello/", "").await?;
    let keyring_before = keyring_items()?;
    let locks_before = lock_files(&install.data_dir())?;
    ensure!(!keyring_before.is_empty(), "no keyring item after sign-in");
    ensure!(!locks_before.is_empty(), "no refresh lock after a refresh");

    // 2. Install and restart: the file is replaced with N+1's, the app comes back by itself.
    let sign_ins = server.count("POST /api/token/ 200").await?;
    let restores = server.count("GET /api/me/ 200").await?;
    let before = app_pids();
    ensure!(
        before.len() == 1,
        "expected one running app, found {before:?}"
    );
    save_screenshot(&client, "update-appimage-offer").await?;
    let found = axe(&client, "update bar, install offered (dark)").await?;
    ensure!(
        found.is_empty(),
        "axe-core on the offered update: {found:?}"
    );
    click(&client, "update-install").await?;
    poll(
        "the AppImage file becoming N+1",
        Duration::from_secs(180),
        || {
            std::fs::read(&image)
                .ok()
                .filter(|bytes| *bytes == *feed.appimage)
                .map(|_| ())
        },
    )
    .await?;
    restarted_with_the_session(&server, &before, restores, sign_ins, client, driver).await?;

    // 3. The same file started again is N+1: home, same keyring items and lock, no bar.
    let (driver, client) = install.launch(&server).await?;
    visible(&client, "home-screen").await?;
    ensure!(footer_version(&client).await? == format!("Tessera {to}"));
    let (status, body) = send(&client, "GET", "/api/hello/", "").await?;
    ensure!(status == "200" && body.contains("Hello"), "{status} {body}");
    ensure!(
        keyring_items()? == keyring_before,
        "the keyring items changed"
    );
    ensure!(
        lock_files(&install.data_dir())? == locks_before,
        "the refresh lock changed"
    );
    ensure!(
        !client
            .find(Locator::Css(&testid("update-banner")))
            .await?
            .is_displayed()
            .await?,
        "N+1 offers an update to itself"
    );
    save_screenshot(&client, "update-appimage-done").await?;
    let _ = client.close().await;
    drop(driver);
    stop_apps().await
}
