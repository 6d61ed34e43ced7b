//! End-to-end tests of the real release-mode window (tauri-driver + WebKitWebDriver under Xvfb)
//! with the real Secret Service and the reference backend (short access tokens, rotation and
//! blacklist on): sign-in errors, refresh while the window is open, restore on relaunch,
//! sign-out with blacklisting, no token in the page, and an unreachable server. One test runs
//! a real dj-rest-auth 7.2 in cookie mode with TOTP two-factor sign-in instead; `sharing`
//! flips "Share with local tools" and uses the session through the URL the page shows; `a11y`
//! runs axe-core on every screen in both themes; `keyboard` does the journey with keys only;
//! `resign` signs in again over the work when the session ends mid-work.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use fantoccini::Client;
use tessera_e2e::ui::{click, send, sign_in, text, type_into, visible, wait_text};
use tessera_e2e::{app_binary, app_slot, save_screenshot, wait_until_ready, Driver};
use tessera_session::vault::Vault;
use tessera_session::{paths, KeyringStore, ProfilesFile, SecretStore, Session, SessionConfig};
use tessera_testkit::{BackendKind, ServerOptions, Stack, StackOptions, TestServer};

#[path = "app/a11y.rs"]
mod a11y;
#[path = "app/keyboard.rs"]
mod keyboard;
#[path = "app/register.rs"]
mod register;
#[path = "app/resign.rs"]
mod resign;
#[path = "app/sharing.rs"]
mod sharing;

const PROFILE: &str = "e2e";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Theme {
    Light,
    Dark,
}
const ACCESS_LIFETIME: u64 = 4;

/// One app installation: its own data directory (profiles file) shared by every launch.
struct Install {
    xdg: tempfile::TempDir,
    /// The desktop's "reduce animations" setting (`gtk-enable-animations=0`).
    reduced_motion: bool,
}

impl Install {
    fn new() -> Self {
        Self {
            xdg: tempfile::tempdir().unwrap(),
            reduced_motion: false,
        }
    }

    fn data_dir(&self) -> PathBuf {
        self.xdg.path().join(paths::APP_IDENTIFIER)
    }

    /// Adds the profile [`PROFILE`] on `server` offering registration, so "Create an account"
    /// is on the sign-in screen.
    fn offer_registration(&self, server: &TestServer) -> Result<()> {
        ProfilesFile::update(&paths::profiles_file(&self.data_dir()), |file| {
            let mut profile = tessera_session::Profile::new(server.base_url().clone());
            profile.me_path = Some("/api/me/".into());
            profile.registration_path = Some("/api/register/".into());
            file.upsert(PROFILE, profile)
        })?;
        Ok(())
    }

    /// Launches the app (through a fresh tauri-driver) pointed at `server`. The profile is
    /// prepared as a user would in "Manage profiles" (with the "me" endpoint); `--server`
    /// then only updates its URL.
    async fn launch(&self, server: &TestServer) -> Result<(Driver, Client)> {
        self.launch_themed(server, None).await
    }

    /// Like [`Install::launch`], with a GTK theme (`Adwaita:dark` makes WebKit report
    /// `prefers-color-scheme: dark`).
    async fn launch_themed(
        &self,
        server: &TestServer,
        theme: Option<Theme>,
    ) -> Result<(Driver, Client)> {
        ProfilesFile::update(&paths::profiles_file(&self.data_dir()), |file| {
            if !file.profiles.contains_key(PROFILE) {
                let mut profile = tessera_session::Profile::new(server.base_url().clone());
                profile.me_path = Some("/api/me/".into());
                file.upsert(PROFILE, profile)?;
            }
            Ok(())
        })?;
        let url = server.base_url().to_string();
        self.open(theme, &["--server", &url, "--profile", PROFILE])
            .await
    }

