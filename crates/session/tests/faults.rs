//! The fault and bad-input suite (issue 7): servers that answer garbage, networks that fail,
//! redirects that would carry credentials away, a keyring that fails right after a refresh. Each
//! case must end in a specific error code with a readable message, and with the session intact
//! (or ended on purpose) — never a hang (every call is bounded by a tokio timeout that fails the
//! test) and never a panic.
//!
//! Most servers here are raw TCP: a canned HTTP answer, or a misbehaviour no HTTP framework
//! would produce (a reset in the middle of a body, a body that never ends, silence). Refresh
//! faults start from a signed-in session whose tokens are made here and stored in a fake keyring,
//! so that the only network call is the refresh under test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::{fast_options, Harness, ServerConfig};
use serde_json::{json, Value};
use tessera_session::vault::{StoredSession, Vault};
use tessera_session::{
    AccessToken, ApiRequest, Error, FakeOp, FakeStore, ManualClock, Password, Profile,
    RefreshToken, Session, SessionConfig, SessionEvent, SessionOptions, StoreError,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const HUGE: u64 = 50 * 1024 * 1024;
const PASSWORD: &str = "correct horse battery";

/// Fails the test if `f` does not finish within `secs`.
async fn bounded<T>(secs: u64, what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .unwrap_or_else(|_| panic!("{what}: hung for {secs} s"))
}

// ---------------------------------------------------------------------------------------------
// A raw HTTP/1.1 server with one behaviour.

#[derive(Clone)]
enum Mode {
    /// A complete response, then the connection is closed.
    Canned(Arc<Vec<u8>>),
    /// Reads the request and never answers.
    Silent,
    /// Headers and half of the announced body, then a TCP reset.
    ResetMidBody,
    /// Headers announce 1000 bytes, 20 are sent, then the connection is closed.
    Truncated,
    /// Headers, then one byte every 100 ms, forever.
    Trickle,
    /// A 200 with a 50 MB body, announced by Content-Length or chunked.
    Huge { chunked: bool },
}

struct RawServer {
    addr: SocketAddr,
    connections: Arc<AtomicU64>,
    requests: Arc<Mutex<Vec<Vec<u8>>>>,
    body_bytes_written: Arc<AtomicU64>,
    huge_completed: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RawServer {
    async fn start(mode: Mode) -> Self {
        Self::start_on("127.0.0.1:0", mode).await
    }

    async fn start_on(bind: &str, mode: Mode) -> Self {
        let listener = TcpListener::bind(bind).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicU64::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let body_bytes_written = Arc::new(AtomicU64::new(0));
        let huge_completed = Arc::new(AtomicBool::new(false));
        let (c, r, w, done) = (
            Arc::clone(&connections),
            Arc::clone(&requests),
            Arc::clone(&body_bytes_written),
            Arc::clone(&huge_completed),
        );
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                c.fetch_add(1, Ordering::SeqCst);
                let (mode, r, w, done) = (mode.clone(), r.clone(), w.clone(), done.clone());
                tokio::spawn(async move {
                    serve(stream, mode, r, w, done).await;
                });
            }
        });
        Self {
            addr,
            connections,
            requests,
            body_bytes_written,
            huge_completed,
            task,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn connections(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }

    fn requests(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|r| String::from_utf8_lossy(r).into_owned())
            .collect()
    }
}

/// Reads one request (headers and a Content-Length body); whatever arrived if it breaks off.
async fn read_request(stream: &mut TcpStream) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                return buf;
            }
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return buf,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

