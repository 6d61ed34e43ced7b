//! The contract suite: black-box HTTP tests run against BOTH backends — the Django +
//! djangorestframework-simplejwt project (the reference) and the Rust reference backend.
//! Every case exists twice, `django::<case>` and `rust::<case>`, so a failure names the
//! backend. Status codes, body keys, `code` values and simplejwt's fixed English `detail`
//! strings are compared; where the two servers could differ, the Django run is the truth.
//!
//! Rust-only cases at the end cover what simplejwt does not offer (RS256 + JWKS) or does
//! worse (two concurrent rotations of one refresh token).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use base64::Engine as _;
use reqwest::header::{HeaderMap, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use serde_json::{json, Map, Value};
use tessera_testkit::{BackendKind, ServerOptions, SigningAlgorithm, TestServer};

const DEMO: &str = "demo";
const DEMO_PASSWORD: &str = "demo-password";
const NOT_PROVIDED: &str = "Authentication credentials were not provided.";
const BAD_HEADER: &str = "Authorization header must contain two space-delimited values";
const NOT_VALID_ANY: &str = "Given token not valid for any token type";

// ---------------------------------------------------------------------------------------------
// Harness

struct Reply {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

impl Reply {
    fn www_authenticate(&self) -> Option<&str> {
        self.headers
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .body
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        keys.sort();
        keys
    }
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.body)
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

async fn reply(response: reqwest::Response) -> Reply {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
    }
}

async fn post(server: &TestServer, path: &str, body: Value) -> Reply {
    reply(
        client()
            .post(server.url(path))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn post_raw(server: &TestServer, path: &str, content_type: &str, body: &str) -> Reply {
    let response = client()
        .post(server.url(path))
        .header(CONTENT_TYPE, content_type)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    reply(response).await
}

async fn get_with(server: &TestServer, path: &str, authorization: Option<&str>) -> Reply {
    let mut request = client().get(server.url(path));
    if let Some(value) = authorization {
        request = request.header(AUTHORIZATION, value);
    }
    reply(request.send().await.unwrap()).await
}

async fn get_bearer(server: &TestServer, path: &str, access: &str) -> Reply {
    get_with(server, path, Some(&format!("Bearer {access}"))).await
}

async fn start(kind: BackendKind, options: ServerOptions) -> TestServer {
    TestServer::start(kind, options)
        .await
        .unwrap_or_else(|err| panic!("starting the {kind} backend: {err:#}"))
}

async fn start_default(kind: BackendKind) -> TestServer {
    start(kind, ServerOptions::default()).await
}

/// Logs in as the demo user; returns (refresh, access).
async fn login(server: &TestServer) -> (String, String) {
    let r = post(
        server,
        "api/token/",
        json!({"username": DEMO, "password": DEMO_PASSWORD}),
    )
    .await;
    assert_eq!(r.status, 200, "login: {r:?}");
    (
        r.body["refresh"].as_str().unwrap().to_owned(),
        r.body["access"].as_str().unwrap().to_owned(),
    )
}

fn segment(token: &str, index: usize) -> Map<String, Value> {
    let part = token.split('.').nth(index).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn claims(token: &str) -> Map<String, Value> {
    segment(token, 1)
}

/// The 401 a protected endpoint gives for a rejected access token.
fn assert_access_rejected(r: &Reply, message: &str) {
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(
        r.body,
        json!({
            "detail": NOT_VALID_ANY,
            "code": "token_not_valid",
            "messages": [{"token_class": "AccessToken", "token_type": "access", "message": message}],
        })
    );
    assert_eq!(r.www_authenticate(), Some(r#"Bearer realm="api""#));
}

/// The 401 a token endpoint gives for a rejected token.
fn assert_token_rejected(r: &Reply, detail: &str) {
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(r.body, json!({"detail": detail, "code": "token_not_valid"}));
    assert_eq!(r.www_authenticate(), Some(r#"Bearer realm="api""#));
}

fn tamper_signature(token: &str) -> String {
    let (head, signature) = token.rsplit_once('.').unwrap();
    let mut bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(signature)
        .unwrap();
    bytes[0] ^= 0x01;
    format!(
        "{head}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

fn tamper_payload(token: &str, claim: &str, value: Value) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut payload = claims(token);
    payload.insert(claim.to_owned(), value);
    parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(&payload).unwrap());
    parts.join(".")
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod django {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(tessera_testkit::BackendKind::Django).await
                }
            )*
        }
        mod rust {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(tessera_testkit::BackendKind::Rust).await
                }
            )*
        }
    };
}

contract!(
    obtain_pair_has_simplejwt_claims,
    bad_credentials,
    missing_and_invalid_fields,
    request_body_formats,
    refresh_with_rotation_blacklists_the_old_token,
    refresh_without_rotation,
    rotation_without_blacklist_keeps_old_token_usable,
    verify,
    blacklist_logout,
    expired_access_by_clock,
    expired_access_by_real_time,
    expired_refresh,
    refresh_token_used_as_access_and_vice_versa,
    tampered_tokens,
    authorization_header_variants,
    protected_demo_endpoints,
    methods_and_paths,
    register,
    test_controls_count_and_inject,
    restart_keeps_sessions,
);

// ---------------------------------------------------------------------------------------------
// Cases

async fn obtain_pair_has_simplejwt_claims(kind: BackendKind) {
    let server = start_default(kind).await;
    let r = post(
        &server,
        "api/token/",
        json!({"username": DEMO, "password": DEMO_PASSWORD}),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.keys(), ["access", "refresh"]);
    let access = claims(r.body["access"].as_str().unwrap());
    let refresh = claims(r.body["refresh"].as_str().unwrap());
    for (token, kind_name, lifetime) in [(&access, "access", 300), (&refresh, "refresh", 86_400)] {
        let mut keys: Vec<&str> = token.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["exp", "iat", "jti", "token_type", "user_id"]);
        assert_eq!(token["token_type"], kind_name);
        assert!(
            token["user_id"].is_string(),
            "user_id is a string: {token:?}"
        );
        let iat = token["iat"].as_i64().unwrap();
        assert_eq!(token["exp"].as_i64().unwrap() - iat, lifetime);
        let jti = token["jti"].as_str().unwrap();
        assert_eq!(jti.len(), 32);
        assert!(jti.chars().all(|c| c.is_ascii_hexdigit()));
    }
    assert_eq!(access["user_id"], refresh["user_id"]);
    assert_ne!(access["jti"], refresh["jti"]);
    let header = segment(r.body["access"].as_str().unwrap(), 0);
    assert_eq!(header["alg"], "HS256");
    assert_eq!(header["typ"], "JWT");
}

async fn bad_credentials(kind: BackendKind) {
    let server = start_default(kind).await;
    for body in [
        json!({"username": DEMO, "password": "wrong-password"}),
        json!({"username": "nobody", "password": DEMO_PASSWORD}),
        json!({"username": "DEMO", "password": DEMO_PASSWORD}),
    ] {
        let r = post(&server, "api/token/", body.clone()).await;
        assert_eq!(r.status, 401, "{body}: {r:?}");
        assert_eq!(
            r.body,
            json!({"detail": "No active account found with the given credentials"})
        );
        assert_eq!(r.www_authenticate(), Some(r#"Bearer realm="api""#));
    }
}

async fn missing_and_invalid_fields(kind: BackendKind) {
    let server = start_default(kind).await;
    let cases = [
        (
            json!({"username": DEMO}),
            json!({"password": ["This field is required."]}),
        ),
        (
            json!({}),
            json!({"username": ["This field is required."], "password": ["This field is required."]}),
        ),
        (
            json!({"username": null, "password": ""}),
            json!({"username": ["This field may not be null."], "password": ["This field may not be blank."]}),
        ),
        (
            json!({"username": true, "password": "   "}),
            json!({"username": ["Not a valid string."], "password": ["This field may not be blank."]}),
        ),
        (
            json!({"username": 5, "password": {}}),
            json!({"password": ["Not a valid string."]}),
        ),
        (
            json!([1]),
            json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
        ),
        (
            json!("text"),
            json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]}),
        ),
        (
            json!(null),
            json!({"non_field_errors": ["No data provided"]}),
        ),
    ];
    for (body, expected) in cases {
        let r = post(&server, "api/token/", body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {r:?}");
        assert_eq!(r.body, expected, "{body}");
        assert_eq!(r.www_authenticate(), None);
    }
    for (path, field) in [
        ("api/token/refresh/", "refresh"),
        ("api/token/verify/", "token"),
        ("api/token/blacklist/", "refresh"),
    ] {
        let r = post(&server, path, json!({})).await;
        assert_eq!(r.status, 400, "{path}: {r:?}");
        assert_eq!(
            r.body,
            json!({field: ["This field is required."]}),
            "{path}"
        );
    }
    // simplejwt's password field trims whitespace, so padded passwords still log in.
    let r = post(
        &server,
        "api/token/",
        json!({"username": format!(" {DEMO} "), "password": format!("  {DEMO_PASSWORD}\t")}),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
}

async fn request_body_formats(kind: BackendKind) {
    let server = start_default(kind).await;
    let form = post_raw(
        &server,
        "api/token/",
        "application/x-www-form-urlencoded",
        &format!("username={DEMO}&password={DEMO_PASSWORD}"),
    )
    .await;
    assert_eq!(form.status, 200, "form login: {form:?}");
    assert_eq!(form.keys(), ["access", "refresh"]);

    let bad = post_raw(&server, "api/token/", "application/json", "{bad").await;
    assert_eq!(bad.status, 400, "{bad:?}");
    assert_eq!(bad.keys(), ["detail"]);
    assert!(bad.body["detail"]
        .as_str()
        .unwrap()
        .starts_with("JSON parse error - "));

    let plain = post_raw(&server, "api/token/", "text/plain", "x").await;
    assert_eq!(plain.status, 415, "{plain:?}");
    assert_eq!(
        plain.body,
        json!({"detail": "Unsupported media type \"text/plain\" in request."})
    );

    let empty = post_raw(&server, "api/token/", "application/json", "").await;
    assert_eq!(empty.status, 400, "{empty:?}");
    assert_eq!(empty.keys(), ["password", "username"]);
}

async fn refresh_with_rotation_blacklists_the_old_token(kind: BackendKind) {
    let server = start_default(kind).await;
    let (refresh, _) = login(&server).await;
    let r = post(&server, "api/token/refresh/", json!({"refresh": refresh})).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.keys(), ["access", "refresh"]);
    let new_refresh = r.body["refresh"].as_str().unwrap().to_owned();
    let new_access = r.body["access"].as_str().unwrap().to_owned();
    assert_ne!(new_refresh, refresh);
    let old_claims = claims(&refresh);
    let new_claims = claims(&new_refresh);
    assert_ne!(old_claims["jti"], new_claims["jti"]);
    assert_eq!(old_claims["user_id"], new_claims["user_id"]);
    assert_eq!(claims(&new_access)["token_type"], "access");
    assert_eq!(
        get_bearer(&server, "api/hello/", &new_access).await.status,
        200
    );

    // Reusing the rotated token: blacklisted, no grace period.
    let reuse = post(&server, "api/token/refresh/", json!({"refresh": refresh})).await;
    assert_token_rejected(&reuse, "Token is blacklisted");
    // verify says so too, as a validation error (simplejwt's TokenVerifySerializer).
    let verify = post(&server, "api/token/verify/", json!({"token": refresh})).await;
    assert_eq!(verify.status, 400, "{verify:?}");
    assert_eq!(
        verify.body,
        json!({"non_field_errors": ["Token is blacklisted"]})
    );

    // The new one keeps working, once.
    let again = post(
        &server,
        "api/token/refresh/",
        json!({"refresh": new_refresh}),
    )
    .await;
    assert_eq!(again.status, 200, "{again:?}");
}

async fn refresh_without_rotation(kind: BackendKind) {
    let options = ServerOptions {
        rotate: false,
        blacklist_after_rotation: false,
        ..ServerOptions::default()
    };
    let server = start(kind, options).await;
    let (refresh, _) = login(&server).await;
    for _ in 0..2 {
        let r = post(&server, "api/token/refresh/", json!({"refresh": refresh})).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.keys(), ["access"], "no refresh token without rotation");
        let access = r.body["access"].as_str().unwrap();
        let c = claims(access);
        assert_eq!(c["token_type"], "access");
        assert_eq!(c["user_id"], claims(&refresh)["user_id"]);
        assert_eq!(get_bearer(&server, "api/me/", access).await.status, 200);
    }
}

async fn rotation_without_blacklist_keeps_old_token_usable(kind: BackendKind) {
    let options = ServerOptions {
        blacklist_after_rotation: false,
        ..ServerOptions::default()
    };
    let server = start(kind, options).await;
    let (refresh, _) = login(&server).await;
    let first = post(&server, "api/token/refresh/", json!({"refresh": refresh})).await;
    assert_eq!(first.keys(), ["access", "refresh"], "{first:?}");
    let second = post(&server, "api/token/refresh/", json!({"refresh": refresh})).await;
    assert_eq!(second.status, 200, "old token still valid: {second:?}");
    let verify = post(&server, "api/token/verify/", json!({"token": refresh})).await;
    assert_eq!(verify.status, 200, "{verify:?}");
}

async fn verify(kind: BackendKind) {
    let server = start_default(kind).await;
    let (refresh, access) = login(&server).await;
    for token in [&access, &refresh] {
        let r = post(&server, "api/token/verify/", json!({"token": token})).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.body, json!({}));
    }
    let r = post(&server, "api/token/verify/", json!({"token": "garbage"})).await;
    assert_token_rejected(&r, "Token is invalid");
    let r = post(
        &server,
        "api/token/verify/",
        json!({"token": tamper_signature(&access)}),
    )
    .await;
    assert_token_rejected(&r, "Token is invalid");
}

