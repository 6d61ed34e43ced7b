//! Every Tauri command, called through Tauri's mock runtime the way the webview calls it,
//! against a real reference backend: none of their answers (results or errors) may carry a
//! token. The tokens to look for are read back from the secret store the app wrote them to.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{mock_builder, mock_context, noop_assets, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::WebviewWindowBuilder;
use tessera_app::launch::LaunchOptions;
use tessera_session::{FakeStore, SecretStore};
use tessera_testkit::{BackendKind, ServerOptions, TestServer};

#[path = "ipc/sharing.rs"]
mod sharing;

fn invoke(
    webview: &tauri::WebviewWindow<tauri::test::MockRuntime>,
    cmd: &str,
    args: Value,
) -> Result<Value, Value> {
    let request = InvokeRequest {
        cmd: cmd.into(),
        callback: CallbackFn(0),
        error: CallbackFn(1),
        url: "tauri://localhost".parse().unwrap(),
        body: InvokeBody::Json(args),
        headers: Default::default(),
        invoke_key: INVOKE_KEY.to_string(),
    };
    tauri::test::get_ipc_response(webview, request).map(|body| body.deserialize::<Value>().unwrap())
}

/// Every JWT-looking string (three base64url segments, the first starting `eyJ`) in `text`.
fn jwts_in(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .filter(|w| w.starts_with("eyJ") && w.matches('.').count() == 2)
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_command_ever_returns_a_token() {
    let server = TestServer::start(BackendKind::Rust, ServerOptions::default())
        .await
        .unwrap();
    let (user, password) = ServerOptions::default().users[0].clone();
    let data = tempfile::tempdir().unwrap();
    let store = Arc::new(FakeStore::new());
    let launch = LaunchOptions::parse([
        "--server".to_owned(),
        server.base_url().to_string(),
        "--profile".to_owned(),
        "it".to_owned(),
    ]);
    let state = tessera_app::app_state(
        data.path().to_path_buf(),
        store.clone() as Arc<dyn SecretStore>,
        launch,
    );

    let app = tessera_app::with_commands(mock_builder())
        .manage(state)
        .build(mock_context(noop_assets()))
        .unwrap();
    let webview = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();

    let mut answers: Vec<(String, Result<Value, Value>)> = Vec::new();
    let mut call = |cmd: &str, args: Value| {
        let answer = invoke(&webview, cmd, args);
        answers.push((cmd.to_owned(), answer.clone()));
        answer
    };

    call("app_info", json!({})).unwrap();
    assert_eq!(call("app_ready", json!({})).unwrap(), Value::Null);
    // No release feed was asked (no updater plugin here): nothing waiting, and installing is a
    // clear error rather than a crash.
    assert_eq!(call("update_status", json!({})).unwrap(), Value::Null);
    let install = call("update_install", json!({})).unwrap_err();
    assert_eq!(install["code"], "no_update", "{install}");
    let start = call("app_start", json!({})).unwrap();
    assert_eq!(start["selected"], "it", "{start}");
    assert!(
        start["error"].is_null(),
        "a signed-out start is not an error: {start}"
    );
    assert_eq!(
        start["profiles"]["defaults"]["blacklist_path"],
        "/api/token/blacklist/"
    );
    assert_eq!(start["presets"], json!(preset_names()), "{start}");
    let mut profile = start["profiles"]["profiles"][0]["profile"].clone();
    // The simplejwt preset is this server's stack: the profile keeps its endpoints.
    profile = call(
        "profile_apply_preset",
        json!({ "profile": profile, "preset": "simplejwt" }),
    )
    .unwrap();
    assert_eq!(profile["preset"], "simplejwt", "{profile}");
    profile["me_path"] = json!("/api/me/");
    profile["registration_path"] = json!("/api/register/");
    call(
        "profile_save",
        json!({ "name": "it", "previousName": "it", "profile": profile }),
    )
    .unwrap();
    // A new profile never replaces an existing one silently.
    let clash = call(
        "profile_save",
        json!({ "name": "it", "previousName": null, "profile": profile }),
    )
    .unwrap_err();
    assert_eq!(clash["code"], "invalid_profile", "{clash}");
    let bad_name = call(
        "profile_save",
        json!({ "name": "no spaces", "previousName": "it", "profile": profile }),
    )
    .unwrap_err();
    assert_eq!(bad_name["code"], "invalid_profile", "{bad_name}");
    call("profile_select", json!({ "name": "it" })).unwrap();
    call("profile_test", json!({ "profile": profile })).unwrap();
    // Detect sends harmless requests only; this server answers like simplejwt.
    let detection = call("profile_detect", json!({ "profile": profile })).unwrap();
    assert_eq!(detection["preset"], "simplejwt", "{detection}");
    // A code with no sign-in waiting for one: start again with the password.
    let no_step = call(
        "session_verify_code",
        json!({ "profile": "it", "code": "123456" }),
    )
    .unwrap_err();
    assert_eq!(no_step["code"], "mfa_expired", "{no_step}");

    // A wrong password is an error with a stable code, and nothing is stored.
    let wrong = call(
        "session_login",
        json!({ "profile": "it", "login": user, "password": "wrong" }),
    )
    .unwrap_err();
    assert_eq!(wrong["code"], "invalid_credentials", "{wrong}");
    assert!(
        store.snapshot().is_empty(),
        "a failed sign-in wrote to the keyring"
    );

    // One round trip signs in and says who is signed in (the profile's "me" endpoint).
    let signed_in = call(
        "session_login",
        json!({ "profile": "it", "login": user, "password": password }),
    )
    .unwrap();
    assert_eq!(signed_in["status"]["signed_in"], true, "{signed_in}");
    assert_eq!(
        signed_in["user"]["display"],
        format!("Signed in as {user}"),
        "{signed_in}"
    );
    let status = call("session_status", json!({ "profile": "it" })).unwrap();
    assert_eq!(status["signed_in"], true, "{status}");
    // "Share with local tools": on, shown, off (tests/ipc/sharing.rs has the rest).
    assert_eq!(call("share_status", json!({})).unwrap(), Value::Null);
    let shared = call("share_start", json!({ "profile": "it" })).unwrap();
    assert_eq!(call("share_status", json!({})).unwrap(), shared);
    assert_eq!(call("share_stop", json!({})).unwrap(), Value::Null);
    let hello = call(
        "session_request",
        json!({ "profile": "it", "method": "GET", "path": "/api/hello/", "body": null }),
    )
    .unwrap();
    assert_eq!(hello["status"], 200, "{hello}");
    // The answer carries the session's state: no second round trip for the status.
    assert_eq!(hello["session"]["signed_in"], true, "{hello}");
    let echo = call("session_request", json!({ "profile": "it", "method": "POST", "path": "/api/echo/", "body": "{\"a\": [1, 2]}" })).unwrap();
    assert!(echo["body"].as_str().unwrap().contains("\"a\""), "{echo}");
    let bad_json = call(
        "session_request",
        json!({ "profile": "it", "method": "POST", "path": "/api/echo/", "body": "{nope" }),
    )
    .unwrap_err();
    assert_eq!(bad_json["code"], "invalid_json");
    // The console refuses the token endpoints: their answers are tokens.
    let reserved = call(
        "session_request",
        json!({ "profile": "it", "method": "POST", "path": "/api/token/refresh/", "body": "{}" }),
    )
    .unwrap_err();
    assert_eq!(reserved["code"], "reserved_endpoint");

    // The tokens the app holds, read back from its secret store.
    let stored: String = store
        .snapshot()
        .values()
        .cloned()
        .collect::<Vec<_>>()
        .join("\n");
    let tokens = jwts_in(&stored);
    assert!(
        tokens.len() >= 2,
        "expected the access and refresh tokens in the store"
    );

    let registration = call(
        "session_register",
        json!({ "profile": "it", "username": "newbie", "email": "not-an-email", "password": "x" }),
    )
    .unwrap_err();
    assert_eq!(registration["code"], "validation", "{registration}");
    assert!(registration["fields"]["email"].is_array(), "{registration}");

    call("session_logout", json!({ "profile": "it" })).unwrap();
    assert!(store.snapshot().is_empty(), "sign-out left keyring entries");
    call("profile_delete", json!({ "name": "it" })).unwrap();

    let called: std::collections::BTreeSet<&str> =
        answers.iter().map(|(cmd, _)| cmd.as_str()).collect();
    // Every command the main window may call (its capability) was exercised here.
    let capability: Value =
        serde_json::from_str(include_str!("../src-tauri/capabilities/main-window.json")).unwrap();
    let allowed: Vec<String> = capability["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| {
            p.as_str()?
                .strip_prefix("allow-")
                .map(|c| c.replace('-', "_"))
        })
        .collect();
    assert!(allowed.len() >= 17, "{allowed:?}");
    for command in &allowed {
        assert!(
            called.contains(command.as_str()),
            "{command} was not exercised"
        );
    }
    for (cmd, answer) in &answers {
        let mut answer = answer.clone();
        if let Ok(Value::Object(shared)) = &mut answer {
            // The sharing URL's capability is random base64url: it may spell `eyJ` by chance,
            // so it is checked for the tokens themselves, then left out.
            if let Some(url) = shared.remove("url") {
                let url = url.as_str().unwrap();
                assert!(url.starts_with("http://127.0.0.1:"), "{cmd}: {url}");
                assert!(!tokens.iter().any(|t| url.contains(t.as_str())), "{cmd}");
            }
        }
        let text = match &answer {
            Ok(v) | Err(v) => v.to_string(),
        };
        assert!(
            !text.contains("eyJ"),
            "{cmd} returned something JWT-shaped: {text}"
        );
        for token in &tokens {
            assert!(!text.contains(token.as_str()), "{cmd} returned a token");
        }
        assert!(!text.contains(&password), "{cmd} returned the password");
    }
}

