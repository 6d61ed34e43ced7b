//! A scripted simplejwt look-alike (axum, in-process) and a harness around the engine, for the
//! engine's tests. It follows /work/shared/reference/simplejwt.md: same paths, bodies, status
//! codes and error codes; HS256 tokens; rotation and blacklist switches; a clock shared with the
//! client (plus an optional server skew); counters per "METHOD PATH STATUS"; failure injection.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use axum::{Json, Router};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{json, Value};
pub mod file_store;
pub mod rotator;

use tessera_session::{
    Clock, FakeStore, ManualClock, Profile, RetryPolicy, SecretStore, Session, SessionConfig,
    SessionOptions,
};

const SECRET: &[u8] = b"test-signing-key-not-a-secret";

#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub access_lifetime: i64,
    pub refresh_lifetime: i64,
    pub rotate: bool,
    pub blacklist_after_rotation: bool,
    pub login_field: String,
    pub access_field: String,
    pub refresh_field: String,
    pub refresh_request_field: String,
    pub header_type: String,
    /// Sign with the Ed25519 test key instead of HS256 (for verification tests).
    pub ed25519: bool,
}

pub const ED_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIByW0wKfxLgVRvXggjifwt74Ujl0MmrRfS13qzOd4oU1\n-----END PRIVATE KEY-----\n";
pub const ED_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAkwNxibStdwjmL+BxDn235VNugZxVi5OzKutaiOl6yFk=\n-----END PUBLIC KEY-----\n";
pub const ED_PUBLIC_X: &str = "kwNxibStdwjmL-BxDn235VNugZxVi5OzKutaiOl6yFk";
pub const OTHER_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAkbbW1o8trzfdHPshhXUn/xoOsTWQ/1Rc3TD5JGMZd8A=\n-----END PUBLIC KEY-----\n";

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            access_lifetime: 300,
            refresh_lifetime: 86_400,
            rotate: true,
            blacklist_after_rotation: true,
            login_field: "username".into(),
            access_field: "access".into(),
            refresh_field: "refresh".into(),
            refresh_request_field: "refresh".into(),
            header_type: "Bearer".into(),
            ed25519: false,
        }
    }
}

impl ServerConfig {
    pub fn custom_view() -> Self {
        Self {
            login_field: "email".into(),
            access_field: "access_token".into(),
            refresh_field: "refresh_token".into(),
            refresh_request_field: "refresh_token".into(),
            ..Self::default()
        }
    }
}

pub struct ServerState {
    pub cfg: ServerConfig,
    pub clock: Arc<dyn Clock>,
    pub skew_secs: AtomicI64,
    counters: Mutex<BTreeMap<String, u64>>,
    blacklisted: Mutex<HashSet<String>>,
    pub refresh_tokens_received: Mutex<Vec<String>>,
    pub issued: Mutex<Vec<String>>,
    fail_refresh: Mutex<VecDeque<(u16, Option<String>)>>,
    pub reject_next_access: AtomicU32,
    pub refresh_delay_ms: AtomicU64,
    /// The JWKS endpoint answers 503 this many times first.
    pub fail_jwks: AtomicU32,
    /// Refresh requests received (counted before the delay, unlike the per-status counters).
    pub refresh_started: AtomicU64,
    users: Mutex<BTreeMap<String, String>>,
    pub echo_bodies: Mutex<Vec<Vec<u8>>>,
    jti: AtomicU64,
}

impl ServerState {
    fn now(&self) -> i64 {
        let local = self
            .clock
            .now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        local + self.skew_secs.load(Ordering::SeqCst)
    }

    fn count(&self, method: &str, path: &str, status: u16) {
        *self
            .counters
            .lock()
            .unwrap()
            .entry(format!("{method} {path} {status}"))
            .or_default() += 1;
    }

    fn issue(&self, token_type: &str, lifetime: i64) -> String {
        let now = self.now();
        let mut claims =
            json!({"token_type": token_type, "exp": now + lifetime, "iat": now, "user_id": "1"});
        if token_type == "sliding" {
            claims["refresh_exp"] = json!(now + self.cfg.refresh_lifetime);
        }
        self.sign(claims)
    }