async fn blacklist_logout(kind: BackendKind) {
    let server = start_default(kind).await;
    let (refresh, access) = login(&server).await;
    let r = post(&server, "api/token/blacklist/", json!({"refresh": refresh})).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, json!({}));

    let r = post(&server, "api/token/refresh/", json!({"refresh": refresh})).await;
    assert_token_rejected(&r, "Token is blacklisted");
    let r = post(&server, "api/token/blacklist/", json!({"refresh": refresh})).await;
    assert_token_rejected(&r, "Token is blacklisted");
    let r = post(&server, "api/token/blacklist/", json!({"refresh": access})).await;
    assert_token_rejected(&r, "Token has wrong type");
    let r = post(
        &server,
        "api/token/blacklist/",
        json!({"refresh": "garbage"}),
    )
    .await;
    assert_token_rejected(&r, "Token is invalid");
    // Access tokens are stateless: they live until they expire.
    assert_eq!(get_bearer(&server, "api/hello/", &access).await.status, 200);
}

async fn expired_access_by_clock(kind: BackendKind) {
    let server = start_default(kind).await;
    let (refresh, access) = login(&server).await;
    server.shift_clock(301).await.unwrap();
    let r = get_bearer(&server, "api/hello/", &access).await;
    assert_access_rejected(&r, "Token is expired");
    let r = post(&server, "api/token/verify/", json!({"token": access})).await;
    assert_token_rejected(&r, "Token is expired");
    // The refresh token still works, and the new access token is valid on the shifted clock.
    let r = post(&server, "api/token/refresh/", json!({"refresh": refresh})).await;
    assert_eq!(r.status, 200, "{r:?}");
    let fresh = r.body["access"].as_str().unwrap();
    assert_eq!(get_bearer(&server, "api/hello/", fresh).await.status, 200);
    // Back to real time, the token issued "in the future" is refused (PyJWT's iat check).
    server.reset().await.unwrap();
    let r = get_bearer(&server, "api/hello/", fresh).await;
    assert_access_rejected(&r, "Token is invalid");
}