fn app_with(
    data: &std::path::Path,
    launch: LaunchOptions,
) -> (
    tauri::App<tauri::test::MockRuntime>,
    tauri::WebviewWindow<tauri::test::MockRuntime>,
) {
    app_with_store(data, launch, Arc::new(FakeStore::new()))
}

fn app_with_store(
    data: &std::path::Path,
    launch: LaunchOptions,
    store: Arc<FakeStore>,
) -> (
    tauri::App<tauri::test::MockRuntime>,
    tauri::WebviewWindow<tauri::test::MockRuntime>,
) {
    let state = tessera_app::app_state(data.to_path_buf(), store as Arc<dyn SecretStore>, launch);
    let app = tessera_app::with_commands(mock_builder())
        .manage(state)
        .build(mock_context(noop_assets()))
        .unwrap();
    let webview = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    (app, webview)
}

const PROXY: &str = "http://qa:hunter2@proxy.example:3128/";

#[test]
fn a_proxy_password_never_reaches_the_webview_and_survives_a_save() {
    let data = tempfile::tempdir().unwrap();
    let path = tessera_session::paths::profiles_file(data.path());
    tessera_session::ProfilesFile::update(&path, |file| {
        let mut profile = tessera_session::Profile::from_base_url("https://api.example.com/")?;
        profile.proxy = Some(PROXY.to_owned());
        file.upsert("p", profile)
    })
    .unwrap();
    let (_app, webview) = app_with(data.path(), LaunchOptions::parse(Vec::<String>::new()));

    let start = invoke(&webview, "app_start", json!({})).unwrap();
    let list = &start["profiles"];
    assert!(!list.to_string().contains("hunter2"), "{list}");
    let entry = &list["profiles"][0];
    assert_eq!(
        entry["profile"]["proxy"],
        "http://qa:***@proxy.example:3128/"
    );
    assert_eq!(entry["proxy_has_credentials"], true, "{entry}");
    assert!(!start.to_string().contains("hunter2"), "{start}");

    // Saved back as shown (another field changed): the stored password stays.
    let mut profile = entry["profile"].clone();
    profile["refresh_margin_secs"] = json!(45);
    let saved = invoke(
        &webview,
        "profile_save",
        json!({ "name": "p", "previousName": "p", "profile": profile }),
    )
    .unwrap();
    assert!(!saved.to_string().contains("hunter2"), "{saved}");
    let stored = tessera_session::ProfilesFile::load(&path).unwrap();
    assert_eq!(stored.get("p").unwrap().proxy.as_deref(), Some(PROXY));
    assert_eq!(stored.get("p").unwrap().refresh_margin_secs, 45);

    // An error quoting a proxy URL hides its password too.
    profile["proxy"] = json!("http://qa:hunter2@[not a host");
    let error = invoke(
        &webview,
        "profile_save",
        json!({ "name": "p", "previousName": "p", "profile": profile }),
    )
    .unwrap_err();
    assert!(!error.to_string().contains("hunter2"), "{error}");
}

