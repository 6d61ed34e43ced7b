//! A process killed with SIGKILL while it holds the refresh lock — its refresh request in
//! flight — does not block the others: the OS releases the lock with the process, and the next
//! process takes it, refreshes once, and everyone keeps the session.
//!
//! Like `processes.rs`, the test re-executes its own binary as the child (`TESSERA_LOCK_CHILD`
//! set: run only this test, as the child). The processes share a file-backed test store and the
//! lock directory; the server is the scripted simplejwt server of the parent.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use common::file_store::FileStore;
use common::{fast_options, MockServer, ServerConfig};
use tessera_session::{lock, ApiRequest, Password, Profile, Session, SessionConfig, SystemClock};

const ROLE: &str = "TESSERA_LOCK_CHILD";
const PROFILE: &str = "lock-death";

fn open(base_url: &str, store_dir: PathBuf, lock_dir: PathBuf) -> Session {
    let profile = Profile::from_base_url(base_url).unwrap();
    let mut options = fast_options();
    options.lock_timeout = Duration::from_secs(60);
    Session::open(
        SessionConfig::new(
            PROFILE,
            profile,
            Arc::new(FileStore::new(store_dir)),
            lock_dir,
        )
        .with_clock(Arc::new(SystemClock))
        .with_options(options),
    )
    .unwrap()
}

/// The child: restore, then refresh — which takes the lock and waits on the stalled server
/// until the parent kills this process.
async fn child() {
    let var = |k: &str| std::env::var(k).unwrap();
    let session = open(
        &var("TESSERA_BASE_URL"),
        var("TESSERA_STORE_DIR").into(),
        var("TESSERA_LOCK_DIR").into(),
    );
    session.restore().await.unwrap();
    println!("CHILD-RESTORED");
    let outcome = session.refresh_now().await;
    // Only reached if the parent failed to kill us.
    println!("CHILD-FINISHED {:?}", outcome.map(|s| s.signed_in));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_lock_holder_does_not_block_the_next_process() {
    if std::env::var_os(ROLE).is_some() {
        return child().await;
    }
    let server = MockServer::start(ServerConfig::default(), Arc::new(SystemClock)).await;
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    let lock_dir = dir.path().join("locks");
    let first = open(&server.base_url, store_dir.clone(), lock_dir.clone());
    first
        .login("alice", Password::new("correct horse".into()))
        .await
        .unwrap();

    // The child's refresh request will be received and never answered.
    server
        .state
        .refresh_delay_ms
        .store(3_600_000, Ordering::SeqCst);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_killed_lock_holder_does_not_block_the_next_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ROLE, "1")
        .env("TESSERA_BASE_URL", &server.base_url)
        .env("TESSERA_STORE_DIR", &store_dir)
        .env("TESSERA_LOCK_DIR", &lock_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // Wait until the child's refresh reached the server: it then holds the refresh lock.
    let waited = tokio::time::timeout(Duration::from_secs(60), async {
        while server.state.refresh_started.load(Ordering::SeqCst) == 0 {
            if let Some(status) = child.try_wait().unwrap() {
                return Err(status);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(())
    })
    .await;
    match waited {
        Ok(Ok(())) => {}
        Ok(Err(status)) => {
            let out = child.wait_with_output().unwrap();
            panic!(
                "the child exited early ({status}): {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Err(_) => {
            let _ = child.kill();
            panic!("the child's refresh never reached the server");
        }
    }
    let err = lock::acquire(&lock_dir, PROFILE, Duration::from_millis(200))
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        "lock_timeout",
        "the child does not hold the lock"
    );

    // The next process: its refresh waits for the lock while the child lives.
    server.state.refresh_delay_ms.store(0, Ordering::SeqCst);
    let next = open(&server.base_url, store_dir.clone(), lock_dir.clone());
    next.restore().await.unwrap();
    let waiting = {
        let next = next.clone();
        tokio::spawn(async move { next.refresh_now().await })
    };

    child.kill().unwrap(); // SIGKILL
    let status = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(
        status.status.signal(),
        Some(9),
        "{status:?}: not killed by SIGKILL"
    );
    assert!(!String::from_utf8_lossy(&status.stdout).contains("CHILD-FINISHED"));

    let refreshed = tokio::time::timeout(Duration::from_secs(60), waiting)
        .await
        .expect("the next process never got the lock")
        .unwrap()
        .unwrap();
    assert!(refreshed.signed_in);
    assert_eq!(server.state.refresh_started.load(Ordering::SeqCst), 2);
    assert_eq!(server.count("POST /api/token/refresh/ 200"), 1);
    assert_eq!(server.count("POST /api/token/refresh/ 401"), 0);

    // A third process picks up the refreshed tokens from the store: no refresh, no sign-in.
    let third = open(&server.base_url, store_dir, lock_dir);
    third.restore().await.unwrap();
    let r = third.request(ApiRequest::get("/api/echo/")).await.unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(server.count("POST /api/token/refresh/ 200"), 1);
    assert_eq!(server.count("POST /api/token/ 200"), 1);
}
