//! Servers that answer garbage: proxy error pages, HTML where JSON belongs, empty and cut
//! bodies, fields of the wrong type, access tokens that are not JWTs or are already expired,
//! claims at the ends of i64, and bodies far beyond the size cap.

use std::sync::atomic::Ordering;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;
use tessera_session::{ApiRequest, Password};

use crate::common::fault_client::{
    assert_error, bounded, client, client_with, login_error, login_refused_cleanly, refresh_error,
    signed_in, PASSWORD,
};
use crate::common::forged_tokens::{fresh_claims, jwt, now_secs, refresh_claims};
use crate::common::raw_server::{canned, json_reply, Mode, RawServer, HUGE};

#[tokio::test]
async fn a_proxy_error_page_is_a_server_error_at_sign_in_and_keeps_the_session_at_refresh() {
    let page = canned(
        "502 Bad Gateway",
        &[("Content-Type", "text/html")],
        b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>",
    );
    let (err, c, _s) = login_error(page.clone()).await;
    login_refused_cleanly(&err, &c, "server_error", "The server failed (502)");
    assert!(err.is_transient());

    let err = refresh_error(page).await;
    assert_error(&err, "server_error", "(502)");
}

#[tokio::test]
async fn html_where_json_belongs_is_a_bad_response_not_a_parse_panic() {
    // A captive portal or a web server answering 200 with a page.
    let portal = canned(
        "200 OK",
        &[("Content-Type", "text/html")],
        b"<!doctype html><title>Sign in to the Wi-Fi</title>",
    );
    let (err, c, _s) = login_error(portal.clone()).await;
    login_refused_cleanly(&err, &c, "bad_response", "not JSON");
    let err = refresh_error(portal).await;
    assert_error(&err, "bad_response", "not JSON");

    // Error statuses with HTML bodies keep their own meaning.
    let (err, c, _s) = login_error(canned(
        "401 Unauthorized",
        &[("Content-Type", "text/html")],
        b"<h1>401</h1>",
    ))
    .await;
    login_refused_cleanly(&err, &c, "invalid_credentials", "credentials");
    let (err, c, _s) = login_error(canned(
        "404 Not Found",
        &[("Content-Type", "text/html")],
        b"<h1>Not Found</h1>",
    ))
    .await;
    login_refused_cleanly(&err, &c, "http_error", "404");
}