/// A plain-HTTP proxy on loopback that records each request's head and answers 404: what
/// Detect and the connection test send through a profile's proxy.
fn recording_proxy() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            log.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&head).into_owned());
            let _ = stream.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    (port, seen)
}

/// Detect and the connection test get the form's profile, whose proxy password is shown as
/// `***`: they go through the proxy with the stored password (before: with `***`), and the
/// password never comes back in the answer.
#[test]
fn detect_and_the_connection_test_use_the_stored_proxy_password() {
    let (port, seen) = recording_proxy();
    let proxy = format!("http://qa:hunter2@127.0.0.1:{port}/");
    let data = tempfile::tempdir().unwrap();
    let path = tessera_session::paths::profiles_file(data.path());
    tessera_session::ProfilesFile::update(&path, |file| {
        let mut profile = tessera_session::Profile::new("http://api.example.com/".parse().unwrap());
        profile.allow_insecure_http = true;
        profile.proxy = Some(proxy.clone());
        file.upsert("p", profile)
    })
    .unwrap();
    let (_app, webview) = app_with(data.path(), no_launch());
    let start = invoke(&webview, "app_start", json!({})).unwrap();
    let shown = start["profiles"]["profiles"][0]["profile"].clone();
    assert_eq!(shown["proxy"], format!("http://qa:***@127.0.0.1:{port}/"));
    let args = json!({ "previousName": "p", "profile": shown });
    let error = invoke(&webview, "profile_detect", args.clone()).unwrap_err();
    assert_eq!(error["code"], "not_supported", "{error}");
    let report = invoke(&webview, "profile_test", args).unwrap();
    assert_eq!(report["status"], 404, "{report}");
    let heads = seen.lock().unwrap().clone();
    assert!(heads.len() > 5, "{heads:?}");
    // Basic base64("qa:hunter2"); base64("qa:***") would be cWE6Kioq.
    for head in &heads {
        assert!(
            head.contains("Proxy-Authorization: Basic cWE6aHVudGVyMg==")
                || head
                    .to_ascii_lowercase()
                    .contains("proxy-authorization: basic cwe6ahvudgvymg=="),
            "{head}"
        );
    }
    assert!(!error.to_string().contains("hunter2") && !report.to_string().contains("hunter2"));
}

/// The engine's preset names, in its order: what the profile form's "Stack" choice lists.
fn preset_names() -> Vec<&'static str> {
    tessera_session::profile::Preset::ALL
        .map(tessera_session::profile::Preset::name)
        .to_vec()
}

fn no_launch() -> LaunchOptions {
    LaunchOptions::parse(Vec::<String>::new())
}

/// The form's "Stack" choice: `app_start` lists the engine's presets, `profile_apply_preset`
/// fills the form's profile (its server, proxy and unknown fields kept), settings edited after
/// it win on save, and the saved profile says which stack it came from.
#[test]
fn a_preset_fills_the_form_and_what_is_edited_after_it_wins() {
    let data = tempfile::tempdir().unwrap();
    let (_app, webview) = app_with(data.path(), no_launch());
    let start = invoke(&webview, "app_start", json!({})).unwrap();
    assert_eq!(start["presets"], json!(preset_names()), "{start}");
    // These tests' store stands for the OS keyring: named as the home screen shows it.
    assert_eq!(start["store"], "secret-service", "{start}");

    // What the form sends: the engine's defaults with the user's server and proxy.
    let mut form = start["profiles"]["defaults"].clone();
    form["base_url"] = json!("https://shop.example.com/");
    form["proxy"] = json!("http://qa:***@proxy.example:3128/");
    form["from_a_newer_app"] = json!(true);
    let filled = invoke(
        &webview,
        "profile_apply_preset",
        json!({ "profile": form, "preset": "djoser" }),
    )
    .unwrap();
    assert_eq!(filled["preset"], "djoser", "{filled}");
    assert_eq!(filled["obtain_path"], "/auth/jwt/create/", "{filled}");
    assert_eq!(filled["refresh_path"], "/auth/jwt/refresh/", "{filled}");
    assert_eq!(filled["verify_path"], "/auth/jwt/verify/", "{filled}");
    assert!(filled["blacklist_path"].is_null(), "{filled}");
    assert_eq!(filled["me_path"], "/auth/users/me/", "{filled}");
    assert_eq!(filled["base_url"], "https://shop.example.com/", "{filled}");
    assert_eq!(filled["proxy"], form["proxy"], "{filled}");
    assert_eq!(filled["from_a_newer_app"], true, "{filled}");

    // The per-endpoint settings a stack needs come with it (the form's "Advanced" inputs).
    let legacy = invoke(
        &webview,
        "profile_apply_preset",
        json!({ "profile": filled, "preset": "dj-rest-auth-legacy" }),
    )
    .unwrap();
    assert_eq!(legacy["preset"], "dj-rest-auth-legacy", "{legacy}");
    assert_eq!(legacy["access_field"], "access_token", "{legacy}");
    assert_eq!(legacy["renewal_access_field"], "access", "{legacy}");
    assert_eq!(legacy["renewal_refresh_field"], "refresh", "{legacy}");
    assert_eq!(
        legacy["blacklist_path"], "/dj-rest-auth/logout/",
        "{legacy}"
    );

    // Edited after the preset, saved: the edits win and the preset is kept.
    let mut edited = filled.clone();
    edited["proxy"] = Value::Null;
    edited["me_path"] = json!("/api/whoami/");
    edited["logout_request_field"] = json!("refresh_token");
    edited["refresh_cookie"] = json!("shop-refresh");
    edited["mfa_verify_path"] = Value::Null;
    let saved = invoke(
        &webview,
        "profile_save",
        json!({ "name": "shop", "previousName": null, "profile": edited }),
    )
    .unwrap();
    let shown = &saved["profiles"][0]["profile"];
    assert_eq!(shown["preset"], "djoser", "{saved}");
    assert_eq!(shown["me_path"], "/api/whoami/", "{saved}");
    let path = tessera_session::paths::profiles_file(data.path());
    let stored = tessera_session::ProfilesFile::load(&path).unwrap();
    let stored = stored.get("shop").unwrap();
    assert_eq!(stored.preset.as_deref(), Some("djoser"));
    assert_eq!(stored.obtain_path, "/auth/jwt/create/");
    assert_eq!(stored.me_path.as_deref(), Some("/api/whoami/"));
    assert_eq!(
        stored.logout_request_field.as_deref(),
        Some("refresh_token")
    );
    assert_eq!(stored.refresh_cookie.as_deref(), Some("shop-refresh"));
    assert_eq!(stored.renewal_access_field, None);
    assert_eq!(stored.mfa_verify_path, None);

    // An unknown stack is refused as an invalid profile, naming the ones there are.
    let unknown = invoke(
        &webview,
        "profile_apply_preset",
        json!({ "profile": filled, "preset": "knox" }),
    )
    .unwrap_err();
    assert_eq!(unknown["code"], "invalid_profile", "{unknown}");
    let message = unknown["message"].as_str().unwrap();
    assert!(message.contains("knox"), "{message}");
    for name in preset_names() {
        assert!(message.contains(name), "{name} is not listed: {message}");
    }
    // So is a profile the form could not have meant (no server URL at all).
    let mut no_url = filled.clone();
    no_url.as_object_mut().unwrap().remove("base_url");
    let error = invoke(
        &webview,
        "profile_apply_preset",
        json!({ "profile": no_url, "preset": "djoser" }),
    )
    .unwrap_err();
    assert_eq!(error["code"], "invalid_profile", "{error}");
}

