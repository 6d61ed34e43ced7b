//! Every Django JWT stack out of the box, as a QA engineer meets it: the real packages
//! (`tests/django/stacks/`), `profile add --detect` with nothing else (the tutorial's custom
//! views: their three paths), sign-in (with a TOTP code where the account has MFA), a request,
//! 20 `tessera-cli` processes on a token the server has expired → one refresh, sign-out that
//! blacklists where the package can and says so where it cannot — and no token in any output
//! or file.

use std::process::Output;

use tessera_testkit::{ServerOptions, Stack, StackOptions, TestServer};

use super::super::{assert_success, join_all, Env};
use super::{login_with, stderr};

const TOTP_SECRET: &str = "KRSXG5CTMVZHEZLUKRSXG5CTMVZHEZLU";

struct Case {
    stack: Stack,
    options: StackOptions,
    /// What `--detect` reports.
    detected: &'static str,
    /// The logout blacklists (else the report says why not).
    blacklists: bool,
}

fn case(name: &str) -> Case {
    let cookie = StackOptions {
        cookie_mode: true,
        ..StackOptions::default()
    };
    let mfa = |options: StackOptions| StackOptions {
        mfa_totp_secret: Some(TOTP_SECRET.into()),
        ..options
    };
    let (stack, options, detected, blacklists) = match name {
        "djoser" => (
            Stack::Djoser,
            StackOptions::default(),
            "detected djoser",
            false,
        ),
        "dj_rest_auth_mfa" => (
            Stack::DjRestAuth,
            mfa(StackOptions::default()),
            "detected dj-rest-auth (",
            true,
        ),
        "dj_rest_auth_cookie_mfa" => (
            Stack::DjRestAuth,
            mfa(cookie),
            "detected dj-rest-auth-cookie",
            true,
        ),
        "dj_rest_auth_legacy" => (
            Stack::DjRestAuthLegacy,
            StackOptions::default(),
            "detected dj-rest-auth-legacy",
            true,
        ),
        "ninja_jwt" => (
            Stack::NinjaJwt,
            StackOptions::default(),
            "detected ninja-jwt",
            false,
        ),
        "tutorial" => (
            Stack::Tutorial,
            StackOptions::default(),
            "custom sign-in view at /user/login",
            true,
        ),
        other => panic!("no case {other}"),
    };
    Case {
        stack,
        options,
        detected,
        blacklists,
    }
}

const ACCESS_SECS: u64 = 60;

async fn out_of_the_box(name: &str) {
    let case = case(name);
    let options = ServerOptions {
        access_lifetime_secs: ACCESS_SECS,
        ..ServerOptions::default()
    };
    let server = TestServer::start_stack(case.stack, options, case.options.clone())
        .await
        .unwrap();
    let mut env = Env::new(name);
    let p = env.profile.clone();
    let url = server.base_url().to_string();
    let mut add = vec!["profile", "add", &p, "--url", &url, "--detect"];
    if case.stack == Stack::Tutorial {
        add.extend([
            "--obtain-path",
            "/user/login",
            "--refresh-path",
            "/api/token/refresh/",
            "--blacklist-path",
            "/user/logout",
        ]);
    }
    let out = env.run(&add).await;
    assert_success(&out);
    let report = stderr(&out);
    assert!(report.contains(case.detected), "{name}:\n{report}");
    // Detection's probes (dj-rest-auth's refresh answers an empty POST with 401) are not counted.
    server.reset().await.unwrap();

    let user = if case.stack == Stack::Tutorial {
        "demo@example.com"
    } else {
        "demo"
    };
    let target = ["--profile", p.as_str()];
    let out = if case.options.mfa_totp_secret.is_some() {
        let without = login_with(
            &mut env,
            &target,
            user,
            &["--password-stdin"],
            "demo-password\n",
            None,
        )
        .await;
        assert_eq!(
            without.status.code(),
            Some(3),
            "{name}: {}",
            stderr(&without)
        );
        assert!(
            stderr(&without).contains("--otp"),
            "{name}: {}",
            stderr(&without)
        );
        let code = tessera_testkit::totp_now(TOTP_SECRET).unwrap();
        let lines = format!("demo-password\n{code}\n");
        login_with(
            &mut env,
            &target,
            user,
            &["--password-stdin", "--otp-stdin"],
            &lines,
            None,
        )
        .await
    } else {
        login_with(
            &mut env,
            &target,
            user,
            &["--password-stdin"],
            "demo-password\n",
            None,
        )
        .await
    };
    assert_success(&out);

    let echo = case.stack.echo_path();
    let request = [
        "--profile",
        p.as_str(),
        "request",
        "POST",
        echo,
        "--json",
        r#"{"n": 1}"#,
    ];
    let out = env.run(&request).await;
    assert_success(&out);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("\"n\""),
        "{name}: {out:?}"
    );

    // The server's clock jumps past the access token's expiry: every process gets a 401.
    server.shift_clock(ACCESS_SECS as i64 + 5).await.unwrap();
    let children: Vec<_> = (0..20).map(|_| env.command(&request).output()).collect();
    let outputs: Vec<Output> = join_all(children)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    for out in &outputs {
        env.record(out);
        assert_success(out);
    }
    let refresh = case.stack.refresh_path();
    let counters = server.counters().await.unwrap();
    assert_eq!(
        server.count(&format!("POST {refresh} 200")).await.unwrap(),
        1,
        "{name}: {counters:?}"
    );
    assert_eq!(
        server.count(&format!("POST {refresh} 401")).await.unwrap(),
        0,
        "{name}: {counters:?}"
    );

    let out = env.run(&["--profile", &p, "logout"]).await;
    assert_success(&out);
    let said = stderr(&out);
    if case.blacklists {
        assert!(
            said.contains("the server blacklisted the refresh token"),
            "{name}: {said}"
        );
        let logout = case.stack.logout_path().unwrap();
        assert_eq!(
            server.count(&format!("POST {logout} 200")).await.unwrap(),
            1,
            "{name}"
        );
    } else {
        assert!(
            said.contains("stays valid on the server until it expires"),
            "{name}: {said}"
        );
    }
    env.assert_no_token_anywhere();
}

macro_rules! out_of_the_box {
    ($($name:ident),* $(,)?) => {
        $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() { out_of_the_box(stringify!($name)).await; })*
    };
}

out_of_the_box!(
    djoser,
    dj_rest_auth_mfa,
    dj_rest_auth_cookie_mfa,
    dj_rest_auth_legacy,
    ninja_jwt,
    tutorial,
);
