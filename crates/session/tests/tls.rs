//! TLS per profile: a profile's CA file adds trust for that profile only, and hostname
//! verification stays on. The server is the scripted simplejwt server behind rustls, with
//! throw-away certificates from `tests/fixtures/tls/`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use common::{fast_options, MockServer, ServerConfig};
use tessera_session::{
    ApiRequest, Clock, FakeStore, ManualClock, Password, Profile, Session, SessionConfig,
};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

async fn server(cert: &str) -> MockServer {
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::starting_now());
    MockServer::start_tls(
        ServerConfig::default(),
        clock,
        &std::fs::read(fixture(&format!("{cert}.pem"))).unwrap(),
        &std::fs::read(fixture(&format!("{cert}.key"))).unwrap(),
    )
    .await
}

fn session(base_url: &str, ca: Option<PathBuf>) -> (Session, tempfile::TempDir) {
    let mut profile = Profile::from_base_url(base_url).unwrap();
    profile.ca_cert_file = ca;
    let dir = tempfile::tempdir().unwrap();
    let session = Session::open(
        SessionConfig::new(
            "tls",
            profile,
            Arc::new(FakeStore::new()),
            dir.path().to_path_buf(),
        )
        .with_options(fast_options()),
    )
    .unwrap();
    (session, dir)
}

fn pw() -> Password {
    Password::new("correct horse".into())
}

#[tokio::test]
async fn the_profile_ca_is_trusted_for_that_profile() {
    let server = server("localhost").await;
    let (with_ca, _dir) = session(&server.base_url, Some(fixture("ca.pem")));
    with_ca.login("alice", pw()).await.unwrap();
    let r = with_ca
        .request(ApiRequest::get("/api/echo/"))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.url.scheme(), "https");
}

#[tokio::test]
async fn without_the_ca_the_certificate_is_refused() {
    let server = server("localhost").await;
    let (s, _dir) = session(&server.base_url, None);
    let err = s.login("alice", pw()).await.unwrap_err();
    assert_eq!(err.code(), "tls", "{err}");
    assert_eq!(server.count("POST /api/token/ 200"), 0);
}

#[tokio::test]
async fn hostname_verification_stays_on_with_a_profile_ca() {
    // Signed by the trusted CA, but for wrong.example, not localhost.
    let server = server("wrong").await;
    let (s, _dir) = session(&server.base_url, Some(fixture("ca.pem")));
    let err = s.login("alice", pw()).await.unwrap_err();
    assert_eq!(err.code(), "tls", "{err}");
    assert_eq!(server.count("POST /api/token/ 200"), 0);
}