/// Signature verification set in the form: saved as given and shown back, checked by the
/// engine on save (its message is what the form shows), used at sign-in, and off again when
/// the inputs are emptied (`null`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_settings_round_trip_and_are_checked_on_save() {
    let options = ServerOptions {
        algorithm: tessera_testkit::SigningAlgorithm::Rs256,
        ..ServerOptions::default()
    };
    let (user, password) = options.users[0].clone();
    let server = TestServer::start(BackendKind::Rust, options).await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let (_app, webview) = app_with(data.path(), no_launch());
    let start = invoke(&webview, "app_start", json!({})).unwrap();
    let mut form = start["profiles"]["defaults"].clone();
    form["base_url"] = json!(server.base_url().as_str());
    let jwks = format!("{}api/jwks/", server.base_url());
    let save = |profile: &Value| {
        invoke(
            &webview,
            "profile_save",
            json!({ "name": "signed", "previousName": "signed", "profile": profile }),
        )
    };
    let path = tessera_session::paths::profiles_file(data.path());
    let stored = || {
        tessera_session::ProfilesFile::load(&path)
            .unwrap()
            .get("signed")
            .ok()
            .cloned()
    };

    // Settings that can never verify are refused on save, saying what to do; nothing is saved.
    let not_a_key = data.path().join("not-a-key.pem");
    std::fs::write(&not_a_key, b"not a key").unwrap();
    let refused = [
        (
            json!({ "algorithm": "HS256", "jwks_url": jwks }),
            "never be stored on a client",
        ),
        (json!({ "algorithm": "RS256" }), "public key"),
        (
            json!({ "algorithm": "", "jwks_url": jwks }),
            "unknown token algorithm",
        ),
        (
            json!({ "algorithm": "RS256", "public_key_file": not_a_key }),
            "cannot be read",
        ),
    ];
    for (verification, needle) in refused {
        form["verification"] = verification.clone();
        let error = save(&form).unwrap_err();
        assert_eq!(error["code"], "invalid_profile", "{verification}: {error}");
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(needle), "{verification}: {message}");
        assert!(stored().is_none(), "{verification} was saved");
    }

    // A public key file, audience and issuer: saved and shown as given.
    let key = data.path().join("server-ed25519.pem");
    std::fs::write(&key, ED25519_PUBLIC).unwrap();
    form["verification"] = json!({
        "algorithm": "EdDSA",
        "public_key_file": key,
        "jwks_url": null,
        "audience": "shop-api",
        "issuer": "https://auth.example.com/",
    });
    let saved = save(&form).unwrap();
    let shown = &saved["profiles"][0]["profile"]["verification"];
    assert_eq!(shown["algorithm"], "EdDSA", "{saved}");
    assert_eq!(shown["public_key_file"], key.to_str().unwrap(), "{saved}");
    assert_eq!(shown["audience"], "shop-api", "{saved}");
    assert_eq!(shown["issuer"], "https://auth.example.com/", "{saved}");
    let verification = stored().unwrap().verification.unwrap();
    assert_eq!(verification.public_key_file.as_deref(), Some(key.as_path()));
    assert_eq!(verification.audience.as_deref(), Some("shop-api"));

    // RS256 with the server's JWK Set: saved, and sign-in verifies the server's tokens.
    form["verification"] = json!({ "algorithm": "RS256", "jwks_url": jwks });
    let saved = save(&form).unwrap();
    let shown = &saved["profiles"][0]["profile"]["verification"];
    assert_eq!(shown["jwks_url"], jwks.as_str(), "{saved}");
    assert!(shown["public_key_file"].is_null(), "{saved}");
    assert!(shown["audience"].is_null(), "{saved}");
    let login = json!({ "profile": "signed", "login": user, "password": password });
    let signed_in = invoke(&webview, "session_login", login.clone()).unwrap();
    assert_eq!(signed_in["status"]["signed_in"], true, "{signed_in}");
    invoke(&webview, "session_logout", json!({ "profile": "signed" })).unwrap();

    // Tokens for another audience are rejected at sign-in.
    form["verification"]["audience"] = json!("someone-else");
    save(&form).unwrap();
    let rejected = invoke(&webview, "session_login", login).unwrap_err();
    assert_eq!(rejected["code"], "token_rejected", "{rejected}");

    // Every input emptied: verification off.
    form["verification"] = Value::Null;
    let saved = save(&form).unwrap();
    assert!(
        saved["profiles"][0]["profile"]["verification"].is_null(),
        "{saved}"
    );
    assert_eq!(stored().unwrap().verification, None);
}

/// A loopback server that answers 404 to everything: a web server, but no Django JWT stack.
async fn nothing_there() -> url::Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, axum::Router::new()).await });
    format!("http://127.0.0.1:{port}/").parse().unwrap()
}

