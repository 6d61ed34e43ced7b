//! `tessera-cli` as a QA engineer runs it: real processes, a real keyring (the Secret Service
//! that `scripts/session-env.sh` starts), and both backends (Django + simplejwt, and the Rust
//! reference server) with short lifetimes and rotation + blacklist on.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod flows;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use tessera_session::profile::Preset;
use tessera_session::{
    paths, KeyringStore, Password, ProfilesFile, SecretStore, Session, SessionConfig,
};
use tessera_testkit::{BackendKind, ServerOptions, TestServer};
use tokio::process::Command;

const CLI: &str = env!("CARGO_BIN_EXE_tessera-cli");
const ACCESS_LIFETIME: u64 = 3;

/// One CLI environment: its own data directory (profiles file, locks) and profile name, so
/// tests do not share keyring entries.
struct Env {
    data: tempfile::TempDir,
    profile: String,
    outputs: Vec<String>,
    /// Environment the CLI processes get on top (a CI job's: no D-Bus, its own HOME, ...).
    vars: Vec<(String, Option<String>)>,
}

impl Env {
    fn new(tag: &str) -> Self {
        // Keyring entries are per profile name, and tests run in parallel: names must be unique.
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Self {
            data: tempfile::tempdir().unwrap(),
            profile: format!("{tag}-{}-{n}", std::process::id()),
            outputs: Vec::new(),
            vars: Vec::new(),
        }
    }

    /// Sets (`Some`) or removes (`None`) an environment variable of every CLI process.
    fn var(&mut self, name: &str, value: Option<&str>) -> &mut Self {
        self.vars.push((name.to_owned(), value.map(str::to_owned)));
        self
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(CLI);
        cmd.args(args)
            .env("TESSERA_DATA_DIR", self.data.path())
            .env_remove("TESSERA_PASSWORD")
            .env_remove("TESSERA_PROFILE")
            .env_remove("TESSERA_STORE")
            .env_remove("TESSERA_STORE_PASSPHRASE")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        for (name, value) in &self.vars {
            match value {
                Some(value) => cmd.env(name, value),
                None => cmd.env_remove(name),
            };
        }
        cmd
    }

    async fn run(&mut self, args: &[&str]) -> Output {
        let out = self.command(args).output().await.unwrap();
        self.record(&out);
        out
    }

    fn record(&mut self, out: &Output) {
        self.outputs
            .push(String::from_utf8_lossy(&out.stdout).into_owned());
        self.outputs
            .push(String::from_utf8_lossy(&out.stderr).into_owned());
    }

    async fn add_profile(&mut self, server: &TestServer) {
        let url = server.base_url().to_string();
        let p = self.profile.clone();
        let out = self
            .run(&["profile", "add", &p, "--url", &url, "--me-path", "/api/me/"])
            .await;
        assert_success(&out);
    }

    async fn login(&mut self, server: &TestServer) {
        let out = self.try_login(server).await;
        assert_success(&out);
    }

    /// `login --password-stdin` as the server's first user, whatever it answers.
    async fn try_login(&mut self, server: &TestServer) -> Output {
        let (user, password) = server.user().unwrap();
        let mut cmd = self.command(&[
            "--profile",
            &self.profile,
            "login",
            "--username",
            user,
            "--password-stdin",
        ]);
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        {
            use tokio::io::AsyncWriteExt;
            let mut stdin = child.stdin.take().unwrap();
            stdin
                .write_all(format!("{password}\n").as_bytes())
                .await
                .unwrap();
        }
        let out = child.wait_with_output().await.unwrap();
        self.record(&out);
        out
    }

    /// Every file the CLI wrote.
    fn files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    out.push(path);
                }
            }
        }
        let mut files = Vec::new();
        walk(self.data.path(), &mut files);
        files
    }

    fn assert_no_token_anywhere(&self) {
        for text in &self.outputs {
            assert!(
                !text.contains("eyJ"),
                "a token-shaped string was printed:\n{text}"
            );
        }
        for file in self.files() {
            let bytes = std::fs::read(&file).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains("eyJ"),
                "{} holds a token-shaped string",
                file.display()
            );
        }
    }
}

fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn options() -> ServerOptions {
    ServerOptions {
        access_lifetime_secs: ACCESS_LIFETIME,
        ..ServerOptions::default()
    }
}