    fn sign(&self, mut claims: Value) -> String {
        let jti = format!(
            "{:x}{:08x}",
            self.jti.fetch_add(1, Ordering::SeqCst),
            fastrand::u32(..)
        );
        claims["jti"] = json!(jti);
        let token = if self.cfg.ed25519 {
            let mut header = Header::new(Algorithm::EdDSA);
            header.kid = Some("k1".into());
            jsonwebtoken::encode(
                &header,
                &claims,
                &EncodingKey::from_ed_pem(ED_PRIVATE.as_bytes()).unwrap(),
            )
            .unwrap()
        } else {
            jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                &claims,
                &EncodingKey::from_secret(SECRET),
            )
            .unwrap()
        };
        self.issued.lock().unwrap().push(token.clone());
        token
    }

    fn check(&self, token: &str, token_type: &str) -> Result<Value, &'static str> {
        let (alg, key) = if self.cfg.ed25519 {
            (
                Algorithm::EdDSA,
                DecodingKey::from_ed_pem(ED_PUBLIC.as_bytes()).unwrap(),
            )
        } else {
            (Algorithm::HS256, DecodingKey::from_secret(SECRET))
        };
        let mut validation = Validation::new(alg);
        validation.validate_exp = false;
        validation.required_spec_claims = HashSet::new();
        let data = jsonwebtoken::decode::<Value>(token, &key, &validation)
            .map_err(|_| "Token is invalid")?;
        let claims = data.claims;
        if claims["exp"].as_i64().unwrap_or(0) <= self.now() {
            return Err("Token is expired");
        }
        let sliding_ok = token_type == "access" && claims["token_type"] == "sliding";
        if claims["token_type"] != token_type && !sliding_ok {
            return Err("Token has wrong type");
        }
        Ok(claims)
    }
}

pub struct MockServer {
    pub base_url: String,
    pub state: Arc<ServerState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MockServer {
    pub async fn start(cfg: ServerConfig, clock: Arc<dyn Clock>) -> Self {
        let state = new_state(cfg, clock);
        let app = router(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            base_url: format!("http://{addr}"),
            state,
            task,
        }
    }

    /// The same server behind TLS, as `https://localhost:PORT`, with the given certificate.
    pub async fn start_tls(
        cfg: ServerConfig,
        clock: Arc<dyn Clock>,
        cert_pem: &[u8],
        key_pem: &[u8],
    ) -> Self {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<_, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_slice(key_pem).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        let listener = TlsListener {
            tcp: tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        };
        let port = listener.tcp.local_addr().unwrap().port();
        let state = new_state(cfg, clock);
        let app = router(Arc::clone(&state));
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            base_url: format!("https://localhost:{port}"),
            state,
            task,
        }
    }

    pub fn count(&self, key: &str) -> u64 {
        self.state
            .counters
            .lock()
            .unwrap()
            .get(key)
            .copied()
            .unwrap_or(0)
    }

    pub fn counters(&self) -> BTreeMap<String, u64> {
        self.state.counters.lock().unwrap().clone()
    }

    pub fn fail_next_refreshes(&self, n: usize, status: u16, retry_after: Option<&str>) {
        let mut q = self.state.fail_refresh.lock().unwrap();
        for _ in 0..n {
            q.push_back((status, retry_after.map(str::to_owned)));
        }
    }

    pub fn clear_refresh_failures(&self) {
        self.state.fail_refresh.lock().unwrap().clear();
    }

    pub fn shift_clock(&self, secs: i64) {
        self.state.skew_secs.store(secs, Ordering::SeqCst);
    }

    pub fn issued_tokens(&self) -> Vec<String> {
        self.state.issued.lock().unwrap().clone()
    }

