//! The trust store: the engine trusts the operating system's store plus the
//! profile's CA file, and not the web PKI roots bundled into the binary, so that a CA the OS
//! store removed or distrusts is not trusted behind the user's back.
//!
//! On Linux the OS store is read through rustls-native-certs, which honours `SSL_CERT_FILE` and
//! `SSL_CERT_DIR`: each test points them at a bundle it made (and an empty directory). The
//! variables are read when a session's HTTP clients are built, so they are set, and the session
//! opened, under one lock; this file is its own test binary so no other test sees them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{fast_options, MockServer, ServerConfig};
use rcgen::string::PrintableString;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType, DnValue,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use tessera_session::{
    ApiRequest, Clock, Error, FakeStore, ManualClock, Password, Profile, Session, SessionConfig,
};

/// Serialises "set the variables, build the clients".
static ENV: Mutex<()> = Mutex::new(());

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

fn leaf_params() -> CertificateParams {
    let mut params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params
}

async fn tls_server(cert_pem: &str, key_pem: &str) -> MockServer {
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::starting_now());
    MockServer::start_tls(
        ServerConfig::default(),
        clock,
        cert_pem.as_bytes(),
        key_pem.as_bytes(),
    )
    .await
}

/// A server whose certificate `issuer` signed.
async fn server_signed_by(issuer: &CertifiedIssuer<'static, KeyPair>) -> MockServer {
    let key = KeyPair::generate().unwrap();
    let cert = leaf_params().signed_by(&key, issuer).unwrap();
    tls_server(&cert.pem(), &key.serialize_pem()).await
}

/// A stand-in OS store: `SSL_CERT_FILE` (a bundle of `pems`) and an empty `SSL_CERT_DIR`.
struct OsStore {
    dir: tempfile::TempDir,
}

impl OsStore {
    fn with(pems: &[String]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bundle.pem"), pems.concat()).unwrap();
        std::fs::create_dir(dir.path().join("certs")).unwrap();
        Self { dir }
    }

    fn file(&self) -> PathBuf {
        self.dir.path().join("bundle.pem")
    }

    fn certs_dir(&self) -> PathBuf {
        self.dir.path().join("certs")
    }

    /// Opens a session with this store as the OS store (and `profile_ca`, if any).
    fn session(&self, base_url: &str, profile_ca: Option<&Path>) -> (Session, tempfile::TempDir) {
        let mut profile = Profile::from_base_url(base_url).unwrap();
        profile.ca_cert_file = profile_ca.map(Path::to_path_buf);
        let lock_dir = tempfile::tempdir().unwrap();
        let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
        std::env::set_var("SSL_CERT_FILE", self.file());
        std::env::set_var("SSL_CERT_DIR", self.certs_dir());
        let session = Session::open(
            SessionConfig::new(
                "trust",
                profile,
                Arc::new(FakeStore::new()),
                lock_dir.path().to_path_buf(),
            )
            .with_options(fast_options()),
        )
        .unwrap();
        (session, lock_dir)
    }
}

async fn login(s: &Session) -> Result<tessera_session::SessionStatus, Error> {
    tokio::time::timeout(
        Duration::from_secs(20),
        s.login("alice", Password::new("correct horse".into())),
    )
    .await
    .expect("the sign-in hung")
}

fn tls_detail(err: &Error) -> String {
    assert_eq!(err.code(), "tls", "{err}");
    let Error::Tls { detail } = err else {
        panic!("{err:?}")
    };
    detail.to_ascii_lowercase()
}

#[tokio::test]
async fn a_ca_in_the_os_store_is_trusted_without_a_profile_ca() {
    let ca = ca("Tessera OS-store test CA");
    let server = server_signed_by(&ca).await;
    let store = OsStore::with(&[ca.pem()]);
    let (s, _dir) = store.session(&server.base_url, None);
    login(&s).await.unwrap();
    let r = s.request(ApiRequest::get("/api/echo/")).await.unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(server.count("POST /api/token/ 200"), 1);
}

#[tokio::test]
async fn a_ca_missing_from_the_os_store_is_not_trusted() {
    let ca = ca("Tessera test CA the OS store lacks");
    let other = ca_pem_of("Tessera unrelated CA");
    let server = server_signed_by(&ca).await;
    let store = OsStore::with(&[other]);
    let (s, _dir) = store.session(&server.base_url, None);
    let detail = tls_detail(&login(&s).await.unwrap_err());
    assert!(detail.contains("unknownissuer"), "{detail}");
    assert_eq!(server.count("POST /api/token/ 200"), 0);
    // The profile's CA file is the other source of trust, for that profile only.
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let (s, _dir) = store.session(&server.base_url, Some(&ca_file));
    login(&s).await.unwrap();
    assert_eq!(server.count("POST /api/token/ 200"), 1);
}

fn ca_pem_of(name: &str) -> String {
    ca(name).pem()
}

/// The subject of ISRG Root X2 (Let's Encrypt), a root of the bundled web PKI set, encoded as in
/// the real certificate (PrintableString throughout).
fn isrg_root_x2_subject() -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    // A fresh name: the default one holds a common name that would stay in first place.
    params.distinguished_name = DistinguishedName::new();
    let printable = |s: &str| DnValue::PrintableString(PrintableString::try_from(s).unwrap());
    params
        .distinguished_name
        .push(DnType::CountryName, printable("US"));
    params.distinguished_name.push(
        DnType::OrganizationName,
        printable("Internet Security Research Group"),
    );
    params
        .distinguished_name
        .push(DnType::CommonName, printable("ISRG Root X2"));
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
}

#[tokio::test]
async fn the_bundled_web_pki_roots_are_not_consulted() {
    // A certificate that names ISRG Root X2 as its issuer but is signed by a key of ours. With
    // the bundled roots loaded, rustls finds that root and fails on the signature; with only the
    // OS store (here: one unrelated CA) it finds no issuer at all. (A real chain to a public
    // root cannot be made in a test; the issuer lookup is what tells the two stores apart.)
    let fake_root = Issuer::new(
        isrg_root_x2_subject(),
        KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap(),
    );
    let key = KeyPair::generate().unwrap();
    let cert = leaf_params().signed_by(&key, &fake_root).unwrap();
    let server = tls_server(&cert.pem(), &key.serialize_pem()).await;
    let store = OsStore::with(&[ca_pem_of("Tessera unrelated CA")]);
    let (s, _dir) = store.session(&server.base_url, None);
    let detail = tls_detail(&login(&s).await.unwrap_err());
    assert!(
        detail.contains("unknownissuer"),
        "the issuer was found, so a bundled root was loaded: {detail}"
    );
    assert_eq!(server.count("POST /api/token/ 200"), 0);
}