async fn wait_past_access_expiry() {
    tokio::time::sleep(Duration::from_millis(ACCESS_LIFETIME * 1000 + 700)).await;
}

const REFRESH_OK: &str = "POST /api/token/refresh/ 200";

async fn request_after_expiry_refreshes_once(kind: BackendKind) {
    let server = TestServer::start(kind, options()).await.unwrap();
    let mut env = Env::new("expiry");
    env.add_profile(&server).await;
    env.login(&server).await;
    let p = env.profile.clone();

    let out = env
        .run(&["--profile", &p, "request", "GET", "/api/hello/"])
        .await;
    assert_success(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Hello, World!"));
    assert_eq!(server.count(REFRESH_OK).await.unwrap(), 0);

    wait_past_access_expiry().await;
    let out = env
        .run(&[
            "--profile",
            &p,
            "--verbose",
            "request",
            "POST",
            "/api/echo/",
            "--json",
            r#"{"n": 1}"#,
        ])
        .await;
    assert_success(&out);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("\"n\""),
        "{out:?}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("refreshed"),
        "--verbose did not show the refresh"
    );
    assert_eq!(
        server.count(REFRESH_OK).await.unwrap(),
        1,
        "{:?}",
        server.counters().await
    );

    let status = env.run(&["--profile", &p, "status", "--json"]).await;
    assert_success(&status);
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(json["signed_in"], true);

    let out = env.run(&["--profile", &p, "logout"]).await;
    assert_success(&out);
    let out = env
        .run(&["--profile", &p, "request", "GET", "/api/hello/"])
        .await;
    assert_eq!(
        out.status.code(),
        Some(3),
        "a request after logout must say: sign in again"
    );
    env.assert_no_token_anywhere();
}

/// 20 processes on 2 cores with a real Secret Service take a few seconds; the refreshed token
/// must outlive the batch, or a second refresh would be legitimate. Hence a longer lifetime.
const BATCH_ACCESS_LIFETIME: u64 = 12;

async fn twenty_processes_share_one_refresh(kind: BackendKind) {
    let options = ServerOptions {
        access_lifetime_secs: BATCH_ACCESS_LIFETIME,
        ..ServerOptions::default()
    };
    let server = TestServer::start(kind, options).await.unwrap();
    let mut env = Env::new("twenty");
    env.add_profile(&server).await;
    env.login(&server).await;
    tokio::time::sleep(Duration::from_millis(BATCH_ACCESS_LIFETIME * 1000 + 700)).await;

    let p = env.profile.clone();
    let started = std::time::Instant::now();
    let children: Vec<_> = (0..20)
        .map(|_| {
            env.command(&["--profile", &p, "request", "GET", "/api/hello/"])
                .output()
        })
        .collect();
    let outputs: Vec<Output> = join_all(children)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    eprintln!(
        "20 processes on an expired token ({}): {:?}",
        server.kind().name(),
        started.elapsed()
    );
    for out in &outputs {
        env.record(out);
        assert_success(out);
    }
    assert_eq!(
        server.count(REFRESH_OK).await.unwrap(),
        1,
        "{:?}",
        server.counters().await
    );
    assert_eq!(
        server.count("POST /api/token/refresh/ 401").await.unwrap(),
        0,
        "someone was logged out"
    );
    assert_eq!(server.count("GET /api/hello/ 200").await.unwrap(), 20);
    env.assert_no_token_anywhere();
}

