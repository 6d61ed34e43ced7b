//! The local proxy as a library, against the reference backend (rotation + blacklist on):
//! statuses and headers passed through, 200 concurrent requests on a token the server expired →
//! one refresh, a body above the replay limit sent once, loopback only, not lent when signed
//! out, and a stopped (or dropped) proxy no longer answering. The CLI's tests drive it with real
//! clients against Django (`crates/cli/tests/flows/proxy.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use tessera_proxy::{LocalProxy, ProxyOptions};
use tessera_session::{FakeStore, Password, Profile, Workspace, WorkspaceConfig};
use tessera_testkit::{BackendKind, ServerOptions, TestServer};

struct Setup {
    server: TestServer,
    workspace: Arc<Workspace>,
    _data: tempfile::TempDir,
}

async fn setup(signed_in: bool) -> Setup {
    let server = TestServer::start(
        BackendKind::Rust,
        ServerOptions {
            access_lifetime_secs: 60,
            ..ServerOptions::default()
        },
    )
    .await
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let workspace = Arc::new(Workspace::new(WorkspaceConfig::new(
        data.path().to_path_buf(),
        Arc::new(FakeStore::new()),
    )));
    let profile = Profile::from_base_url(server.base_url().as_str()).unwrap();
    workspace.add_profile("qa", profile).await.unwrap();
    if signed_in {
        let (user, password) = server.user().unwrap();
        workspace
            .sign_in("qa", user, Password::new(password.to_owned()))
            .await
            .unwrap();
    }
    Setup {
        server,
        workspace,
        _data: data,
    }
}

async fn start(setup: &Setup, options: ProxyOptions) -> LocalProxy {
    LocalProxy::start(setup.workspace.clone(), "qa", options)
        .await
        .unwrap()
}

#[tokio::test]
async fn statuses_and_headers_pass_through() {
    let s = setup(true).await;
    let proxy = start(&s, ProxyOptions::default()).await;
    let base = proxy.url().expose_secret().to_owned();
    assert!(base.starts_with("http://127.0.0.1:"));
    let client = reqwest::Client::new();
    let hello = client
        .get(format!("{base}/api/hello/"))
        .send()
        .await
        .unwrap();
    assert_eq!(hello.status(), 200);
    assert_eq!(hello.headers()["content-type"], "application/json");
    assert_eq!(
        hello.text().await.unwrap(),
        r#"{"message":"Hello, World!"}"#
    );
    let wrong_method = client
        .get(format!("{base}/api/echo/"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), 405);
    assert!(wrong_method.headers().contains_key("allow"));
    let missing = client
        .get(format!("{base}/api/nope/"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert!(
        !missing.headers().contains_key("x-tessera-error"),
        "the server's own 404"
    );
    let head = client
        .head(format!("{base}/api/hello/"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    proxy.stop().await;
}

#[tokio::test]
async fn two_hundred_concurrent_requests_on_an_expired_token_refresh_once() {
    let s = setup(true).await;
    let proxy = start(&s, ProxyOptions::default()).await;
    let base = proxy.url().expose_secret().to_owned();
    s.server.shift_clock(120).await.unwrap();
    let client = reqwest::Client::new();
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let client = client.clone();
            let url = if i % 2 == 0 {
                format!("{base}/api/hello/")
            } else {
                format!("{base}/api/echo/")
            };
            tokio::spawn(async move {
                let request = if url.ends_with("echo/") {
                    client.post(url).json(&serde_json::json!({ "i": i }))
                } else {
                    client.get(url)
                };
                let response = request.send().await.unwrap();
                (response.status().as_u16(), response.text().await.unwrap())
            })
        })
        .collect();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert!(!body.contains("eyJ"));
    }
    assert_eq!(
        s.server
            .count("POST /api/token/refresh/ 200")
            .await
            .unwrap(),
        1
    );
    assert_eq!(s.server.count("POST /api/echo/ 200").await.unwrap(), 100);
    proxy.stop().await;
}

#[tokio::test]
async fn a_body_above_the_replay_limit_is_sent_once() {
    let s = setup(true).await;
    let proxy = start(
        &s,
        ProxyOptions {
            replay_limit: 64,
            ..ProxyOptions::default()
        },
    )
    .await;
    let base = proxy.url().expose_secret().to_owned();
    let client = reqwest::Client::new();
    let small = serde_json::json!({ "n": 1 });
    let large = serde_json::json!({ "pad": "x".repeat(500) });
    s.server.shift_clock(120).await.unwrap();
    let replayed = client
        .post(format!("{base}/api/echo/"))
        .json(&small)
        .send()
        .await
        .unwrap();
    assert_eq!(
        replayed.status(),
        200,
        "a small body is replayed after the refresh"
    );
    s.server.shift_clock(120).await.unwrap();
    let once = client
        .post(format!("{base}/api/echo/"))
        .json(&large)
        .send()
        .await
        .unwrap();
    assert_eq!(
        once.status(),
        401,
        "a large body went once; the server's 401 comes back"
    );
    assert!(once.text().await.unwrap().contains("token_not_valid"));
    assert_eq!(s.server.count("POST /api/echo/ 401").await.unwrap(), 2);
    proxy.stop().await;
}

#[tokio::test]
async fn not_lent_off_loopback_or_when_signed_out_and_gone_once_stopped() {
    let signed_out = setup(false).await;
    let err = LocalProxy::start(signed_out.workspace.clone(), "qa", ProxyOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "login_required");

    let s = setup(true).await;
    for listen in ["0.0.0.0:0", "192.0.2.1:0", "[::]:0"] {
        let err = LocalProxy::start(
            s.workspace.clone(),
            "qa",
            ProxyOptions {
                listen: listen.parse().unwrap(),
                ..ProxyOptions::default()
            },
        )
        .await
        .unwrap_err();
        assert_eq!(err.code(), "proxy_not_loopback", "{listen}");
    }
    let client = reqwest::Client::new();
    let proxy = start(&s, ProxyOptions::default()).await;
    let base = proxy.url().expose_secret().to_owned();
    assert_eq!(
        client
            .get(format!("{base}/api/hello/"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    proxy.stop().await;
    assert!(client
        .get(format!("{base}/api/hello/"))
        .send()
        .await
        .is_err());

    let dropped = start(&s, ProxyOptions::default()).await;
    let base = dropped.url().expose_secret().to_owned();
    assert!(!format!("{dropped:?}").contains(&base[base.len() - 43..]));
    drop(dropped);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(client
        .get(format!("{base}/api/hello/"))
        .send()
        .await
        .is_err());
}
