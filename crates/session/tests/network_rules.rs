//! Where the engine's bytes go: a loopback server is reached directly,
//! never through the profile's proxy nor the environment's (`HTTP_PROXY`, `ALL_PROXY`, ...), a
//! `*.localhost` name is this machine without asking DNS, a remote https server still goes
//! through the profile's proxy, and a token endpoint spelled another way (percent-encoded,
//! dot segments, doubled slashes) is refused before anything is sent.
//!
//! Servers are real sockets on 127.0.0.1: the scripted simplejwt server of `common`, a fake proxy
//! that records what it receives and answers 502, and a tap that records every byte a client
//! sends to the simplejwt server. The environment-proxy test re-executes this test binary with
//! the proxy variables set (setting them in this process would race with the other tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{fast_options, MockServer, ServerConfig};
use tessera_session::{
    ApiRequest, Clock, FakeStore, ManualClock, Method, Password, Profile, Session, SessionConfig,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Bytes received by a fake server, shared with the test.
#[derive(Clone, Default)]
struct Recorded(Arc<Mutex<Vec<u8>>>);

impl Recorded {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
    fn push(&self, bytes: &[u8]) {
        self.0.lock().unwrap().extend_from_slice(bytes);
    }
}

/// A fake HTTP proxy: records everything it is sent, answers `502` and closes.
async fn fake_proxy() -> (String, Recorded) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let recorded = Recorded::default();
    let log = recorded.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                continue;
            };
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let mut seen = Vec::new();
                // Up to the end of the head, then whatever body arrives within a moment.
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            log.push(&buf[..n]);
                            seen.extend_from_slice(&buf[..n]);
                        }
                    }
                }
                if let Ok(Ok(n)) =
                    tokio::time::timeout(Duration::from_millis(200), socket.read(&mut buf)).await
                {
                    log.push(&buf[..n]);
                }
                let _ = socket
                    .write_all(
                        b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                    )
                    .await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (url, recorded)
}

/// A TCP tap in front of `upstream` (`host:port`): forwards both ways and records what clients
/// send. Its address, as `http://127.0.0.1:PORT`.
async fn tap(upstream: String) -> (String, Recorded) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let recorded = Recorded::default();
    let log = recorded.clone();
    tokio::spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else {
                continue;
            };
            let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else {
                continue;
            };
            let log = log.clone();
            tokio::spawn(async move {
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                let down = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
                });
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    match client_read.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            log.push(&buf[..n]);
                            if server_write.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    }
                }
                let _ = server_write.shutdown().await;
                let _ = down.await;
            });
        }
    });
    (url, recorded)
}

async fn server() -> MockServer {
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::starting_now());
    MockServer::start(ServerConfig::default(), clock).await
}

fn session(profile: Profile) -> (Session, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let session = Session::open(
        SessionConfig::new(
            "network-rules",
            profile,
            Arc::new(FakeStore::new()),
            dir.path().to_path_buf(),
        )
        .with_options(fast_options()),
    )
    .unwrap();
    (session, dir)
}

fn pw() -> Password {
    Password::new("correct horse".into())
}

/// Signs in and sends one API request; both must reach `server` (not a proxy).
async fn login_and_echo(s: &Session, server: &MockServer) {
    tokio::time::timeout(Duration::from_secs(20), s.login("alice", pw()))
        .await
        .expect("the sign-in hung")
        .unwrap();
    let r = s.request(ApiRequest::get("/api/echo/")).await.unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(server.count("POST /api/token/ 200"), 1);
    assert_eq!(server.count("GET /api/echo/ 200"), 1);
}

#[tokio::test]
async fn a_profile_proxy_is_not_used_for_a_loopback_server() {
    let (proxy, proxied) = fake_proxy().await;
    for host in ["127.0.0.1", "localhost", "tessera-proxy.localhost"] {
        let server = server().await;
        let base = server.base_url.replace("127.0.0.1", host);
        let mut profile = Profile::from_base_url(&base).unwrap();
        profile.proxy = Some(proxy.clone());
        let (s, _dir) = session(profile);
        login_and_echo(&s, &server).await;
    }
    assert_eq!(proxied.text(), "", "the proxy was sent a loopback request");
}