/// Runs the futures concurrently (spawned), in order.
async fn join_all<F>(futures: Vec<F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

/// The app's engine, opened the way the app opens it: same data directory, same keyring service.
fn engine_session(env: &Env) -> Session {
    let file = ProfilesFile::load(&paths::profiles_file(env.data.path())).unwrap();
    let profile = file.get(&env.profile).unwrap().clone();
    let store: Arc<dyn SecretStore> = Arc::new(KeyringStore::new(paths::APP_IDENTIFIER).unwrap());
    Session::open(SessionConfig::new(
        &env.profile,
        profile,
        store,
        paths::lock_dir(env.data.path()),
    ))
    .unwrap()
}

async fn cli_and_app_share_the_session(kind: BackendKind) {
    let server = TestServer::start(kind, options()).await.unwrap();
    let mut env = Env::new("shared");
    env.add_profile(&server).await;
    let p = env.profile.clone();

    // Signed in by the CLI → the app's engine restores it without a password.
    env.login(&server).await;
    let app = engine_session(&env);
    assert!(app.restore().await.unwrap().signed_in);
    app.logout().await.unwrap();
    drop(app);
    let out = env.run(&["--profile", &p, "status"]).await;
    assert_eq!(
        out.status.code(),
        Some(3),
        "signed out in the app → signed out in the CLI"
    );

    // Signed in by the app's engine → the CLI uses it.
    let app = engine_session(&env);
    let (user, password) = server.user().unwrap();
    app.login(user, Password::new(password.to_owned()))
        .await
        .unwrap();
    drop(app);
    let out = env
        .run(&["--profile", &p, "request", "GET", "/api/me/"])
        .await;
    assert_success(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains(user));

    // Who is signed in: the name the profile's "me" endpoint gives, in words and as JSON.
    let out = env.run(&["--profile", &p, "whoami"]).await;
    assert_success(&out);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("Signed in as {user}")
    );
    let out = env.run(&["--profile", &p, "whoami", "--json"]).await;
    assert_success(&out);
    let who: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(who["name"], user);
    assert!(who["user_id"].is_string(), "{who}");
    env.run(&["--profile", &p, "logout"]).await;
    let out = env.run(&["--profile", &p, "whoami"]).await;
    assert_eq!(out.status.code(), Some(3), "nobody signed in → exit 3");
    env.assert_no_token_anywhere();
}

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod rust_backend {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(tessera_testkit::BackendKind::Rust).await })*
        }
        mod django_backend {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(tessera_testkit::BackendKind::Django).await })*
        }
    };
}

both_backends!(
    request_after_expiry_refreshes_once,
    twenty_processes_share_one_refresh,
    cli_and_app_share_the_session,
);

// ---- bad input: a clear message and the documented exit code ---------------------------------

async fn expect_exit(env: &mut Env, args: &[&str], code: i32, needle: &str) {
    let out = env.run(args).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
    assert!(
        stderr.to_lowercase().contains(&needle.to_lowercase()),
        "{args:?}: stderr was {stderr:?}, expected {needle:?}"
    );
}

#[tokio::test]
async fn bad_input_gets_a_clear_message_and_exit_code() {
    let mut env = Env::new("bad");
    expect_exit(&mut env, &["--profile", "nope", "status"], 2, "nope").await;
    expect_exit(
        &mut env,
        &["--server", "not a url", "status"],
        2,
        "not a valid url",
    )
    .await;
    expect_exit(
        &mut env,
        &["profile", "add", "x", "--url", "::"],
        2,
        "--url",
    )
    .await;
    expect_exit(
        &mut env,
        &[
            "--server",
            "http://api.example.com/",
            "login",
            "-u",
            "a",
            "--password-stdin",
        ],
        2,
        "http",
    )
    .await;
    expect_exit(
        &mut env,
        &[
            "--server",
            "http://127.0.0.1:9/",
            "request",
            "POST",
            "/x/",
            "--json",
            "{nope",
        ],
        2,
        "not valid JSON",
    )
    .await;
    expect_exit(
        &mut env,
        &["--server", "http://127.0.0.1:9/", "login", "-u", "a"],
        2,
        "no password",
    )
    .await;
    expect_exit(&mut env, &["request"], 2, "usage").await;
    expect_exit(
        &mut env,
        &[
            "--server",
            "http://127.0.0.1:9/",
            "request",
            "GET",
            "/x/",
            "-H",
            "Authorization: x",
        ],
        2,
        "authorization",
    )
    .await;

    // Server down: port 9 (discard) on loopback has nothing listening.
    let mut cmd = env.command(&["--server", "http://127.0.0.1:9/", "login", "-u", "a"]);
    cmd.env("TESSERA_PASSWORD", "pw");
    let out = cmd.output().await.unwrap();
    env.record(&out);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("network"));
    env.assert_no_token_anywhere();
}

#[tokio::test]
async fn help_documents_exit_codes_and_completions_generate() {
    let mut env = Env::new("help");
    let out = env.run(&["--help"]).await;
    assert_success(&out);
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "Exit codes",
        "login required",
        "keyring",
        "--profile",
        "--server",
    ] {
        assert!(help.contains(needle), "--help lacks {needle:?}");
    }
    let out = env.run(&["completions", "bash"]).await;
    assert_success(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("tessera-cli"));
}

