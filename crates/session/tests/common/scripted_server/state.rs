//! The scripted server's state: its configuration, clock, counters, blacklist, injected
//! failures and the tokens it issued and received; signing and checking tokens.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{json, Value};
use tessera_session::Clock;

use super::keys::{ED_PRIVATE, ED_PUBLIC};
use super::ServerConfig;

pub(super) const SECRET: &[u8] = b"test-signing-key-not-a-secret";

pub struct ServerState {
    pub cfg: ServerConfig,
    pub clock: Arc<dyn Clock>,
    pub skew_secs: AtomicI64,
    pub counters: Mutex<BTreeMap<String, u64>>,
    pub blacklisted: Mutex<HashSet<String>>,
    pub refresh_tokens_received: Mutex<Vec<String>>,
    pub issued: Mutex<Vec<String>>,
    pub fail_refresh: Mutex<VecDeque<(u16, Option<String>)>>,
    pub reject_next_access: AtomicU32,
    pub refresh_delay_ms: AtomicU64,
    /// The JWKS endpoint answers 503 this many times first.
    pub fail_jwks: AtomicU32,
    /// Refresh requests received (counted before the delay, unlike the per-status counters).
    pub refresh_started: AtomicU64,
    pub users: Mutex<BTreeMap<String, String>>,
    pub echo_bodies: Mutex<Vec<Vec<u8>>>,
    pub jti: AtomicU64,
}

impl ServerState {
    pub fn now(&self) -> i64 {
        let local = self
            .clock
            .now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        local + self.skew_secs.load(Ordering::SeqCst)
    }

    pub fn count(&self, method: &str, path: &str, status: u16) {
        *self
            .counters
            .lock()
            .unwrap()
            .entry(format!("{method} {path} {status}"))
            .or_default() += 1;
    }

    pub fn issue(&self, token_type: &str, lifetime: i64) -> String {
        let now = self.now();
        let mut claims =
            json!({"token_type": token_type, "exp": now + lifetime, "iat": now, "user_id": "1"});
        if token_type == "sliding" {
            claims["refresh_exp"] = json!(now + self.cfg.refresh_lifetime);
        }
        self.sign(claims)
    }

    pub fn sign(&self, mut claims: Value) -> String {
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

    pub fn check(&self, token: &str, token_type: &str) -> Result<Value, &'static str> {
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

pub(super) fn new_state(cfg: ServerConfig, clock: Arc<dyn Clock>) -> Arc<ServerState> {
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