async fn serve(
    mut stream: TcpStream,
    mode: Mode,
    requests: Arc<Mutex<Vec<Vec<u8>>>>,
    written: Arc<AtomicU64>,
    completed: Arc<AtomicBool>,
) {
    let request = read_request(&mut stream).await;
    requests.lock().unwrap().push(request);
    let json_head = |len: u64| {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n"
        )
    };
    match mode {
        Mode::Canned(bytes) => {
            let _ = stream.write_all(&bytes).await;
            let _ = stream.shutdown().await;
        }
        Mode::Silent => {
            std::future::pending::<()>().await;
        }
        Mode::ResetMidBody => {
            let _ = stream.write_all(json_head(1000).as_bytes()).await;
            let _ = stream.write_all(&[b' '; 500]).await;
            let _ = stream.flush().await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            stream.set_zero_linger().unwrap();
            drop(stream); // RST, not FIN
        }
        Mode::Truncated => {
            let _ = stream.write_all(json_head(1000).as_bytes()).await;
            let _ = stream.write_all(br#"{"access": "eyJhbGci"#).await;
            let _ = stream.shutdown().await;
        }
        Mode::Trickle => {
            let _ = stream.write_all(json_head(100_000).as_bytes()).await;
            while stream.write_all(b" ").await.is_ok() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Mode::Huge { chunked } => {
            let head = if chunked {
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".to_owned()
            } else {
                json_head(HUGE)
            };
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let block = vec![b' '; 64 * 1024];
            let mut sent = 0u64;
            while sent < HUGE {
                let ok = if chunked {
                    let mut framed = format!("{:x}\r\n", block.len()).into_bytes();
                    framed.extend_from_slice(&block);
                    framed.extend_from_slice(b"\r\n");
                    stream.write_all(&framed).await.is_ok()
                } else {
                    stream.write_all(&block).await.is_ok()
                };
                if !ok {
                    return;
                }
                sent += block.len() as u64;
                written.fetch_add(block.len() as u64, Ordering::SeqCst);
            }
            if chunked {
                let _ = stream.write_all(b"0\r\n\r\n").await;
            }
            completed.store(true, Ordering::SeqCst);
        }
    }
}

fn canned(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Mode {
    let mut out = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    Mode::Canned(Arc::new(bytes))
}

fn json_reply(status: &str, body: &str) -> Mode {
    canned(
        status,
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
}

/// A compact JWS with these claims (HS256 header, a dummy signature: nothing verifies it).
fn jwt(claims: &Value) -> String {
    let part = |s: &str| URL_SAFE_NO_PAD.encode(s);
    format!(
        "{}.{}.{}",
        part(r#"{"alg":"HS256","typ":"JWT"}"#),
        part(&claims.to_string()),
        part("not-a-real-signature")
    )
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn access_claims(now: i64) -> Value {
    json!({"token_type": "access", "exp": now + 300, "iat": now, "jti": "a1", "user_id": "7"})
}

/// An access token as a server would send it in a canned answer: still valid after the refresh
/// tests move the client's clock past the stored token's expiry.
fn fresh_claims(now: i64) -> Value {
    json!({"token_type": "access", "exp": now + 3600, "iat": now, "jti": "a2", "user_id": "7"})
}

fn refresh_claims(now: i64) -> Value {
    json!({"token_type": "refresh", "exp": now + 86_400, "iat": now, "jti": "r1", "user_id": "7"})
}

fn drain(rx: &mut tokio::sync::broadcast::Receiver<SessionEvent>) -> Vec<SessionEvent> {
    let mut out = Vec::new();
    while let Ok(e) = rx.try_recv() {
        out.push(e);
    }
    out
}

/// Options for fault tests: fast retries, two attempts.
fn options() -> SessionOptions {
    let mut o = fast_options();
    o.retry.max_attempts = 2;
    o
}

struct Client {
    session: Session,
    store: Arc<FakeStore>,
    clock: Arc<ManualClock>,
    _lock_dir: tempfile::TempDir,
}

fn client(base_url: &str) -> Client {
    let mut profile = Profile::from_base_url(base_url).unwrap();
    profile.request_timeout_secs = 1;
    profile.connect_timeout_secs = 1;
    client_with(profile)
}

fn client_with(profile: Profile) -> Client {
    let store = Arc::new(FakeStore::new());
    let clock = Arc::new(ManualClock::starting_now());
    let lock_dir = tempfile::tempdir().unwrap();
    let session = Session::open(
        SessionConfig::new(
            "faults",
            profile,
            store.clone(),
            lock_dir.path().to_path_buf(),
        )
        .with_clock(clock.clone())
        .with_options(options()),
    )
    .unwrap();
    Client {
        session,
        store,
        clock,
        _lock_dir: lock_dir,
    }
}

/// A session signed in to `base_url` (tokens made here, stored in the fake keyring, restored
/// without any network call), its access token valid for 300 s on the client's clock.
async fn signed_in(base_url: &str) -> Client {
    let c = client(base_url);
    let now = now_secs();
    let stored = StoredSession {
        access: AccessToken::new(jwt(&access_claims(now))),
        refresh: Some(RefreshToken::new(jwt(&refresh_claims(now)))),
        origin: base_url.to_owned(),
        offset_ms: 0,
        base_url: None,
        blacklist_url: None,
        verified: true,
    };
    Vault::new(c.store.clone(), Duration::from_secs(2))
        .save("faults", &stored)
        .await
        .unwrap();
    let status = bounded(10, "restore", c.session.restore()).await.unwrap();
    assert!(status.signed_in && !status.access_expired);
    c
}

/// Signs in against a server in `mode`; returns the error (a success fails the test).
async fn login_error(mode: Mode) -> (Error, Client, RawServer) {
    let server = RawServer::start(mode).await;
    let c = client(&server.url());
    let result = bounded(
        20,
        "login",
        c.session.login("alice", Password::new(PASSWORD.to_owned())),
    )
    .await;
    let err = result.expect_err("the sign-in succeeded");
    (err, c, server)
}

/// The access token expires; the next request's refresh meets a server in `mode`. Either the
/// answer was unusable as a whole and the session survives (same tokens in memory and in the
/// keyring, no `session_expired` event), or it carried a renewal the client had to reject: then
/// that renewal was blacklisted and the session ended (issue 13) — never a session kept with a
/// renewed refresh token dropped.
async fn refresh_error(mode: Mode) -> Error {
    let server = RawServer::start(mode).await;
    let c = signed_in(&server.url()).await;
    let keyring_before = c.store.snapshot();
    let mut events = c.session.subscribe();
    c.clock.advance(Duration::from_secs(301));
    let err = bounded(
        30,
        "request with a refresh",
        c.session.request(ApiRequest::get("/api/echo/")),
    )
    .await
    .expect_err("the request succeeded");
    assert!(
        server.connections() >= 1,
        "the refresh endpoint was not called"
    );
    let requests = server.requests();
    if requests
        .iter()
        .any(|r| r.starts_with("POST /api/token/blacklist/"))
    {
        assert!(
            requests
                .iter()
                .all(|r| r.starts_with("POST /api/token/refresh/")
                    || r.starts_with("POST /api/token/blacklist/")),
            "{requests:?}"
        );
        assert!(
            !c.session.status().signed_in,
            "a rejected renewal kept the session"
        );
        assert!(c.store.snapshot().is_empty(), "the keyring was not cleared");
        let events = drain(&mut events);
        assert!(
            events
                .iter()
                .any(|e| matches!(e, SessionEvent::SessionExpired { .. })),
            "{events:?}"
        );
        return err;
    }
    assert!(
        requests
            .iter()
            .all(|r| r.starts_with("POST /api/token/refresh/")),
        "only the refresh endpoint may be called: {requests:?}"
    );
    assert!(
        c.session.status().signed_in,
        "{}: the session was lost",
        err.code()
    );
    assert_eq!(
        c.store.snapshot(),
        keyring_before,
        "the keyring was changed"
    );
    let events = drain(&mut events);
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, SessionEvent::SessionExpired { .. })),
        "{events:?}"
    );
    err
}

fn assert_error(err: &Error, code: &str, needle: &str) {
    assert_eq!(err.code(), code, "{err}");
    let message = err.to_string();
    assert!(
        message.contains(needle),
        "expected {needle:?} in: {message}"
    );
    assert!(
        !message.contains("eyJ"),
        "a token in the message: {message}"
    );
    assert!(
        !message.contains(PASSWORD),
        "the password in the message: {message}"
    );
}

fn login_refused_cleanly(err: &Error, c: &Client, code: &str, needle: &str) {
    assert_error(err, code, needle);
    assert!(!c.session.status().signed_in);
    assert!(c.store.snapshot().is_empty(), "something was stored");
}

// ---------------------------------------------------------------------------------------------
// Bad server responses.

#[tokio::test]
async fn a_proxy_error_page_is_a_server_error_at_sign_in_and_keeps_the_session_at_refresh() {
    let page = canned(
        "502 Bad Gateway",
        &[("Content-Type", "text/html")],
        b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>",
    );
    let (err, c, _s) = login_error(page.clone()).await;
    login_refused_cleanly(&err, &c, "server_error", "The server failed (502)");
    assert!(err.is_transient());

    let err = refresh_error(page).await;
    assert_error(&err, "server_error", "(502)");
}

#[tokio::test]
async fn html_where_json_belongs_is_a_bad_response_not_a_parse_panic() {
    // A captive portal or a web server answering 200 with a page.
    let portal = canned(
        "200 OK",
        &[("Content-Type", "text/html")],
        b"<!doctype html><title>Sign in to the Wi-Fi</title>",
    );
    let (err, c, _s) = login_error(portal.clone()).await;
    login_refused_cleanly(&err, &c, "bad_response", "not JSON");
    let err = refresh_error(portal).await;
    assert_error(&err, "bad_response", "not JSON");

    // Error statuses with HTML bodies keep their own meaning.
    let (err, c, _s) = login_error(canned(
        "401 Unauthorized",
        &[("Content-Type", "text/html")],
        b"<h1>401</h1>",
    ))
    .await;
    login_refused_cleanly(&err, &c, "invalid_credentials", "credentials");
    let (err, c, _s) = login_error(canned(
        "404 Not Found",
        &[("Content-Type", "text/html")],
        b"<h1>Not Found</h1>",
    ))
    .await;
    login_refused_cleanly(&err, &c, "http_error", "404");
}

#[tokio::test]
async fn empty_and_truncated_bodies_are_bad_responses() {
    let token = jwt(&fresh_claims(now_secs()));
    let cut = format!(r#"{{"access": "{token}", "refresh": "{}"#, &token[..20]);
    for (name, mode) in [
        ("empty", json_reply("200 OK", "")),
        ("truncated JSON", json_reply("200 OK", &cut)),
        ("whitespace", json_reply("200 OK", "  \n ")),
    ] {
        let (err, c, _s) = login_error(mode.clone()).await;
        login_refused_cleanly(&err, &c, "bad_response", "not JSON");
        let err = refresh_error(mode).await;
        assert_error(&err, "bad_response", "not JSON");
        eprintln!("{name}: {err}");
    }
}

#[tokio::test]
async fn wrong_field_types_are_bad_responses() {
    let now = now_secs();
    let access = jwt(&fresh_claims(now));
    let refresh = jwt(&refresh_claims(now));
    let cases: Vec<(String, &str)> = vec![
        (json!({"access": 123, "refresh": refresh}).to_string(), "\"access\" field is not a JWT"),
        (json!({"access": [access], "refresh": refresh}).to_string(), "\"access\" field is not a JWT"),
        (json!({"access": {"token": access}, "refresh": refresh}).to_string(), "\"access\" field is not a JWT"),
        (json!({"access": true, "refresh": refresh}).to_string(), "\"access\" field is not a JWT"),
        (json!({"access": null, "refresh": refresh}).to_string(), "no \"access\" field"),
        (json!({"access": access, "refresh": 42}).to_string(), "\"refresh\" field is not a JWT"),
        (json!([access, refresh]).to_string(), "not a JSON object"),
        (json!(access).to_string(), "not a JSON object"),
        ("null".to_owned(), "not a JSON object"),
        // a JWT-shaped string whose parts are not JSON
        (
            json!({"access": format!("{}.{}.c2ln", URL_SAFE_NO_PAD.encode("{\"alg\":\"HS256\"}"), URL_SAFE_NO_PAD.encode("not json")), "refresh": refresh}).to_string(),
            "not a readable JWT",
        ),
        // claims of the wrong JSON type
        (json!({"access": jwt(&json!(["exp", 1])), "refresh": refresh}).to_string(), "not a readable JWT"),
        (json!({"access": jwt(&json!({"token_type": "access", "exp": "tomorrow", "iat": now})), "refresh": refresh}).to_string(), "no numeric \"exp\""),
        (json!({"access": jwt(&json!({"token_type": 5, "exp": now + 3600})), "refresh": refresh}).to_string(), "a token of type \"access\" belongs"),
        (json!({"access": refresh, "refresh": refresh}).to_string(), "type \"refresh\" where a token of type \"access\" belongs"),
    ];
    for (body, needle) in cases {
        let (err, c, _s) = login_error(json_reply("200 OK", &body)).await;
        login_refused_cleanly(&err, &c, "bad_response", needle);
        // At refresh time the refresh field is optional, the access field is not.
        if !needle.contains("\"refresh\" field") {
            let err = refresh_error(json_reply("200 OK", &body)).await;
            assert_error(&err, "bad_response", needle);
        }
    }
}

#[tokio::test]
async fn an_access_token_that_is_not_a_jwt_is_refused() {
    let refresh = jwt(&refresh_claims(now_secs()));
    for access in [
        "",
        "not-a-jwt",
        "a.b",
        "a.b.c.d",
        "opaque token with spaces",
        "aGVsbG8.d29ybGQ.",
    ] {
        let body = json!({"access": access, "refresh": refresh}).to_string();
        let (err, c, _s) = login_error(json_reply("200 OK", &body)).await;
        assert_eq!(err.code(), "bad_response", "{access:?}: {err}");
        login_refused_cleanly(&err, &c, "bad_response", "JWT");
        let err = refresh_error(json_reply("200 OK", &body)).await;
        assert_error(&err, "bad_response", "JWT");
    }
}

#[tokio::test]
async fn an_access_token_without_exp_or_already_expired_is_refused() {
    let now = now_secs();
    let refresh = jwt(&refresh_claims(now));
    for (claims, needle) in [
        (
            json!({"token_type": "access", "iat": now, "jti": "x", "user_id": "7"}),
            "no numeric \"exp\"",
        ),
        (
            json!({"token_type": "access", "exp": null, "iat": now}),
            "no numeric \"exp\"",
        ),
        // No iat and no Date header: the local clock decides.
        (
            json!({"token_type": "access", "exp": now - 10}),
            "already expired",
        ),
        // exp not after iat (a zero or negative ACCESS_TOKEN_LIFETIME).
        (
            json!({"token_type": "access", "exp": now, "iat": now}),
            "already expired",
        ),
        (
            json!({"token_type": "access", "exp": now - 300, "iat": now}),
            "already expired",
        ),
        (
            json!({"token_type": "access", "exp": i64::MIN, "iat": i64::MIN}),
            "already expired",
        ),
    ] {
        let body = json!({"access": jwt(&claims), "refresh": refresh}).to_string();
        let (err, c, _s) = login_error(json_reply("200 OK", &body)).await;
        login_refused_cleanly(&err, &c, "bad_response", needle);
        let err = refresh_error(json_reply("200 OK", &body)).await;
        assert_error(&err, "bad_response", needle);
    }
}

#[tokio::test]
async fn extreme_claim_values_neither_panic_nor_loop() {
    // Claims at the ends of i64 (and beyond, as floats): the engine's time arithmetic saturates.
    let refresh = jwt(&json!({"token_type": "refresh", "exp": i64::MAX, "iat": i64::MIN}));
    for (claims, accepted) in [
        (
            json!({"token_type": "access", "exp": i64::MAX, "iat": i64::MIN, "user_id": "7"}),
            true,
        ),
        (
            json!({"token_type": "access", "exp": 1e300, "iat": -1e300}),
            true,
        ),
        (
            json!({"token_type": "access", "exp": 9_000_000_000_000_000_i64, "iat": 9_000_000_000_000_000_i64 - 300}),
            true,
        ),
        // The server's clock saturates at the end of time, where nothing is still valid.
        (
            json!({"token_type": "access", "exp": i64::MAX, "iat": i64::MAX - 1}),
            false,
        ),
    ] {
        let body = json!({"access": jwt(&claims), "refresh": refresh}).to_string();
        let server = RawServer::start(json_reply("200 OK", &body)).await;
        let c = client(&server.url());
        let result = bounded(
            20,
            "login",
            c.session.login("alice", Password::new(PASSWORD.to_owned())),
        )
        .await;
        if !accepted {
            login_refused_cleanly(&result.unwrap_err(), &c, "bad_response", "already expired");
            continue;
        }
        assert!(result.unwrap().signed_in, "{claims}");
        // Status, a refresh check, a restore in a "new process": no overflow anywhere.
        c.clock.advance(Duration::from_secs(3600));
        let _ = serde_json::to_string(&c.session.status()).unwrap();
        let again = client_with(c.session.profile().clone());
        for (k, v) in c.store.snapshot() {
            tessera_session::SecretStore::set(again.store.as_ref(), &k, &v).unwrap();
        }
        bounded(10, "restore", again.session.load()).await.unwrap();
        let connections = server.connections();
        // The request goes to the canned server (which answers the same body): a 200 response.
        let r = bounded(
            10,
            "request",
            again.session.request(ApiRequest::get("/api/echo/")),
        )
        .await
        .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(
            server.connections(),
            connections + 1,
            "{claims}: a refresh was attempted for a token that is not due"
        );
    }
}

#[tokio::test]
async fn a_fifty_megabyte_body_is_cut_off_at_the_cap() {
    for chunked in [false, true] {
        let mode = Mode::Huge { chunked };
        let (err, c, server) = login_error(mode.clone()).await;
        login_refused_cleanly(&err, &c, "bad_response", "larger than 1048576 bytes");
        let written = server.body_bytes_written.load(Ordering::SeqCst);
        assert!(
            !server.huge_completed.load(Ordering::SeqCst),
            "chunked={chunked}: the client read all 50 MB ({written} bytes written)"
        );
        // With a Content-Length the client stops before reading; chunked, it reads up to the
        // cap. Either way the server could write no more than the cap plus socket buffers.
        assert!(
            written < HUGE / 4,
            "chunked={chunked}: {written} bytes were accepted"
        );

        let err = refresh_error(mode.clone()).await;
        assert_error(&err, "bad_response", "larger than");

        // An API response: the same cap, the session untouched.
        let server = RawServer::start(mode).await;
        let c = signed_in(&server.url()).await;
        let err = bounded(
            20,
            "request",
            c.session.request(ApiRequest::get("/api/big/")),
        )
        .await
        .unwrap_err();
        assert_error(&err, "bad_response", "larger than");
        assert!(c.session.status().signed_in);
        assert!(!server.huge_completed.load(Ordering::SeqCst));
    }
}

// ---------------------------------------------------------------------------------------------
// Redirects must not carry credentials to another host.

#[tokio::test]
async fn reqwest_by_default_would_resend_the_password_to_another_host() {
    // Why the transport turns redirects off on its authentication endpoints: reqwest's default
    // policy follows a 307 to another host with the same body (it drops only Authorization and
    // cookies). This test shows it, so that a reqwest upgrade that changes it is noticed.
    let thief = RawServer::start_on("127.0.0.2:0", json_reply("200 OK", "{}")).await;
    let location = format!("{}/steal/", thief.url());
    let redirector = RawServer::start(canned(
        "307 Temporary Redirect",
        &[("Location", &location)],
        b"",
    ))
    .await;
    let response = reqwest::Client::new()
        .post(format!("{}/api/token/", redirector.url()))
        .header("authorization", "Bearer abc")
        .body(format!(r#"{{"username":"alice","password":"{PASSWORD}"}}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let stolen = thief.requests();
    assert_eq!(stolen.len(), 1);
    assert!(stolen[0].starts_with("POST /steal/"), "{}", stolen[0]);
    assert!(stolen[0].contains(PASSWORD), "the body did not follow");
    assert!(!stolen[0].to_ascii_lowercase().contains("authorization"));
}

#[tokio::test]
async fn no_credential_follows_a_redirect_to_another_host() {
    let thief = RawServer::start_on("127.0.0.2:0", json_reply("200 OK", "{}")).await;
    let location = format!("{}/steal/", thief.url());
    for status in [
        "307 Temporary Redirect",
        "308 Permanent Redirect",
        "302 Found",
        "301 Moved Permanently",
    ] {
        let redirect = canned(status, &[("Location", &location)], b"");
        // Sign-in: the password stays home.
        let (err, c, server) = login_error(redirect.clone()).await;
        login_refused_cleanly(&err, &c, "http_error", "never forwarded");
        assert!(err.to_string().contains(&location), "{err}");
        assert_eq!(server.connections(), 1);
        // Refresh: the refresh token stays home, the session too.
        let err = refresh_error(redirect.clone()).await;
        assert_error(&err, "http_error", &status[..3]);
        // API request: the bearer token stays home; the caller gets the redirect itself.
        let server = RawServer::start(redirect.clone()).await;
        let c = signed_in(&server.url()).await;
        let r = bounded(
            10,
            "request",
            c.session.request(ApiRequest::post("/api/echo/").body("x")),
        )
        .await
        .unwrap();
        assert_eq!(r.status.to_string(), status[..3]);
        // Logout: the blacklist call is not forwarded either; the keyring is cleared anyway.
        let out = bounded(10, "logout", c.session.logout()).await.unwrap();
        assert!(!out.server_revoked);
        assert!(c.store.snapshot().is_empty());
        assert_eq!(
            thief.connections(),
            0,
            "{status}: a request reached the other host"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Network failures.

#[tokio::test]
async fn a_refused_connection_is_a_network_error() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let c = client(&url);
    let err = bounded(
        10,
        "login",
        c.session.login("alice", Password::new(PASSWORD.to_owned())),
    )
    .await
    .unwrap_err();
    login_refused_cleanly(&err, &c, "network", "Could not reach the server");

    // A signed-in session whose server went away: the refresh fails transiently, twice (the
    // retry policy), and the session is kept.
    let c = signed_in(&url).await;
    let mut events = c.session.subscribe();
    c.clock.advance(Duration::from_secs(301));
    let err = bounded(
        10,
        "request",
        c.session.request(ApiRequest::get("/api/echo/")),
    )
    .await
    .unwrap_err();
    assert_error(&err, "network", "Could not reach the server");
    assert!(c.session.status().signed_in);
    let transient = drain(&mut events)
        .into_iter()
        .filter(|e| matches!(e, SessionEvent::RefreshFailedTransiently { code, .. } if code == "network"))
        .count();
    assert_eq!(transient, 2);
}

#[tokio::test]
async fn a_reset_or_a_cut_in_the_middle_of_a_response_is_a_network_error() {
    for mode in [Mode::ResetMidBody, Mode::Truncated] {
        let (err, c, _s) = login_error(mode.clone()).await;
        login_refused_cleanly(&err, &c, "network", "Could not reach the server");
        let err = refresh_error(mode.clone()).await;
        assert_error(&err, "network", "Could not reach the server");
        // An idempotent API request is retried once, then the error is returned.
        let server = RawServer::start(mode).await;
        let c = signed_in(&server.url()).await;
        let err = bounded(
            10,
            "request",
            c.session.request(ApiRequest::get("/api/echo/")),
        )
        .await
        .unwrap_err();
        assert_error(&err, "network", "Could not reach the server");
        assert_eq!(server.connections(), 2);
        assert!(c.session.status().signed_in);
    }
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    // The profile's request timeout (1 s, its minimum) bounds sign-in and refresh; a request's
    // own timeout bounds API calls. Silence and a body that never ends are both cut off.
    for mode in [Mode::Silent, Mode::Trickle] {
        let (err, c, _s) = login_error(mode.clone()).await;
        login_refused_cleanly(&err, &c, "timeout", "did not answer within 1 s");
        let err = refresh_error(mode.clone()).await;
        assert_error(&err, "timeout", "did not answer within 1 s");

        let server = RawServer::start(mode).await;
        let c = signed_in(&server.url()).await;
        let err = bounded(
            10,
            "request",
            c.session
                .request(ApiRequest::get("/api/echo/").timeout(Duration::from_millis(300))),
        )
        .await
        .unwrap_err();
        assert_eq!(err.code(), "timeout", "{err}");
        assert!(c.session.status().signed_in);
        // Logout does not wait for a dead blacklist endpoint beyond its own short timeout.
        let out = bounded(10, "logout", c.session.logout()).await.unwrap();
        assert!(!out.server_revoked);
        assert!(out.server_note.unwrap().contains("timeout"));
        assert!(c.store.snapshot().is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_storm_from_two_processes_with_a_slow_refresh_makes_one_refresh() {
    // engine.rs covers one process (200 requests, 50 ms refresh). Here two engine instances
    // share the keyring and the lock directory like two processes, each with 50 requests in
    // flight on an expired token, and the refresh endpoint takes 400 ms.
    let h = Harness::new(ServerConfig::default()).await;
    h.logged_in().await;
    let app = h.session();
    let cli = h.session();
    app.restore().await.unwrap();
    cli.restore().await.unwrap();
    h.server.state.refresh_delay_ms.store(400, Ordering::SeqCst);
    h.advance(301);
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let s = if i % 2 == 0 { app.clone() } else { cli.clone() };
            tokio::spawn(async move { s.request(ApiRequest::get("/api/echo/")).await })
        })
        .collect();
    for t in tasks {
        let r = bounded(30, "storm request", t).await.unwrap().unwrap();
        assert_eq!(r.status, 200);
    }
    assert_eq!(h.refreshes(), 1);
    assert_eq!(h.server.count("POST /api/token/refresh/ 401"), 0);
    assert_eq!(h.server.count("GET /api/echo/ 200"), 100);
    assert_eq!(h.server.count("GET /api/echo/ 401"), 0);
}

// ---------------------------------------------------------------------------------------------
// The keyring fails right after the server rotated the tokens.

#[tokio::test]
async fn a_keyring_write_failing_after_a_refresh_ends_the_session_clearly() {
    let h = Harness::new(ServerConfig::default()).await;
    let session = h.logged_in().await;
    let mut events = session.subscribe();
    // The write and its one retry fail; deleting still works.
    for _ in 0..2 {
        h.store.fail_next(
            FakeOp::Set,
            StoreError::Unavailable("the collection is locked".into()),
        );
    }
    h.advance(301);
    let err = bounded(
        20,
        "request",
        session.request(ApiRequest::get("/api/echo/")),
    )
    .await
    .unwrap_err();
    assert_error(
        &err,
        "session_expired",
        "could not be saved in the system keyring",
    );
    assert!(
        err.to_string().contains("the collection is locked"),
        "{err}"
    );
    assert!(err.needs_login());
    assert_eq!(h.refreshes(), 1);
    let events = drain(&mut events);
    assert!(
        matches!(events.as_slice(), [SessionEvent::SessionExpired { reason, .. }] if reason.contains("keyring")),
        "{events:?}"
    );
    let status = session.status();
    assert!(!status.signed_in);
    assert!(status.reason.unwrap().contains("keyring"));
    // The stale entry (its refresh token was rotated away) is gone; later calls get the same
    // clear error without touching the network.
    assert!(h.store.snapshot().is_empty());
    let calls = h.server.counters().values().sum::<u64>();
    let again = session
        .request(ApiRequest::get("/api/echo/"))
        .await
        .unwrap_err();
    assert_eq!(again.code(), "session_expired");
    assert_eq!(h.server.counters().values().sum::<u64>(), calls);
    // Once the keyring works again, signing in works.
    session
        .login("alice", Password::new("correct horse".into()))
        .await
        .unwrap();
    assert_eq!(
        session
            .request(ApiRequest::get("/api/echo/"))
            .await
            .unwrap()
            .status,
        200
    );
}

#[tokio::test]
async fn a_keyring_failing_completely_after_a_refresh_still_ends_the_session_without_a_hang() {
    let h = Harness::new(ServerConfig::default()).await;
    let session = h.logged_in().await;
    // The write, its retry and the clean-up all fail.
    for op in [FakeOp::Set, FakeOp::Set, FakeOp::Delete] {
        h.store
            .fail_next(op, StoreError::Unavailable("the daemon went away".into()));
    }
    h.advance(301);
    let err = bounded(
        20,
        "request",
        session.request(ApiRequest::get("/api/echo/")),
    )
    .await
    .unwrap_err();
    assert_error(&err, "session_expired", "the daemon went away");
    assert!(!session.status().signed_in);
    // The stale entry could not be removed: a new process finds it, and its refresh token was
    // rotated away, so that process is told to sign in by the server's refusal.
    let err = h.session().restore().await.unwrap_err();
    assert_eq!(err.code(), "session_expired", "{err}");
    assert!(h.store.snapshot().is_empty());
}
