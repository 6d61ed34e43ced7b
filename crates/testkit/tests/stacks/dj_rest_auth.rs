//! dj-rest-auth specifics: cookie mode (7.2 and 2.2.8), `JWT_AUTH_COOKIE_USE_CSRF`, and the
//! 7.2 TOTP MFA flow (codes computed in Rust, recovery codes read from the server's output).

use std::time::Duration;

use serde_json::json;
use tessera_testkit::{ServerOptions, Stack, StackOptions};

use crate::support::{
    assert_echoed, bearer, echo, now, options, post, send, start, totp, Extra, DEMO, PASSWORD,
    TOTP_SECRET,
};

fn cookie_options(csrf: bool) -> StackOptions {
    StackOptions {
        cookie_mode: true,
        refresh_cookie: "tessera-refresh".to_owned(),
        csrf,
        ..StackOptions::default()
    }
}

/// Cookie mode: access in the login body and cookie, refresh only in an HttpOnly cookie (login
/// answers `refresh`/`refresh_token` `""`); refresh by cookie alone (7.2 then keeps the new
/// refresh out of the body, 2.2.8 still puts it there); logout blacklists.
async fn cookie_flow(stack: Stack) {
    let server = start(stack, options(), cookie_options(false)).await;
    let login = post(
        &server,
        stack.login_path(),
        stack.login_body(DEMO, PASSWORD),
    )
    .await;
    assert_eq!(login.status, 200, "login: {login:?}");
    assert!(!login.str(stack.login_access_field()).is_empty());
    assert_eq!(
        login.str(stack.login_refresh_field()),
        "",
        "refresh not in the body"
    );
    let (refresh, attrs) = login.cookie("tessera-refresh").expect("refresh cookie");
    assert!(attrs.contains(&"httponly".to_owned()), "{attrs:?}");
    let (access_cookie, attrs) = login.cookie("my-app-auth").expect("access cookie");
    assert!(attrs.contains(&"httponly".to_owned()), "{attrs:?}");

    // The access cookie alone authenticates (no CSRF check by default).
    let jar = |refresh: &str| {
        Some(format!(
            "my-app-auth={access_cookie}; tessera-refresh={refresh}"
        ))
    };
    assert_echoed(
        &echo(
            &server,
            stack,
            Extra {
                cookie: jar(&refresh),
                ..Extra::default()
            },
        )
        .await,
    );

    // Refresh with only the cookie.
    let cookie_only = Extra {
        cookie: Some(format!("tessera-refresh={refresh}")),
        ..Extra::default()
    };
    let refreshed = send(
        &server,
        "POST",
        stack.refresh_path(),
        Some(json!({})),
        cookie_only,
    )
    .await;
    assert_eq!(refreshed.status, 200, "cookie refresh: {refreshed:?}");
    let (new_refresh, _) = refreshed.cookie("tessera-refresh").expect("rotated cookie");
    assert_ne!(new_refresh, refresh, "rotation");
    if stack == Stack::DjRestAuth {
        assert!(
            refreshed.body.get("refresh").is_none(),
            "7.2 strips it: {refreshed:?}"
        );
    }
    let old = Extra {
        cookie: Some(format!("tessera-refresh={refresh}")),
        ..Extra::default()
    };
    let reused = send(&server, "POST", stack.refresh_path(), Some(json!({})), old).await;
    assert_eq!(reused.status, 401, "reused cookie: {reused:?}");
    assert_eq!(
        server
            .count(&format!("POST {} 200", stack.refresh_path()))
            .await
            .unwrap(),
        1
    );

    // Logout: 7.2 reads the refresh cookie; 2.2.8 wants it in the body even in cookie mode.
    let logout = stack.logout_path().unwrap();
    let body = if stack == Stack::DjRestAuth {
        json!({})
    } else {
        json!({"refresh": new_refresh})
    };
    let out = send(
        &server,
        "POST",
        logout,
        Some(body),
        Extra {
            cookie: jar(&new_refresh),
            ..Extra::default()
        },
    )
    .await;
    assert_eq!(out.status, 200, "logout: {out:?}");
    let after = post(
        &server,
        stack.refresh_path(),
        json!({"refresh": new_refresh}),
    )
    .await;
    assert_eq!(after.status, 401, "refresh after logout: {after:?}");
}

#[tokio::test]
async fn dj_rest_auth_cookie_mode() {
    cookie_flow(Stack::DjRestAuth).await;
}

