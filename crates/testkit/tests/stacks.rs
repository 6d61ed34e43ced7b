//! The real-package stacks (`tests/django/stacks/`), started through the testkit: for each
//! stack, sign-in with its own field names gives tokens, refresh rotates and blacklists, the
//! protected echo endpoint accepts the access token, logout blacklists where the stack has one,
//! and the `/_test/` controls count, inject failures and shift the clock at the stack's own
//! refresh path. dj-rest-auth also runs in cookie mode (with and without CSRF) and, for 7.2,
//! with TOTP MFA whose codes are computed here.
//!
//! Needs `.venv-stacks/<stack>` (`bash scripts/setup.sh test`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "stacks/dj_rest_auth.rs"]
mod dj_rest_auth;
#[path = "stacks/support.rs"]
mod support;

use reqwest::header::WWW_AUTHENTICATE;
use serde_json::json;
use tessera_testkit::{ServerOptions, Stack, StackOptions, TestServer};

use support::{
    assert_echoed, bearer, claims, echo, options, post, send, start, Extra, ACCESS_LIFETIME, DEMO,
    PASSWORD, TOTP_SECRET,
};

/// Body-mode flow for any stack: login, echo, me, refresh + rotation + blacklist, logout,
/// counters, injected refresh failure, clock shift.
async fn body_flow(stack: Stack) {
    let server = start(stack, options(), StackOptions::default()).await;

    // Sign-in with the stack's own fields.
    let wrong = post(&server, stack.login_path(), stack.login_body(DEMO, "wrong")).await;
    assert!(
        matches!(wrong.status, 400 | 401),
        "wrong password: {wrong:?}"
    );
    let login = post(
        &server,
        stack.login_path(),
        stack.login_body(DEMO, PASSWORD),
    )
    .await;
    assert_eq!(login.status, 200, "login: {login:?}");
    let access = login.str(stack.login_access_field());
    let refresh = login.str(stack.login_refresh_field());
    let access_claims = claims(&access);
    assert_eq!(access_claims["token_type"], "access");
    let lifetime = access_claims["exp"].as_u64().unwrap() - access_claims["iat"].as_u64().unwrap();
    // `RefreshToken.for_user(user).access_token` (the tutorial) stamps `iat` a moment after the
    // refresh token's time its `exp` counts from: a second boundary may fall between them.
    assert!(
        (ACCESS_LIFETIME - 1..=ACCESS_LIFETIME).contains(&lifetime),
        "ServerOptions lifetime honoured: {lifetime}"
    );

    // Protected endpoints.
    assert_echoed(&echo(&server, stack, bearer(&access)).await);
    let anonymous = echo(&server, stack, Extra::default()).await;
    assert_eq!(anonymous.status, 401, "echo without token: {anonymous:?}");
    let me = send(&server, "GET", stack.me_path(), None, bearer(&access)).await;
    assert_eq!(me.status, 200, "me: {me:?}");
    assert_eq!(me.body["username"], DEMO);
    assert_eq!(me.body["email"], "demo@example.com");
    if let Some(verify) = stack.verify_path() {
        let verified = post(&server, verify, json!({"token": access})).await;
        assert_eq!(verified.status, 200, "verify: {verified:?}");
    }

    // Refresh rotates; the old refresh token is then blacklisted.
    let refreshed = post(&server, stack.refresh_path(), json!({"refresh": refresh})).await;
    assert_eq!(refreshed.status, 200, "refresh: {refreshed:?}");
    let new_access = refreshed.str("access");
    let new_refresh = refreshed.str("refresh");
    assert_ne!(new_refresh, refresh, "rotation");
    let reused = post(&server, stack.refresh_path(), json!({"refresh": refresh})).await;
    assert_eq!(reused.status, 401, "reused refresh: {reused:?}");
    assert!(
        reused.body.to_string().contains("blacklisted"),
        "{reused:?}"
    );
    assert_echoed(&echo(&server, stack, bearer(&new_access)).await);

    let refresh_path = stack.refresh_path();
    assert_eq!(
        server
            .count(&format!("POST {refresh_path} 200"))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        server
            .count(&format!("POST {refresh_path} 401"))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        server
            .count(&format!("POST {} 200", stack.echo_path()))
            .await
            .unwrap(),
        2
    );

    // Injected failure at the stack's own refresh path, then the clock shift.
    server.fail_next_refreshes(1, 503).await.unwrap();
    let failed = post(&server, refresh_path, json!({"refresh": new_refresh})).await;
    assert_eq!(failed.status, 503, "injected: {failed:?}");
    server
        .shift_clock(i64::try_from(ACCESS_LIFETIME).unwrap() + 60)
        .await
        .unwrap();
    let expired = echo(&server, stack, bearer(&new_access)).await;
    assert_eq!(
        expired.status, 401,
        "access after the clock shift: {expired:?}"
    );
    server.reset().await.unwrap();
    assert!(server.counters().await.unwrap().is_empty());
    assert_echoed(&echo(&server, stack, bearer(&new_access)).await);

    // Logout blacklists, where the stack has one.
    if let (Some(logout), Some(field)) = (stack.logout_path(), stack.logout_field()) {
        let out = post(&server, logout, json!({ field: new_refresh })).await;
        assert_eq!(out.status, 200, "logout: {out:?}");
        let after = post(&server, refresh_path, json!({"refresh": new_refresh})).await;
        assert_eq!(after.status, 401, "refresh after logout: {after:?}");
        let again = post(&server, logout, json!({ field: new_refresh })).await;
        assert!(
            matches!(again.status, 400 | 401),
            "second logout: {again:?}"
        );
    }
}

