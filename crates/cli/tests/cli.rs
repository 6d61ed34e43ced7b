//! `tessera-cli` as a QA engineer runs it: real processes, a real keyring (the Secret Service
//! that `scripts/session-env.sh` starts), and both backends (Django + simplejwt, and the Rust
//! reference server) with short lifetimes and rotation + blacklist on.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

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
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(CLI);
        cmd.args(args)
            .env("TESSERA_DATA_DIR", self.data.path())
            .env_remove("TESSERA_PASSWORD")
            .env_remove("TESSERA_PROFILE")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
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
        assert_success(&out);
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
