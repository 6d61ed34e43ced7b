//! The engine against the real Django JWT packages (`tests/django/stacks/`: djoser 2.3.5,
//! dj-rest-auth 7.2.0 in body and cookie mode, with CSRF and with MFA, dj-rest-auth 2.2.8,
//! django-ninja-jwt 5.4.5, and the tutorial's custom views), rotation and blacklist on wherever
//! the package has them. Each case gets its profile the way a user does — from detection on the
//! bare URL (the tutorial: its three paths), which must agree with the case's preset — and
//! then lives a whole session: sign-in, a request, refresh after expiry, a POST replayed with
//! its body after a 401, 20 concurrent requests on an expired token → one refresh, the rotated
//! refresh token kept (the old one refused by the server), sign-out blacklisting where the
//! package can.

use std::time::Duration;

use serde_json::{json, Value};
use tessera_session::detect::detect;
use tessera_session::profile::Preset;
use tessera_session::{ApiRequest, Password, Profile, Session};
use tessera_testkit::{ServerOptions, Stack, StackOptions, TestServer};

use crate::common::backend::BackendHarness;

const ACCESS_SECS: u64 = 30;
const TOTP_SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

struct Case {
    stack: Stack,
    options: StackOptions,
    preset: Option<&'static str>,
    /// The package's logout blacklists the refresh token.
    blacklists: bool,
}

fn case(name: &str) -> Case {
    let cookie = |csrf| StackOptions {
        cookie_mode: true,
        // Not the docs' name: the engine must recognise the cookie by what it holds.
        refresh_cookie: "tessera-refresh".into(),
        csrf,
        ..StackOptions::default()
    };
    let (stack, options, preset, blacklists) = match name {
        "djoser" => (
            Stack::Djoser,
            StackOptions::default(),
            Some("djoser"),
            false,
        ),
        "dj_rest_auth" => (
            Stack::DjRestAuth,
            StackOptions::default(),
            Some("dj-rest-auth"),
            true,
        ),
        "dj_rest_auth_cookie" => (
            Stack::DjRestAuth,
            cookie(false),
            Some("dj-rest-auth-cookie"),
            true,
        ),
        "dj_rest_auth_cookie_csrf" => (
            Stack::DjRestAuth,
            cookie(true),
            Some("dj-rest-auth-cookie"),
            true,
        ),
        "dj_rest_auth_legacy" => (
            Stack::DjRestAuthLegacy,
            StackOptions::default(),
            Some("dj-rest-auth-legacy"),
            true,
        ),
        "dj_rest_auth_legacy_cookie" => (
            Stack::DjRestAuthLegacy,
            cookie(false),
            Some("dj-rest-auth-legacy"),
            true,
        ),
        "ninja_jwt" => (
            Stack::NinjaJwt,
            StackOptions::default(),
            Some("ninja-jwt"),
            false,
        ),
        "tutorial" => (Stack::Tutorial, StackOptions::default(), None, true),
        other => panic!("no case {other}"),
    };
    Case {
        stack,
        options,
        preset,
        blacklists,
    }
}

async fn start(case: &Case) -> BackendHarness {
    let options = ServerOptions {
        access_lifetime_secs: ACCESS_SECS,
        refresh_lifetime_secs: 600,
        ..ServerOptions::default()
    };
    let server = TestServer::start_stack(case.stack, options, case.options.clone())
        .await
        .unwrap();
    BackendHarness::start_on(server)
}

/// What a user starts detection from: the URL, and for custom views their three paths.
fn starting_profile(case: &Case, base: &str) -> Profile {
    let mut profile = Profile::from_base_url(base).unwrap();
    if case.stack == Stack::Tutorial {
        profile.obtain_path = "/user/login".into();
        profile.refresh_path = "/api/token/refresh/".into();
        profile.blacklist_path = Some("/user/logout".into());
    }
    profile
}

/// Detection on the bare URL gives the preset's profile (and the server's real paths).
async fn detected(case: &Case, h: &BackendHarness) -> Profile {
    let found = detect(&starting_profile(case, h.server.base_url().as_str()))
        .await
        .unwrap();
    let findings = found.findings.join("\n");
    assert_eq!(found.preset.as_deref(), case.preset, "{findings}");
    let profile = found.profile;
    assert_eq!(profile.obtain_path, case.stack.login_path(), "{findings}");
    assert_eq!(
        profile.refresh_path,
        case.stack.refresh_path(),
        "{findings}"
    );
    assert_eq!(
        profile.blacklist_path.as_deref(),
        case.stack.logout_path(),
        "{findings}"
    );
    if let Some(name) = case.preset {
        let mut preset = Profile::from_base_url(h.server.base_url().as_str()).unwrap();
        Preset::parse(name).unwrap().apply(&mut preset);
        assert_eq!(preset.access_field, profile.access_field, "{name}");
        assert_eq!(preset.auth_header_type, profile.auth_header_type, "{name}");
    }
    assert!(!findings.contains("eyJ"));
    profile
}

fn login_name(case: &Case) -> &'static str {
    if case.stack == Stack::Tutorial {
        "demo@example.com"
    } else {
        "demo"
    }
}