#[tokio::test]
async fn a_profile_proxy_is_still_used_for_a_remote_https_server() {
    // The loopback exemption must not switch proxies off: a remote https server is reached
    // through the proxy's CONNECT tunnel (the fake proxy refuses it, so the sign-in fails).
    let (proxy, proxied) = fake_proxy().await;
    let mut profile = Profile::from_base_url("https://api.tessera-test.invalid/").unwrap();
    profile.proxy = Some(proxy);
    let (s, _dir) = session(profile);
    let err = tokio::time::timeout(Duration::from_secs(20), s.login("alice", pw()))
        .await
        .expect("the sign-in hung")
        .unwrap_err();
    assert_ne!(err.code(), "reserved_endpoint", "{err}");
    let seen = proxied.text();
    assert!(
        seen.starts_with("CONNECT api.tessera-test.invalid:443 "),
        "{seen:?}"
    );
    assert!(!seen.contains("correct horse"), "{seen:?}");
}

/// Marks the child process of [`environment_proxies_are_not_used_for_a_loopback_server`].
const CHILD: &str = "TESSERA_NETWORK_RULES_ENV_PROXY_CHILD";

#[tokio::test]
async fn environment_proxies_are_not_used_for_a_loopback_server() {
    if std::env::var_os(CHILD).is_some() {
        // The child: the proxy variables point at the parent's fake proxy.
        for host in ["127.0.0.1", "localhost"] {
            let server = server().await;
            let base = server.base_url.replace("127.0.0.1", host);
            let (s, _dir) = session(Profile::from_base_url(&base).unwrap());
            login_and_echo(&s, &server).await;
        }
        return;
    }
    let (proxy, proxied) = fake_proxy().await;
    let exe = std::env::current_exe().unwrap();
    let mut child = tokio::process::Command::new(exe);
    child
        .args([
            "--exact",
            "environment_proxies_are_not_used_for_a_loopback_server",
            "--test-threads=1",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .env_remove("REQUEST_METHOD");
    for var in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        child.env(var, &proxy);
    }
    let out = tokio::time::timeout(Duration::from_secs(120), child.output())
        .await
        .expect("the child test hung")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The child really ran the scenario (and was not filtered out).
    assert!(stdout.contains("1 passed"), "{stdout}");
    assert_eq!(proxied.text(), "", "the proxy was sent a loopback request");
}

#[tokio::test]
async fn a_localhost_subdomain_reaches_loopback_without_dns() {
    // `*.localhost` is this machine (RFC 6761): the engine pins it to 127.0.0.1 / ::1 itself.
    // The name below is in no hosts file, so a DNS lookup would fail (or, worse, go elsewhere).
    let server = server().await;
    let base = server
        .base_url
        .replace("127.0.0.1", "tessera-network-rules.localhost");
    let (s, _dir) = session(Profile::from_base_url(&base).unwrap());
    login_and_echo(&s, &server).await;
}

#[tokio::test]
async fn a_token_endpoint_in_another_spelling_is_refused_before_the_network() {
    let server = server().await;
    let (base, sent) = tap(server.base_url.trim_start_matches("http://").to_owned()).await;
    let (s, _dir) = session(Profile::from_base_url(&base).unwrap());
    s.login("alice", pw()).await.unwrap();
    assert_eq!(server.count("POST /api/token/ 200"), 1);
    let before = sent.text();
    for target in [
        "/api/%74oken/",
        "/api/%74oken/refresh/",
        "/api/x/../token/",
        "/api/./token/refresh/",
        "/api//token/",
        "/api/token%2Fblacklist/",
    ] {
        let err = s
            .request(
                ApiRequest::new(Method::POST, target)
                    .json(&serde_json::json!({"password": "hunter2"}))
                    .unwrap(),
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), "reserved_endpoint", "{target}: {err}");
    }
    // Nothing at all was sent after the sign-in: no bearer token, no body.
    assert_eq!(sent.text(), before);
    // A double-encoded name is another path on the server (Django decodes once): it is sent.
    let r = s
        .request(ApiRequest::post("/api/%2574oken/"))
        .await
        .unwrap();
    assert_eq!(r.status, 404);
    assert!(sent.text().contains("POST /api/%2574oken/ "));
}
