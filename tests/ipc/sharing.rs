//! "Share with local tools" (issue 17): the `share_*` commands run a local proxy that lends the
//! signed-in session to tools at a loopback URL, one at a time; it refuses requests without
//! its capability, and stops when the profile it lends is signed out, switched away from,
//! removed, or its session ends — whatever the window does.

use std::time::Duration;

use serde_json::{json, Value};
use tauri::Manager;
use tessera_app::state::AppState;
use tessera_testkit::{BackendKind, ServerOptions, TestServer};

use super::{app_with, idents_after, invoke, ui_js};

type Webview = tauri::WebviewWindow<tauri::test::MockRuntime>;

/// A profile `name` for `server`, saved as the profile form would.
fn add_profile(data: &std::path::Path, name: &str, server: &TestServer) {
    let path = tessera_session::paths::profiles_file(data);
    tessera_session::ProfilesFile::update(&path, |file| {
        let profile = tessera_session::Profile::new(server.base_url().clone());
        file.upsert(name, profile)
    })
    .unwrap();
}

fn sign_in(webview: &Webview, profile: &str, server: &TestServer) {
    let (user, password) = server.user().unwrap();
    let signed_in = invoke(
        webview,
        "session_login",
        json!({ "profile": profile, "login": user, "password": password }),
    )
    .unwrap();
    assert_eq!(signed_in["status"]["signed_in"], true, "{signed_in}");
}

/// `GET {url}/api/hello/` from a tool (a fresh client: no connection kept from before).
async fn hello_through(url: &str) -> reqwest::Result<reqwest::Response> {
    reqwest::Client::new()
        .get(format!("{url}/api/hello/"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
}

/// Whether nothing listens at `addr` any more (within 5 s: a proxy dropped by an event stops
/// without being waited for).
async fn refuses_connections(addr: &str) -> bool {
    for _ in 0..50 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// How many `GET /api/hello/` the server answered, whatever the status.
async fn hellos(server: &TestServer) -> u64 {
    let counts = server.counters().await.unwrap();
    counts
        .iter()
        .filter(|(key, _)| key.starts_with("GET /api/hello/ "))
        .map(|(_, n)| n)
        .sum()
}

fn share_start(webview: &Webview, profile: &str) -> Value {
    invoke(webview, "share_start", json!({ "profile": profile })).unwrap()
}

fn share_status(webview: &Webview) -> Value {
    invoke(webview, "share_status", json!({})).unwrap()
}

fn addr_of(share: &Value) -> String {
    share["addr"].as_str().unwrap().to_owned()
}

/// On: a URL on 127.0.0.1 whose requests reach the server with the session; the capability is
/// required; starting twice keeps the one proxy. Signed out: no sharing (`login_required`).
/// Sign-out stops it: the port closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharing_lends_the_session_until_sign_out() {
    let server = TestServer::start(BackendKind::Rust, ServerOptions::default())
        .await
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    add_profile(data.path(), "it", &server);
    let (_app, webview) = app_with(data.path(), super::no_launch());
    invoke(&webview, "app_start", json!({})).unwrap();
    assert_eq!(share_status(&webview), Value::Null);

    // Signed out: nothing to lend.
    let error = invoke(&webview, "share_start", json!({ "profile": "it" })).unwrap_err();
    assert_eq!(error["code"], "login_required", "{error}");
    assert!(error["message"].is_string(), "{error}");
    assert_eq!(share_status(&webview), Value::Null);

    sign_in(&webview, "it", &server);
    let share = share_start(&webview, "it");
    let url = share["url"].as_str().unwrap().to_owned();
    let addr = addr_of(&share);
    assert_eq!(share["profile"], "it", "{share}");
    assert!(addr.starts_with("127.0.0.1:"), "{share}");
    assert!(
        url.starts_with(&format!("http://{addr}/")),
        "listens where it says"
    );
    assert!(
        url.len() > format!("http://{addr}/").len() + 40,
        "no capability in the URL"
    );
    assert_eq!(share_status(&webview), share);
    // Already on for this profile: the same proxy, the same URL.
    assert_eq!(share_start(&webview, "it"), share);

    let answer = hello_through(&url).await.unwrap();
    assert_eq!(answer.status(), 200);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["message"], "Hello, World!", "{body}");
    // The session's token went to the server (the tool sent none) and never came back.
    assert!(server.count("GET /api/hello/ 200").await.unwrap() >= 1);

    // Without the capability nothing reaches the server.
    let before = hellos(&server).await;
    let bare = hello_through(&format!("http://{addr}")).await.unwrap();
    assert_eq!(bare.status(), 403);
    assert_eq!(
        bare.headers()
            .get(tessera_proxy::refusal::ERROR_HEADER)
            .unwrap(),
        "proxy_capability_required"
    );
    assert_eq!(hellos(&server).await, before);

    // Sign-out stops sharing: the port closes and the URL no longer works.
    invoke(&webview, "session_logout", json!({ "profile": "it" })).unwrap();
    assert_eq!(share_status(&webview), Value::Null);
    assert!(refuses_connections(&addr).await, "{addr} still listens");
    assert!(hello_through(&url).await.is_err());

    // Off: stopping again is nothing to do.
    assert_eq!(
        invoke(&webview, "share_stop", json!({})).unwrap(),
        Value::Null
    );
}

/// One proxy at a time, for the profile on screen: signing in to another profile, choosing
/// another on the sign-in screen, or removing the lent one stops it; "Stop sharing" too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_or_removing_the_lent_profile_stops_sharing() {
    let server = TestServer::start(BackendKind::Rust, ServerOptions::default())
        .await
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    add_profile(data.path(), "a", &server);
    add_profile(data.path(), "b", &server);
    let (_app, webview) = app_with(data.path(), super::no_launch());
    invoke(&webview, "app_start", json!({})).unwrap();

    // Signing in to b while a is lent: a's proxy stops.
    sign_in(&webview, "a", &server);
    let lent_a = share_start(&webview, "a");
    sign_in(&webview, "b", &server);
    assert_eq!(share_status(&webview), Value::Null);
    assert!(refuses_connections(&addr_of(&lent_a)).await);

    // Sharing b, then starting for a (still signed in): b's stops, a's runs — one at a time.
    let lent_b = share_start(&webview, "b");
    let lent_a = share_start(&webview, "a");
    assert_eq!(share_status(&webview)["profile"], "a");
    assert!(refuses_connections(&addr_of(&lent_b)).await);
    let url_a = lent_a["url"].as_str().unwrap();
    assert_eq!(hello_through(url_a).await.unwrap().status(), 200);

    // Choosing b on the sign-in screen stops a's.
    invoke(&webview, "profile_select", json!({ "name": "b" })).unwrap();
    assert_eq!(share_status(&webview), Value::Null);
    assert!(refuses_connections(&addr_of(&lent_a)).await);

    // "Stop sharing".
    let lent_b = share_start(&webview, "b");
    assert_eq!(
        invoke(&webview, "share_stop", json!({})).unwrap(),
        Value::Null
    );
    assert_eq!(share_status(&webview), Value::Null);
    assert!(refuses_connections(&addr_of(&lent_b)).await);

    // Removing the lent profile stops it.
    let lent_b = share_start(&webview, "b");
    invoke(&webview, "profile_delete", json!({ "name": "b" })).unwrap();
    assert_eq!(share_status(&webview), Value::Null);
    assert!(refuses_connections(&addr_of(&lent_b)).await);

    // Renaming it (a save of the lent profile) too.
    let lent_a = share_start(&webview, "a");
    let start = invoke(&webview, "app_start", json!({})).unwrap();
    let profile = start["profiles"]["profiles"][0]["profile"].clone();
    invoke(
        &webview,
        "profile_save",
        json!({ "name": "renamed", "previousName": "a", "profile": profile }),
    )
    .unwrap();
    assert_eq!(share_status(&webview), Value::Null);
    assert!(refuses_connections(&addr_of(&lent_a)).await);
}