fn echo(case: &Case, body: &Value) -> ApiRequest {
    ApiRequest::post(case.stack.echo_path()).json(body).unwrap()
}

async fn refreshes(case: &Case, h: &BackendHarness) -> u64 {
    h.count(&format!("POST {} 200", case.stack.refresh_path()))
        .await
}

/// Whether the server still renews with `refresh` (sent in the body, as every stack allows).
async fn server_accepts(case: &Case, h: &BackendHarness, refresh: &str) -> bool {
    let response = reqwest::Client::new()
        .post(h.server.url(case.stack.refresh_path()))
        .json(&json!({"refresh": refresh}))
        .send()
        .await
        .unwrap();
    response.status().is_success()
}

async fn whole_session(name: &str) {
    let case = case(name);
    let h = start(&case).await;
    let profile = detected(&case, &h).await;
    let session = h.session_with(profile);
    session
        .login(login_name(&case), Password::new("demo-password".into()))
        .await
        .unwrap();
    let first_refresh = h.stored_refresh_token();
    if case.options.cookie_mode {
        let entry: Value = serde_json::from_str(&h.stored_entry()).unwrap();
        assert_eq!(
            entry["refresh_cookie"], "tessera-refresh",
            "{name}: {}",
            entry["cookies"]
        );
    }
    let r = session
        .request(echo(&case, &json!({"n": 1})))
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{name}: {}", r.text());

    // Expired for both: refreshed before sending.
    h.advance(ACCESS_SECS + 1).await;
    let r = session
        .request(echo(&case, &json!({"n": 2})))
        .await
        .unwrap();
    assert_eq!((r.status, r.replayed), (200, false), "{name}: {}", r.text());
    assert_eq!(refreshes(&case, &h).await, 1, "{name}");
    let rotated = h.stored_refresh_token();
    assert_ne!(
        rotated, first_refresh,
        "{name}: the rotated refresh token was kept"
    );
    assert!(
        !server_accepts(&case, &h, &first_refresh).await,
        "{name}: the old one is blacklisted"
    );

    // Expired for the server only: a 401, one refresh, the POST replayed with its body.
    h.server.shift_clock(ACCESS_SECS as i64 + 1).await.unwrap();
    let body = json!({"text": "héllo", "list": [1, 2, 3], "pad": "x".repeat(20_000)});
    let r = session.request(echo(&case, &body)).await.unwrap();
    assert_eq!((r.status, r.replayed), (200, true), "{name}: {}", r.text());
    assert_eq!(r.json::<Value>().unwrap()["body"], body, "{name}");
    assert_eq!(refreshes(&case, &h).await, 2, "{name}");

    // 20 requests at once on an expired token: one refresh.
    h.advance(ACCESS_SECS + 1).await;
    let tasks: Vec<_> = (0..20)
        .map(|n| {
            let (session, request) = (session.clone(), echo(&case, &json!({ "n": n })));
            tokio::spawn(async move { session.request(request).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap().status, 200, "{name}");
    }
    assert_eq!(refreshes(&case, &h).await, 3, "{name}");

    let last = h.stored_refresh_token();
    let out = session.logout().await.unwrap();
    assert_eq!(out.server_revoked, case.blacklists, "{name}: {out:?}");
    assert!(h.store.snapshot().is_empty(), "{name}");
    assert_eq!(
        server_accepts(&case, &h, &last).await,
        !case.blacklists,
        "{name}"
    );
    let note = format!("{out:?}");
    assert!(!note.contains("eyJ"), "{name}: {note}");
}

macro_rules! whole_sessions {
    ($($name:ident),* $(,)?) => {
        $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() { whole_session(stringify!($name)).await; })*
    };
}

whole_sessions!(
    djoser,
    dj_rest_auth,
    dj_rest_auth_cookie,
    dj_rest_auth_cookie_csrf,
    dj_rest_auth_legacy,
    dj_rest_auth_legacy_cookie,
    ninja_jwt,
    tutorial,
);

async fn code_step(session: &Session, code: &str) -> tessera_session::Result<bool> {
    session
        .verify_code(Password::new(code.to_owned()))
        .await
        .map(|s| s.signed_in)
}

async fn two_step_sign_in(cookie_mode: bool) {
    let mut case = case(if cookie_mode {
        "dj_rest_auth_cookie"
    } else {
        "dj_rest_auth"
    });
    case.options.mfa_totp_secret = Some(TOTP_SECRET.into());
    case.options.mfa_ephemeral_timeout_secs = Some(2);
    let h = start(&case).await;
    let profile = detected(&case, &h).await;
    assert_eq!(
        profile.mfa_verify_path.as_deref(),
        case.stack.mfa_verify_path()
    );
    let session = h.session_with(profile);
    let login = || session.login("demo", Password::new("demo-password".into()));

    let err = login().await.unwrap_err();
    assert_eq!(err.code(), "mfa_required");
    assert!(
        h.store.snapshot().is_empty(),
        "nothing is stored before the code"
    );
    let err = code_step(&session, "000000").await.unwrap_err();
    assert_eq!(err.code(), "mfa_code_rejected", "{err}");
    let code = tessera_testkit::totp_now(TOTP_SECRET).unwrap();
    assert!(code_step(&session, &code).await.unwrap());
    let r = session
        .request(echo(&case, &json!({"mfa": true})))
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    // Renewal never needs the code again.
    h.advance(ACCESS_SECS + 1).await;
    let r = session
        .request(echo(&case, &json!({"mfa": 2})))
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(refreshes(&case, &h).await, 1);
    let entry = h.stored_entry();
    assert!(
        !entry.contains(&code) && !entry.contains("ephemeral"),
        "the code is never stored"
    );

    // A recovery code works once.
    let recovery = h.server.recovery_codes()[0].clone();
    assert_eq!(login().await.unwrap_err().code(), "mfa_required");
    assert!(code_step(&session, &recovery).await.unwrap());
    assert_eq!(login().await.unwrap_err().code(), "mfa_required");
    let err = code_step(&session, &recovery).await.unwrap_err();
    assert_eq!(err.code(), "mfa_code_rejected", "{err}");

    // The server's one-time sign-in token runs out (2 s here; five minutes by default).
    tokio::time::sleep(Duration::from_millis(3_200)).await;
    let code = tessera_testkit::totp_now(TOTP_SECRET).unwrap();
    let err = code_step(&session, &code).await.unwrap_err();
    assert_eq!(err.code(), "mfa_expired", "{err}");
    let err = code_step(&session, &code).await.unwrap_err();
    assert_eq!(
        err.code(),
        "mfa_expired",
        "and nothing is pending any more: {err}"
    );
    assert!(!format!("{err:?}").contains("eyJ"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_step_sign_in_body_mode() {
    two_step_sign_in(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_step_sign_in_cookie_mode() {
    two_step_sign_in(true).await;
}

/// `AUTH_HEADER_TYPES = ("JWT",)`: detection reads the prefix from the `WWW-Authenticate` of
/// the current-user endpoint (the preset's, or one the user gave for custom views).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detection_reads_the_header_prefix() {
    for name in ["djoser", "tutorial"] {
        let mut case = case(name);
        case.options.auth_header_type = Some("JWT".into());
        let h = start(&case).await;
        let mut start_from = starting_profile(&case, h.server.base_url().as_str());
        if case.stack == Stack::Tutorial {
            start_from.me_path = Some(case.stack.me_path().into());
        }
        let found = detect(&start_from).await.unwrap();
        assert_eq!(
            found.profile.auth_header_type, "JWT",
            "{name}: {:?}",
            found.findings
        );
        let session = h.session_with(found.profile);
        session
            .login(login_name(&case), Password::new("demo-password".into()))
            .await
            .unwrap();
        let r = session.request(echo(&case, &json!({}))).await.unwrap();
        assert_eq!(r.status, 200, "{name}: {}", r.text());
    }
}

/// A profile made for another stack (plain `--url` against djoser and ninja-jwt, whose sign-in
/// is elsewhere) says what to try, at sign-in and in the connection test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_stack_is_told_what_to_try() {
    for name in ["djoser", "ninja_jwt"] {
        let case = case(name);
        let h = start(&case).await;
        let err = h
            .session()
            .login("demo", Password::new("demo-password".into()))
            .await
            .unwrap_err();
        let text = err.to_string();
        assert_eq!(err.code(), "http_error", "{name}: {text}");
        assert!(
            text.contains("--detect") && text.contains("preset"),
            "{name}: {text}"
        );
        let report = tessera_session::probe::probe(&h.profile).await.unwrap();
        assert!(
            !report.ok && report.message.contains("--detect"),
            "{name}: {report:?}"
        );
    }
}

/// Custom views with `AUTH_HEADER_TYPES = ("JWT",)` and no current-user endpoint to read it
/// from: the first request's 401 names the scheme, and the request goes again with it — once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_header_prefix_is_learnt_from_the_first_401() {
    let mut case = case("tutorial");
    case.options.auth_header_type = Some("JWT".into());
    let h = start(&case).await;
    let found = detect(&starting_profile(&case, h.server.base_url().as_str()))
        .await
        .unwrap();
    assert_eq!(
        found.profile.auth_header_type, "Bearer",
        "nothing told detection"
    );
    let session = h.session_with(found.profile);
    session
        .login(login_name(&case), Password::new("demo-password".into()))
        .await
        .unwrap();
    for n in 0..3 {
        let r = session
            .request(echo(&case, &json!({ "n": n })))
            .await
            .unwrap();
        assert_eq!((r.status, r.replayed), (200, false), "{}", r.text());
    }
    assert_eq!(
        h.count("POST /api/echo/ 401").await,
        1,
        "{:?}",
        h.counters().await
    );
    // Renewed tokens keep the scheme.
    h.advance(ACCESS_SECS + 1).await;
    let r = session.request(echo(&case, &json!({}))).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(h.count("POST /api/echo/ 401").await, 1);
    assert_eq!(refreshes(&case, &h).await, 1);
}
