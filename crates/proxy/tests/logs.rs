//! The proxy's whole life — started, requests forwarded (one replayed after the server expired
//! the token, one refused without the capability, one to a token endpoint), signed out
//! underneath it, stopped — with every `tracing` event at TRACE level captured, this crate's and
//! its dependencies' (axum, hyper, reqwest): no token (`eyJ`), no password and never the
//! capability (the proxy's URL is a credential).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use tessera_proxy::{LocalProxy, ProxyOptions};
use tessera_session::{FakeStore, Password, Profile, Workspace, WorkspaceConfig};
use tessera_testkit::{BackendKind, ServerOptions, TestServer};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_logs_of_a_proxy_hold_no_token_and_no_capability() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let server = TestServer::start(BackendKind::Rust, ServerOptions::default())
        .await
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let workspace = Arc::new(Workspace::new(WorkspaceConfig::new(
        data.path().to_path_buf(),
        Arc::new(FakeStore::new()),
    )));
    let profile = Profile::from_base_url(server.base_url().as_str()).unwrap();
    workspace.add_profile("qa", profile).await.unwrap();
    let (user, password) = server.user().unwrap();
    let password = password.to_owned();
    workspace
        .sign_in("qa", user, Password::new(password.clone()))
        .await
        .unwrap();
    let proxy = LocalProxy::start(workspace.clone(), "qa", ProxyOptions::default())
        .await
        .unwrap();
    let base = proxy.url().expose_secret().to_owned();
    let capability = base.rsplit('/').next().unwrap().to_owned();
    let client = reqwest::Client::new();
    let get = |path: &str| client.get(format!("{base}{path}")).send();
    assert_eq!(get("/api/hello/").await.unwrap().status(), 200);
    server.shift_clock(600).await.unwrap();
    let echo = client
        .post(format!("{base}/api/echo/?q=1"))
        .json(&serde_json::json!({"x": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(echo.status(), 200);
    let origin = base.trim_end_matches(&capability).to_owned();
    assert_eq!(
        client
            .get(format!("{origin}api/hello/"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        client
            .post(format!("{base}/api/token/refresh/"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    workspace.sign_out("qa").await.unwrap();
    assert_eq!(get("/api/hello/").await.unwrap().status(), 401);
    proxy.stop().await;

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("forwarding"),
        "the capture saw the proxy:\n{logs}"
    );
    assert!(logs.contains("local proxy stopped"));
    assert!(!logs.contains("eyJ"), "a token in the logs:\n{logs}");
    assert!(!logs.contains(&password), "the password in the logs");
    assert!(
        !logs.contains(&capability),
        "the capability in the logs:\n{logs}"
    );
}