    /// Launches the app (through a fresh tauri-driver) with `args` and whatever profiles this
    /// installation has: none at first, as after installing it.
    async fn open(&self, theme: Option<Theme>, args: &[&str]) -> Result<(Driver, Client)> {
        // The OS preference, as a GTK desktop stores it: `gtk-application-prefer-dark-theme`.
        let config = self.xdg.path().join("config");
        let gtk = config.join("gtk-3.0");
        std::fs::create_dir_all(&gtk)?;
        let dark = u8::from(theme == Some(Theme::Dark));
        std::fs::write(
            gtk.join("settings.ini"),
            format!(
                "[Settings]\ngtk-application-prefer-dark-theme={dark}\ngtk-theme-name={}\ngtk-enable-animations={}\n",
                if dark == 1 { "Adwaita-dark" } else { "Adwaita" },
                u8::from(!self.reduced_motion)
            ),
        )?;
        let env = [
            ("XDG_DATA_HOME", self.xdg.path().as_os_str()),
            ("XDG_CONFIG_HOME", config.as_os_str()),
        ];
        let driver = Driver::start_with_env(&env).await?;
        let client = driver.launch(&app_binary()?, args).await?;
        wait_until_ready(&client).await?;
        Ok((driver, client))
    }

    fn store(&self) -> Arc<dyn SecretStore> {
        Arc::new(KeyringStore::new(paths::APP_IDENTIFIER).unwrap())
    }

    /// The tokens the app stored in the keyring, if any.
    async fn stored_tokens(&self) -> Vec<String> {
        let vault = Vault::new(self.store(), Duration::from_secs(5));
        match vault.load(PROFILE).await.unwrap() {
            Some(stored) => {
                let mut tokens = vec![stored.access.expose_secret().to_owned()];
                tokens.extend(stored.refresh.map(|r| r.expose_secret().to_owned()));
                tokens
            }
            None => Vec::new(),
        }
    }

    /// Every secret of the stored session: its tokens (in cookie mode the refresh token is
    /// the refresh cookie's value) and the values of the other cookies kept with them.
    async fn stored_secrets(&self) -> Vec<String> {
        let vault = Vault::new(self.store(), Duration::from_secs(5));
        let Some(stored) = vault.load(PROFILE).await.unwrap() else {
            return Vec::new();
        };
        let mut secrets = vec![stored.access.expose_secret().to_owned()];
        secrets.extend(stored.refresh.map(|r| r.expose_secret().to_owned()));
        secrets.extend(stored.cookies.exposed_others().map(|(_, v)| v.to_owned()));
        secrets
    }

    /// The session as a second process (the CLI) sees it.
    fn engine(&self) -> Session {
        let file = ProfilesFile::load(&paths::profiles_file(&self.data_dir())).unwrap();
        let profile = file.get(PROFILE).unwrap().clone();
        Session::open(SessionConfig::new(
            PROFILE,
            profile,
            self.store(),
            paths::lock_dir(&self.data_dir()),
        ))
        .unwrap()
    }
}

/// The page's DOM, localStorage and sessionStorage, as one string.
async fn page_contents(client: &Client) -> Result<String> {
    let value = client
        .execute(
            "const dump = (s) => { const o = {}; for (let i = 0; i < s.length; i++) { const k = s.key(i); o[k] = s.getItem(k); } return o; };
             return JSON.stringify({ dom: document.documentElement.outerHTML, local: dump(window.localStorage), session: dump(window.sessionStorage), cookie: document.cookie });",
            vec![],
        )
        .await?;
    Ok(value.as_str().unwrap_or_default().to_owned())
}

fn assert_no_tokens(page: &str, tokens: &[String]) {
    assert!(!tokens.is_empty());
    for token in tokens {
        // A token, or any long piece of one (its signature), must not be in the page.
        let signature = token.rsplit('.').next().unwrap();
        assert!(!page.contains(token.as_str()), "the page holds a token");
        assert!(
            !page.contains(signature),
            "the page holds a token's signature"
        );
    }
    assert!(!page.contains("eyJ"), "the page holds something JWT-shaped");
}

fn server_options() -> ServerOptions {
    ServerOptions {
        access_lifetime_secs: ACCESS_LIFETIME,
        ..ServerOptions::default()
    }
}