/// "Detect" in the profile form: against the real Django + simplejwt project it finds
/// simplejwt (the form's profile comes back filled in and its own settings kept, nothing is
/// saved); where no Django JWT stack answers it says so, naming the presets to choose from;
/// where nothing listens at all it is a network error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detect_finds_simplejwt_and_names_the_presets_when_nothing_answers() {
    let server = TestServer::start(BackendKind::Django, ServerOptions::default())
        .await
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let (_app, webview) = app_with(data.path(), no_launch());
    let start = invoke(&webview, "app_start", json!({})).unwrap();
    let mut form = start["profiles"]["defaults"].clone();
    form["base_url"] = json!(server.base_url().as_str());
    form["request_timeout_secs"] = json!(12);
    form["from_a_newer_app"] = json!(true);

    let detection = invoke(&webview, "profile_detect", json!({ "profile": form })).unwrap();
    assert_eq!(detection["preset"], "simplejwt", "{detection}");
    let found = &detection["profile"];
    assert_eq!(found["preset"], "simplejwt", "{detection}");
    assert_eq!(found["base_url"], server.base_url().as_str(), "{detection}");
    assert_eq!(found["obtain_path"], "/api/token/", "{detection}");
    assert_eq!(found["refresh_path"], "/api/token/refresh/", "{detection}");
    assert_eq!(
        found["blacklist_path"], "/api/token/blacklist/",
        "{detection}"
    );
    assert_eq!(found["login_field"], "username", "{detection}");
    assert_eq!(found["request_timeout_secs"], 12, "{detection}");
    assert_eq!(found["from_a_newer_app"], true, "{detection}");
    let findings = detection["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f.as_str().unwrap().contains("simplejwt")),
        "{detection}"
    );
    assert!(detection["probes"].as_u64().unwrap() >= 1, "{detection}");
    // Found, not saved: saving is the user's step.
    let path = tessera_session::paths::profiles_file(data.path());
    assert!(
        tessera_session::ProfilesFile::load(&path)
            .unwrap()
            .profiles
            .is_empty(),
        "detection saved a profile"
    );

    // A web server without a Django JWT stack: not_supported, naming the presets.
    form["base_url"] = json!(nothing_there().await.as_str());
    let error = invoke(&webview, "profile_detect", json!({ "profile": form })).unwrap_err();
    assert_eq!(error["code"], "not_supported", "{error}");
    let message = error["message"].as_str().unwrap();
    for name in preset_names() {
        assert!(message.contains(name), "{name} is not named: {message}");
    }

    // Nothing listening: a network error.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    form["base_url"] = json!(format!("http://127.0.0.1:{port}/"));
    let error = invoke(&webview, "profile_detect", json!({ "profile": form })).unwrap_err();
    assert_eq!(error["code"], "network", "{error}");
}

/// Everything secret a keyring entry of `store` holds: its tokens and cookie values.
fn stored_secrets(store: &FakeStore) -> Vec<String> {
    let mut secrets = Vec::new();
    for blob in store.snapshot().values() {
        let entry: Value = serde_json::from_str(blob).unwrap_or(Value::Null);
        for key in ["access", "refresh"] {
            secrets.extend(entry[key].as_str().map(str::to_owned));
        }
        for cookie in entry["cookies"].as_array().into_iter().flatten() {
            secrets.extend(cookie[1].as_str().map(str::to_owned));
        }
        secrets.extend(jwts_in(blob));
    }
    secrets.retain(|s| s.len() >= 8);
    secrets
}

/// Django `TimestampSigner` values (`<pk>:<base62 time>:<signature>`), the shape of
/// dj-rest-auth's one-time MFA sign-in token.
fn signed_values_in(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':')))
        .filter(|w| {
            let parts: Vec<&str> = w.split(':').collect();
            parts.len() == 3
                && !parts[0].is_empty()
                && parts[0].bytes().all(|b| b.is_ascii_digit())
                && (4..=8).contains(&parts[1].len())
                && parts[2].len() >= 20
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn one_time_sign_in_tokens_are_recognised() {
    // What `TimestampSigner(salt="dj-rest-auth-mfa").sign("1")` gives (any secret key).
    let sample = r#"{"ephemeral_token": "1:1xZ7D7:ZYRzvrjMqWxA2exXlt0nvvEz-CqiydSmqGooaS6XkVE"}"#;
    assert_eq!(signed_values_in(sample).len(), 1);
    assert!(signed_values_in("at 12:30:00, see http://127.0.0.1:8000/").is_empty());
}

/// Two-step sign-in against the real dj-rest-auth 7.2 with MFA, in cookie mode (the refresh
/// token only in an HttpOnly cookie): Detect finds `dj-rest-auth-cookie` and the code step;
/// the password alone is `mfa_required` and stores nothing; a wrong code is
/// `mfa_code_rejected` and the user may retry; a recovery code signs in (status and user, as
/// `session_login` answers); the session works and sign-out blacklists. A code after the
/// server's one-time token expired is `mfa_expired`. No answer carries a token, a cookie
/// value, the one-time token, the password or the code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_factor_code_finishes_the_sign_in_and_never_comes_back() {
    let stack = tessera_testkit::Stack::DjRestAuth;
    let stack_options = tessera_testkit::StackOptions {
        cookie_mode: true,
        mfa_totp_secret: Some("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ".to_owned()),
        mfa_ephemeral_timeout_secs: Some(3),
        ..Default::default()
    };
    let server = TestServer::start_stack(stack, ServerOptions::default(), stack_options)
        .await
        .unwrap();
    let (user, password) = ServerOptions::default().users[0].clone();
    let codes = server.recovery_codes();
    assert!(codes.len() >= 2, "{codes:?}");
    let data = tempfile::tempdir().unwrap();
    let store = Arc::new(FakeStore::new());
    let (_app, webview) = app_with_store(data.path(), no_launch(), store.clone());
    let mut answers: Vec<(String, Result<Value, Value>)> = Vec::new();
    let mut call = |cmd: &str, args: Value| {
        let answer = invoke(&webview, cmd, args);
        answers.push((cmd.to_owned(), answer.clone()));
        answer
    };

    let start = call("app_start", json!({})).unwrap();
    let mut form = start["profiles"]["defaults"].clone();
    form["base_url"] = json!(server.base_url().as_str());
    let detection = call("profile_detect", json!({ "profile": form })).unwrap();
    assert_eq!(detection["preset"], "dj-rest-auth-cookie", "{detection}");
    let profile = detection["profile"].clone();
    assert_eq!(
        profile["mfa_verify_path"], "/dj-rest-auth/mfa/verify/",
        "{detection}"
    );
    call(
        "profile_save",
        json!({ "name": "mfa", "previousName": null, "profile": profile }),
    )
    .unwrap();

    // The password alone: the server wants a code, and nothing is stored yet.
    let login = json!({ "profile": "mfa", "login": user, "password": password });
    let step = call("session_login", login.clone()).unwrap_err();
    assert_eq!(step["code"], "mfa_required", "{step}");
    assert!(step["message"].as_str().unwrap().contains("code"), "{step}");
    assert!(
        store.snapshot().is_empty(),
        "the first step wrote to the keyring"
    );
    let status = call("session_status", json!({ "profile": "mfa" })).unwrap();
    assert_eq!(status["signed_in"], false, "{status}");

    // A wrong code: rejected, and the step stays open for another try.
    let verify = |code: &str| json!({ "profile": "mfa", "code": code });
    let wrong = call("session_verify_code", verify("000000")).unwrap_err();
    assert_eq!(wrong["code"], "mfa_code_rejected", "{wrong}");
    assert!(
        store.snapshot().is_empty(),
        "a rejected code wrote to the keyring"
    );
    let signed_in = call("session_verify_code", verify(&codes[0])).unwrap();
    assert_eq!(signed_in["status"]["signed_in"], true, "{signed_in}");
    assert_eq!(signed_in["status"]["profile"], "mfa", "{signed_in}");
    assert_eq!(
        signed_in["user"]["display"],
        format!("Signed in as {user}"),
        "{signed_in}"
    );
    let secrets = stored_secrets(&store);
    assert!(secrets.len() >= 2, "expected the tokens in the keyring");
    let echo = call(
        "session_request",
        json!({ "profile": "mfa", "method": "POST", "path": stack.echo_path(), "body": "{\"n\": 1}" }),
    )
    .unwrap();
    assert_eq!(echo["status"], 200, "{echo}");
    let out = call("session_logout", json!({ "profile": "mfa" })).unwrap();
    assert_eq!(out["server_revoked"], true, "{out}");
    assert!(store.snapshot().is_empty(), "sign-out left keyring entries");
    // The used step is gone: no code is taken without a new sign-in.
    let again = call("session_verify_code", verify(&codes[1])).unwrap_err();
    assert_eq!(again["code"], "mfa_expired", "{again}");

    // The server's one-time token expires (3 s here): start again with the password.
    let step = call("session_login", login).unwrap_err();
    assert_eq!(step["code"], "mfa_required", "{step}");
    tokio::time::sleep(std::time::Duration::from_millis(4_500)).await;
    let late = call("session_verify_code", verify(&codes[1])).unwrap_err();
    assert_eq!(late["code"], "mfa_expired", "{late}");
    assert!(
        late["message"].as_str().unwrap().contains("password"),
        "{late}"
    );
    assert!(store.snapshot().is_empty());

    for (cmd, answer) in &answers {
        let text = match answer {
            Ok(v) | Err(v) => v.to_string(),
        };
        assert!(
            !text.contains("eyJ"),
            "{cmd} returned something JWT-shaped: {text}"
        );
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{cmd} returned a stored secret: {text}"
            );
        }
        assert!(
            signed_values_in(&text).is_empty(),
            "{cmd} returned something shaped like the one-time sign-in token: {text}"
        );
        assert!(!text.contains("ephemeral"), "{cmd}: {text}");
        assert!(!text.contains(&password), "{cmd} returned the password");
        for code in &codes[..2] {
            assert!(
                !text.contains(code.as_str()),
                "{cmd} returned a recovery code"
            );
        }
    }
}

