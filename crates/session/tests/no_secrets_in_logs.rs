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
    for password in ["correct horse", "s3cret-passw0rd"] {
        assert!(!logs.contains(password), "a password leaked into the logs");
    }
}
