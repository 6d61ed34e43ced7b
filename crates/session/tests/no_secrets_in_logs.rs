//! A full session (login, request, proactive refresh with rotation, 401 replay, transient
//! refresh failure, registration, logout) with every `tracing` event at TRACE level captured —
//! this crate's and its dependencies' (reqwest, hyper) — and not one token fragment, `eyJ`, or
//! password in the output.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{Harness, ServerConfig};
use tessera_session::{ApiRequest, Password, Registration};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_logs_of_a_full_session_contain_no_secret() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        // No timestamps: their microseconds are six-digit numbers, and one of them equal to
        // the one-time code made this test fail by chance (CI, 2026-12-04).
        .without_time()
        .with_writer(move || writer.clone())
        .init();

    let h = Harness::new(ServerConfig::default()).await;
    let session = h.session();
    session
        .login("alice", Password::new("correct horse".into()))
        .await
        .unwrap();
    session
        .request(ApiRequest::get("/api/echo/"))
        .await
        .unwrap();
    h.advance(290);
    session
        .request(ApiRequest::post("/api/echo/").body("payload"))
        .await
        .unwrap();
    h.server
        .state
        .reject_next_access
        .store(1, std::sync::atomic::Ordering::SeqCst);
    let r = session
        .request(ApiRequest::post("/api/echo/").body("again"))
        .await
        .unwrap();
    assert!(r.replayed);
    h.server.fail_next_refreshes(1, 503, None);
    h.advance(290);
    session
        .request(ApiRequest::get("/api/echo/"))
        .await
        .unwrap();
    let other = h.session();
    other.restore().await.unwrap();
    session.logout().await.unwrap();
    let mut fields = std::collections::BTreeMap::new();
    fields.insert("name".to_owned(), "Carol".to_owned());
    fields.insert("username".to_owned(), "carol@example.com".to_owned());
    fields.insert("email".to_owned(), "carol@example.com".to_owned());
    let reg = h.session();
    reg.register(Registration {
        fields,
        password: Password::new("s3cret-passw0rd".into()),
    })
    .await
    .unwrap();
    reg.logout().await.unwrap();
    let cookie_secrets = cookie_mode_with_a_second_factor().await;

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    // The capture is real: the engine's and hyper's events are in it.
    assert!(
        logs.contains("access token refreshed"),
        "no engine logs captured"
    );
    assert!(logs.contains("TRACE"), "no TRACE-level logs captured");
    assert!(
        logs.len() > 10_000,
        "suspiciously little output: {} bytes",
        logs.len()
    );

    let tokens = h.server.issued_tokens();
    assert!(
        tokens.len() >= 8,
        "the session issued {} tokens",
        tokens.len()
    );
    assert!(!logs.contains("eyJ"), "a JWT prefix leaked into the logs");
    for token in &tokens {
        let bytes = token.as_bytes();
        for window in bytes.windows(16) {
            let fragment = std::str::from_utf8(window).unwrap();
            assert!(
                !logs.contains(fragment),
                "token fragment {fragment:?} leaked into the logs"
            );
        }
    }
    for password in ["correct horse", "s3cret-passw0rd", "demo-password"] {
        assert!(!logs.contains(password), "a password leaked into the logs");
    }
    assert!(
        logs.contains("the server asks for a second factor"),
        "the MFA session ran"
    );
    let CookieModeSecrets { cookies, code } = cookie_secrets;
    for (name, value) in &cookies {
        assert!(
            value.len() >= 16,
            "cookie {name} holds a {}-character value: too short to look for",
            value.len()
        );
        if let Some(line) = line_with(&logs, value) {
            panic!("the value of cookie {name} leaked into the logs: {line}");
        }
    }
    if let Some(line) = line_with_number(&logs, &code) {
        panic!("the one-time code leaked into the logs: {line}");
    }
}

