//! HTTP helpers for tests/stacks.rs: requests with optional bearer / cookie / CSRF headers,
//! `Set-Cookie` parsing (reqwest's cookie store is not enabled in this workspace), JWT claims,
//! and RFC 6238 TOTP codes for the dj-rest-auth MFA stack.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use reqwest::header::{HeaderMap, AUTHORIZATION, COOKIE, SET_COOKIE};
use serde_json::{json, Value};
use tessera_testkit::{ServerOptions, Stack, StackOptions, TestServer};

pub const DEMO: &str = "demo";
pub const PASSWORD: &str = "demo-password";
pub const ACCESS_LIFETIME: u64 = 120;
/// RFC 6238's test secret ("12345678901234567890"), base32.
pub const TOTP_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.body)
    }
}

impl Reply {
    pub fn str(&self, key: &str) -> String {
        self.body[key]
            .as_str()
            .unwrap_or_else(|| panic!("no string {key:?} in {self:?}"))
            .to_owned()
    }

    /// The `Set-Cookie` for `name`: (value, attributes lower-cased).
    pub fn cookie(&self, name: &str) -> Option<(String, Vec<String>)> {
        self.headers.get_all(SET_COOKIE).iter().find_map(|header| {
            let text = header.to_str().ok()?;
            let mut parts = text.split(';').map(str::trim);
            let (key, value) = parts.next()?.split_once('=')?;
            (key == name).then(|| {
                let attrs = parts.map(str::to_ascii_lowercase).collect();
                (value.trim_matches('"').to_owned(), attrs)
            })
        })
    }
}

#[derive(Default)]
pub struct Extra<'a> {
    pub authorization: Option<String>,
    pub cookie: Option<String>,
    pub csrf: Option<&'a str>,
}

pub async fn send(
    server: &TestServer,
    method: &str,
    path: &str,
    body: Option<Value>,
    extra: Extra<'_>,
) -> Reply {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = client.request(method, server.url(path));
    if let Some(body) = body {
        request = request.json(&body);
    }
    if let Some(value) = extra.authorization {
        request = request.header(AUTHORIZATION, value);
    }
    if let Some(value) = extra.cookie {
        request = request.header(COOKIE, value);
    }
    if let Some(value) = extra.csrf {
        request = request.header("X-CSRFToken", value);
    }
    let response = request.send().await.unwrap();
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

pub async fn post(server: &TestServer, path: &str, body: Value) -> Reply {
    send(server, "POST", path, Some(body), Extra::default()).await
}

pub fn bearer(token: &str) -> Extra<'static> {
    Extra {
        authorization: Some(format!("Bearer {token}")),
        ..Extra::default()
    }
}

pub fn options() -> ServerOptions {
    ServerOptions {
        access_lifetime_secs: ACCESS_LIFETIME,
        ..ServerOptions::default()
    }
}

pub async fn start(
    stack: Stack,
    options: ServerOptions,
    stack_options: StackOptions,
) -> TestServer {
    TestServer::start_stack(stack, options, stack_options)
        .await
        .unwrap_or_else(|err| panic!("starting the {stack} stack: {err:#}"))
}

pub fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// RFC 6238 TOTP (the testkit's).
pub fn totp(secret: &str, unix_secs: u64) -> String {
    tessera_testkit::totp(secret, unix_secs).unwrap()
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub async fn echo(server: &TestServer, stack: Stack, extra: Extra<'_>) -> Reply {
    send(
        server,
        "POST",
        stack.echo_path(),
        Some(json!({"n": 1, "list": ["a"]})),
        extra,
    )
    .await
}

pub fn assert_echoed(reply: &Reply) {
    assert_eq!(reply.status, 200, "echo: {reply:?}");
    assert_eq!(
        reply.body,
        json!({"user": DEMO, "body": {"n": 1, "list": ["a"]}})
    );
}
