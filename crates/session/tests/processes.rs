//! 20 separate processes sharing one session, all starting on an expired access token, make
//! exactly ONE refresh and none is forced to sign in again.
//!
//! This test binary has its own `main` (`harness = false`): run without `TESSERA_TEST_CHILD` it
//! is the parent (starts the server, signs in, waits for the access token to expire, starts 20
//! copies of itself); with it, it is a child (restore from the shared store, one request, print
//! the outcome). The processes share a file-backed test store and the refresh lock directory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::file_store::FileStore;
use common::{fast_options, MockServer, ServerConfig};
use tessera_session::{ApiRequest, Password, Profile, Session, SessionConfig, SystemClock};
use tessera_testkit::{BackendKind, ServerOptions, TestServer};

const CHILDREN: usize = 20;

fn open(base_url: &str, store_dir: PathBuf, lock_dir: PathBuf) -> Session {
    let profile = Profile::from_base_url(base_url).unwrap();
    let mut options = fast_options();
    options.lock_timeout = Duration::from_secs(60);
    Session::open(
        SessionConfig::new(
            "shared",
            profile,
            Arc::new(FileStore::new(store_dir)),
            lock_dir,
        )
        .with_clock(Arc::new(SystemClock))
        .with_options(options),
    )
    .unwrap()
}

fn child() {
    let base_url = std::env::var("TESSERA_BASE_URL").unwrap();
    let store_dir = PathBuf::from(std::env::var("TESSERA_STORE_DIR").unwrap());
    let lock_dir = PathBuf::from(std::env::var("TESSERA_LOCK_DIR").unwrap());
    let go = PathBuf::from(std::env::var("TESSERA_GO_FILE").unwrap());
    while !go.exists() {
        std::thread::sleep(Duration::from_millis(5));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let outcome = runtime.block_on(async {
        let session = open(&base_url, store_dir, lock_dir);
        let mut events = session.subscribe();
        session.restore().await?;
        let response = session
            .request(
                ApiRequest::post("/api/echo/")
                    .json(&serde_json::json!({"child": std::process::id()}))?,
            )
            .await?;
        let mut names = Vec::new();
        while let Ok(e) = events.try_recv() {
            names.push(e.name());
        }
        Ok::<_, tessera_session::Error>(format!(
            "status={} events={}",
            response.status,
            names.join(",")
        ))
    });
    match outcome {
        Ok(line) => println!("CHILD-OK {line}"),
        Err(e) => {
            println!("CHILD-ERR {}", e.code());
            std::process::exit(1);
        }
    }
}

enum Backend {
    Mock(MockServer),
    Real(Box<TestServer>),
}

impl Backend {
    async fn start(kind: Option<BackendKind>) -> Self {
        match kind {
            None => Backend::Mock(
                MockServer::start(
                    ServerConfig {
                        access_lifetime: 2,
                        ..ServerConfig::default()
                    },
                    Arc::new(SystemClock),
                )
                .await,
            ),
            Some(kind) => Backend::Real(Box::new(
                TestServer::start(
                    kind,
                    ServerOptions {
                        access_lifetime_secs: 2,
                        refresh_lifetime_secs: 600,
                        rotate: true,
                        blacklist_after_rotation: true,
                        ..ServerOptions::default()
                    },
                )
                .await
                .unwrap(),
            )),
        }
    }

    fn name(&self) -> String {
        match self {
            Backend::Mock(_) => "scripted".into(),
            Backend::Real(s) => s.kind().to_string(),
        }
    }

    fn base_url(&self) -> String {
        match self {
            Backend::Mock(s) => s.base_url.clone(),
            Backend::Real(s) => s.base_url().to_string(),
        }
    }

    fn user(&self) -> (String, String) {
        match self {
            Backend::Mock(_) => ("alice".into(), "correct horse".into()),
            Backend::Real(s) => {
                let (u, p) = s.user().unwrap();
                (u.to_owned(), p.to_owned())
            }
        }
    }

    async fn count(&self, key: &str) -> u64 {
        match self {
            Backend::Mock(s) => s.count(key),
            Backend::Real(s) => s.count(key).await.unwrap(),
        }
    }
}

async fn twenty_processes_one_refresh(kind: Option<BackendKind>) {
    let server = Backend::start(kind).await;
    let name = server.name();
    let base_url = server.base_url();
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    let lock_dir = dir.path().join("locks");
    let go = dir.path().join("go");
    let session = open(&base_url, store_dir.clone(), lock_dir.clone());
    let (user, password) = server.user();
    session.login(&user, Password::new(password)).await.unwrap();
    // Every child must start on an expired access token (real clocks here: 20 processes).
    tokio::time::sleep(Duration::from_millis(3_100)).await;
    assert!(session.status().access_expired);
    drop(session);

    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..CHILDREN)
        .map(|_| {
            Command::new(&exe)
                .env("TESSERA_TEST_CHILD", "1")
                .env("TESSERA_BASE_URL", &base_url)
                .env("TESSERA_STORE_DIR", &store_dir)
                .env("TESSERA_LOCK_DIR", &lock_dir)
                .env("TESSERA_GO_FILE", &go)
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    std::fs::write(&go, b"go").unwrap();
    let started = Instant::now();
    let outputs: Vec<_> = tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    let elapsed = started.elapsed();
    let mut saw_refresh = 0;
    for out in &outputs {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("CHILD-OK status=200"),
            "{name}: a child failed: {text}"
        );
        if text.contains("refreshed") {
            saw_refresh += 1;
        }
    }
    let refreshes = server.count("POST /api/token/refresh/ 200").await;
    let refused = server.count("POST /api/token/refresh/ 401").await;
    let logins = server.count("POST /api/token/ 200").await;
    let echoes = server.count("POST /api/echo/ 200").await;
    eprintln!(
        "FIGURE backend={name} processes={CHILDREN} refreshes={refreshes} refused_refreshes={refused} \
         logins={logins} echo_200={echoes} children_refreshed_or_adopted={saw_refresh} wall_ms={}",
        elapsed.as_millis()
    );
    assert_eq!(refreshes, 1, "{name}");
    assert_eq!(refused, 0, "{name}");
    assert_eq!(logins, 1, "{name}: someone had to sign in again");
    assert_eq!(echoes, CHILDREN as u64, "{name}");
}

fn parent() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for kind in [None, Some(BackendKind::Rust), Some(BackendKind::Django)] {
        let label = kind.map_or("scripted".to_owned(), |k| k.to_string());
        runtime.block_on(twenty_processes_one_refresh(kind));
        println!("test twenty_processes_one_refresh::{label} ... ok");
    }
}

fn main() {
    if std::env::var_os("TESSERA_TEST_CHILD").is_some() {
        child();
    } else {
        parent();
    }
}