/// The first log line holding `secret`, with the secret masked, to name a leak without
/// repeating it.
fn line_with(logs: &str, secret: &str) -> Option<String> {
    logs.lines()
        .find(|line| line.contains(secret))
        .map(|line| line.replace(secret, "<secret>"))
}

/// The first log line holding `number` as a number of its own (not inside a longer run of
/// digits, such as a port or a byte count), masked.
fn line_with_number(logs: &str, number: &str) -> Option<String> {
    logs.lines()
        .find(|line| {
            line.match_indices(number).any(|(at, _)| {
                let before = line[..at].chars().next_back();
                let after = line[at + number.len()..].chars().next();
                !before.is_some_and(|c| c.is_ascii_digit())
                    && !after.is_some_and(|c| c.is_ascii_digit())
            })
        })
        .map(|line| line.replace(number, "<code>"))
}

/// What went over the wire in cookie mode besides the tokens.
struct CookieModeSecrets {
    /// The cookies the keyring kept, by name.
    cookies: Vec<(String, String)>,
    /// The one-time code.
    code: String,
}

#[test]
fn the_leak_finders_find_a_leak_and_only_a_leak() {
    let logs = "INFO a\nDEBUG sent csrf=abcdefghijklmnopqrstuvwxyz012345 ok\nTRACE port 4123456\n";
    assert_eq!(
        line_with(logs, "abcdefghijklmnopqrstuvwxyz012345").as_deref(),
        Some("DEBUG sent csrf=<secret> ok")
    );
    assert_eq!(line_with(logs, "zyxwvutsrqponmlkjihgfedcba543210"), None);
    // Inside a longer number it is not the code; on its own it is.
    assert_eq!(line_with_number(logs, "123456"), None);
    assert_eq!(
        line_with_number("DEBUG code=123456 sent", "123456").as_deref(),
        Some("DEBUG code=<code> sent")
    );
}

/// dj-rest-auth 7.2 in cookie mode with MFA on (the real package): sign-in, a code, a request,
/// a refresh, sign-out. Returns the secrets besides the tokens that went over the wire: the
/// cookie values the keyring kept and the code.
async fn cookie_mode_with_a_second_factor() -> CookieModeSecrets {
    use tessera_session::profile::Preset;
    use tessera_testkit::{ServerOptions, Stack, StackOptions, TestServer};
    const SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let server = TestServer::start_stack(
        Stack::DjRestAuth,
        ServerOptions {
            access_lifetime_secs: 30,
            ..ServerOptions::default()
        },
        StackOptions {
            cookie_mode: true,
            csrf: true,
            mfa_totp_secret: Some(SECRET.into()),
            ..StackOptions::default()
        },
    )
    .await
    .unwrap();
    let mut profile = tessera_session::Profile::from_base_url(server.base_url().as_str()).unwrap();
    Preset::DjRestAuthCookie.apply(&mut profile);
    let h = common::backend::BackendHarness {
        profile,
        ..common::backend::BackendHarness::start_on(server)
    };
    let session = h.session();
    let err = session
        .login("demo", Password::new("demo-password".into()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "mfa_required");
    let code = tessera_testkit::totp_now(SECRET).unwrap();
    session
        .verify_code(Password::new(code.clone()))
        .await
        .unwrap();
    let entry: serde_json::Value = serde_json::from_str(&h.stored_entry()).unwrap();
    let cookies: Vec<(String, String)> = entry["cookies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| {
            let name = pair[0].as_str().unwrap().to_owned();
            (name, pair[1].as_str().unwrap().to_owned())
        })
        .collect();
    assert!(
        !cookies.is_empty(),
        "dj-rest-auth set csrftoken and sessionid: {entry}"
    );
    h.advance(31).await;
    let r = session
        .request(ApiRequest::post("/api/echo/").json(&"x").unwrap())
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let out = session.logout().await.unwrap();
    assert!(out.server_revoked, "{out:?}");
    CookieModeSecrets { cookies, code }
}
