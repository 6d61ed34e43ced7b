//! Starting and stopping a proxy: bound to loopback only (another host, or `0.0.0.0`, is
//! refused), on a free port by default, for a profile that is signed in; served by hyper
//! through axum with HTTP/1.1 keep-alive; stopped gracefully — no new connections, requests
//! in flight given [`ProxyOptions::drain`] to finish — by [`LocalProxy::stop`] or when the
//! handle is dropped.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tessera_session::{SessionStatus, Workspace};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::capability::{Capability, ProxyUrl};
use crate::forward::{forward, Shared};

/// How a proxy listens and buffers.
#[derive(Debug, Clone)]
pub struct ProxyOptions {
    /// Where to listen: a loopback address; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Request bodies up to this size are buffered, so that a request the server refused with
    /// `token_not_valid` can be replayed after a refresh; larger bodies stream to the server
    /// once and are not replayed (1 MiB by default).
    pub replay_limit: usize,
    /// How long requests in flight may take to finish once the proxy is stopped.
    pub drain: Duration,
}

impl Default for ProxyOptions {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            replay_limit: DEFAULT_REPLAY_LIMIT,
            drain: Duration::from_secs(5),
        }
    }
}

/// The default [`ProxyOptions::replay_limit`].
pub const DEFAULT_REPLAY_LIMIT: usize = 1024 * 1024;

/// Why a proxy did not start.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The address is not a loopback one.
    #[error("the proxy listens on loopback only (127.0.0.1 or ::1), not on {0}")]
    NotLoopback(IpAddr),
    /// Binding failed (port in use, permissions).
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The OS's reason.
        source: std::io::Error,
    },
    /// No random source for the capability.
    #[error("no random source for the proxy's capability: {0}")]
    Random(String),
    /// The profile cannot be lent (not signed in, no such profile, keyring unavailable).
    #[error(transparent)]
    Session(#[from] tessera_session::Error),
}

impl ProxyError {
    /// A stable code, as the engine's errors have.
    pub fn code(&self) -> &'static str {
        match self {
            ProxyError::NotLoopback(_) => "proxy_not_loopback",
            ProxyError::Bind { .. } => "proxy_bind",
            ProxyError::Random(_) => "proxy_random",
            ProxyError::Session(e) => e.code(),
        }
    }
}

/// A running proxy. Dropping it stops it (without waiting); [`LocalProxy::stop`] waits.
pub struct LocalProxy {
    url: ProxyUrl,
    addr: SocketAddr,
    profile: String,
    status: SessionStatus,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for LocalProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalProxy")
            .field("addr", &self.addr)
            .field("profile", &self.profile)
            .finish_non_exhaustive()
    }
}

impl LocalProxy {
    /// Starts a proxy for profile `profile` of `workspace`, which must be signed in.
    pub async fn start(
        workspace: Arc<Workspace>,
        profile: &str,
        options: ProxyOptions,
    ) -> Result<Self, ProxyError> {
        if !options.listen.ip().is_loopback() {
            return Err(ProxyError::NotLoopback(options.listen.ip()));
        }
        let status = workspace.lendable(profile).await?;
        let base_url = workspace.profile(profile).await?.base_url;
        let capability = Capability::generate().map_err(|e| ProxyError::Random(e.to_string()))?;
        let listener = tokio::net::TcpListener::bind(options.listen)
            .await
            .map_err(|source| ProxyError::Bind {
                addr: options.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| ProxyError::Bind {
            addr: options.listen,
            source,
        })?;
        let url = ProxyUrl::new(addr, &capability);
        let shared = Arc::new(Shared {
            workspace,
            profile: profile.to_owned(),
            capability,
            replay_limit: options.replay_limit,
            base_url: base_url.to_string(),
            base_path: base_url.path().to_owned(),
            proxy_url: url.expose_secret().to_owned(),
        });
        let app = axum::Router::new().fallback(forward).with_state(shared);
        let (stop, stopped) = oneshot::channel::<()>();
        let drain = options.drain;
        let task = tokio::spawn(async move {
            let (drained, drain_now) = oneshot::channel::<()>();
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = stopped.await;
                let _ = drained.send(());
            });
            let mut serve = std::pin::pin!(std::future::IntoFuture::into_future(serve));
            tokio::select! {
                _ = &mut serve => {}
                _ = async {
                    let _ = drain_now.await;
                    tokio::time::sleep(drain).await;
                } => {
                    tracing::debug!("the proxy stopped with requests still in flight");
                }
            }
        });
        tracing::info!(profile, %addr, "local proxy started");
        Ok(Self {
            url,
            addr,
            profile: profile.to_owned(),
            status,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The URL tools are given (`TESSERA_PROXY`): a secret, never log it.
    pub fn url(&self) -> &ProxyUrl {
        &self.url
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The profile it lends.
    pub fn profile(&self) -> &str {
        &self.profile
    }

    /// The session when the proxy started.
    pub fn status_at_start(&self) -> &SessionStatus {
        &self.status
    }

    /// Stops accepting connections and waits for requests in flight (at most the drain time).
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        tracing::info!(profile = %self.profile, "local proxy stopped");
    }
}

impl Drop for LocalProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