    pub fn blacklist_all_issued(&self) {
        let issued = self.issued_tokens();
        let mut bl = self.state.blacklisted.lock().unwrap();
        for t in issued {
            if let Ok(data) = jsonwebtoken::dangerous::insecure_decode_claims::<Value>(&t) {
                bl.insert(data["jti"].as_str().unwrap_or_default().to_owned());
            }
        }
    }
}

fn new_state(cfg: ServerConfig, clock: Arc<dyn Clock>) -> Arc<ServerState> {
    let mut users = BTreeMap::new();
    users.insert("alice".to_owned(), "correct horse".to_owned());
    users.insert("alice@example.com".to_owned(), "correct horse".to_owned());
    Arc::new(ServerState {
        cfg,
        clock,
        skew_secs: AtomicI64::new(0),
        counters: Mutex::default(),
        blacklisted: Mutex::default(),
        refresh_tokens_received: Mutex::default(),
        issued: Mutex::default(),
        fail_refresh: Mutex::default(),
        reject_next_access: AtomicU32::new(0),
        refresh_delay_ms: AtomicU64::new(0),
        fail_jwks: AtomicU32::new(0),
        refresh_started: AtomicU64::new(0),
        users: Mutex::new(users),
        echo_bodies: Mutex::default(),
        jti: AtomicU64::new(1),
    })
}

fn router(state: Arc<ServerState>) -> Router {
    Router::new()
        .route("/api/token/", post(obtain))
        .route("/api/token/refresh/", post(refresh))
        .route("/api/token/blacklist/", post(blacklist))
        .route("/api/token/sliding/", post(obtain_sliding))
        .route("/api/token/sliding/refresh/", post(refresh_sliding))
        .route("/jwks.json", axum::routing::get(jwks))
        .route("/api/register/", post(register))
        .route("/api/echo/", any(echo))
        .route("/api/inactive/", any(inactive))
        .route("/api/forbidden/", any(forbidden))
        .route("/api/token-redirect/", post(redirect_login))
        .route("/api/steal/", any(steal))
        .with_state(state)
}

struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            // A client that rejects the certificate fails the handshake: keep accepting.
            if let Ok(tls) = self.acceptor.accept(tcp).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

fn reply(
    state: &ServerState,
    method: &str,
    path: &str,
    status: StatusCode,
    body: Value,
) -> Response {
    state.count(method, path, status.as_u16());
    let mut response = (status, Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            "www-authenticate",
            HeaderValue::from_static("Bearer realm=\"api\""),
        );
    }
    response
}

fn parse_body(body: &Bytes) -> Value {
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

async fn obtain(State(s): State<Arc<ServerState>>, body: Bytes) -> Response {
    let path = "/api/token/";
    let body = parse_body(&body);
    let login = body[&s.cfg.login_field].as_str();
    let password = body["password"].as_str();
    let (Some(login), Some(password)) = (login, password) else {
        let mut errors = serde_json::Map::new();
        if login.is_none() {
            errors.insert(
                s.cfg.login_field.clone(),
                json!(["This field is required."]),
            );
        }
        if password.is_none() {
            errors.insert("password".into(), json!(["This field is required."]));
        }
        return reply(
            &s,
            "POST",
            path,
            StatusCode::BAD_REQUEST,
            Value::Object(errors),
        );
    };
    let ok = s
        .users
        .lock()
        .unwrap()
        .get(login)
        .is_some_and(|p| p == password);
    if !ok {
        return reply(
            &s,
            "POST",
            path,
            StatusCode::UNAUTHORIZED,
            json!({"detail": "No active account found with the given credentials"}),
        );
    }
    let access = s.issue("access", s.cfg.access_lifetime);
    let refresh = s.issue("refresh", s.cfg.refresh_lifetime);
    reply(
        &s,
        "POST",
        path,
        StatusCode::OK,
        json!({ s.cfg.refresh_field.clone(): refresh, s.cfg.access_field.clone(): access }),
    )
}

async fn jwks(State(s): State<Arc<ServerState>>) -> Response {
    if s.fail_jwks
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return reply(
            &s,
            "GET",
            "/jwks.json",
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"detail": "down"}),
        );
    }
    reply(
        &s,
        "GET",
        "/jwks.json",
        StatusCode::OK,
        json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "k1", "alg": "EdDSA", "x": ED_PUBLIC_X}]}),
    )
}

