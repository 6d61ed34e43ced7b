//! The real Secret Service absent or locked: every keyring operation — and a sign-in, a restore,
//! a sign-out on top of them — ends in `keyring_unavailable` with a readable message, within the
//! vault's timeout, never a hang.
//!
//! Each case runs in a child process (this test binary re-executed, `TESSERA_KEYRING_CHILD`
//! naming the case), so that the D-Bus environment is changed for the child only, never in this
//! process while other tests run:
//! * absent: `DBUS_SESSION_BUS_ADDRESS` points at no bus, or is unset with no display to
//!   autolaunch one;
//! * locked: a private `dbus-run-session` with its own gnome-keyring (unlocked with a password,
//!   as in `scripts/session-env.sh`), an entry stored, then the collection locked through the
//!   Secret Service API (`org.freedesktop.Secret.Service.Lock`, called with `gdbus`). Reading a
//!   locked item makes the Secret Service ask for an unlock prompt; with no prompter it is
//!   dismissed or never answered — either way the caller gets `keyring_unavailable`.
//!
//! Needs `dbus-run-session`, `gnome-keyring-daemon` and `gdbus` (the machine's desktop test
//! environment); without them the locked case FAILS, it does not skip.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::{fast_options, Harness, ServerConfig};
use tessera_session::vault::{StoredSession, Vault};
use tessera_session::{
    AccessToken, Error, KeyringStore, Password, RefreshToken, Session, SessionConfig,
};

const ROLE: &str = "TESSERA_KEYRING_CHILD";
/// How long the vault waits for the keyring in these children.
const KEYRING_TIMEOUT: Duration = Duration::from_secs(2);

fn service() -> String {
    format!(
        "dev.tessera.desktop.test.faults.{}.{:x}",
        std::process::id(),
        fastrand::u32(..)
    )
}

fn stored(origin: &str) -> StoredSession {
    StoredSession {
        access: AccessToken::new("header.payload.signature".into()),
        refresh: Some(RefreshToken::new("header.payload.other".into())),
        origin: origin.into(),
        offset_ms: 0,
        base_url: None,
        blacklist_url: None,
        verified: true,
        cookies: Default::default(),
    }
}

/// One line per step: `STEP <name> <code> <message>`.
fn report(step: &str, result: Result<String, Error>) {
    match result {
        Ok(what) => println!("STEP {step} ok {what}"),
        Err(e) => println!("STEP {step} {} {}", e.code(), e),
    }
}

async fn bounded<T>(f: impl std::future::Future<Output = Result<T, Error>>) -> Result<T, Error> {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .unwrap_or_else(|_| {
            println!("HUNG");
            std::process::exit(3)
        })
}

/// The engine on the real keyring of this child's environment.
async fn engine_steps(store: Arc<KeyringStore>) {
    let vault = Vault::new(store.clone(), KEYRING_TIMEOUT);
    report(
        "load",
        bounded(vault.load("faults"))
            .await
            .map(|s| format!("{}", s.is_some())),
    );
    report(
        "save",
        bounded(vault.save("faults-new", &stored("https://api.example.com")))
            .await
            .map(|()| String::new()),
    );
    report(
        "clear",
        bounded(vault.clear("faults")).await.map(|()| String::new()),
    );

    let h = Harness::new(ServerConfig::default()).await;
    let mut options = fast_options();
    options.keyring_timeout = KEYRING_TIMEOUT;
    let session = Session::open(
        SessionConfig::new(
            "faults",
            h.profile.clone(),
            store,
            h.lock_dir.path().to_path_buf(),
        )
        .with_clock(h.clock.clone())
        .with_options(options),
    )
    .unwrap();
    report(
        "restore",
        bounded(session.restore())
            .await
            .map(|s| s.signed_in.to_string()),
    );
    report(
        "login",
        bounded(session.login("alice", Password::new("correct horse".into())))
            .await
            .map(|s| s.signed_in.to_string()),
    );
    println!("SIGNED_IN {}", session.status().signed_in);
    println!("SERVER_LOGINS {}", h.server.count("POST /api/token/ 200"));
    report(
        "logout",
        bounded(session.logout()).await.map(|o| format!("{o:?}")),
    );
}

