//! TLS per profile: a profile's CA file adds trust for that profile only, hostname verification
//! stays on, and self-signed or expired certificates are refused with a `tls` error a user can
//! act on. The server is the scripted simplejwt server behind rustls on loopback; every
//! certificate is made here, per test, with rcgen (a fresh CA each time, nothing on disk but the
//! CA file the profile points to).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use common::{fast_options, MockServer, ServerConfig};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use tessera_session::{
    ApiRequest, Clock, Error, FakeStore, ManualClock, Password, Profile, Session, SessionConfig,
};

/// A private CA, and its certificate in a file a profile can point to.
struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
    dir: tempfile::TempDir,
}

impl TestCa {
    fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "Tessera test CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), issuer.pem()).unwrap();
        Self { issuer, dir }
    }

    fn file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// A server certificate signed by this CA: (certificate PEM, key PEM).
    fn leaf(&self, names: &[&str], expired: bool) -> (String, String) {
        let mut params = leaf_params(names);
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

fn leaf_params(names: &[&str]) -> CertificateParams {
    let mut params =
        CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, names[0]);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params
}

async fn server(cert_pem: &str, key_pem: &str) -> MockServer {
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::starting_now());
    MockServer::start_tls(
        ServerConfig::default(),
        clock,
        cert_pem.as_bytes(),
        key_pem.as_bytes(),
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

/// A sign-in that must fail: bounded, so a hang fails the test instead of stalling it.
async fn refused_login(s: &Session) -> Error {
    tokio::time::timeout(Duration::from_secs(20), s.login("alice", pw()))
        .await
        .expect("the sign-in hung")
        .unwrap_err()
}

/// A `tls` error whose message says what is wrong in words (`summary`) and what to do, and whose
/// detail keeps rustls' own reason (`needle`).
fn assert_tls(err: &Error, summary: &str, needle: &str) {
    assert_eq!(err.code(), "tls", "{err}");
    let Error::Tls { detail } = err else {
        panic!("{err:?}")
    };
    assert!(
        detail.to_ascii_lowercase().contains(needle),
        "expected {needle:?} in {detail:?}"
    );
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "The secure connection to the server failed: the server's certificate {summary}"
        )),
        "{message}"
    );
}

#[tokio::test]
async fn the_profile_ca_is_trusted_for_that_profile_only() {
    let ca = TestCa::new();
    let (cert, key) = ca.leaf(&["localhost", "127.0.0.1"], false);
    let server = server(&cert, &key).await;
    let (with_ca, _dir) = session(&server.base_url, Some(ca.file()));
    with_ca.login("alice", pw()).await.unwrap();
    let r = with_ca
        .request(ApiRequest::get("/api/echo/"))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.url.scheme(), "https");
    // Trust is per profile: another profile of the same process, without the CA, is refused.
    let (without_ca, _dir2) = session(&server.base_url, None);
    assert_tls(
        &refused_login(&without_ca).await,
        "is not signed by an authority this profile trusts",
        "unknownissuer",
    );
    assert_eq!(server.count("POST /api/token/ 200"), 1);
}

#[tokio::test]
async fn a_self_signed_certificate_is_refused_by_default() {
    let self_signed = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let server = server(
        &self_signed.cert.pem(),
        &self_signed.signing_key.serialize_pem(),
    )
    .await;
    let (s, _dir) = session(&server.base_url, None);
    let err = refused_login(&s).await;
    assert_tls(
        &err,
        "is not signed by an authority this profile trusts",
        "unknownissuer",
    );
    assert!(err.to_string().contains("CA certificate file"), "{err}");
    assert_eq!(server.count("POST /api/token/ 200"), 0);
    assert!(!s.status().signed_in);
}

#[tokio::test]
async fn hostname_verification_stays_on_with_a_profile_ca() {
    // Signed by the trusted CA, but for wrong.example, not localhost.
    let ca = TestCa::new();
    let (cert, key) = ca.leaf(&["wrong.example"], false);
    let server = server(&cert, &key).await;
    let (s, _dir) = session(&server.base_url, Some(ca.file()));
    assert_tls(
        &refused_login(&s).await,
        "was issued for another host name",
        "not valid for name",
    );
    assert_eq!(server.count("POST /api/token/ 200"), 0);
}

#[tokio::test]
async fn an_expired_certificate_is_refused_even_with_the_ca() {
    let ca = TestCa::new();
    let (cert, key) = ca.leaf(&["localhost", "127.0.0.1"], true);
    let server = server(&cert, &key).await;
    let (s, _dir) = session(&server.base_url, Some(ca.file()));
    assert_tls(
        &refused_login(&s).await,
        "has expired",
        "certificate expired",
    );
    assert_eq!(server.count("POST /api/token/ 200"), 0);
}
