//! Starting and stopping the server: prepares the database (users, keys), binds the router to
//! a listener, and shuts down gracefully (in-flight requests finish) when asked.

use std::net::SocketAddr;
use std::sync::Arc;

use rand::Rng as _;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::clock::Clock;
use crate::config::{Config, DatabaseLocation, UserSpec};
use crate::db::Database;
use crate::error::BackendError;
use crate::keys::SigningKeys;
use crate::password;
use crate::routes;
use crate::state::{AppRef, AppState};
use crate::test_controls::TestControls;
use crate::tokens::TokenService;

/// Blacklist entries of tokens expired longer ago than this are dropped at start-up.
const BLACKLIST_RETENTION_SECS: i64 = 7 * 86_400;

/// A running server.
pub struct Server {
    local_addr: SocketAddr,
    accounts: Vec<String>,
    generated: Option<UserSpec>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Binds `addr` (port 0 picks a free port) and starts serving.
    pub async fn bind(config: Config, addr: SocketAddr) -> Result<Self, BackendError> {
        let listener = TcpListener::bind(addr).await?;
        Self::start(config, listener).await
    }

    /// Prepares the database and keys, then serves on `listener` in a background task.
    pub async fn start(config: Config, listener: TcpListener) -> Result<Self, BackendError> {
        let local_addr = listener.local_addr()?;
        let prepared = tokio::task::spawn_blocking(move || prepare(config))
            .await
            .map_err(|err| BackendError::Task(err.to_string()))??;
        let router = routes::router(prepared.app);
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    // A dropped sender also means "stop".
                    let _ = rx.await;
                })
                .await
        });
        Ok(Self {
            local_addr,
            accounts: prepared.accounts,
            generated: prepared.generated,
            shutdown: Some(tx),
            task,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http://ADDR:PORT/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.local_addr)
    }

    /// Usernames created or updated at start-up.
    pub fn accounts(&self) -> &[String] {
        &self.accounts
    }

    /// The demo account made because the database had no user (its password is random).
    pub fn generated_account(&self) -> Option<&UserSpec> {
        self.generated.as_ref()
    }

    /// Stops accepting connections, lets in-flight requests finish, and returns.
    pub async fn shutdown(mut self) -> Result<(), BackendError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        (&mut self.task)
            .await
            .map_err(|err| BackendError::Task(err.to_string()))??;
        Ok(())
    }
}

struct Prepared {
    app: AppRef,
    accounts: Vec<String>,
    generated: Option<UserSpec>,
}

fn prepare(config: Config) -> Result<Prepared, BackendError> {
    if let DatabaseLocation::File(path) = &config.database {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
    }
    let db = Arc::new(Database::open(&config.database)?);
    let clock = Arc::new(Clock::new());
    let now = clock.now_secs();
    db.prune_blacklist(now - BLACKLIST_RETENTION_SECS)?;

    let iterations = config.password_iterations.max(1);
    let mut accounts = Vec::new();
    for spec in &config.users {
        db.upsert_user(
            &spec.username,
            &password::hash(&spec.password, iterations),
            now,
        )?;
        accounts.push(spec.username.clone());
    }
    let mut generated = None;
    if config.create_demo_user_if_empty && db.user_count()? == 0 {
        let spec = UserSpec {
            username: "demo".to_owned(),
            password: random_password(),
        };
        db.upsert_user(
            &spec.username,
            &password::hash(&spec.password, iterations),
            now,
        )?;
        accounts.push(spec.username.clone());
        generated = Some(spec);
    }

    let keys = SigningKeys::load(&config, &db)?;
    let tokens = TokenService::new(
        keys,
        clock.clone(),
        config.access_lifetime,
        config.refresh_lifetime,
        config.leeway,
    );
    let app = Arc::new(AppState {
        db,
        tokens,
        clock,
        rotate_refresh_tokens: config.rotate_refresh_tokens,
        blacklist_after_rotation: config.blacklist_after_rotation,
        password_iterations: iterations,
        controls: config.test_controls.then(TestControls::new),
        dummy_hash: AppState::make_dummy_hash(iterations),
    });
    Ok(Prepared {
        app,
        accounts,
        generated,
    })
}

fn random_password() -> String {
    const CHARS: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..16)
        .map(|_| char::from(CHARS[rng.gen_range(0..CHARS.len())]))
        .collect()
}