#[tokio::test]
async fn dj_rest_auth_legacy_cookie_mode() {
    cookie_flow(Stack::DjRestAuthLegacy).await;
}

#[tokio::test]
async fn dj_rest_auth_cookie_csrf() {
    let stack = Stack::DjRestAuth;
    let server = start(stack, options(), cookie_options(true)).await;
    let login = post(
        &server,
        stack.login_path(),
        stack.login_body(DEMO, PASSWORD),
    )
    .await;
    let (access, _) = login.cookie("my-app-auth").expect("access cookie");
    let (csrf, _) = login.cookie("csrftoken").expect("csrftoken cookie");
    let cookies = format!("my-app-auth={access}; csrftoken={csrf}");
    let without = echo(
        &server,
        stack,
        Extra {
            cookie: Some(cookies.clone()),
            ..Extra::default()
        },
    )
    .await;
    assert_eq!(
        without.status, 403,
        "cookie auth without CSRF header: {without:?}"
    );
    let with = echo(
        &server,
        stack,
        Extra {
            cookie: Some(cookies),
            csrf: Some(&csrf),
            ..Extra::default()
        },
    )
    .await;
    assert_echoed(&with);
    // A header token needs no CSRF.
    assert_echoed(&echo(&server, stack, bearer(&login.str("access"))).await);
}

#[tokio::test]
async fn dj_rest_auth_mfa() {
    let stack = Stack::DjRestAuth;
    let server_options = ServerOptions {
        users: vec![
            (DEMO.to_owned(), PASSWORD.to_owned()),
            ("plain".to_owned(), "plain-password".to_owned()),
        ],
        ..options()
    };
    let stack_options = StackOptions {
        mfa_totp_secret: Some(TOTP_SECRET.to_owned()),
        mfa_ephemeral_timeout_secs: Some(5),
        ..StackOptions::default()
    };
    let mut server = start(stack, server_options, stack_options).await;
    let codes = server.recovery_codes();
    assert_eq!(codes.len(), 10, "{codes:?}");
    let verify = stack.mfa_verify_path().unwrap();

    let login = post(
        &server,
        stack.login_path(),
        stack.login_body(DEMO, PASSWORD),
    )
    .await;
    assert_eq!(login.status, 200, "login: {login:?}");
    assert_eq!(login.body["mfa_required"], true, "{login:?}");
    let ephemeral = login.str("ephemeral_token");
    assert!(login.body.get("access").is_none());

    let wrong = post(
        &server,
        verify,
        json!({"ephemeral_token": ephemeral, "code": "000000"}),
    )
    .await;
    assert_eq!(wrong.status, 400, "{wrong:?}");
    let code = totp(TOTP_SECRET, now());
    let ok = post(
        &server,
        verify,
        json!({"ephemeral_token": ephemeral, "code": code}),
    )
    .await;
    assert_eq!(ok.status, 200, "verify with TOTP: {ok:?}");
    assert_echoed(&echo(&server, stack, bearer(&ok.str("access"))).await);
    assert!(!ok.str("refresh").is_empty());

    let recovery = json!({"ephemeral_token": ephemeral, "code": codes[0]});
    assert_eq!(
        post(&server, verify, recovery.clone()).await.status,
        200,
        "recovery code"
    );
    assert_eq!(
        post(&server, verify, recovery).await.status,
        400,
        "recovery code reused"
    );

    // A user without MFA gets the ordinary answer from MFALoginView.
    let plain = post(
        &server,
        stack.login_path(),
        stack.login_body("plain", "plain-password"),
    )
    .await;
    assert_eq!(plain.status, 200, "{plain:?}");
    assert!(!plain.str("access").is_empty());

    // MFA_EPHEMERAL_TOKEN_TIMEOUT is honoured.
    let login = post(
        &server,
        stack.login_path(),
        stack.login_body(DEMO, PASSWORD),
    )
    .await;
    // Signed timestamps have 1 s resolution: wait well past the 5 s.
    tokio::time::sleep(Duration::from_millis(6_500)).await;
    let late = json!({"ephemeral_token": login.str("ephemeral_token"), "code": codes[1]});
    let late = post(&server, verify, late).await;
    assert_eq!(late.status, 400, "expired ephemeral token: {late:?}");
    assert!(late.body.get("ephemeral_token").is_some(), "{late:?}");

    // A restart on the same database keeps the enrolment; used recovery codes stay used.
    server.stop();
    server.start_again().await.unwrap();
    let left = server.recovery_codes();
    assert_eq!(left, codes[1..].to_vec(), "unused codes after a restart");
}
