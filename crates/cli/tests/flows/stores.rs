//! Where sessions live when there is no desktop (issue 16): a CLI process with no D-Bus session
//! bus and no display — a CI job, a container, SSH — keeps its session in the kernel keyring
//! (and says so), through the whole session: sign-in, 20 processes after expiry → one refresh,
//! sign-out, exit 3 after. The encrypted file is used only when asked for: a wrong passphrase
//! or a file changed outside Tessera is a clear error that loses nothing, and no token byte is
//! in the file or anywhere under `$HOME`.

use std::path::Path;
use std::process::Output;

use tessera_testkit::{BackendKind, ServerOptions, TestServer};

use super::super::{assert_success, join_all, Env};
use super::{login_with, stderr};

const ACCESS_SECS: u64 = 60;

/// A CLI environment like a CI job's: no session bus, no display, a HOME of its own.
fn headless(tag: &str, home: &Path) -> Env {
    let mut env = Env::new(tag);
    env.var("DBUS_SESSION_BUS_ADDRESS", None)
        .var("DISPLAY", None)
        .var("WAYLAND_DISPLAY", None)
        .var("HOME", home.to_str());
    env
}

async fn server() -> TestServer {
    let options = ServerOptions {
        access_lifetime_secs: ACCESS_SECS,
        ..ServerOptions::default()
    };
    TestServer::start(BackendKind::Rust, options).await.unwrap()
}

async fn add_and_login(env: &mut Env, server: &TestServer, store: &[&str]) -> Output {
    let p = env.profile.clone();
    let url = server.base_url().to_string();
    let mut add = store.to_vec();
    add.extend(["profile", "add", &p, "--url", &url]);
    assert_success(&env.run(&add).await);
    let mut target = store.to_vec();
    target.extend(["--profile", &p]);
    let (user, password) = server.user().unwrap();
    let line = format!("{password}\n");
    login_with(env, &target, user, &["--password-stdin"], &line, None).await
}

fn status_json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"))
}