/// A TLS listener with a certificate from a private CA (the engine's test fixtures): enough to
/// see whether the CLI trusts it. It answers no HTTP.
async fn tls_listener() -> u16 {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let fixtures =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../session/tests/fixtures/tls");
    let certs = CertificateDer::pem_file_iter(fixtures.join("localhost.pem"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(fixtures.join("localhost.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _ = acceptor.accept(stream).await;
            });
        }
    });
    port
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused_with_exit_code_4() {
    let port = tls_listener().await;
    let mut env = Env::new("tls");
    let mut cmd = env.command(&[
        "--server",
        &format!("https://localhost:{port}/"),
        "login",
        "-u",
        "a",
    ]);
    cmd.env("TESSERA_PASSWORD", "pw");
    let out = cmd.output().await.unwrap();
    env.record(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("[tls]") && stderr.to_lowercase().contains("certificate"),
        "{stderr}"
    );
}

// ---- bounded output, terminal-safe text, exit codes, hints, secrets, file modes ----

/// base64url without padding (enough to assemble test tokens at run time).
fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

fn test_jwt(token_type: &str, lifetime_secs: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = serde_json::json!({
        "token_type": token_type, "exp": now + lifetime_secs, "iat": now,
        "jti": format!("{token_type}-{now}"), "user_id": "1",
    });
    format!(
        "{}.{}.{}",
        b64url(br#"{"alg":"HS256","typ":"JWT"}"#),
        b64url(claims.to_string().as_bytes()),
        b64url(b"signature")
    )
}

type Answer = (u16, Vec<u8>);

/// A scripted HTTP/1.1 server on loopback: the token endpoints hand out (unverified) tokens
/// unless `answer` says otherwise; every request gets `answer(method, path)`.
async fn scripted_server(
    answer: impl Fn(&str, &str) -> Option<Answer> + Send + Sync + 'static,
) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let answer = Arc::new(answer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                let head_end = loop {
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
                let length = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                while buf.len() < head_end + length {
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let mut words = head.split_whitespace();
                let method = words.next().unwrap_or("").to_owned();
                let path = words.next().unwrap_or("").to_owned();
                let (status, body) = answer(&method, &path).unwrap_or_else(|| match path.as_str() {
                    "/api/token/" => (
                        200,
                        serde_json::json!({"access": test_jwt("access", 3600), "refresh": test_jwt("refresh", 86_400)})
                            .to_string()
                            .into_bytes(),
                    ),
                    "/api/token/blacklist/" | "/api/token/verify/" => (200, b"{}".to_vec()),
                    _ => (404, br#"{"detail": "Not found."}"#.to_vec()),
                });
                let head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&body).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    format!("http://127.0.0.1:{port}/")
}

/// `login` against `--server URL` with the password in the environment.
async fn login_to(env: &mut Env, url: &str) -> Output {
    let mut cmd = env.command(&["--server", url, "login", "-u", "qa"]);
    cmd.env("TESSERA_PASSWORD", "pw");
    let out = cmd.output().await.unwrap();
    env.record(&out);
    out
}

/// 16 MB of JSON nested `depth` levels deep.
fn deep_body(depth: usize, size: usize) -> Vec<u8> {
    let mut body = Vec::with_capacity(size + 1024);
    for _ in 0..depth / 2 {
        body.extend_from_slice(b"{\"k\":[");
    }
    while body.len() < size - depth {
        body.extend_from_slice(b"{\"id\":12345,\"name\":\"abcdefghij\"},");
    }
    body.extend_from_slice(b"0");
    for _ in 0..depth / 2 {
        body.extend_from_slice(b"]}");
    }
    body
}

/// The peak resident set (VmHWM) of a live process, in kB.
fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pretty_output_of_a_huge_deep_body_is_bounded() {
    const LIMIT_KB: u64 = 200 * 1024;
    let body = Arc::new(deep_body(120, 16_000_000));
    let served = body.clone();
    let url =
        scripted_server(move |_, path| (path == "/big/").then(|| (200, served.to_vec()))).await;
    let mut env = Env::new("big");
    assert_success(&login_to(&mut env, &url).await);

    let mut cmd = env.command(&[
        "--server", &url, "request", "GET", "/big/", "--output", "pretty",
    ]);
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let pid = child.id().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let reader = tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let mut out = Vec::new();
        let mut err = Vec::new();
        let (a, b) = tokio::join!(stdout.read_to_end(&mut out), stderr.read_to_end(&mut err));
        a.unwrap();
        b.unwrap();
        (out, err)
    });
    let mut peak = 0;
    let status = loop {
        if let Some(kb) = peak_rss_kb(pid) {
            peak = peak.max(kb);
        }
        if peak > LIMIT_KB {
            child.kill().await.unwrap();
            panic!(
                "tessera-cli used more than {LIMIT_KB} kB (VmHWM {peak} kB) pretty-printing 16 MB"
            );
        }
        match tokio::time::timeout(Duration::from_millis(20), child.wait()).await {
            Ok(status) => break status.unwrap(),
            Err(_) => continue,
        }
    };
    let (out, err) = reader.await.unwrap();
    let stderr = String::from_utf8_lossy(&err);
    assert!(status.success(), "{status:?}: {stderr}");
    eprintln!("pretty-printing 16 MB nested 120 deep: peak RSS {peak} kB");
    assert!(
        out.len() <= 2 * body.len(),
        "stdout grew to {} bytes",
        out.len()
    );
    assert!(out.len() >= body.len(), "the body was not shown");
    assert!(
        stderr.contains("shown as received"),
        "no note saying why: {stderr}"
    );
    let out = env.run(&["--server", &url, "logout"]).await;
    assert_success(&out);
}

const HOSTILE_DETAIL: &str =
    "{\"detail\": \"\\u001b]0;pwned\\u0007\\u001b[31mred\u{9b}2J\u{202e}txt\"}";
const HOSTILE_FIELDS: &str =
    "{\"username\": [\"\\u001b]0;pwned\\u0007\\u001b[31mred\u{9b}2J\u{202e}txt\"]}";

fn assert_terminal_safe(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for bad in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}'] {
        assert!(!text.contains(bad), "{what} carries {bad:?}: {text:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_text_cannot_drive_the_terminal() {
    // The sign-in endpoint's field messages and details reach stderr in the error message.
    for (status, body) in [
        (400, HOSTILE_FIELDS),
        (401, HOSTILE_DETAIL),
        (403, HOSTILE_DETAIL),
        (500, HOSTILE_DETAIL),
    ] {
        let url = scripted_server(move |_, path| {
            (path == "/api/token/").then(|| (status, body.as_bytes().to_vec()))
        })
        .await;
        let mut env = Env::new("hostile");
        let out = login_to(&mut env, &url).await;
        assert!(!out.status.success());
        assert_terminal_safe(&format!("stderr after a {status}"), &out.stderr);
    }

    // An API answer with an error status: stderr stays clean whatever the output mode; pretty
    // output is cleaned; raw output to a pipe is the body byte for byte.
    let mut raw_body = br#"{"detail": "x"} "#.to_vec();
    raw_body.extend_from_slice(b"\x1b]0;pwned\x07\x1b[31m\xff\xfe\r\n\xc2\x9b");
    let raw = raw_body.clone();
    let url = scripted_server(move |_, path| match path {
        "/hostile/" => Some((400, HOSTILE_DETAIL.as_bytes().to_vec())),
        "/raw/" => Some((200, raw.clone())),
        _ => None,
    })
    .await;
    let mut env = Env::new("hostile");
    assert_success(&login_to(&mut env, &url).await);
    let out = env
        .run(&[
            "--server",
            &url,
            "request",
            "GET",
            "/hostile/",
            "--output",
            "pretty",
        ])
        .await;
    assert_eq!(out.status.code(), Some(1));
    assert_terminal_safe("pretty stdout", &out.stdout);
    assert_terminal_safe("stderr", &out.stderr);
    assert!(String::from_utf8_lossy(&out.stdout).contains("pwned"));
    let out = env
        .run(&[
            "--server", &url, "request", "GET", "/raw/", "--output", "raw",
        ])
        .await;
    assert_success(&out);
    assert_eq!(
        out.stdout, raw_body,
        "raw output to a pipe must be byte-exact"
    );
    let out = env.run(&["--server", &url, "logout"]).await;
    assert_success(&out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unusable_answer_exits_6_with_one_advice() {
    let url = scripted_server(|_, path| {
        (path == "/api/token/").then(|| (200, br#"{"token": "not what simplejwt sends"}"#.to_vec()))
    })
    .await;
    let mut env = Env::new("unusable");
    let out = login_to(&mut env, &url).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(stderr.contains("[bad_response]"), "{stderr}");
    assert!(
        stderr.to_lowercase().matches("check ").count() <= 1,
        "{stderr}"
    );
    let help = env.run(&["--help"]).await;
    assert!(
        String::from_utf8_lossy(&help.stdout).contains("6  the server's answer could not be used")
    );
}

/// A profile whose `Authorization` scheme the server does not take (`JWT` against a `Bearer`
/// server): the server's 401 names its scheme (`WWW-Authenticate`), and the request is sent
/// again with it — it succeeds, with no hint needed. (Before: exit 1 and a hint to change the
/// profile; the hint remains for servers that do not name their scheme: `hints.rs`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_auth_header_type_is_corrected_by_the_server() {
    let server = TestServer::start(BackendKind::Rust, options())
        .await
        .unwrap();
    let mut env = Env::new("jwt-header");
    let url = server.base_url().to_string();
    let p = env.profile.clone();
    let out = env
        .run(&[
            "profile",
            "add",
            &p,
            "--url",
            &url,
            "--auth-header-type",
            "JWT",
        ])
        .await;
    assert_success(&out);
    env.login(&server).await;
    let out = env
        .run(&["--profile", &p, "request", "GET", "/api/hello/"])
        .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("--auth-header-type"), "{stderr}");
    assert_eq!(server.count("GET /api/hello/ 401").await.unwrap(), 1);
    assert_eq!(server.count("GET /api/hello/ 200").await.unwrap(), 1);
    // The profile's own scheme: no 401 at all.
    let out = env
        .run(&["profile", "edit", &p, "--auth-header-type", "Bearer"])
        .await;
    assert_success(&out);
    let out = env
        .run(&["--profile", &p, "request", "GET", "/api/hello/"])
        .await;
    assert_success(&out);
    assert_eq!(server.count("GET /api/hello/ 401").await.unwrap(), 1);
    let out = env.run(&["--profile", &p, "logout"]).await;
    assert_success(&out);
    env.assert_no_token_anywhere();
}

#[cfg(unix)]
#[tokio::test]
async fn proxy_passwords_stay_hidden_and_files_stay_private() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let mut env = Env::new("proxy");
    std::fs::set_permissions(env.data.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let data = env.data.path().join("dev.tessera.desktop");
    let data_arg = data.to_string_lossy().into_owned();
    let p = env.profile.clone();
    let out = env
        .run(&[
            "--data-dir",
            &data_arg,
            "profile",
            "add",
            &p,
            "--url",
            "https://api.example.com/",
            "--proxy",
            "http://qa:hunter2@proxy.example:3128/",
        ])
        .await;
    assert_success(&out);
    assert_eq!(mode(&data), 0o700, "data directory");
    assert_eq!(mode(&data.join("profiles.json")), 0o600, "profiles.json");
    assert_eq!(
        mode(&data.join("profiles.json.lock")),
        0o600,
        "its lock file"
    );

    let show = env
        .run(&["--data-dir", &data_arg, "profile", "show", &p])
        .await;
    assert_success(&show);
    assert!(
        String::from_utf8_lossy(&show.stdout).contains("http://qa:***@proxy.example:3128/"),
        "{}",
        String::from_utf8_lossy(&show.stdout)
    );
    for args in [
        vec!["profile", "show", p.as_str(), "--json"],
        vec!["profile", "list", "--json"],
        vec!["profile", "list"],
    ] {
        let mut full = vec!["--data-dir", data_arg.as_str()];
        full.extend(args);
        let out = env.run(&full).await;
        assert_success(&out);
    }
    for text in &env.outputs {
        assert!(
            !text.contains("hunter2"),
            "the proxy password was printed: {text}"
        );
    }
    // The stored profile keeps it.
    assert!(std::fs::read_to_string(data.join("profiles.json"))
        .unwrap()
        .contains("hunter2"));

    // Found loose: fixed by the next command that reads the file.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        data.join("profiles.json"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let out = env.run(&["--data-dir", &data_arg, "profile", "list"]).await;
    assert_success(&out);
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("profiles.json")), 0o600);
}

// ---- signature verification from flags -----------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_are_verified_with_the_flags_given() {
    let server = TestServer::start(
        BackendKind::Rust,
        ServerOptions {
            algorithm: tessera_testkit::SigningAlgorithm::Rs256,
            ..options()
        },
    )
    .await
    .unwrap();
    let mut env = Env::new("verify");
    let p = env.profile.clone();
    let url = server.base_url().to_string();
    let jwks = format!("{url}api/jwks/");
    let key = env.data.path().join("server.pem");
    std::fs::write(&key, b"not a key").unwrap();
    let key = key.to_str().unwrap().to_owned();

    // Settings that can never verify are refused when saved, with what to do.
    let refused: [(&[&str], &str); 4] = [
        (
            &["--verify-alg", "HS256", "--jwks-url", &jwks],
            "never be stored on a client",
        ),
        (&["--jwks-url", &jwks], "--verify-alg RS256"),
        (&["--verify-alg", "RS256"], "public key"),
        (
            &["--verify-alg", "RS256", "--verify-key", &key],
            "cannot be read",
        ),
    ];
    for (flags, needle) in refused {
        let mut args = vec!["profile", "add", &p, "--url", &url];
        args.extend_from_slice(flags);
        expect_exit(&mut env, &args, 2, needle).await;
    }
    let listed = env.run(&["profile", "list", "--json"]).await;
    assert!(
        !String::from_utf8_lossy(&listed.stdout).contains(&p),
        "nothing was saved"
    );

    // RS256 with the server's JWK Set: sign-in verifies every token.
    let out = env
        .run(&[
            "profile",
            "add",
            &p,
            "--url",
            &url,
            "--verify-alg",
            "RS256",
            "--jwks-url",
            &jwks,
        ])
        .await;
    assert_success(&out);
    let shown = env.run(&["profile", "show", &p, "--json"]).await;
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["profile"]["verification"]["algorithm"], "RS256");
    assert_eq!(shown["profile"]["verification"]["jwks_url"], jwks.as_str());
    env.login(&server).await;
    let out = env
        .run(&["--profile", &p, "request", "GET", "/api/hello/"])
        .await;
    assert_success(&out);

    // A token the settings do not accept (another audience) is rejected at sign-in: exit 6.
    let out = env
        .run(&["profile", "edit", &p, "--audience", "someone-else"])
        .await;
    assert_success(&out);
    let out = env.try_login(&server).await;
    assert_eq!(
        out.status.code(),
        Some(6),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("token_rejected"));

    // And `--verify-alg none` turns verification off again.
    let out = env
        .run(&["profile", "edit", &p, "--verify-alg", "none"])
        .await;
    assert_success(&out);
    let shown = env.run(&["profile", "show", &p, "--json"]).await;
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert!(shown["profile"]["verification"].is_null(), "{shown}");
    env.assert_no_token_anywhere();
}