#[tokio::test]
async fn empty_and_truncated_bodies_are_bad_responses() {
    let token = jwt(&fresh_claims(now_secs()));
    let cut = format!(r#"{{"access": "{token}", "refresh": "{}"#, &token[..20]);
    for (name, mode) in [
        ("empty", json_reply("200 OK", "")),
        ("truncated JSON", json_reply("200 OK", &cut)),
        ("whitespace", json_reply("200 OK", "  \n ")),
    ] {
        let (err, c, _s) = login_error(mode.clone()).await;
        login_refused_cleanly(&err, &c, "bad_response", "not JSON");
        let err = refresh_error(mode).await;
        assert_error(&err, "bad_response", "not JSON");
        eprintln!("{name}: {err}");
    }
}

#[tokio::test]
async fn wrong_field_types_are_bad_responses() {
    let now = now_secs();
    let access = jwt(&fresh_claims(now));
    let refresh = jwt(&refresh_claims(now));
    let cases: Vec<(String, &str)> = vec![
        (json!({"access": 123, "refresh": refresh}).to_string(), "\"access\" field is not a JWT"),
        (json!({"access": [access], "refresh": refresh}).to_string(), "\"access\" field is not a JWT"),
        (json!({"access": {"token": access}, "refresh": refresh}).to_string(), "\"access\" field is not a JWT"),
        (json!({"access": true, "refresh": refresh}).to_string(), "\"access\" field is not a JWT"),
        (json!({"access": null, "refresh": refresh}).to_string(), "no \"access\" field"),
        (json!({"access": access, "refresh": 42}).to_string(), "\"refresh\" field is not a JWT"),
        (json!([access, refresh]).to_string(), "not a JSON object"),
        (json!(access).to_string(), "not a JSON object"),
        ("null".to_owned(), "not a JSON object"),
        // a JWT-shaped string whose parts are not JSON
        (
            json!({"access": format!("{}.{}.c2ln", URL_SAFE_NO_PAD.encode("{\"alg\":\"HS256\"}"), URL_SAFE_NO_PAD.encode("not json")), "refresh": refresh}).to_string(),
            "not a readable JWT",
        ),
        // claims of the wrong JSON type
        (json!({"access": jwt(&json!(["exp", 1])), "refresh": refresh}).to_string(), "not a readable JWT"),
        (json!({"access": jwt(&json!({"token_type": "access", "exp": "tomorrow", "iat": now})), "refresh": refresh}).to_string(), "no numeric \"exp\""),
        (json!({"access": jwt(&json!({"token_type": 5, "exp": now + 3600})), "refresh": refresh}).to_string(), "a token of type \"access\" belongs"),
        (json!({"access": refresh, "refresh": refresh}).to_string(), "type \"refresh\" where a token of type \"access\" belongs"),
    ];
    for (body, needle) in cases {
        let (err, c, _s) = login_error(json_reply("200 OK", &body)).await;
        login_refused_cleanly(&err, &c, "bad_response", needle);
        // At refresh time the refresh field is optional, the access field is not.
        if !needle.contains("\"refresh\" field") {
            let err = refresh_error(json_reply("200 OK", &body)).await;
            assert_error(&err, "bad_response", needle);
        }
    }
}

#[tokio::test]
async fn an_access_token_that_is_not_a_jwt_is_refused() {
    let refresh = jwt(&refresh_claims(now_secs()));
    for access in [
        "",
        "not-a-jwt",
        "a.b",
        "a.b.c.d",
        "opaque token with spaces",
        "aGVsbG8.d29ybGQ.",
    ] {
        let body = json!({"access": access, "refresh": refresh}).to_string();
        let (err, c, _s) = login_error(json_reply("200 OK", &body)).await;
        assert_eq!(err.code(), "bad_response", "{access:?}: {err}");
        login_refused_cleanly(&err, &c, "bad_response", "JWT");
        let err = refresh_error(json_reply("200 OK", &body)).await;
        assert_error(&err, "bad_response", "JWT");
    }
}

#[tokio::test]
async fn an_access_token_without_exp_or_already_expired_is_refused() {
    let now = now_secs();
    let refresh = jwt(&refresh_claims(now));
    for (claims, needle) in [
        (
            json!({"token_type": "access", "iat": now, "jti": "x", "user_id": "7"}),
            "no numeric \"exp\"",
        ),
        (
            json!({"token_type": "access", "exp": null, "iat": now}),
            "no numeric \"exp\"",
        ),
        // No iat and no Date header: the local clock decides.
        (
            json!({"token_type": "access", "exp": now - 10}),
            "already expired",
        ),
        // exp not after iat (a zero or negative ACCESS_TOKEN_LIFETIME).
        (
            json!({"token_type": "access", "exp": now, "iat": now}),
            "already expired",
        ),
        (
            json!({"token_type": "access", "exp": now - 300, "iat": now}),
            "already expired",
        ),
        (
            json!({"token_type": "access", "exp": i64::MIN, "iat": i64::MIN}),
            "already expired",
        ),
    ] {
        let body = json!({"access": jwt(&claims), "refresh": refresh}).to_string();
        let (err, c, _s) = login_error(json_reply("200 OK", &body)).await;
        login_refused_cleanly(&err, &c, "bad_response", needle);
        let err = refresh_error(json_reply("200 OK", &body)).await;
        assert_error(&err, "bad_response", needle);
    }
}

#[tokio::test]
async fn extreme_claim_values_neither_panic_nor_loop() {
    // Claims at the ends of i64 (and beyond, as floats): the engine's time arithmetic saturates.
    let refresh = jwt(&json!({"token_type": "refresh", "exp": i64::MAX, "iat": i64::MIN}));
    for (claims, accepted) in [
        (
            json!({"token_type": "access", "exp": i64::MAX, "iat": i64::MIN, "user_id": "7"}),
            true,
        ),
        (
            json!({"token_type": "access", "exp": 1e300, "iat": -1e300}),
            true,
        ),
        (
            json!({"token_type": "access", "exp": 9_000_000_000_000_000_i64, "iat": 9_000_000_000_000_000_i64 - 300}),
            true,
        ),
        // The server's clock saturates at the end of time, where nothing is still valid.
        (
            json!({"token_type": "access", "exp": i64::MAX, "iat": i64::MAX - 1}),
            false,
        ),
    ] {
        let body = json!({"access": jwt(&claims), "refresh": refresh}).to_string();
        let server = RawServer::start(json_reply("200 OK", &body)).await;
        let c = client(&server.url());
        let result = bounded(
            20,
            "login",
            c.session.login("alice", Password::new(PASSWORD.to_owned())),
        )
        .await;
        if !accepted {
            login_refused_cleanly(&result.unwrap_err(), &c, "bad_response", "already expired");
            continue;
        }
        assert!(result.unwrap().signed_in, "{claims}");
        // Status, a refresh check, a restore in a "new process": no overflow anywhere.
        c.clock.advance(Duration::from_secs(3600));
        let _ = serde_json::to_string(&c.session.status()).unwrap();
        let again = client_with(c.session.profile().clone());
        for (k, v) in c.store.snapshot() {
            tessera_session::SecretStore::set(again.store.as_ref(), &k, &v).unwrap();
        }
        bounded(10, "restore", again.session.load()).await.unwrap();
        let connections = server.connections();
        // The request goes to the canned server (which answers the same body): a 200 response.
        let r = bounded(
            10,
            "request",
            again.session.request(ApiRequest::get("/api/echo/")),
        )
        .await
        .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(
            server.connections(),
            connections + 1,
            "{claims}: a refresh was attempted for a token that is not due"
        );
    }
}

#[tokio::test]
async fn a_fifty_megabyte_body_is_cut_off_at_the_cap() {
    for chunked in [false, true] {
        let mode = Mode::Huge { chunked };
        let (err, c, server) = login_error(mode.clone()).await;
        login_refused_cleanly(&err, &c, "bad_response", "larger than 1048576 bytes");
        let written = server.body_bytes_written.load(Ordering::SeqCst);
        assert!(
            !server.huge_completed.load(Ordering::SeqCst),
            "chunked={chunked}: the client read all 50 MB ({written} bytes written)"
        );
        // With a Content-Length the client stops before reading; chunked, it reads up to the
        // cap. Either way the server could write no more than the cap plus socket buffers.
        assert!(
            written < HUGE / 4,
            "chunked={chunked}: {written} bytes were accepted"
        );

        let err = refresh_error(mode.clone()).await;
        assert_error(&err, "bad_response", "larger than");

        // An API response: the same cap, the session untouched.
        let server = RawServer::start(mode).await;
        let c = signed_in(&server.url()).await;
        let err = bounded(
            20,
            "request",
            c.session.request(ApiRequest::get("/api/big/")),
        )
        .await
        .unwrap_err();
        assert_error(&err, "bad_response", "larger than");
        assert!(c.session.status().signed_in);
        assert!(!server.huge_completed.load(Ordering::SeqCst));
    }
}