async fn expired_access_by_real_time(kind: BackendKind) {
    let options = ServerOptions {
        access_lifetime_secs: 1,
        ..ServerOptions::default()
    };
    let server = start(kind, options).await;
    let (_, access) = login(&server).await;
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let r = get_bearer(&server, "api/me/", &access).await;
    assert_access_rejected(&r, "Token is expired");
}

async fn expired_refresh(kind: BackendKind) {
    let options = ServerOptions {
        refresh_lifetime_secs: 600,
        ..ServerOptions::default()
    };
    let server = start(kind, options).await;
    let (refresh, _) = login(&server).await;
    server.shift_clock(601).await.unwrap();
    let r = post(&server, "api/token/refresh/", json!({"refresh": refresh})).await;
    assert_token_rejected(&r, "Token is expired");
    let r = post(&server, "api/token/blacklist/", json!({"refresh": refresh})).await;
    assert_token_rejected(&r, "Token is expired");
}

async fn refresh_token_used_as_access_and_vice_versa(kind: BackendKind) {
    let server = start_default(kind).await;
    let (refresh, access) = login(&server).await;
    let r = get_bearer(&server, "api/hello/", &refresh).await;
    assert_access_rejected(&r, "Token has wrong type");
    let r = post(&server, "api/token/refresh/", json!({"refresh": access})).await;
    assert_token_rejected(&r, "Token has wrong type");
}

