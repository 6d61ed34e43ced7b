//! Two-step sign-in from the command line: `--otp`, `--otp-stdin`, and the message when there
//! is no code to give. A scripted server plays the two-factor side (a sign-in answered with
//! `{"mfa_required": true, "ephemeral_token": ...}`, then `mfa/verify/` beside it); the
//! simplejwt server checks that a code given to a server that asks for none changes nothing.

use tessera_testkit::{BackendKind, TestServer};

use super::super::{assert_success, options, scripted_server, test_jwt, Env};
use super::{login_with, stderr};

/// A server whose sign-in wants a second factor; its verify endpoint answers `verify`.
async fn two_factor_server(verify: (u16, String)) -> String {
    scripted_server(move |_, path| match path {
        "/api/token/" => Some((
            200,
            br#"{"mfa_required": true, "ephemeral_token": "one-time-ticket"}"#.to_vec(),
        )),
        "/api/mfa/verify/" => Some((verify.0, verify.1.clone().into_bytes())),
        _ => None,
    })
    .await
}

fn tokens() -> String {
    serde_json::json!({"access": test_jwt("access", 3600), "refresh": test_jwt("refresh", 86_400)})
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_factor_is_taken_from_the_flags() {
    let url = two_factor_server((200, tokens())).await;
    let server = ["--server", url.as_str()];
    let mut env = Env::new("otp");

    // No code and no terminal: what to pass, exit 3, the engine's code.
    let out = login_with(&mut env, &server, "qa", &[], "", Some("pw")).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("the server asks for a second-factor code: pass --otp CODE or --otp-stdin"),
        "{err}"
    );
    assert!(err.contains("[mfa_required]"), "{err}");

    let out = login_with(
        &mut env,
        &server,
        "qa",
        &["--otp", "123456"],
        "",
        Some("pw"),
    )
    .await;
    assert_success(&out);
    assert!(stderr(&out).contains("signed in"), "{}", stderr(&out));

    // --otp-stdin alone: the first line is the code.
    let out = login_with(
        &mut env,
        &server,
        "qa",
        &["--otp-stdin"],
        "123456\n",
        Some("pw"),
    )
    .await;
    assert_success(&out);

    // With --password-stdin: the password, then the code, one line each.
    let both = ["--password-stdin", "--otp-stdin"];
    let out = login_with(&mut env, &server, "qa", &both, "pw\n\n", None).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "the code is line 2: {err}");
    assert!(err.contains("standard input had none"), "{err}");
    let out = login_with(&mut env, &server, "qa", &both, "pw\n123456\n", None).await;
    assert_success(&out);

    let out = env.run(&["--server", &url, "status", "--json"]).await;
    assert_success(&out);
    let out = env.run(&["--server", &url, "logout"]).await;
    assert_success(&out);
    env.assert_no_token_anywhere();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_or_expired_code_exits_3_with_its_code() {
    let cases = [
        (
            r#"{"code": ["Invalid code."]}"#,
            "[mfa_code_rejected]",
            "Invalid code.",
        ),
        (
            r#"{"ephemeral_token": ["Expired."]}"#,
            "[mfa_expired]",
            "sign in with your password again",
        ),
    ];
    for (body, code, needle) in cases {
        let url = two_factor_server((400, body.to_owned())).await;
        let mut env = Env::new("otp-refused");
        let out = login_with(
            &mut env,
            &["--server", &url],
            "qa",
            &["--otp", "000000"],
            "",
            Some("pw"),
        )
        .await;
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{err}");
        assert!(err.contains(code) && err.contains(needle), "{err}");
        let out = env.run(&["--server", &url, "status"]).await;
        assert_eq!(out.status.code(), Some(3), "not signed in");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_for_a_server_without_two_factor_is_ignored() {
    let server = TestServer::start(BackendKind::Django, options())
        .await
        .unwrap();
    let mut env = Env::new("otp-ignored");
    env.add_profile(&server).await;
    let p = env.profile.clone();
    let (user, password) = server.user().unwrap();
    let target = ["--profile", p.as_str()];
    let out = login_with(
        &mut env,
        &target,
        user,
        &["--otp", "123456"],
        "",
        Some(password),
    )
    .await;
    assert_success(&out);
    let both = ["--password-stdin", "--otp-stdin"];
    let stdin = format!("{password}\n123456\n");
    let out = login_with(&mut env, &target, user, &both, &stdin, None).await;
    assert_success(&out);
    let out = env
        .run(&["--profile", &p, "request", "GET", "/api/hello/"])
        .await;
    assert_success(&out);
    let out = env.run(&["--profile", &p, "logout"]).await;
    assert_success(&out);
    env.assert_no_token_anywhere();
}
