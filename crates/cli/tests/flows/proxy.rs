//! `tessera-cli proxy` and `tessera-cli exec`, with the real clients QA points at them — curl,
//! Python requests, pytest, a shell one-liner — against Django + simplejwt with rotation and
//! blacklist on. What is checked: the printed line, GET, POST with
//! JSON, a 10 MB download and a 5 MB upload streamed, 50 concurrent requests after expiry → one
//! refresh, no capability → 403 and nothing reaches the server, a token endpoint → refused, an
//! echoed token masked, sign-out elsewhere → 401 from the proxy, SIGTERM → a clean stop, and
//! never a token in any client's output, the proxy's, or a file.

use std::process::{Output, Stdio};
use std::time::Duration;

use tessera_testkit::{django_python, workspace_root, BackendKind, ServerOptions, TestServer};
use tokio::io::{AsyncBufReadExt, BufReader};

use super::super::{assert_success, options, Env, REFRESH_OK};

/// A running `tessera-cli proxy`.
struct RunningProxy {
    child: tokio::process::Child,
    url: String,
}

async fn start_proxy(env: &Env, extra: &[&str]) -> RunningProxy {
    let mut args = vec!["--profile", env.profile.as_str(), "proxy"];
    args.extend_from_slice(extra);
    let mut cmd = env.command(&args);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("the proxy printed its URL in time")
        .unwrap()
        .expect("a first line");
    let url = first
        .strip_prefix("TESSERA_PROXY=")
        .unwrap_or_else(|| panic!("first line: {first:?}"))
        .to_owned();
    // http://127.0.0.1:PORT/CAPABILITY, the capability 43 URL-safe characters (256 bits)
    let rest = url.strip_prefix("http://127.0.0.1:").unwrap();
    let (port, capability) = rest.split_once('/').unwrap();
    assert!(port.parse::<u16>().unwrap() > 0);
    assert_eq!(capability.len(), 43, "{capability}");
    assert!(capability
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    // The rest of stdout is drained so the proxy never blocks on it.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    RunningProxy { child, url }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// curl with `args`; `-s` always, status and headers kept with `-i` by the caller.
async fn curl(env: &mut Env, args: &[&str]) -> Output {
    let out = tokio::process::Command::new("curl")
        .arg("-s")
        .args(args)
        .output()
        .await
        .unwrap();
    env.record(&out);
    out
}

/// tests/clients/through_proxy.py with Python requests, `TESSERA_PROXY` set to `url`.
async fn python(env: &mut Env, url: &str, args: &[&str]) -> serde_json::Value {
    let script = workspace_root().join("tests/clients/through_proxy.py");
    let out = tokio::process::Command::new(django_python().unwrap())
        .arg(script)
        .args(args)
        .env("TESSERA_PROXY", url)
        .output()
        .await
        .unwrap();
    env.record(&out);
    assert_success(&out);
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The SHA-256 of the test server's download of `len` bytes (byte i = i % 256).
fn pattern_sha256_hex(len: usize) -> String {
    use sha2::Digest as _;
    use std::fmt::Write as _;
    let data: Vec<u8> = (0..len).map(|i| (i % 256) as u8).collect();
    let digest = sha2::Sha256::digest(&data);
    digest.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

async fn counted(server: &TestServer, prefix: &str) -> u64 {
    server
        .counters()
        .await
        .unwrap()
        .iter()
        .filter(|(k, _)| k.starts_with(prefix))
        .map(|(_, v)| *v)
        .sum()
}

/// Long enough that the background refresh never runs while the test looks.
const LIFETIME: u64 = 60;

#[tokio::test]
async fn real_clients_use_the_session_through_the_proxy_without_seeing_a_token() {
    let server = TestServer::start(
        BackendKind::Django,
        ServerOptions {
            access_lifetime_secs: LIFETIME,
            ..options()
        },
    )
    .await
    .unwrap();
    let mut env = Env::new("proxy");
    env.add_profile(&server).await;
    env.login(&server).await;
    let mut proxy = start_proxy(&env, &[]).await;
    let url = proxy.url.clone();

    // GET with curl
    let out = curl(&mut env, &["-i", &format!("{url}/api/hello/")]).await;
    let shown = text(&out);
    assert!(shown.starts_with("HTTP/1.1 200"), "{shown}");
    assert!(shown.contains(r#"{"message":"Hello, World!"}"#), "{shown}");

    // POST with a JSON body, with curl and with requests
    let out = curl(
        &mut env,
        &[
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "-d",
            r#"{"case":"curl","n":1}"#,
            &format!("{url}/api/echo/"),
        ],
    )
    .await;
    let echoed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(echoed["echo"], serde_json::json!({"case": "curl", "n": 1}));
    assert_eq!(echoed["user"], "demo");
    let posted = python(
        &mut env,
        &url,
        &["post", "/api/echo/", r#"{"case":"requests"}"#],
    )
    .await;
    assert_eq!(posted["status"], 200);
    assert_eq!(posted["body"]["echo"]["case"], "requests");

    // 10 MB streamed down (curl and requests), 5 MB streamed up (above the replay limit)
    let ten_mb = 10 * 1024 * 1024;
    let file = env.data.path().join("download.bin");
    let out = curl(
        &mut env,
        &[
            "-f",
            "-o",
            file.to_str().unwrap(),
            &format!("{url}/api/download/?bytes={ten_mb}"),
        ],
    )
    .await;
    assert_success(&out);
    let body = std::fs::read(&file).unwrap();
    assert_eq!(body.len(), ten_mb);
    assert!(body.iter().enumerate().all(|(i, b)| *b == (i % 256) as u8));
    std::fs::remove_file(&file).unwrap();
    let down = python(
        &mut env,
        &url,
        &["download", &format!("/api/download/?bytes={ten_mb}")],
    )
    .await;
    assert_eq!(down["status"], 200);
    assert_eq!(down["bytes"], ten_mb);
    assert_eq!(down["sha256"], pattern_sha256_hex(ten_mb));
    let five_mb = 5 * 1024 * 1024;
    let up = python(
        &mut env,
        &url,
        &["upload", "/api/upload/", &five_mb.to_string()],
    )
    .await;
    assert_eq!(up["status"], 200, "{up}");
    assert_eq!(up["body"]["bytes"], five_mb);
    assert_eq!(up["body"]["sha256"], up["sent_sha256"]);
    let upload = env.data.path().join("upload.bin");
    std::fs::write(
        &upload,
        (0..five_mb).map(|i| (i % 256) as u8).collect::<Vec<u8>>(),
    )
    .unwrap();
    let out = curl(
        &mut env,
        &[
            "-f",
            "-H",
            "Content-Type: application/octet-stream",
            "--data-binary",
            &format!("@{}", upload.display()),
            &format!("{url}/api/upload/"),
        ],
    )
    .await;
    assert_success(&out);
    let uploaded: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(uploaded["bytes"], five_mb);
    assert_eq!(uploaded["sha256"], pattern_sha256_hex(five_mb));
    std::fs::remove_file(&upload).unwrap();

    // HTTP/1.1 keep-alive: curl sends two requests over one connection
    let out = curl(
        &mut env,
        &[
            "-v",
            &format!("{url}/api/hello/"),
            &format!("{url}/api/me/"),
        ],
    )
    .await;
    let shown = text(&out);
    assert!(
        shown.contains("Re-using existing connection") || shown.contains("Reusing existing"),
        "{shown}"
    );

    // Without the capability (none, a wrong one, a prefix of it): 403, nothing reaches the server
    let hellos = counted(&server, "GET /api/hello/").await;
    let origin = url.rsplit_once('/').unwrap().0.to_owned();
    let wrong = format!("{origin}/{}", "A".repeat(43));
    let prefix = &url[..url.len() - 1];
    for bad in [
        format!("{origin}/api/hello/"),
        format!("{wrong}/api/hello/"),
        format!("{prefix}/api/hello/"),
    ] {
        let out = curl(&mut env, &["-i", &bad]).await;
        let shown = text(&out);
        assert!(shown.starts_with("HTTP/1.1 403"), "{bad}: {shown}");
        assert!(
            shown.contains("x-tessera-error: proxy_capability_required"),
            "{shown}"
        );
    }
    assert_eq!(counted(&server, "GET /api/hello/").await, hellos);

    // A token endpoint is refused, whatever the spelling; the server sees nothing
    let token_calls = counted(&server, "POST /api/token/").await;
    for path in [
        "/api/token/refresh/",
        "/api/token/",
        "/api//token/./blacklist",
    ] {
        let out = curl(
            &mut env,
            &[
                "-i",
                "-X",
                "POST",
                "-H",
                "Content-Type: application/json",
                "-d",
                r#"{"refresh":"x"}"#,
                &format!("{url}{path}"),
            ],
        )
        .await;
        let shown = text(&out);
        assert!(shown.starts_with("HTTP/1.1 403"), "{path}: {shown}");
        assert!(shown.contains(r#""code":"reserved_endpoint""#), "{shown}");
    }
    assert_eq!(counted(&server, "POST /api/token/").await, token_calls);

    // A server that echoes the request's headers shows the tool no token; the tool's own
    // Authorization and hop-by-hop headers stay behind, its other headers go through
    let out = curl(
        &mut env,
        &[
            "-H",
            "Authorization: Basic Zm9vOmJhcg==",
            "-H",
            "Connection: keep-alive, X-Hop",
            "-H",
            "X-Hop: 1",
            "-H",
            "X-Keep: yes",
            &format!("{url}/api/echo-headers/"),
        ],
    )
    .await;
    let echoed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let seen = &echoed["headers"];
    let authorization = seen["Authorization"].as_str().unwrap();
    assert!(authorization.starts_with("Bearer ***"), "{authorization}");
    assert!(authorization
        .trim_start_matches("Bearer ")
        .chars()
        .all(|c| c == '*'));
    assert_eq!(seen["X-Keep"], "yes", "{seen}");
    assert!(seen.get("X-Hop").is_none(), "{seen}");

    // 50 concurrent requests after expiry: exactly one refresh, every one answered 200. The
    // proxy keeps its session fresh in the background (as the app does), so the token is made
    // to expire on the server's clock — the engine's clock still trusts it, sends it, and gets
    // 50 × 401 token_not_valid: one refresh, 50 replays.
    let refreshes = server.count(REFRESH_OK).await.unwrap();
    server.shift_clock(2 * LIFETIME as i64).await.unwrap();
    let many = python(&mut env, &url, &["concurrent", "50", "/api/hello/"]).await;
    let statuses = many["statuses"].as_array().unwrap();
    assert_eq!(statuses.len(), 50);
    assert!(statuses.iter().all(|s| s == 200), "{many}");
    assert_eq!(many["tokens_seen"], 0);
    assert_eq!(server.count(REFRESH_OK).await.unwrap(), refreshes + 1);
    assert_eq!(counted(&server, "POST /api/token/refresh/ 401").await, 0);

    // Expired again: a POST with a JSON body (buffered) is replayed after the refresh; an upload
    // above the replay limit is sent once, and the server's 401 comes back as it is
    server.shift_clock(2 * LIFETIME as i64).await.unwrap();
    let posted = python(
        &mut env,
        &url,
        &["post", "/api/echo/", r#"{"after":"expiry"}"#],
    )
    .await;
    assert_eq!(posted["status"], 200, "{posted}");
    assert_eq!(posted["body"]["echo"]["after"], "expiry");
    assert_eq!(server.count(REFRESH_OK).await.unwrap(), refreshes + 2);
    server.shift_clock(2 * LIFETIME as i64).await.unwrap();
    let up = python(
        &mut env,
        &url,
        &["upload", "/api/upload/", &five_mb.to_string()],
    )
    .await;
    assert_eq!(up["status"], 401, "{up}");
    assert_eq!(up["body"]["code"], "token_not_valid", "{up}");
    // ... and the next request refreshes as usual
    let out = curl(&mut env, &["-f", &format!("{url}/api/hello/")]).await;
    assert_success(&out);

    // Signed out in another process: the proxy answers 401 with what to do, sends nothing
    let p = env.profile.clone();
    let out = env.run(&["--profile", &p, "logout"]).await;
    assert_success(&out);
    let hellos = counted(&server, "GET /api/hello/").await;
    let out = curl(&mut env, &["-i", &format!("{url}/api/hello/")]).await;
    let shown = text(&out);
    assert!(shown.starts_with("HTTP/1.1 401"), "{shown}");
    assert!(shown.contains("x-tessera-error: login_required"), "{shown}");
    assert!(shown.contains("is not signed in: signed out"), "{shown}");
    assert!(shown.contains("login"), "{shown}");
    assert_eq!(counted(&server, "GET /api/hello/").await, hellos);

    // SIGTERM: a clean stop, exit 0
    let pid = nix::unistd::Pid::from_raw(i32::try_from(proxy.child.id().unwrap()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), proxy.child.wait())
        .await
        .expect("the proxy stops on SIGTERM")
        .unwrap();
    assert!(status.success(), "{status:?}");
    let mut stderr = String::new();
    if let Some(mut err) = proxy.child.stderr.take() {
        use tokio::io::AsyncReadExt;
        err.read_to_string(&mut stderr).await.unwrap();
    }
    assert!(stderr.contains("stopping the proxy"), "{stderr}");
    assert!(
        !stderr.contains(&url[url.len() - 43..]),
        "the capability is never logged"
    );
    env.outputs.push(stderr);
    env.assert_no_token_anywhere();
}

#[tokio::test]
async fn exec_lends_the_session_to_a_command_and_passes_its_exit_code_on() {
    let server = TestServer::start(BackendKind::Django, options())
        .await
        .unwrap();
    let mut env = Env::new("exec");
    env.add_profile(&server).await;
    env.login(&server).await;
    let p = env.profile.clone();

    // A shell one-liner: curl through $TESSERA_PROXY; no secret in the command's environment
    env.var("TESSERA_PASSWORD", Some("parent-secret"));
    let out = env
        .run(&[
            "--profile",
            &p,
            "exec",
            "--",
            "sh",
            "-c",
            r#"curl -sf "$TESSERA_PROXY/api/me/" && echo && env | grep -c '^TESSERA_PASSWORD=' ; exit 7"#,
        ])
        .await;
    assert_eq!(out.status.code(), Some(7), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(shown.contains(r#""username":"demo""#), "{shown}");
    assert!(
        shown.lines().any(|l| l == "0"),
        "TESSERA_PASSWORD was passed on: {shown}"
    );
    env.var("TESSERA_PASSWORD", None);

    // The README's pytest recipe, as written
    let examples = workspace_root().join("examples/qa");
    let python = django_python().unwrap();
    let out = env
        .run(&[
            "--profile",
            &p,
            "exec",
            "--",
            python.to_str().unwrap(),
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            examples.to_str().unwrap(),
        ])
        .await;
    assert_success(&out);
    assert!(text(&out).contains("2 passed"), "{}", text(&out));

    // A command that does not exist: 127, as a shell says it; the proxy is gone afterwards
    let out = env
        .run(&["--profile", &p, "exec", "--", "no-such-command-tessera"])
        .await;
    assert_eq!(out.status.code(), Some(127), "{}", text(&out));
    assert!(text(&out).contains("cannot run no-such-command-tessera"));

    // The proxy it ran is gone once the command exits
    let out = env
        .run(&[
            "--profile",
            &p,
            "exec",
            "--",
            "sh",
            "-c",
            r#"echo "$TESSERA_PROXY""#,
        ])
        .await;
    assert_success(&out);
    let used = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let out = curl(
        &mut env,
        &[
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &format!("{used}/api/hello/"),
        ],
    )
    .await;
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "000",
        "nothing listens any more"
    );
    env.assert_no_token_anywhere();
}

#[tokio::test]
async fn the_proxy_refuses_what_it_must_not_lend() {
    let server = TestServer::start(BackendKind::Rust, options())
        .await
        .unwrap();
    let mut env = Env::new("proxy-refuse");
    env.add_profile(&server).await;
    let p = env.profile.clone();
    // not signed in: exit 3 before listening
    let out = env.run(&["--profile", &p, "proxy"]).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(out.stdout.is_empty(), "no URL is printed");
    let out = env.run(&["--profile", &p, "exec", "--", "true"]).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    // loopback only
    env.login(&server).await;
    for listen in ["0.0.0.0:0", "192.0.2.1:8080", "localhost:0"] {
        let out = env
            .run(&["--profile", &p, "proxy", "--listen", listen])
            .await;
        assert_eq!(out.status.code(), Some(2), "{listen}: {}", text(&out));
        assert!(text(&out).contains("--listen"), "{}", text(&out));
        assert!(out.stdout.is_empty());
    }
    env.assert_no_token_anywhere();
}

/// Two proxies (two processes) and a CLI request on one profile, the token expired on the
/// server: 2 × 25 concurrent Python requests and the CLI's → one refresh between them all.
#[tokio::test]
async fn two_proxies_and_the_cli_share_one_refresh() {
    let server = TestServer::start(
        BackendKind::Rust,
        ServerOptions {
            access_lifetime_secs: LIFETIME,
            ..options()
        },
    )
    .await
    .unwrap();
    let mut env = Env::new("proxies");
    env.add_profile(&server).await;
    env.login(&server).await;
    let mut first = start_proxy(&env, &[]).await;
    let mut second = start_proxy(&env, &[]).await;
    assert_ne!(first.url, second.url, "each proxy has its own capability");
    let before = server.count(REFRESH_OK).await.unwrap();
    server.shift_clock(2 * LIFETIME as i64).await.unwrap();
    let p = env.profile.clone();
    let cli = env.command(&["--profile", &p, "request", "GET", "/api/hello/"]);
    let (a, b, c) = tokio::join!(
        python_quiet(&first.url, &["concurrent", "25", "/api/hello/"]),
        python_quiet(&second.url, &["concurrent", "25", "/api/hello/"]),
        async move {
            let mut cli = cli;
            cli.output().await.unwrap()
        }
    );
    for many in [&a, &b] {
        let statuses = many["statuses"].as_array().unwrap();
        assert!(statuses.iter().all(|s| s == 200), "{many}");
    }
    assert_success(&c);
    assert_eq!(server.count(REFRESH_OK).await.unwrap(), before + 1);
    assert_eq!(
        server.count("POST /api/token/refresh/ 401").await.unwrap(),
        0
    );
    for proxy in [&mut first, &mut second] {
        proxy.child.start_kill().unwrap();
        proxy.child.wait().await.unwrap();
    }
    env.record(&c);
    env.assert_no_token_anywhere();
}

/// [`python`] without recording (for use inside `join!`).
async fn python_quiet(url: &str, args: &[&str]) -> serde_json::Value {
    let script = workspace_root().join("tests/clients/through_proxy.py");
    let out = tokio::process::Command::new(django_python().unwrap())
        .arg(script)
        .args(args)
        .env("TESSERA_PROXY", url)
        .output()
        .await
        .unwrap();
    assert_success(&out);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("eyJ"));
    serde_json::from_slice(&out.stdout).unwrap()
}