async fn tampered_tokens(kind: BackendKind) {
    let server = start_default(kind).await;
    let (refresh, access) = login(&server).await;
    let forged_user = tamper_payload(&access, "user_id", json!("999"));
    let forged_exp = tamper_payload(&access, "exp", json!(4_102_444_800_i64));
    for bad in [
        tamper_signature(&access),
        forged_user,
        forged_exp,
        "garbage".to_owned(),
        "a.b.c".to_owned(),
    ] {
        let r = get_bearer(&server, "api/hello/", &bad).await;
        assert_access_rejected(&r, "Token is invalid");
    }
    let r = post(
        &server,
        "api/token/refresh/",
        json!({"refresh": tamper_signature(&refresh)}),
    )
    .await;
    assert_token_rejected(&r, "Token is invalid");
}

async fn authorization_header_variants(kind: BackendKind) {
    let server = start_default(kind).await;
    let (_, access) = login(&server).await;
    let not_provided = json!({"detail": NOT_PROVIDED});
    let bad_header = json!({"detail": BAD_HEADER, "code": "bad_authorization_header"});
    let cases: Vec<(Option<String>, u16, Value)> = vec![
        (None, 401, not_provided.clone()),
        (Some(String::new()), 401, not_provided.clone()),
        (Some("Bearer".into()), 401, bad_header.clone()),
        (
            Some(format!("Bearer {access} extra")),
            401,
            bad_header.clone(),
        ),
        (Some(format!("Token {access}")), 401, not_provided.clone()),
        (Some(format!("bearer {access}")), 401, not_provided.clone()),
        (Some(format!("JWT {access}")), 401, not_provided.clone()),
        (
            Some(format!("Bearer   {access}")),
            200,
            json!({"message": "Hello, World!"}),
        ),
        (
            Some(format!("Bearer {access}")),
            200,
            json!({"message": "Hello, World!"}),
        ),
    ];
    for (header, status, body) in cases {
        let r = get_with(&server, "api/hello/", header.as_deref()).await;
        assert_eq!(r.status, status, "{header:?}: {r:?}");
        assert_eq!(r.body, body, "{header:?}");
        if status == 401 {
            assert_eq!(
                r.www_authenticate(),
                Some(r#"Bearer realm="api""#),
                "{header:?}"
            );
        }
    }
}

async fn protected_demo_endpoints(kind: BackendKind) {
    let server = start_default(kind).await;
    let (_, access) = login(&server).await;
    let hello = get_bearer(&server, "api/hello/", &access).await;
    assert_eq!(hello.body, json!({"message": "Hello, World!"}));
    let me = get_bearer(&server, "api/me/", &access).await;
    assert_eq!(me.status, 200, "{me:?}");
    assert_eq!(me.keys(), ["email", "id", "username"]);
    assert_eq!(me.body["username"], DEMO);
    assert_eq!(me.body["email"], "");
    assert_eq!(
        me.body["id"].to_string(),
        claims(&access)["user_id"].as_str().unwrap()
    );

    let payload = json!({"a": [1, 2, {"b": null}], "s": "x"});
    let echo = reply(
        client()
            .post(server.url("api/echo/"))
            .bearer_auth(&access)
            .json(&payload)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(echo.status, 200, "{echo:?}");
    assert_eq!(echo.body, json!({"echo": payload, "user": DEMO}));
    let empty = reply(
        client()
            .post(server.url("api/echo/"))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(empty.body, json!({"echo": {}, "user": DEMO}));

    for path in ["api/hello/", "api/me/"] {
        let r = get_with(&server, path, None).await;
        assert_eq!(r.status, 401, "{path}");
        assert_eq!(r.body, json!({"detail": NOT_PROVIDED}));
    }
    let r = reply(
        client()
            .post(server.url("api/echo/"))
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(r.body, json!({"detail": NOT_PROVIDED}));
}

async fn methods_and_paths(kind: BackendKind) {
    let server = start_default(kind).await;
    let (_, access) = login(&server).await;
    let r = get_with(&server, "api/token/", None).await;
    assert_eq!(r.status, 405, "{r:?}");
    assert_eq!(r.body, json!({"detail": "Method \"GET\" not allowed."}));
    // Protected views authenticate before they look at the method.
    let r = reply(
        client()
            .post(server.url("api/hello/"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 401, "{r:?}");
    let r = reply(
        client()
            .post(server.url("api/hello/"))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 405, "{r:?}");
    assert_eq!(r.body, json!({"detail": "Method \"POST\" not allowed."}));
    // Django's APPEND_SLASH.
    let r = reply(
        client()
            .post(server.url("api/token"))
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 301, "{r:?}");
    assert_eq!(r.headers["location"], "/api/token/");
    let r = get_with(&server, "api/nothing/", None).await;
    assert_eq!(r.status, 404, "{r:?}");
}

async fn register(kind: BackendKind) {
    let server = start_default(kind).await;
    let r = post(
        &server,
        "api/register/",
        json!({"username": "alice", "email": "Alice@Example.COM", "password": "correct-horse"}),
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.keys(), ["email", "id", "username"], "never the password");
    assert_eq!(r.body["username"], "alice");
    assert_eq!(r.body["email"], "Alice@example.com");
    assert!(r.body["id"].is_i64());

    let login = post(
        &server,
        "api/token/",
        json!({"username": "alice", "password": "correct-horse"}),
    )
    .await;
    assert_eq!(login.status, 200, "{login:?}");
    let access = login.body["access"].as_str().unwrap();
    let me = get_bearer(&server, "api/me/", access).await;
    assert_eq!(me.body, r.body);

    let cases = [
        (
            json!({"username": "alice", "email": "bad", "password": "short"}),
            json!({
                "username": ["A user with that username already exists."],
                "email": ["Enter a valid email address."],
                "password": ["Ensure this field has at least 8 characters."],
            }),
        ),
        (
            json!({"username": "bad name!", "email": "", "password": ""}),
            json!({
                "username": ["Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."],
                "email": ["This field may not be blank."],
                "password": ["This field may not be blank."],
            }),
        ),
        (
            json!({}),
            json!({
                "username": ["This field is required."],
                "email": ["This field is required."],
                "password": ["This field is required."],
            }),
        ),
    ];
    for (body, expected) in cases {
        let r = post(&server, "api/register/", body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {r:?}");
        assert_eq!(r.body, expected, "{body}");
    }
    // Registration ignores any Authorization header.
    let r = reply(
        client()
            .post(server.url("api/register/"))
            .header(AUTHORIZATION, "Bearer garbage")
            .json(&json!({"username": "bob", "email": "b@x.io", "password": "long-enough"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
}

async fn test_controls_count_and_inject(kind: BackendKind) {
    let server = start_default(kind).await;
    assert!(
        server.counters().await.unwrap().is_empty(),
        "a fresh server has counted nothing (not even the readiness probe)"
    );
    let (refresh, access) = login(&server).await;
    get_bearer(&server, "api/hello/", &access).await;
    get_with(&server, "api/hello/", None).await;
    assert_eq!(server.count("POST /api/token/ 200").await.unwrap(), 1);
    assert_eq!(server.count("GET /api/hello/ 200").await.unwrap(), 1);
    assert_eq!(server.count("GET /api/hello/ 401").await.unwrap(), 1);
    assert!(
        server
            .counters()
            .await
            .unwrap()
            .keys()
            .all(|k| !k.contains("/_test/")),
        "control requests are not counted"
    );

    server
        .fail_next_refreshes_with_retry_after(2, 503, 7)
        .await
        .unwrap();
    for _ in 0..2 {
        let r = post(&server, "api/token/refresh/", json!({"refresh": refresh})).await;
        assert_eq!(r.status, 503, "{r:?}");
        assert_eq!(r.headers["retry-after"], "7");
    }
    let r = post(&server, "api/token/refresh/", json!({"refresh": refresh})).await;
    assert_eq!(r.status, 200, "injected failures are used up: {r:?}");
    assert_eq!(
        server.count("POST /api/token/refresh/ 503").await.unwrap(),
        2
    );
    assert_eq!(
        server.count("POST /api/token/refresh/ 200").await.unwrap(),
        1
    );

    server.set_delay_ms(300).await.unwrap();
    let started = std::time::Instant::now();
    get_bearer(&server, "api/hello/", &access).await;
    assert!(started.elapsed() >= Duration::from_millis(300));

    server.reset().await.unwrap();
    assert!(server.counters().await.unwrap().is_empty());
    let started = std::time::Instant::now();
    get_bearer(&server, "api/hello/", &access).await;
    assert!(
        started.elapsed() < Duration::from_millis(300),
        "reset clears the delay"
    );

    let real = claims(&access)["iat"].as_i64().unwrap();
    let shifted = server.shift_clock(1000).await.unwrap();
    assert!((shifted - real - 1000).abs() <= 5, "{shifted} vs {real}");
    let shifted = server.shift_clock(-400).await.unwrap();
    assert!(
        (shifted - real - 600).abs() <= 5,
        "cumulative: {shifted} vs {real}"
    );
}

async fn restart_keeps_sessions(kind: BackendKind) {
    let mut server = start_default(kind).await;
    let (refresh, access) = login(&server).await;
    let port = server.port();
    server.stop();
    assert!(
        client().get(server.url("api/hello/")).send().await.is_err(),
        "a stopped server refuses connections"
    );
    server.start_again().await.unwrap();
    assert_eq!(server.port(), port);
    assert_eq!(get_bearer(&server, "api/hello/", &access).await.status, 200);
    let r = post(&server, "api/token/refresh/", json!({"refresh": refresh})).await;
    assert_eq!(r.status, 200, "{r:?}");
    // The blacklist survived too.
    let r = post(&server, "api/token/refresh/", json!({"refresh": refresh})).await;
    assert_token_rejected(&r, "Token is blacklisted");
}

// ---------------------------------------------------------------------------------------------
// Rust-only: what simplejwt does not offer or does worse.

#[tokio::test]
async fn rust_only_concurrent_rotation_has_one_winner() {
    // simplejwt checks the blacklist and blacklists in separate steps, so two racing
    // refreshes with one token can both succeed. The Rust backend blacklists atomically.
    let server = start_default(BackendKind::Rust).await;
    let (refresh, _) = login(&server).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let url = server.url("api/token/refresh/");
        let refresh = refresh.clone();
        tasks.spawn(async move {
            client()
                .post(url)
                .json(&json!({"refresh": refresh}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
    }
    let mut statuses = Vec::new();
    while let Some(status) = tasks.join_next().await {
        statuses.push(status.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        15,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn rust_only_rs256_tokens_verify_with_the_published_jwks() {
    let options = ServerOptions {
        algorithm: SigningAlgorithm::Rs256,
        ..ServerOptions::default()
    };
    let server = start(BackendKind::Rust, options).await;
    let (refresh, access) = login(&server).await;
    let jwks = get_with(&server, "api/jwks/", None).await;
    assert_eq!(jwks.status, 200);
    let key = &jwks.body["keys"][0];
    assert_eq!(key["kty"], "RSA");
    assert!(key.get("d").is_none());
    let header = segment(&access, 0);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], key["kid"]);
    let decoding = jsonwebtoken::DecodingKey::from_rsa_components(
        key["n"].as_str().unwrap(),
        key["e"].as_str().unwrap(),
    )
    .unwrap();
    let validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    let data = jsonwebtoken::decode::<Map<String, Value>>(&access, &decoding, &validation).unwrap();
    assert_eq!(data.claims["token_type"], "access");
    // Everything else behaves as under HS256.
    assert_eq!(get_bearer(&server, "api/hello/", &access).await.status, 200);
    let r = post(&server, "api/token/refresh/", json!({"refresh": refresh})).await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = get_bearer(&server, "api/hello/", &tamper_signature(&access)).await;
    assert_access_rejected(&r, "Token is invalid");
}

#[tokio::test]
async fn rust_only_hs256_publishes_no_key() {
    let server = start_default(BackendKind::Rust).await;
    let jwks = get_with(&server, "api/jwks/", None).await;
    assert_eq!(jwks.body, json!({"keys": []}));
}

#[tokio::test]
async fn django_refuses_rs256() {
    let options = ServerOptions {
        algorithm: SigningAlgorithm::Rs256,
        ..ServerOptions::default()
    };
    assert!(TestServer::start(BackendKind::Django, options)
        .await
        .is_err());
}