async fn obtain_sliding(State(s): State<Arc<ServerState>>, body: Bytes) -> Response {
    let path = "/api/token/sliding/";
    let body = parse_body(&body);
    let ok = match (body[&s.cfg.login_field].as_str(), body["password"].as_str()) {
        (Some(login), Some(password)) => s
            .users
            .lock()
            .unwrap()
            .get(login)
            .is_some_and(|p| p == password),
        _ => false,
    };
    if !ok {
        return reply(
            &s,
            "POST",
            path,
            StatusCode::UNAUTHORIZED,
            json!({"detail": "No active account found with the given credentials"}),
        );
    }
    reply(
        &s,
        "POST",
        path,
        StatusCode::OK,
        json!({"token": s.issue("sliding", s.cfg.access_lifetime)}),
    )
}

/// simplejwt's TokenRefreshSlidingView: the token may be expired, but not past `refresh_exp`.
async fn refresh_sliding(State(s): State<Arc<ServerState>>, body: Bytes) -> Response {
    let path = "/api/token/sliding/refresh/";
    let body = parse_body(&body);
    let Some(token) = body["token"].as_str() else {
        return reply(
            &s,
            "POST",
            path,
            StatusCode::BAD_REQUEST,
            json!({"token": ["This field is required."]}),
        );
    };
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_exp = false;
    validation.required_spec_claims = HashSet::new();
    let Ok(data) =
        jsonwebtoken::decode::<Value>(token, &DecodingKey::from_secret(SECRET), &validation)
    else {
        return reply(
            &s,
            "POST",
            path,
            StatusCode::UNAUTHORIZED,
            json!({"detail": "Token is invalid", "code": "token_not_valid"}),
        );
    };
    let mut claims = data.claims;
    let now = s.now();
    if claims["refresh_exp"].as_i64().unwrap_or(0) <= now {
        return reply(
            &s,
            "POST",
            path,
            StatusCode::UNAUTHORIZED,
            json!({"detail": "Token 'refresh_exp' claim has expired", "code": "token_not_valid"}),
        );
    }
    claims["exp"] = json!(now + s.cfg.access_lifetime);
    claims["iat"] = json!(now);
    reply(
        &s,
        "POST",
        path,
        StatusCode::OK,
        json!({"token": s.sign(claims)}),
    )
}

async fn refresh(State(s): State<Arc<ServerState>>, body: Bytes) -> Response {
    let path = "/api/token/refresh/";
    s.refresh_started.fetch_add(1, Ordering::SeqCst);
    let delay = s.refresh_delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let failure = s.fail_refresh.lock().unwrap().pop_front();
    if let Some((status, retry_after)) = failure {
        let status = StatusCode::from_u16(status).unwrap();
        let mut response = reply(
            &s,
            "POST",
            path,
            status,
            json!({"detail": "Service unavailable"}),
        );
        if let Some(ra) = retry_after {
            response
                .headers_mut()
                .insert("retry-after", HeaderValue::from_str(&ra).unwrap());
        }
        return response;
    }
    let body = parse_body(&body);
    let Some(token) = body[&s.cfg.refresh_request_field].as_str() else {
        return reply(
            &s,
            "POST",
            path,
            StatusCode::BAD_REQUEST,
            json!({ s.cfg.refresh_request_field.clone(): ["This field is required."] }),
        );
    };
    s.refresh_tokens_received
        .lock()
        .unwrap()
        .push(token.to_owned());
    let claims = match s.check(token, "refresh") {
        Ok(c) => c,
        Err(message) => {
            return reply(
                &s,
                "POST",
                path,
                StatusCode::UNAUTHORIZED,
                json!({"detail": message, "code": "token_not_valid"}),
            );
        }
    };
    let jti = claims["jti"].as_str().unwrap_or_default().to_owned();
    if s.blacklisted.lock().unwrap().contains(&jti) {
        return reply(
            &s,
            "POST",
            path,
            StatusCode::UNAUTHORIZED,
            json!({"detail": "Token is blacklisted", "code": "token_not_valid"}),
        );
    }
    let mut out = serde_json::Map::new();
    out.insert(
        s.cfg.access_field.clone(),
        json!(s.issue("access", s.cfg.access_lifetime)),
    );
    if s.cfg.rotate {
        if s.cfg.blacklist_after_rotation {
            s.blacklisted.lock().unwrap().insert(jti);
        }
        out.insert(
            s.cfg.refresh_field.clone(),
            json!(s.issue("refresh", s.cfg.refresh_lifetime)),
        );
    }
    reply(&s, "POST", path, StatusCode::OK, Value::Object(out))
}

