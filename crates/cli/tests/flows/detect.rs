//! `--detect`: the engine's detection, its report printed, flags winning over what it found.

use tessera_testkit::{BackendKind, TestServer};

use super::super::{assert_success, expect_exit, options, Env};
use super::stderr;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detect_saves_a_profile_that_signs_in_to_simplejwt() {
    let server = TestServer::start(BackendKind::Django, options())
        .await
        .unwrap();
    let mut env = Env::new("detect");
    let p = env.profile.clone();
    let url = server.base_url().to_string();

    let out = env
        .run(&["profile", "add", &p, "--url", &url, "--detect"])
        .await;
    assert_success(&out);
    let report = stderr(&out);
    eprintln!("profile add --detect:\n{report}");
    assert!(report.contains("detected simplejwt ("), "{report}");
    assert!(
        report.contains("requests, none carrying a password"),
        "{report}"
    );
    assert!(report.contains("/api/token/ asks for username"), "{report}");
    assert!(report.contains(&format!("added profile {p}")), "{report}");

    let shown = env.run(&["profile", "show", &p, "--json"]).await;
    assert_success(&shown);
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    let profile = &shown["profile"];
    assert_eq!(profile["preset"], "simplejwt", "{shown}");
    assert_eq!(profile["obtain_path"], "/api/token/", "{shown}");
    assert_eq!(
        profile["blacklist_path"], "/api/token/blacklist/",
        "{shown}"
    );
    let text = env.run(&["profile", "show", &p]).await;
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with("preset") && l.contains("simplejwt")),
        "{text}"
    );

    // No other flag: sign in, send a request, sign out with the blacklist.
    env.login(&server).await;
    let out = env
        .run(&["--profile", &p, "request", "GET", "/api/hello/"])
        .await;
    assert_success(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Hello, World!"));

    // Detecting again on edit: a current-user path given is kept by detection itself (it reads
    // the header prefix there), so no flag had to win over it.
    let out = env
        .run(&["profile", "edit", &p, "--detect", "--me-path", "/api/me/"])
        .await;
    assert_success(&out);
    let report = stderr(&out);
    assert!(report.contains("detected simplejwt"), "{report}");
    assert!(!report.contains("kept from your flags"), "{report}");
    let shown = env.run(&["profile", "show", &p, "--json"]).await;
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["profile"]["me_path"], "/api/me/", "{shown}");
    let (user, _) = server.user().unwrap();
    let out = env.run(&["--profile", &p, "whoami"]).await;
    assert_success(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains(user));

    let out = env.run(&["--profile", &p, "logout"]).await;
    assert_success(&out);
    assert!(stderr(&out).contains("blacklisted"), "{}", stderr(&out));
    env.assert_no_token_anywhere();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detect_where_nothing_answers_names_the_flags_to_use() {
    let server = TestServer::start(BackendKind::Rust, options())
        .await
        .unwrap();
    let mut env = Env::new("detect-none");
    let p = env.profile.clone();
    let url = format!("{}nothing/here/", server.base_url());
    expect_exit(
        &mut env,
        &["profile", "add", &p, "--url", &url, "--detect"],
        2,
        "--preset",
    )
    .await;
    let last = env.outputs.last().cloned().unwrap_or_default();
    assert!(last.contains("[not_supported]"), "{last}");
    assert!(last.contains("--obtain-path"), "{last}");
    let listed = env.run(&["profile", "list", "--json"]).await;
    assert!(
        !String::from_utf8_lossy(&listed.stdout).contains(&p),
        "nothing was saved"
    );

    // --detect chooses the preset: naming one as well is a usage error.
    expect_exit(
        &mut env,
        &[
            "profile", "add", &p, "--url", &url, "--detect", "--preset", "djoser",
        ],
        2,
        "cannot be used with",
    )
    .await;
}

#[tokio::test]
async fn the_new_settings_round_trip_and_none_unsets_them() {
    let mut env = Env::new("fields");
    let p = env.profile.clone();
    let set = [
        ("--renewal-access-field", "renewal_access_field", "access"),
        (
            "--renewal-refresh-field",
            "renewal_refresh_field",
            "refresh",
        ),
        ("--logout-field", "logout_request_field", "refresh_token"),
        ("--refresh-cookie", "refresh_cookie", "jwt-refresh"),
        ("--mfa-verify-path", "mfa_verify_path", "/auth/mfa/verify/"),
    ];
    let mut args = vec!["profile", "add", &p, "--url", "https://api.example.com/"];
    for (flag, _, value) in set {
        args.extend([flag, value]);
    }
    assert_success(&env.run(&args).await);
    let shown = env.run(&["profile", "show", &p, "--json"]).await;
    assert_success(&shown);
    let json: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    for (_, key, value) in set {
        assert_eq!(json["profile"][key], value, "{key}: {json}");
    }
    let text = env.run(&["profile", "show", &p]).await;
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    for (_, key, value) in set {
        assert!(
            text.lines().any(|l| l.contains(key) && l.contains(value)),
            "{key}: {text}"
        );
    }
    assert!(
        text.contains("(none: settings of its own)"),
        "no preset line: {text}"
    );

    let mut args = vec!["profile", "edit", &p];
    for (flag, _, _) in set {
        args.extend([flag, "none"]);
    }
    assert_success(&env.run(&args).await);
    let shown = env.run(&["profile", "show", &p, "--json"]).await;
    let json: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    for (_, key, _) in set {
        assert!(json["profile"][key].is_null(), "{key} still set: {json}");
    }
    let text = env.run(&["profile", "show", &p]).await;
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    for meaning in ["(as access_field)", "(as refresh_request_field)"] {
        assert!(text.contains(meaning), "{meaning}: {text}");
    }
}
