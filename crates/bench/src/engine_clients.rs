//! The clients the engine benchmark compares: the engine's [`Session`] and two `reqwest`
//! baselines (a default client, and one configured like the engine's transport), all signed in
//! to the same reference backend, and the endpoint they call.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use reqwest::header::{HeaderValue, AUTHORIZATION};
use serde_json::{json, Value};
use tessera_session::{
    AccessToken, ApiRequest, FakeStore, Password, Profile, Session, SessionConfig,
};
use tessera_testkit::TestServer;

/// The endpoint every benchmark request calls.
pub const TARGET: &str = "/api/hello/";

/// A session signed in to `server` with a fake (in-memory) store and its own lock directory.
pub async fn signed_in(
    server: &TestServer,
    lock_root: &std::path::Path,
    name: &str,
) -> anyhow::Result<Session> {
    let profile = Profile::from_base_url(server.base_url().as_str())?;
    let session = Session::open(SessionConfig::new(
        "bench",
        profile,
        Arc::new(FakeStore::new()),
        lock_root.join(name),
    ))?;
    let (user, password) = server.user().ok_or_else(|| anyhow!("no user"))?;
    session
        .login(user, Password::new(password.to_owned()))
        .await
        .context("signing in")?;
    Ok(session)
}

#[derive(Clone, Copy, Debug)]
pub enum Variant {
    Bare,
    EngineLikeReqwest,
    Engine,
}

impl Variant {
    pub const ALL: [Variant; 3] = [Variant::Bare, Variant::EngineLikeReqwest, Variant::Engine];
    pub fn name(self) -> &'static str {
        match self {
            Variant::Bare => "reqwest (default client, fixed Authorization)",
            Variant::EngineLikeReqwest => "reqwest (engine's client settings, fixed Authorization)",
            Variant::Engine => "Session::request",
        }
    }
}

pub struct Clients {
    session: Session,
    bare: reqwest::Client,
    configured: reqwest::Client,
    url: reqwest::Url,
    auth: HeaderValue,
}

impl Clients {
    pub async fn one(&self, variant: Variant) -> anyhow::Result<usize> {
        let (status, len) = match variant {
            Variant::Engine => {
                let r = self.session.request(ApiRequest::get(TARGET)).await?;
                (r.status, r.body.len())
            }
            Variant::Bare | Variant::EngineLikeReqwest => {
                let client = if matches!(variant, Variant::Bare) {
                    &self.bare
                } else {
                    &self.configured
                };
                let r = client
                    .get(self.url.clone())
                    .header(AUTHORIZATION, self.auth.clone())
                    .send()
                    .await?;
                let status = r.status().as_u16();
                (status, r.bytes().await?.len())
            }
        };
        if status != 200 {
            bail!("{}: GET {TARGET} answered {status}", variant.name());
        }
        Ok(len)
    }

    /// Mean time per request over `n` sequential requests.
    pub async fn block(&self, variant: Variant, n: usize) -> anyhow::Result<Duration> {
        let started = Instant::now();
        for _ in 0..n {
            self.one(variant).await?;
        }
        Ok(started.elapsed() / n.max(1) as u32)
    }
}

/// An access token from the server's `POST /api/token/` with its user's credentials, signed in
/// by the benchmark itself (not through the engine), for the baselines that send a fixed
/// `Authorization` header. Kept in the engine's redacted type: never print it.
pub async fn own_access_token(
    server: &TestServer,
    client: &reqwest::Client,
) -> anyhow::Result<AccessToken> {
    let (user, password) = server.user().ok_or_else(|| anyhow!("no user"))?;
    let body: Value = client
        .post(server.url("api/token/"))
        .json(&json!({"username": user, "password": password}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(AccessToken::new(
        body.get("access")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("no access token in the sign-in answer"))?
            .to_owned(),
    ))
}

/// `Bearer <token>` as a sensitive header value (redacted in `Debug`).
pub fn bearer_header(access: &AccessToken) -> anyhow::Result<HeaderValue> {
    let mut auth = HeaderValue::from_str(&format!("Bearer {}", access.expose_secret()))
        .context("header value")?;
    auth.set_sensitive(true);
    Ok(auth)
}

/// The engine's session and the two reqwest baselines, all signed in to `server`.
pub async fn clients(server: &TestServer, lock_root: &std::path::Path) -> anyhow::Result<Clients> {
    let session = signed_in(server, lock_root, "overhead").await?;
    let profile = session.profile().clone();

    // The baseline's token comes from its own sign-in, kept in the engine's redacted type.
    let bare = reqwest::Client::new();
    let access = own_access_token(server, &bare).await?;
    let auth = bearer_header(&access)?;
    drop(access);

    // What crates/session/src/transport.rs builds for the api client.
    let origin = server.base_url().origin();
    let configured = reqwest::Client::builder()
        .user_agent("tessera/bench")
        .redirect(reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 5 || attempt.url().origin() != origin {
                attempt.stop()
            } else {
                attempt.follow()
            }
        }))
        .connect_timeout(Duration::from_secs(profile.connect_timeout_secs))
        .timeout(Duration::from_secs(profile.request_timeout_secs))
        .pool_max_idle_per_host(16)
        .build()?;
    Ok(Clients {
        session,
        bare,
        configured,
        url: server.url(TARGET),
        auth,
    })
}
