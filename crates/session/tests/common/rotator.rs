//! A small rotating simplejwt-like server whose answers can be bent in ways the main mock does
//! not: different field names at login and refresh, tokens without `iat`, any `Date` header,
//! answers that take (injected-clock) time, and renewed access tokens that arrive expired. It
//! keeps the set of refresh tokens that are still usable on the server, so a test can ask
//! "does any issued refresh token still work?" — the server's own record, not the client's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{json, Value};
use tessera_session::{Clock, ManualClock};

const KEY: &[u8] = b"rotator-test-key";

pub struct RotatorConfig {
    pub login_fields: (String, String),
    pub refresh_fields: (String, String),
    pub include_iat: bool,
}

impl Default for RotatorConfig {
    fn default() -> Self {
        Self {
            login_fields: ("access".into(), "refresh".into()),
            refresh_fields: ("access".into(), "refresh".into()),
            include_iat: true,
        }
    }
}

pub struct RotatorState {
    pub cfg: RotatorConfig,
    pub clock: Arc<ManualClock>,
    /// Refresh tokens the server would still accept.
    pub live: Mutex<HashSet<String>>,
    /// Every refresh token ever issued.
    pub issued_refresh: Mutex<Vec<String>>,
    /// `Date` header for every answer (none: no header).
    pub date: Mutex<Option<String>>,
    /// The injected clock advances this much while an obtain/refresh answer is prepared.
    pub answer_takes_secs: AtomicU64,
    /// Real time a refresh answer takes (ms), after the token was rotated.
    pub refresh_delay_ms: AtomicU64,
    /// Lifetime of access tokens issued by refresh (login: 300 s).
    pub refresh_access_lifetime: AtomicI64,
    pub refresh_ok: AtomicU64,
    pub refresh_started: AtomicU64,
    pub refresh_refused: AtomicU64,
    pub blacklist_ok: AtomicU64,
    pub blacklist_refused: AtomicU64,
    pub api_ok: AtomicU64,
    jti: AtomicU64,
}

pub struct Rotator {
    pub base_url: String,
    pub state: Arc<RotatorState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Rotator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Rotator {
    pub async fn start(cfg: RotatorConfig, clock: Arc<ManualClock>) -> Self {
        let state = Arc::new(RotatorState {
            cfg,
            clock,
            live: Mutex::default(),
            issued_refresh: Mutex::default(),
            date: Mutex::default(),
            answer_takes_secs: AtomicU64::new(0),
            refresh_delay_ms: AtomicU64::new(0),
            refresh_access_lifetime: AtomicI64::new(300),
            refresh_ok: AtomicU64::new(0),
            refresh_started: AtomicU64::new(0),
            refresh_refused: AtomicU64::new(0),
            blacklist_ok: AtomicU64::new(0),
            blacklist_refused: AtomicU64::new(0),
            api_ok: AtomicU64::new(0),
            jti: AtomicU64::new(0),
        });
        let app = Router::new()
            .route("/api/token/", post(obtain))
            .route("/api/token/refresh/", post(refresh))
            .route("/api/token/blacklist/", post(blacklist))
            .route("/api/hello/", get(hello))
            .with_state(Arc::clone(&state));
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

    /// How many issued refresh tokens the server would still accept.
    pub fn live_refresh_tokens(&self) -> usize {
        self.state.live.lock().unwrap().len()
    }
}

impl RotatorState {
    fn now(&self) -> i64 {
        self.clock
            .now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    fn token(&self, kind: &str, lifetime: i64, iat: i64) -> String {
        let jti = self.jti.fetch_add(1, Ordering::SeqCst);
        let mut claims = json!({"token_type": kind, "exp": iat + lifetime, "user_id": "7", "jti": format!("{jti}")});
        if self.cfg.include_iat {
            claims["iat"] = json!(iat);
        }
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(KEY),
        )
        .unwrap()
    }

    fn pair(&self, fields: &(String, String), access_lifetime: i64) -> Value {
        let iat = self.now();
        let access = self.token("access", access_lifetime, iat);
        let refresh = self.token("refresh", 86_400, iat);
        self.live.lock().unwrap().insert(refresh.clone());
        self.issued_refresh.lock().unwrap().push(refresh.clone());
        let takes = self.answer_takes_secs.load(Ordering::SeqCst);
        if takes > 0 {
            self.clock.advance(Duration::from_secs(takes));
        }
        json!({ fields.0.clone(): access, fields.1.clone(): refresh })
    }

    fn reply(&self, status: StatusCode, body: Value) -> Response {
        let mut response = (status, Json(body)).into_response();
        if let Some(date) = self.date.lock().unwrap().as_deref() {
            response
                .headers_mut()
                .insert("date", HeaderValue::from_str(date).unwrap());
        }
        response
    }
}

fn field(body: &Bytes, name: &str) -> Option<String> {
    serde_json::from_slice::<Value>(body).ok()?[name]
        .as_str()
        .map(str::to_owned)
}

async fn obtain(State(s): State<Arc<RotatorState>>, body: Bytes) -> Response {
    if field(&body, "password").as_deref() != Some("pw") {
        return s.reply(
            StatusCode::UNAUTHORIZED,
            json!({"detail": "No active account found with the given credentials"}),
        );
    }
    let pair = s.pair(&s.cfg.login_fields, 300);
    s.reply(StatusCode::OK, pair)
}

async fn refresh(State(s): State<Arc<RotatorState>>, body: Bytes) -> Response {
    s.refresh_started.fetch_add(1, Ordering::SeqCst);
    let token = field(&body, "refresh").unwrap_or_default();
    if !s.live.lock().unwrap().remove(&token) {
        s.refresh_refused.fetch_add(1, Ordering::SeqCst);
        return s.reply(
            StatusCode::UNAUTHORIZED,
            json!({"detail": "Token is blacklisted", "code": "token_not_valid"}),
        );
    }
    s.refresh_ok.fetch_add(1, Ordering::SeqCst);
    let lifetime = s.refresh_access_lifetime.load(Ordering::SeqCst);
    let pair = s.pair(&s.cfg.refresh_fields, lifetime);
    // Rotated (and the old token blacklisted) first, slow to answer after: what a loaded
    // Django server does.
    let delay = s.refresh_delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    s.reply(StatusCode::OK, pair)
}

async fn blacklist(State(s): State<Arc<RotatorState>>, body: Bytes) -> Response {
    let token = field(&body, "refresh").unwrap_or_default();
    if s.live.lock().unwrap().remove(&token) {
        s.blacklist_ok.fetch_add(1, Ordering::SeqCst);
        s.reply(StatusCode::OK, json!({}))
    } else {
        s.blacklist_refused.fetch_add(1, Ordering::SeqCst);
        s.reply(
            StatusCode::UNAUTHORIZED,
            json!({"detail": "Token is blacklisted", "code": "token_not_valid"}),
        )
    }
}

async fn hello(State(s): State<Arc<RotatorState>>, headers: HeaderMap) -> Response {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned();
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_exp = false;
    validation.required_spec_claims = HashSet::new();
    let ok = jsonwebtoken::decode::<Value>(&token, &DecodingKey::from_secret(KEY), &validation)
        .ok()
        .is_some_and(|d| d.claims["exp"].as_i64().unwrap_or(0) > s.now());
    if ok {
        s.api_ok.fetch_add(1, Ordering::SeqCst);
        s.reply(StatusCode::OK, json!({"hello": "world"}))
    } else {
        s.reply(
            StatusCode::UNAUTHORIZED,
            json!({"detail": "Given token not valid for any token type", "code": "token_not_valid"}),
        )
    }
}