// ---- presets ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presets_fill_a_profile_and_flags_still_win() {
    let server = TestServer::start(BackendKind::Rust, options())
        .await
        .unwrap();
    let mut env = Env::new("preset");
    let p = env.profile.clone();
    let url = server.base_url().to_string();
    let every = format!("use one of {}", Preset::ALL.map(Preset::name).join(", "));
    expect_exit(
        &mut env,
        &["profile", "add", &p, "--url", &url, "--preset", "djnago"],
        2,
        &every,
    )
    .await;

    // djoser's endpoints, with the refresh path given by a flag winning over the preset's.
    let out = env
        .run(&[
            "profile",
            "add",
            &p,
            "--url",
            &url,
            "--preset",
            "djoser",
            "--refresh-path",
            "/api/token/refresh/",
        ])
        .await;
    assert_success(&out);
    let shown = env.run(&["profile", "show", &p, "--json"]).await;
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    let profile = &shown["profile"];
    assert_eq!(profile["preset"], "djoser");
    assert_eq!(profile["obtain_path"], "/auth/jwt/create/");
    assert_eq!(profile["refresh_path"], "/api/token/refresh/");
    assert!(profile["blacklist_path"].is_null());
    let text = env.run(&["profile", "show", &p]).await;
    assert!(String::from_utf8_lossy(&text.stdout).contains("djoser"));

    // Back to simplejwt's endpoints: the reference backend signs in and out with them.
    let out = env
        .run(&["profile", "edit", &p, "--preset", "simplejwt"])
        .await;
    assert_success(&out);
    env.login(&server).await;
    let out = env.run(&["--profile", &p, "logout"]).await;
    assert_success(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("blacklisted"));
    env.assert_no_token_anywhere();
}