// A throwaway Ed25519 public key (the engine's tests use the same one); verification is only
// configured with it here, nothing is signed.
const ED25519_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAkwNxibStdwjmL+BxDn235VNugZxVi5OzKutaiOl6yFk=\n-----END PUBLIC KEY-----\n";

/// `app_start` may wait up to 10 s for the profiles file's lock (the CLI editing it). It must
/// wait off the async runtime's worker threads: with every worker stuck, no other command — and
/// no refresh timer — would run. Here the lock is held by the test while as many `app_start`s
/// as the runtime has workers wait for it, and `app_info` and `session_status` must still
/// answer.
#[test]
fn a_held_profiles_lock_does_not_stall_other_commands() {
    let data = tempfile::tempdir().unwrap();
    let path = tessera_session::paths::profiles_file(data.path());
    let launch = LaunchOptions::parse([
        "--server".to_owned(),
        "http://127.0.0.1:9/".to_owned(),
        "--profile".to_owned(),
        "held".to_owned(),
    ]);
    let (_app, webview) = app_with(data.path(), launch);
    let workers = std::thread::available_parallelism().map_or(2, usize::from);

    let (release, released) = std::sync::mpsc::channel::<()>();
    let (locked, is_locked) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        tessera_session::ProfilesFile::update(&path, |_| {
            locked.send(()).unwrap();
            released.recv().ok();
            Ok(())
        })
        .unwrap();
    });
    is_locked.recv().unwrap();

    std::thread::scope(|scope| {
        let starts: Vec<_> = (0..workers)
            .map(|_| scope.spawn(|| invoke(&webview, "app_start", json!({}))))
            .collect();
        // Let every app_start reach the lock.
        std::thread::sleep(std::time::Duration::from_millis(500));
        let (answered, answer) = std::sync::mpsc::channel();
        let webview = &webview;
        scope.spawn(move || {
            let info = invoke(webview, "app_info", json!({}));
            answered.send(
                info.and_then(|_| invoke(webview, "session_status", json!({ "profile": "held" }))),
            )
        });
        let listed = answer.recv_timeout(std::time::Duration::from_secs(3));
        release.send(()).unwrap();
        let listed = listed.unwrap_or_else(|_| {
            panic!("app_info and session_status did not answer within 3 s while {workers} app_start waited for the profiles lock")
        });
        // The profile does not exist yet (app_start has not saved it): a clear error, quickly.
        assert_eq!(listed.unwrap_err()["code"], "profile_not_found");
        for start in starts {
            let start = start.join().unwrap().unwrap();
            assert_eq!(start["selected"], "held", "{start}");
        }
    });
    holder.join().unwrap();
}

/// Every `.js` file under `ui/` (any depth), read at test time so a new module is covered
/// without touching this test: the paths, sorted, and their texts joined by newlines.
fn ui_js() -> (Vec<std::path::PathBuf>, String) {
    fn walk(dir: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|ext| ext == "js") {
                found.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui"),
        &mut paths,
    );
    paths.sort();
    let mut text = String::new();
    for path in &paths {
        let file =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        text.push_str(&file);
        text.push('\n');
    }
    (paths, text)
}