async fn blacklist(State(s): State<Arc<ServerState>>, body: Bytes) -> Response {
    let path = "/api/token/blacklist/";
    let body = parse_body(&body);
    let Some(token) = body[&s.cfg.refresh_request_field].as_str() else {
        return reply(
            &s,
            "POST",
            path,
            StatusCode::BAD_REQUEST,
            json!({"refresh": ["This field is required."]}),
        );
    };
    match s.check(token, "refresh") {
        Ok(claims) => {
            s.blacklisted
                .lock()
                .unwrap()
                .insert(claims["jti"].as_str().unwrap_or_default().to_owned());
            reply(&s, "POST", path, StatusCode::OK, json!({}))
        }
        Err(message) => reply(
            &s,
            "POST",
            path,
            StatusCode::UNAUTHORIZED,
            json!({"detail": message, "code": "token_not_valid"}),
        ),
    }
}

async fn register(State(s): State<Arc<ServerState>>, body: Bytes) -> Response {
    let path = "/api/register/";
    let body = parse_body(&body);
    let mut errors = serde_json::Map::new();
    let email = body["email"].as_str().unwrap_or_default().to_owned();
    let password = body["password"].as_str().unwrap_or_default().to_owned();
    if !email.contains('@') {
        errors.insert("email".into(), json!(["Enter a valid email address."]));
    }
    if password.len() < 8 {
        errors.insert(
            "password".into(),
            json!(["This password is too short. It must contain at least 8 characters."]),
        );
    }
    if body["name"].as_str().unwrap_or_default().is_empty() {
        errors.insert("name".into(), json!(["This field may not be blank."]));
    }
    if !errors.is_empty() {
        return reply(
            &s,
            "POST",
            path,
            StatusCode::BAD_REQUEST,
            Value::Object(errors),
        );
    }
    s.users.lock().unwrap().insert(email.clone(), password);
    reply(
        &s,
        "POST",
        path,
        StatusCode::CREATED,
        json!({"id": 2, "email": email}),
    )
}

fn authenticate(s: &ServerState, headers: &HeaderMap) -> Result<Value, (StatusCode, Value)> {
    let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return Err((
            StatusCode::UNAUTHORIZED,
            json!({"detail": "Authentication credentials were not provided."}),
        ));
    };
    let parts: Vec<&str> = value.split(' ').collect();
    if parts.len() != 2 || parts[0] != s.cfg.header_type {
        return Err((
            StatusCode::UNAUTHORIZED,
            json!({"detail": "Authorization header must contain two space-delimited values", "code": "bad_authorization_header"}),
        ));
    }
    let not_valid = |message: &str| {
        (
            StatusCode::UNAUTHORIZED,
            json!({"detail": "Given token not valid for any token type", "code": "token_not_valid",
                   "messages": [{"token_class": "AccessToken", "token_type": "access", "message": message}]}),
        )
    };
    if s.reject_next_access
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return Err(not_valid("Token is expired"));
    }
    s.check(parts[1], "access").map_err(not_valid)
}