/// Every file under `dir`, none holding a token-shaped string.
fn assert_no_token_under(dir: &Path) {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                assert!(
                    !String::from_utf8_lossy(&bytes).contains("eyJ"),
                    "{} holds a token-shaped string",
                    path.display()
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_secret_service_the_session_lives_in_the_kernel_keyring() {
    let home = tempfile::tempdir().unwrap();
    let server = server().await;
    let mut env = headless("keyutils", home.path());
    let out = add_and_login(&mut env, &server, &[]).await;
    assert_success(&out);
    let p = env.profile.clone();

    let out = env
        .run(&["--profile", &p, "--verbose", "status", "--json"])
        .await;
    assert_success(&out);
    let status = status_json(&out);
    assert_eq!(status["store"], "keyutils", "{status}");
    assert_eq!(status["signed_in"], true, "{status}");
    let said = stderr(&out);
    assert!(said.contains("store skipped: secret-service:"), "{said}");
    assert!(said.contains("sessions are kept in keyutils"), "{said}");
    let text = env.run(&["--profile", &p, "status"]).await;
    assert!(String::from_utf8_lossy(&text.stdout).contains("store     keyutils"));

    // The server's clock passes the access token's expiry: 20 processes, one refresh.
    server.shift_clock(ACCESS_SECS as i64 + 5).await.unwrap();
    let request = ["--profile", p.as_str(), "request", "GET", "/api/hello/"];
    let children: Vec<_> = (0..20).map(|_| env.command(&request).output()).collect();
    for out in join_all(children).await.into_iter().map(Result::unwrap) {
        env.record(&out);
        assert_success(&out);
    }
    let counters = server.counters().await.unwrap();
    assert_eq!(
        server.count("POST /api/token/refresh/ 200").await.unwrap(),
        1,
        "{counters:?}"
    );
    assert_eq!(
        server.count("POST /api/token/refresh/ 401").await.unwrap(),
        0,
        "{counters:?}"
    );

    let out = env.run(&["--profile", &p, "logout"]).await;
    assert_success(&out);
    assert!(stderr(&out).contains("blacklisted"), "{}", stderr(&out));
    let out = env.run(&request).await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    env.assert_no_token_anywhere();
    assert_no_token_under(home.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_encrypted_file_is_used_only_when_asked_and_loses_nothing() {
    let home = tempfile::tempdir().unwrap();
    let server = server().await;
    let mut env = headless("sealed", home.path());
    env.var("TESSERA_STORE_PASSPHRASE", Some("correct horse battery"));
    let sealed = env.data.path().join(tessera_session::store::SEALED_FILE);
    let store = ["--store", "encrypted-file"];

    // Not asked for: the kernel keyring, and no file.
    let out = add_and_login(&mut env, &server, &[]).await;
    assert_success(&out);
    let p = env.profile.clone();
    let status = status_json(&env.run(&["--profile", &p, "status", "--json"]).await);
    assert_eq!(status["store"], "keyutils", "{status}");
    assert!(
        !sealed.exists(),
        "the encrypted file was made without being asked for"
    );
    assert_success(&env.run(&["--profile", &p, "logout"]).await);

    // Asked for: the file, sealed.
    let mut args = store.to_vec();
    args.extend(["--profile", &p]);
    let (user, password) = server.user().unwrap();
    let out = login_with(
        &mut env,
        &args,
        user,
        &["--password-stdin"],
        &format!("{password}\n"),
        None,
    )
    .await;
    assert_success(&out);
    let mut status_args = args.clone();
    status_args.extend(["status", "--json"]);
    let status = status_json(&env.run(&status_args).await);
    assert_eq!(status["store"], "encrypted-file", "{status}");
    let original = std::fs::read(&sealed).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&sealed).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let mut request = args.clone();
    request.extend(["request", "GET", "/api/hello/"]);
    assert_success(&env.run(&request).await);

    // A wrong passphrase: a clear error, and the file is untouched.
    let out = env
        .command(&request)
        .env("TESSERA_STORE_PASSPHRASE", "wrong passphrase")
        .output()
        .await
        .unwrap();
    env.record(&out);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(stderr(&out).contains("passphrase"), "{}", stderr(&out));
    let now = std::fs::read(&sealed).unwrap();
    assert_eq!(now.len(), original.len());

    // Changed outside Tessera: a clear error, and the file is left as it is.
    let mut tampered = now.clone();
    let at = tampered.len() - 10;
    tampered[at] ^= 0x01;
    std::fs::write(&sealed, &tampered).unwrap();
    let out = env.run(&request).await;
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(stderr(&out).contains("changed outside"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(&sealed).unwrap(),
        tampered,
        "nothing was rewritten"
    );

    // Put back: the session is all there.
    std::fs::write(&sealed, &now).unwrap();
    assert_success(&env.run(&request).await);
    let mut logout = args.clone();
    logout.push("logout");
    let out = env.run(&logout).await;
    assert_success(&out);
    assert!(stderr(&out).contains("blacklisted"), "{}", stderr(&out));
    env.assert_no_token_anywhere();
    assert_no_token_under(home.path());
}

/// The README's CI recipe (`examples/ci/qa-session.sh`) as a job without a desktop runs it:
/// one sign-in, parallel requests on the shared session, sign-out — in the kernel keyring.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ci_recipe_runs_as_a_job_without_a_desktop() {
    let home = tempfile::tempdir().unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let server = server().await;
    let mut env = headless("ci-recipe", home.path());
    let cli_dir = Path::new(super::super::CLI).parent().unwrap().to_owned();
    let path = format!(
        "{}:{}",
        cli_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let (user, password) = server.user().unwrap();
    let script = tessera_testkit::workspace_root().join("examples/ci/qa-session.sh");
    let mut job = tokio::process::Command::new("bash");
    job.arg(&script)
        .env("PATH", &path)
        .env("TESSERA_DATA_DIR", env.data.path())
        .env("TESSERA_URL", server.base_url().as_str())
        .env("TESSERA_PROFILE", &env.profile)
        .env("QA_USER", user)
        .env("QA_PASSWORD", password)
        .env("QA_PATHS", "/api/hello/ /api/me/ /api/hello/ /api/hello/")
        .env("QA_OUT", out_dir.path())
        .env("HOME", home.path())
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("DISPLAY")
        .env_remove("TESSERA_STORE");
    let out = job.output().await.unwrap();
    env.record(&out);
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
    let status: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.path().join("status.json")).unwrap())
            .unwrap();
    assert_eq!(status["store"], "keyutils", "{status}");
    let hello = std::fs::read_to_string(out_dir.path().join("1.json")).unwrap();
    assert!(hello.contains("Hello"), "{hello}");
    assert_eq!(server.count("GET /api/hello/ 200").await.unwrap(), 3);
    assert_eq!(server.count("GET /api/me/ 200").await.unwrap(), 1);
    assert_eq!(
        server.count("POST /api/token/ 200").await.unwrap(),
        1,
        "one sign-in"
    );
    assert_eq!(
        server
            .count("POST /api/token/blacklist/ 200")
            .await
            .unwrap(),
        1,
        "one sign-out"
    );
    env.assert_no_token_anywhere();
    assert_no_token_under(home.path());
    assert_no_token_under(out_dir.path());
}