/// The text in `text` after `marker` up to the first `end` after it.
fn js_block<'a>(text: &'a str, marker: &str, end: &str) -> &'a str {
    let Some(start) = text.find(marker) else {
        panic!("{marker} not found in the UI's JS files (ui/**/*.js)");
    };
    let rest = &text[start + marker.len()..];
    let Some(stop) = rest.find(end) else {
        panic!("no {end:?} after {marker} in the UI's JS files");
    };
    &rest[..stop]
}

/// The quoted names in `text` after `marker` up to the closing bracket (a JS array literal).
fn js_array(text: &str, marker: &str) -> Vec<String> {
    let Some(start) = text.find(marker) else {
        panic!("{marker} not found in the UI's JS files (ui/**/*.js)");
    };
    let rest = &text[start + marker.len()..];
    let end = rest.find(']').expect("an array literal");
    rest[..end]
        .split(',')
        .map(|s| s.trim().trim_matches('"').to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Every `<prefix><name>` in `text` where name is `[a-z_0-9]+` followed by `end`.
fn names_after(text: &str, prefix: &str, end: char) -> std::collections::BTreeSet<String> {
    let mut found = std::collections::BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        rest = &rest[at + prefix.len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        if !name.is_empty() && rest[name.len()..].starts_with(end) {
            found.insert(name);
        }
    }
    found
}

/// Every `<prefix><name>` in `text` where name is `[a-z_0-9]+` (whatever follows) and the prefix
/// does not continue a longer word (`start.` but not `restart.`).
fn idents_after(text: &str, prefix: &str) -> std::collections::BTreeSet<String> {
    text.match_indices(prefix)
        .filter(|(at, _)| {
            !text[..*at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        })
        .map(|(at, _)| {
            text[at + prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect::<String>()
        })
        .filter(|name| !name.is_empty())
        .collect()
}

/// The UI is plain JS: the names it uses for Rust's models are checked against Rust here, so a
/// renamed profile field, event or command fails this test instead of silently breaking a
/// screen.
#[test]
fn the_ui_uses_rusts_names() {
    let (js_files, app_js) = ui_js();
    let app_js = app_js.as_str();
    assert!(
        !js_files.is_empty(),
        "no .js file found under {}/ui",
        env!("CARGO_MANIFEST_DIR")
    );
    let html = include_str!("../ui/index.html");

    // Every module but the entry one is preloaded, so the page fetches them all at once.
    let ui_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
    for path in &js_files {
        let href = path
            .strip_prefix(&ui_dir)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let preloaded = html.contains(&format!("<link rel=\"modulepreload\" href=\"{href}\""));
        let entry = html.contains(&format!("<script type=\"module\" src=\"{href}\""));
        assert!(
            preloaded != entry,
            "ui/index.html must load {href} once: as the entry module or as a modulepreload"
        );
    }

    // Profile fields: the form's inputs and every field the script reads or writes. Optional
    // settings Rust leaves out when unset are set here, so that every field is named.
    let profile = tessera_session::Profile::from_base_url("https://api.example.com/").unwrap();
    let mut full = profile.clone();
    let set = || Some("x".to_owned());
    full.renewal_access_field = set();
    full.renewal_refresh_field = set();
    full.logout_request_field = set();
    full.refresh_cookie = set();
    full.mfa_verify_path = set();
    full.preset = set();
    full.verification = Some(tessera_session::VerificationConfig::default());
    let rust_fields: std::collections::BTreeSet<String> = serde_json::to_value(&full)
        .unwrap()
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let mut ui_fields = names_after(html, "id=\"pf-", '"');
    ui_fields.extend(js_array(app_js, "const TEXT_FIELDS = ["));
    ui_fields.extend(js_array(app_js, "const OPTIONAL_FIELDS = new Set(["));
    ui_fields.extend(js_array(app_js, "for (const field of ["));
    ui_fields.extend(names_after(app_js, "p.", ' '));
    ui_fields.extend(names_after(app_js, "profile.", ' '));
    ui_fields.extend(names_after(app_js, "profile.", ';'));
    ui_fields.remove("name"); // a profile's name (`pf-name`, a listing's `p.name`), not a field
    assert!(ui_fields.len() >= 18, "{ui_fields:?}");
    let unknown: Vec<_> = ui_fields.difference(&rust_fields).collect();
    assert!(
        unknown.is_empty(),
        "the UI uses profile fields Rust does not have: {unknown:?}"
    );
    // Optional settings are the ones Rust serialises as null (or leaves out) when unset.
    for field in js_array(app_js, "const OPTIONAL_FIELDS = new Set([") {
        let value = &serde_json::to_value(&profile).unwrap()[&field];
        assert!(
            value.is_null() || value.is_string(),
            "{field} is not optional text: {value}"
        );
    }
    for field in js_array(app_js, "const ADVANCED_FIELDS = [") {
        assert!(
            js_array(app_js, "const OPTIONAL_FIELDS = new Set([").contains(&field),
            "{field} is under Advanced but not optional"
        );
    }

    // Signature verification: the `pfv-` inputs and the script's names are
    // `VerificationConfig`'s, and every algorithm offered is one the engine accepts.
    let verification_fields: std::collections::BTreeSet<String> =
        serde_json::to_value(tessera_session::VerificationConfig::default())
            .unwrap()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
    let mut ui_verification = names_after(html, "id=\"pfv-", '"');
    ui_verification.extend(js_array(app_js, "const VERIFICATION_FIELDS = ["));
    assert!(ui_verification.len() >= 5, "{ui_verification:?}");
    let unknown: Vec<_> = ui_verification.difference(&verification_fields).collect();
    assert!(
        unknown.is_empty(),
        "the UI uses verification settings Rust does not have: {unknown:?}"
    );
    let algorithms: Vec<String> = js_block(html, "id=\"pfv-algorithm\"", "</select>")
        .split("<option")
        .skip(1)
        .map(|option| {
            let text = option.split_once('>').map_or("", |(_, rest)| rest);
            text.split_once("</option")
                .map_or(text, |(t, _)| t)
                .to_owned()
        })
        .collect();
    assert_eq!(
        algorithms.first().map(String::as_str),
        Some("Off"),
        "{algorithms:?}"
    );
    assert!(algorithms.len() >= 9, "{algorithms:?}");
    for algorithm in &algorithms[1..] {
        let mut signed = profile.clone();
        signed.verification = Some(tessera_session::VerificationConfig {
            algorithm: algorithm.clone(),
            jwks_url: Some("https://auth.example.com/jwks/".parse().unwrap()),
            ..Default::default()
        });
        if let Err(error) = signed.validate_verification() {
            panic!("the form offers {algorithm}, which the engine refuses: {error}");
        }
    }

    // Presets: the form lists what `app_start` sends (the engine's), never a copy of its own.
    let presets = preset_names();
    assert!(presets.len() >= 6, "{presets:?}");
    for name in presets {
        for quoted in [
            format!("\"{name}\""),
            format!(">{name}<"),
            format!("'{name}'"),
        ] {
            assert!(
                !app_js.contains(&quoted) && !html.contains(&quoted),
                "the UI names the preset {name} itself; it must list the engine's (app_start)"
            );
        }
    }
    let start = tessera_app::models::StartView::new(
        tessera_session::workspace::Start {
            profiles: tessera_session::workspace::ProfileListing {
                profiles: Vec::new(),
                last_profile: None,
                defaults: None,
            },
            selected: None,
            status: None,
            error: None,
        },
        None,
        None,
        "keyutils",
    );
    let start_fields: std::collections::BTreeSet<String> = serde_json::to_value(&start)
        .unwrap()
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let read = idents_after(app_js, "start.");
    assert!(read.contains("presets"), "{read:?}");
    let unknown: Vec<_> = read.difference(&start_fields).collect();
    assert!(
        unknown.is_empty(),
        "the UI reads app_start fields Rust does not send: {unknown:?}"
    );

    // Detect: the fields the form reads are `Detection`'s.
    let detection = tessera_session::detect::Detection {
        profile: profile.clone(),
        preset: None,
        findings: Vec::new(),
        probes: 0,
    };
    let detection_fields: std::collections::BTreeSet<String> = serde_json::to_value(&detection)
        .unwrap()
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let read = idents_after(app_js, "detection.");
    assert!(
        read.contains("profile") && read.contains("findings") && read.contains("preset"),
        "{read:?}"
    );
    let unknown: Vec<_> = read.difference(&detection_fields).collect();
    assert!(
        unknown.is_empty(),
        "the UI reads Detection fields Rust does not send: {unknown:?}"
    );

    // Error codes: every code the UI decides on is one Rust sends, and the sign-in screen
    // handles the two-step sign-in's three.
    use tessera_session::Error as Ex;
    let reason = || "r".to_owned();
    let rust_codes: std::collections::BTreeSet<&str> = [
        Ex::SessionExpired { reason: reason() },
        Ex::LoginRequired { reason: reason() },
        Ex::SecondFactorRequired,
        Ex::SecondFactorRejected {
            server_detail: None,
        },
        Ex::SecondFactorExpired { reason: reason() },
    ]
    .iter()
    .map(Ex::code)
    .collect();
    let decided = names_after(app_js, "code === \"", '"');
    for code in ["mfa_required", "mfa_expired", "session_expired"] {
        assert!(
            decided.contains(code),
            "the UI does not handle {code}: {decided:?}"
        );
    }
    let unknown: Vec<_> = decided
        .iter()
        .filter(|code| !rust_codes.contains(code.as_str()))
        .collect();
    assert!(
        unknown.is_empty(),
        "the UI decides on error codes Rust does not send: {unknown:?}"
    );

    // Session events: every event Rust sends has a text in the activity log, and every event
    // the UI reacts to exists.
    use tessera_session::SessionEvent as E;
    let p = || "p".to_owned();
    let events = [
        E::LoggedIn {
            profile: p(),
            user_id: None,
        },
        E::Registered { profile: p() },
        E::Restored {
            profile: p(),
            user_id: None,
        },
        E::Refreshed {
            profile: p(),
            rotated: true,
            by_other_process: false,
            access_expires_at: None,
        },
        E::ReplayedAfter401 {
            profile: p(),
            method: "GET".into(),
            path: "/".into(),
        },
        E::RefreshFailedTransiently {
            profile: p(),
            attempt: 1,
            code: "network".into(),
            retry_in_ms: None,
        },
        E::SessionExpired {
            profile: p(),
            reason: "r".into(),
        },
        E::LoggedOut {
            profile: p(),
            server_revoked: false,
        },
    ];
    let rust_events: std::collections::BTreeSet<String> = events
        .iter()
        .map(|e| {
            let tag = serde_json::to_value(e).unwrap()["event"]
                .as_str()
                .unwrap()
                .to_owned();
            assert_eq!(tag, e.name());
            tag
        })
        .collect();
    // The activity log's texts: the `name: (e) => ...` entries of `EVENT_TEXT`.
    let mut ui_texts: std::collections::BTreeSet<String> =
        js_block(app_js, "const EVENT_TEXT = {", "\n};")
            .lines()
            .filter_map(|line| {
                let (name, rest) = line.trim().split_once(':')?;
                rest.trim_start().starts_with('(').then(|| name.to_owned())
            })
            .collect();
    ui_texts.remove("error"); // the UI's own entry for a failed command
    assert_eq!(
        ui_texts, rust_events,
        "the activity log's texts and Rust's events differ"
    );
    let mut reacted = names_after(app_js, "event.event === \"", '"');
    reacted.remove("error");
    let unknown: Vec<_> = reacted.difference(&rust_events).collect();
    assert!(
        unknown.is_empty(),
        "the UI reacts to events Rust never sends: {unknown:?}"
    );
    for event in [
        tessera_app::state::SESSION_EVENT,
        tessera_app::updates::EVENT,
    ] {
        assert!(
            app_js.contains(&format!("listen(\"{event}\"")),
            "the UI does not listen to Rust's {event:?} event (looked in {js_files:?})"
        );
    }

    // Commands: every command the UI calls is one the window may call (its capability lists
    // exactly the registered commands; `no_command_ever_returns_a_token` calls each of them).
    let capability: Value =
        serde_json::from_str(include_str!("../src-tauri/capabilities/main-window.json")).unwrap();
    let allowed: std::collections::BTreeSet<String> = capability["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| Some(p.as_str()?.strip_prefix("allow-")?.replace('-', "_")))
        .collect();
    let called = names_after(app_js, "call(\"", '"');
    assert!(called.len() >= 14, "{called:?}");
    assert_eq!(
        called, allowed,
        "the UI's commands and the window's capability differ"
    );
}