async fn close(client: Client) {
    let _ = client.close().await;
    // Let the app exit before the next launch (single instance).
    tokio::time::sleep(Duration::from_millis(500)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_refresh_relaunch_and_sign_out() -> Result<()> {
    let _slot = app_slot().await;
    let server = TestServer::start(BackendKind::Rust, server_options()).await?;
    let (user, password) = tessera_e2e::credentials(&server);
    let install = Install::new();

    // 1. A wrong password: a clear error, and nothing in the keyring.
    let (_driver, client) = install.launch(&server).await?;
    sign_in(&client, &user, "definitely-wrong").await?;
    let error = wait_text(&client, "login-error", |t| !t.is_empty()).await?;
    ensure!(
        error.to_lowercase().contains("password") || error.to_lowercase().contains("credentials"),
        "error was {error:?}"
    );
    ensure!(
        install.stored_tokens().await.is_empty(),
        "a failed sign-in wrote to the keyring"
    );
    save_screenshot(&client, "login-error").await?;

    // 2. Sign in: home shows the user.
    sign_in(&client, &user, &password).await?;
    visible(&client, "home-screen").await?;
    wait_text(&client, "home-user", |t| t.contains(&user)).await?;
    let tokens = install.stored_tokens().await;
    ensure!(
        tokens.len() == 2,
        "expected access and refresh tokens in the keyring"
    );
    ensure!(
        text(&client, "access-expires").await?.starts_with("in "),
        "access countdown missing"
    );
    let (status, body) = send(&client, "GET", "/api/hello/", "").await?;
    ensure!(
        status == "200" && body.contains("Hello, World!"),
        "{status} {body}"
    );
    save_screenshot(&client, "home").await?;

    // 3. Past the access lifetime, a request still succeeds and the log shows a refresh.
    tokio::time::sleep(Duration::from_secs(ACCESS_LIFETIME + 1)).await;
    let (status, body) = send(&client, "POST", "/api/echo/", r#"{"kept": [1, 2, 3]}"#).await?;
    ensure!(status == "200" && body.contains("kept"), "{status} {body}");
    wait_text(&client, "activity-log", |t| t.contains("refreshed")).await?;
    ensure!(server.count("POST /api/token/refresh/ 200").await? >= 1);

    // 4. No token in the DOM, localStorage or sessionStorage (old or rotated ones).
    let mut all_tokens = tokens.clone();
    all_tokens.extend(install.stored_tokens().await);
    assert_no_tokens(&page_contents(&client).await?, &all_tokens);

    // 5. Quit and relaunch: home again, without a password.
    close(client).await;
    let (_driver2, client) = install.launch(&server).await?;
    visible(&client, "home-screen").await?;
    wait_text(&client, "home-user", |t| t.contains(&user)).await?;
    assert_no_tokens(&page_contents(&client).await?, &all_tokens);

    // 6. Sign out: login screen, keyring entry gone, refresh token blacklisted on the server.
    let before = install.stored_tokens().await;
    let refresh = before
        .get(1)
        .cloned()
        .context("no refresh token before sign-out")?;
    click(&client, "sign-out").await?;
    visible(&client, "login-screen").await?;
    ensure!(
        install.stored_tokens().await.is_empty(),
        "sign-out left the keyring entry"
    );
    ensure!(
        !install.engine().load().await?.signed_in,
        "another process still sees a session"
    );
    let reuse = reqwest::Client::new()
        .post(server.url("api/token/refresh/"))
        .json(&serde_json::json!({ "refresh": refresh }))
        .send()
        .await?;
    ensure!(
        reuse.status() == 401,
        "the refresh token was not blacklisted: {}",
        reuse.status()
    );
    let body: serde_json::Value = reuse.json().await?;
    ensure!(body["detail"] == "Token is blacklisted", "{body}");
    close(client).await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_server_is_explained_and_the_session_survives() -> Result<()> {
    let _slot = app_slot().await;
    let mut server = TestServer::start(BackendKind::Rust, server_options()).await?;
    let (user, password) = tessera_e2e::credentials(&server);
    let install = Install::new();
    let (_driver, client) = install.launch(&server).await?;
    sign_in(&client, &user, &password).await?;
    visible(&client, "home-screen").await?;

    server.stop();
    let (status, body) = send(&client, "GET", "/api/hello/", "").await?;
    ensure!(status == "network", "status was {status:?} ({body})");
    ensure!(
        body.to_lowercase().contains("reach"),
        "the message does not say the server is unreachable: {body:?}"
    );
    save_screenshot(&client, "unreachable").await?;
    ensure!(
        !install.stored_tokens().await.is_empty(),
        "an unreachable server ended the session"
    );

    server.start_again().await?;
    tokio::time::sleep(Duration::from_secs(ACCESS_LIFETIME + 1)).await;
    let (status, body) = send(&client, "GET", "/api/me/", "").await?;
    ensure!(status == "200" && body.contains(&user), "{status} {body}");
    visible(&client, "home-screen").await?;
    close(client).await;
    Ok(())
}

async fn background(client: &Client) -> Result<String> {
    let value = client
        .execute(
            "return getComputedStyle(document.body).backgroundColor",
            vec![],
        )
        .await?;
    Ok(value.as_str().unwrap_or_default().to_owned())
}

/// Light and dark follow the OS; the screenshots of every screen in both land in
/// `artifacts/e2e/` (the README shows copies from `docs/`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screens_follow_the_os_theme() -> Result<()> {
    let _slot = app_slot().await;
    let server = TestServer::start(BackendKind::Rust, ServerOptions::default()).await?;
    let (user, password) = tessera_e2e::credentials(&server);
    let mut backgrounds = Vec::new();
    for (theme, suffix) in [(Some(Theme::Light), "light"), (Some(Theme::Dark), "dark")] {
        let install = Install::new();
        let (_driver, client) = install.launch_themed(&server, theme).await?;
        backgrounds.push(background(&client).await?);
        save_screenshot(&client, &format!("screen-login-{suffix}")).await?;
        click(&client, "manage-profiles").await?;
        visible(&client, "profiles-screen").await?;
        save_screenshot(&client, &format!("screen-profiles-{suffix}")).await?;
        click(&client, "profiles-back").await?;
        visible(&client, "login-screen").await?;
        sign_in(&client, &user, &password).await?;
        visible(&client, "home-screen").await?;
        wait_text(&client, "home-user", |t| t.contains(&user)).await?;
        send(&client, "POST", "/api/echo/", r#"{"hello": "world"}"#).await?;
        save_screenshot(&client, &format!("screen-home-{suffix}")).await?;
        click(&client, "sign-out").await?;
        visible(&client, "login-screen").await?;
        close(client).await;
    }
    ensure!(
        backgrounds[0] != backgrounds[1],
        "the dark theme did not change the page: {backgrounds:?}"
    );
    Ok(())
}

/// A profile made in the UI: "Test connection" recognises a simplejwt server, and the saved
/// profile keeps simplejwt's endpoints (so sign-out still blacklists).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_added_in_the_ui_tests_and_saves_with_defaults() -> Result<()> {
    let _slot = app_slot().await;
    let server = TestServer::start(BackendKind::Rust, ServerOptions::default()).await?;
    let install = Install::new();
    let (_driver, client) = install.launch(&server).await?;
    click(&client, "manage-profiles").await?;
    visible(&client, "profiles-screen").await?;
    click(&client, "profile-new").await?;
    type_into(&client, "pf-name", "staging").await?;
    type_into(&client, "pf-base-url", server.base_url().as_str()).await?;
    click(&client, "profile-test").await?;
    let note = wait_text(&client, "profile-message", |t| {
        t.contains("simplejwt") || t.contains("answered")
    })
    .await?;
    ensure!(
        note.contains("answered like a simplejwt token endpoint"),
        "test connection said {note:?}"
    );
    click(&client, "profile-save").await?;
    wait_text(&client, "profile-message", |t| t.contains("Saved")).await?;

    let file = ProfilesFile::load(&paths::profiles_file(&install.data_dir()))?;
    let saved = file.get("staging")?;
    ensure!(
        saved.base_url == *server.base_url(),
        "saved URL {}",
        saved.base_url
    );
    ensure!(
        saved.blacklist_path.as_deref() == Some("/api/token/blacklist/"),
        "a new profile lost the blacklist endpoint: {:?}",
        saved.blacklist_path
    );
    ensure!(file.last_profile.as_deref() == Some("staging"));

    // Adding it again under the same name is refused, and says why.
    click(&client, "profile-new").await?;
    type_into(&client, "pf-name", "staging").await?;
    type_into(&client, "pf-base-url", server.base_url().as_str()).await?;
    click(&client, "profile-save").await?;
    let note = wait_text(&client, "profile-message", |t| t.contains("exists")).await?;
    ensure!(note.contains("exists already"), "{note}");
    close(client).await;
    Ok(())
}

/// RFC 6238's test secret ("12345678901234567890"), base32: the enrolled user's TOTP secret.
const TOTP_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

/// What the page's script says about an element (`return ...` with `el` bound to it).
async fn script_on(client: &Client, id: &str, expression: &str) -> Result<serde_json::Value> {
    Ok(client
        .execute(
            &format!(
                "const el = document.querySelector(\"[data-testid='{id}']\"); return {expression};"
            ),
            vec![],
        )
        .await?)
}

/// Not the default stack: a real dj-rest-auth 7.2 in cookie mode (the refresh token only in an
/// HttpOnly cookie) with TOTP two-factor sign-in. The profile is made in the window with
/// "Detect"; sign-in asks for the code after the password (a wrong one is refused and may be
/// retried, a TOTP code computed here gets in); the page never holds a token or a cookie value;
/// sign-out blacklists the refresh token on the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dj_rest_auth_cookie_mode_with_a_totp_code_detected_and_signed_in_in_the_window(
) -> Result<()> {
    let _slot = app_slot().await;
    let stack = Stack::DjRestAuth;
    let stack_options = StackOptions {
        cookie_mode: true,
        mfa_totp_secret: Some(TOTP_SECRET.to_owned()),
        ..StackOptions::default()
    };
    let server = TestServer::start_stack(stack, ServerOptions::default(), stack_options).await?;
    let refresh_cookie = server.stack_options().unwrap().refresh_cookie.clone();
    let (user, password) = tessera_e2e::credentials(&server);
    let install = Install::new();
    let (_driver, client) = install.open(None, &[]).await?;

    // 1. A new profile in the window: the server URL, then "Detect".
    click(&client, "manage-profiles").await?;
    visible(&client, "profiles-screen").await?;
    click(&client, "profile-new").await?;
    type_into(&client, "pf-name", PROFILE).await?;
    type_into(&client, "pf-base-url", server.base_url().as_str()).await?;
    click(&client, "profile-detect").await?;
    let found = wait_text(&client, "profile-detection", |t| {
        t.contains("Detected") || t.contains("No Django")
    })
    .await?;
    ensure!(
        found.contains("Detected dj-rest-auth-cookie"),
        "Detect said {found:?}"
    );
    ensure!(
        found.contains("cookie mode") && found.contains("two-factor"),
        "the findings miss cookie mode or two-factor sign-in: {found:?}"
    );
    let stack_choice = script_on(&client, "pf-preset", "el.value").await?;
    ensure!(
        stack_choice == "dj-rest-auth-cookie",
        "the Stack choice shows {stack_choice}"
    );
    ensure!(
        ProfilesFile::load(&paths::profiles_file(&install.data_dir()))?
            .profiles
            .is_empty(),
        "Detect saved the profile before the user did"
    );
    save_screenshot(&client, "profile-detected").await?;
    click(&client, "profile-save").await?;
    wait_text(&client, "profile-message", |t| t.contains("Saved")).await?;
    let saved = ProfilesFile::load(&paths::profiles_file(&install.data_dir()))?
        .get(PROFILE)?
        .clone();
    ensure!(
        saved.preset.as_deref() == Some("dj-rest-auth-cookie")
            && saved.obtain_path == stack.login_path()
            && saved.mfa_verify_path.as_deref() == stack.mfa_verify_path(),
        "saved {saved:?}"
    );
    click(&client, "profiles-back").await?;
    visible(&client, "login-screen").await?;

    // 2. The password: the server wants a code. The code field takes focus and the message
    // is in the live region; nothing is in the keyring yet.
    sign_in(&client, &user, &password).await?;
    visible(&client, "code-step").await?;
    let asked = wait_text(&client, "login-error", |t| !t.is_empty()).await?;
    ensure!(asked.contains("code"), "the code step says {asked:?}");
    let field = script_on(
        &client,
        "mfa-code",
        "[document.activeElement === el, el.getAttribute('autocomplete'), el.getAttribute('inputmode'), el.labels[0].textContent, document.getElementById(el.getAttribute('aria-describedby')).textContent]",
    )
    .await?;
    ensure!(
        field
            == serde_json::json!([
                true,
                "one-time-code",
                "text",
                "Authentication code",
                "6-digit code from your authenticator app, or a recovery code"
            ]),
        "the code field: {field}"
    );
    ensure!(
        install.stored_tokens().await.is_empty(),
        "the password step wrote to the keyring"
    );
    save_screenshot(&client, "mfa-code-step").await?;
    let found = tessera_e2e::a11y::axe(&client, "second-factor code").await?;
    ensure!(found.is_empty(), "axe-core on the code step: {found:?}");

    // 3. A wrong code: refused, the step stays for another try, the field is emptied.
    let code = tessera_testkit::totp_now(TOTP_SECRET)?;
    let wrong = if code == "000000" { "999999" } else { "000000" };
    type_into(&client, "mfa-code", wrong).await?;
    click(&client, "verify-code").await?;
    let refused = wait_text(&client, "login-error", |t| t.contains("did not accept")).await?;
    ensure!(refused.contains("code"), "{refused}");
    visible(&client, "code-step").await?;
    let after = script_on(
        &client,
        "mfa-code",
        "[el.value, document.activeElement === el]",
    )
    .await?;
    ensure!(
        after == serde_json::json!(["", true]),
        "after a refused code: {after}"
    );
    let found = tessera_e2e::a11y::axe(&client, "second-factor code refused").await?;
    ensure!(found.is_empty(), "axe-core on the refused code: {found:?}");

    // 4. The current TOTP code: home, and the session works.
    let code = tessera_testkit::totp_now(TOTP_SECRET)?;
    type_into(&client, "mfa-code", &code).await?;
    click(&client, "verify-code").await?;
    visible(&client, "home-screen").await?;
    wait_text(&client, "home-user", |t| t.contains(&user)).await?;
    let (status, body) = send(&client, "POST", stack.echo_path(), r#"{"n": 1}"#).await?;
    ensure!(status == "200" && body.contains(&user), "{status} {body}");
    let secrets = install.stored_secrets().await;
    ensure!(
        secrets.len() >= 2,
        "expected the access token and the refresh cookie in the keyring"
    );
    let refresh = secrets[1].clone();
    ensure!(
        refresh.starts_with("eyJ"),
        "the refresh cookie was not kept"
    );

    // 5. No token, no cookie value and no code in the DOM, localStorage or sessionStorage.
    let page = page_contents(&client).await?;
    assert_no_tokens(&page, &secrets);
    ensure!(
        !page.contains(&password) && !page.contains(&code),
        "the page kept the password or the code"
    );

    // 6. Sign out: login screen, keyring empty, the refresh token blacklisted on the server.
    click(&client, "sign-out").await?;
    visible(&client, "login-screen").await?;
    ensure!(
        install.stored_tokens().await.is_empty(),
        "sign-out left the keyring entry"
    );
    let logout = stack.logout_path().unwrap();
    ensure!(
        server.count(&format!("POST {logout} 200")).await? == 1,
        "no successful logout at the server: {:?}",
        server.counters().await?
    );
    let reuse = reqwest::Client::new()
        .post(server.url(stack.refresh_path()))
        .header(
            reqwest::header::COOKIE,
            format!("{refresh_cookie}={refresh}"),
        )
        .json(&serde_json::json!({}))
        .send()
        .await?;
    let status = reuse.status();
    let body: serde_json::Value = reuse.json().await?;
    ensure!(
        status == 401 && body.to_string().contains("blacklisted"),
        "the refresh token was not blacklisted: {status} {body}"
    );
    close(client).await;
    Ok(())
}
