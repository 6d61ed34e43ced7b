//! The scripted simplejwt look-alike: an in-process axum server that follows
//! djangorestframework-simplejwt's wire format (same paths, bodies, status codes and error
//! codes; HS256 tokens, or Ed25519 for the verification tests; rotation and blacklist
//! switches) and offers what the reference backend cannot: a clock shared with the client (plus
//! an optional server skew), login/response field names of custom views, sliding tokens, a JWKS
//! endpoint, registration with field errors, endpoints that answer `user_inactive`, 403 or a
//! redirect, 401s injected on a valid access token, a delay on the refresh endpoint only, and
//! a record of every token issued and every refresh token received.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

mod api_views;
pub mod keys;
mod routes;
mod state;
mod tls;

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde_json::Value;
use tessera_session::Clock;

use routes::router;
use state::new_state;
pub use state::ServerState;

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