/// The session ending without the window asking (here: signed out through the engine, as the
/// refresh token's expiry or a sign-out elsewhere would end it) stops the proxy lending it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_that_ends_stops_sharing() {
    let server = TestServer::start(BackendKind::Rust, ServerOptions::default())
        .await
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    add_profile(data.path(), "it", &server);
    let (app, webview) = app_with(data.path(), super::no_launch());
    sign_in(&webview, "it", &server);
    let share = share_start(&webview, "it");
    let url = share["url"].as_str().unwrap().to_owned();
    assert_eq!(hello_through(&url).await.unwrap().status(), 200);

    let workspace = app.state::<AppState>().workspace.clone();
    tauri::async_runtime::spawn(async move { workspace.sign_out("it").await })
        .await
        .unwrap()
        .unwrap();
    assert!(
        refuses_connections(&addr_of(&share)).await,
        "still listening"
    );
    assert_eq!(share_status(&webview), Value::Null);
}

/// The fields the UI reads of a `share_start`/`share_status` answer are `SharingInfo`'s.
#[test]
fn the_ui_reads_the_sharing_fields_rust_sends() {
    let (_, app_js) = ui_js();
    let info = tessera_app::models::SharingInfo {
        url: "http://127.0.0.1:1/capability".into(),
        profile: "p".into(),
        addr: "127.0.0.1:1".into(),
    };
    assert!(
        !format!("{info:?}").contains("capability"),
        "Debug shows the URL"
    );
    let fields: std::collections::BTreeSet<String> = serde_json::to_value(&info)
        .unwrap()
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let read = idents_after(&app_js, "share.");
    assert!(read.contains("url") && read.contains("profile"), "{read:?}");
    let unknown: Vec<_> = read.difference(&fields).collect();
    assert!(
        unknown.is_empty(),
        "the UI reads sharing fields Rust does not send: {unknown:?}"
    );
}