async fn echo(State(s): State<Arc<ServerState>>, request: Request) -> Response {
    let path = "/api/echo/";
    let method = request.method().to_string();
    let headers = request.headers().clone();
    let body = axum::body::to_bytes(request.into_body(), 1 << 24)
        .await
        .unwrap_or_default();
    match authenticate(&s, &headers) {
        Ok(claims) => {
            s.echo_bodies.lock().unwrap().push(body.to_vec());
            reply(
                &s,
                &method,
                path,
                StatusCode::OK,
                json!({"method": method, "body": String::from_utf8_lossy(&body), "user_id": claims["user_id"]}),
            )
        }
        Err((status, value)) => reply(&s, &method, path, status, value),
    }
}

async fn inactive(State(s): State<Arc<ServerState>>, request: Request) -> Response {
    let method = request.method().to_string();
    reply(
        &s,
        &method,
        "/api/inactive/",
        StatusCode::UNAUTHORIZED,
        json!({"detail": "User is inactive", "code": "user_inactive"}),
    )
}

async fn forbidden(State(s): State<Arc<ServerState>>, request: Request) -> Response {
    let method = request.method().to_string();
    reply(
        &s,
        &method,
        "/api/forbidden/",
        StatusCode::FORBIDDEN,
        json!({"detail": "You do not have permission to perform this action."}),
    )
}

async fn redirect_login(State(s): State<Arc<ServerState>>) -> Response {
    s.count("POST", "/api/token-redirect/", 307);
    (
        StatusCode::TEMPORARY_REDIRECT,
        [("location", "/api/steal/")],
    )
        .into_response()
}

async fn steal(State(s): State<Arc<ServerState>>, request: Request) -> Response {
    let method = request.method().to_string();
    reply(
        &s,
        &method,
        "/api/steal/",
        StatusCode::OK,
        json!({"stolen": true}),
    )
}

/// The engine under test, wired to a mock server, a shared fake keyring and a lock directory.
pub struct Harness {
    pub server: MockServer,
    pub clock: Arc<ManualClock>,
    pub store: Arc<FakeStore>,
    pub lock_dir: tempfile::TempDir,
    pub profile: Profile,
}

pub fn fast_options() -> SessionOptions {
    SessionOptions {
        keyring_timeout: Duration::from_secs(2),
        lock_timeout: Duration::from_secs(20),
        retry: RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(40),
            max_retry_after: Duration::from_secs(2),
        },
        logout_timeout: Duration::from_secs(1),
        max_response_bytes: 1 << 20,
        auto_refresh_max_nap: Duration::from_millis(100),
        logout_lock_wait: None,
    }
}

impl Harness {
    pub async fn new(cfg: ServerConfig) -> Self {
        let clock = Arc::new(ManualClock::starting_now());
        let server = MockServer::start(cfg.clone(), clock.clone()).await;
        let mut profile = Profile::from_base_url(&server.base_url).unwrap();
        if cfg.access_field == "access_token" {
            profile = profile.with_custom_view_fields();
        }
        profile.registration_path = Some("/api/register/".into());
        Self {
            server,
            clock,
            store: Arc::new(FakeStore::new()),
            lock_dir: tempfile::tempdir().unwrap(),
            profile,
        }
    }

    /// A new engine instance sharing the keyring and lock directory (like another process).
    pub fn session(&self) -> Session {
        self.session_with(self.profile.clone())
    }

    pub fn session_with(&self, profile: Profile) -> Session {
        let store: Arc<dyn SecretStore> = self.store.clone();
        let clock: Arc<dyn Clock> = self.clock.clone();
        Session::open(
            SessionConfig::new("test", profile, store, self.lock_dir.path().to_path_buf())
                .with_clock(clock)
                .with_options(fast_options()),
        )
        .unwrap()
    }

    pub async fn logged_in(&self) -> Session {
        let session = self.session();
        session
            .login("alice", "correct horse".to_owned().into())
            .await
            .unwrap();
        session
    }

    pub fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    pub fn refreshes(&self) -> u64 {
        self.server.count("POST /api/token/refresh/ 200")
    }
}