#[tokio::test]
async fn djoser_body_flow() {
    body_flow(Stack::Djoser).await;
}

#[tokio::test]
async fn dj_rest_auth_body_flow() {
    body_flow(Stack::DjRestAuth).await;
}

#[tokio::test]
async fn dj_rest_auth_legacy_body_flow() {
    body_flow(Stack::DjRestAuthLegacy).await;
}

#[tokio::test]
async fn ninja_jwt_body_flow() {
    body_flow(Stack::NinjaJwt).await;
}

#[tokio::test]
async fn tutorial_body_flow() {
    body_flow(Stack::Tutorial).await;
}

#[tokio::test]
async fn djoser_auth_header_type_jwt() {
    let stack = Stack::Djoser;
    let stack_options = StackOptions {
        auth_header_type: Some("JWT".to_owned()),
        ..StackOptions::default()
    };
    let server = start(stack, options(), stack_options).await;
    let login = post(
        &server,
        stack.login_path(),
        stack.login_body(DEMO, PASSWORD),
    )
    .await;
    let access = login.str("access");
    let jwt = Extra {
        authorization: Some(format!("JWT {access}")),
        ..Extra::default()
    };
    assert_echoed(&echo(&server, stack, jwt).await);
    let wrong = echo(&server, stack, bearer(&access)).await;
    assert_eq!(wrong.status, 401, "{wrong:?}");
    let challenge = wrong
        .headers
        .get(WWW_AUTHENTICATE)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(challenge.starts_with("JWT "), "{challenge}");
}

/// rotate=false and test_controls=false are honoured (ninja echoes the same refresh back,
/// simplejwt sends none), and the readiness probe works without the controls.
#[tokio::test]
async fn rotation_off_without_controls() {
    for stack in [Stack::NinjaJwt, Stack::Tutorial] {
        let server_options = ServerOptions {
            rotate: false,
            test_controls: false,
            ..options()
        };
        let server = start(stack, server_options, StackOptions::default()).await;
        assert!(server.counters().await.is_err());
        let login = post(
            &server,
            stack.login_path(),
            stack.login_body(DEMO, PASSWORD),
        )
        .await;
        let refresh = login.str(stack.login_refresh_field());
        let refreshed = post(&server, stack.refresh_path(), json!({"refresh": refresh})).await;
        assert_eq!(refreshed.status, 200, "{stack}: {refreshed:?}");
        match stack {
            Stack::NinjaJwt => assert_eq!(refreshed.str("refresh"), refresh),
            _ => assert!(refreshed.body.get("refresh").is_none(), "{refreshed:?}"),
        }
    }
}

#[tokio::test]
async fn options_a_stack_cannot_honour_are_refused() {
    let cookie = StackOptions {
        cookie_mode: true,
        ..StackOptions::default()
    };
    assert!(TestServer::start_stack(Stack::Djoser, options(), cookie)
        .await
        .is_err());
    let header = StackOptions {
        auth_header_type: Some("JWT".to_owned()),
        ..StackOptions::default()
    };
    assert!(TestServer::start_stack(Stack::NinjaJwt, options(), header)
        .await
        .is_err());
    let mfa = StackOptions {
        mfa_totp_secret: Some(TOTP_SECRET.to_owned()),
        ..StackOptions::default()
    };
    assert!(
        TestServer::start_stack(Stack::DjRestAuthLegacy, options(), mfa)
            .await
            .is_err()
    );
}

#[test]
fn every_stack_has_distinct_metadata() {
    let names: std::collections::BTreeSet<_> = Stack::ALL.iter().map(|s| s.name()).collect();
    assert_eq!(names.len(), Stack::ALL.len());
    for stack in Stack::ALL {
        assert!(
            stack.project_dir().join("requirements.txt").is_file(),
            "{stack}"
        );
        assert!(stack.echo_path().contains("echo"));
    }
}