fn lock_default_collection() -> Result<(), String> {
    let gdbus = |args: &[&str]| -> Result<String, String> {
        let out = Command::new("gdbus")
            .args(["call", "--session", "--dest", "org.freedesktop.secrets"])
            .args(args)
            .output()
            .map_err(|e| format!("gdbus: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let alias = gdbus(&[
        "--object-path",
        "/org/freedesktop/secrets",
        "--method",
        "org.freedesktop.Secret.Service.ReadAlias",
        "default",
    ])?;
    let path = alias
        .split('\'')
        .nth(1)
        .ok_or_else(|| format!("no default collection: {alias}"))?
        .to_owned();
    gdbus(&[
        "--object-path",
        "/org/freedesktop/secrets",
        "--method",
        "org.freedesktop.Secret.Service.Lock",
        &format!("['{path}']"),
    ])?;
    let locked = gdbus(&[
        "--object-path",
        &path,
        "--method",
        "org.freedesktop.DBus.Properties.Get",
        "org.freedesktop.Secret.Collection",
        "Locked",
    ])?;
    if locked.contains("true") {
        Ok(())
    } else {
        Err(format!("{path} is not locked: {locked}"))
    }
}

async fn child(role: &str) {
    let store = Arc::new(KeyringStore::new(&service()).unwrap());
    if role == "locked" {
        // While unlocked: an entry to find later (the keyring works here).
        let vault = Vault::new(store.clone(), KEYRING_TIMEOUT);
        if let Err(e) = bounded(vault.save("faults", &stored("https://api.example.com"))).await {
            println!("SETUP-FAILED the unlocked keyring refused a write: {e}");
            std::process::exit(2);
        }
        if let Err(e) = lock_default_collection() {
            println!("SETUP-FAILED {e}");
            std::process::exit(2);
        }
        println!("LOCKED");
    }
    engine_steps(store).await;
    println!("CHILD-DONE");
    // A keyring call stuck on an unlock prompt keeps its blocking thread; do not wait for it.
    std::process::exit(0);
}

fn run_child(mut command: Command) -> String {
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY");
    let mut child = command.spawn().expect("cannot start the child process");
    let started = std::time::Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "the child hung: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&stdout).into_owned();
    assert!(
        status.success() && stdout.contains("CHILD-DONE"),
        "the child failed ({status}): {stdout}{}",
        String::from_utf8_lossy(&stderr)
    );
    stdout
}

fn assert_all_unavailable(stdout: &str, needle: &str) {
    for step in ["load", "save", "clear", "restore", "login", "logout"] {
        // (libtest's "test ... " may precede the first line.)
        let tag = format!("STEP {step} ");
        let line = stdout
            .lines()
            .find_map(|l| l.find(&tag).map(|i| &l[i..]))
            .unwrap_or_else(|| panic!("no {step} step in: {stdout}"));
        assert!(
            line.starts_with(&format!(
                "STEP {step} keyring_unavailable The session store is not available: "
            )),
            "{line}"
        );
        assert!(line.contains(needle), "expected {needle:?} in {line}");
        assert!(!line.contains("eyJ"));
    }
    // The server accepted the password, but without a keyring nothing is kept or signed in.
    assert!(stdout.contains("SIGNED_IN false"), "{stdout}");
    assert!(stdout.contains("SERVER_LOGINS 1"), "{stdout}");
}

fn this_test(name: &str) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args(["--exact", name, "--nocapture", "--test-threads=1"]);
    c
}

#[tokio::test]
async fn an_absent_secret_service_is_keyring_unavailable_not_a_hang() {
    if let Ok(role) = std::env::var(ROLE) {
        return child(&role).await;
    }
    let name = "an_absent_secret_service_is_keyring_unavailable_not_a_hang";
    for bus in [Some("unix:path=/nonexistent/tessera-test-bus"), None] {
        let mut command = this_test(name);
        command.env(ROLE, "absent");
        match bus {
            Some(address) => command.env("DBUS_SESSION_BUS_ADDRESS", address),
            None => command.env_remove("DBUS_SESSION_BUS_ADDRESS"),
        };
        let stdout = tokio::task::spawn_blocking(move || run_child(command))
            .await
            .unwrap();
        assert_all_unavailable(&stdout, "keyring");
    }
}

#[tokio::test]
async fn a_locked_secret_service_is_keyring_unavailable_not_a_hang() {
    if let Ok(role) = std::env::var(ROLE) {
        return child(&role).await;
    }
    let name = "a_locked_secret_service_is_keyring_unavailable_not_a_hang";
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let runtime = home.path().join("run");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::create_dir_all(&runtime).unwrap();
    std::fs::set_permissions(
        &runtime,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    let mut command = Command::new("dbus-run-session");
    command
        .args([
            "--",
            "sh",
            "-c",
            "printf 'tessera-test\\n' | gnome-keyring-daemon --components=secrets --daemonize --unlock >/dev/null && exec \"$0\" \"$@\"",
        ])
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(ROLE, "locked")
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", &data)
        .env("XDG_RUNTIME_DIR", &runtime);
    let stdout = tokio::task::spawn_blocking(move || run_child(command))
        .await
        .unwrap();
    eprintln!("{stdout}");
    assert!(stdout.contains("LOCKED"), "{stdout}");
    // Dismissed prompt ("locked, missing or denied") or no answer ("may be locked"): both say so.
    assert_all_unavailable(&stdout, "locked");
}
