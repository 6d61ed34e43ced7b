//! [`TestServer`]: one backend as a child process on loopback, with its own temp directory
//! (database, logs), stopped on drop.

use std::fs::File;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use url::Url;

use crate::binaries::{backend_binary, django_python, workspace_root};
use crate::options::{BackendKind, ServerOptions, SigningAlgorithm};
use crate::stacks::{stack_command, Stack, StackOptions};

/// A running (or stopped, see [`TestServer::stop`]) backend.
pub struct TestServer {
    kind: BackendKind,
    options: ServerOptions,
    base_url: Url,
    port: u16,
    dir: tempfile::TempDir,
    /// Django's signing key, kept so a restart accepts tokens issued before it.
    django_secret: String,
    /// Set for a real-package stack ([`TestServer::start_stack`]).
    pub(crate) stack: Option<(Stack, StackOptions)>,
    child: Option<Child>,
    /// Held open: the server exits when it closes (also when this test process dies).
    stdin: Option<ChildStdin>,
    pub(crate) client: reqwest::Client,
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServer")
            .field("kind", &self.kind)
            .field("stack", &self.stack())
            .field("base_url", &self.base_url.as_str())
            .field("running", &self.child.is_some())
            .finish_non_exhaustive()
    }
}

impl TestServer {
    /// Starts a backend on a free loopback port with a fresh database and waits until it
    /// answers HTTP. Fails with the server's own output if it does not come up in
    /// `options.startup_timeout`.
    pub async fn start(kind: BackendKind, options: ServerOptions) -> anyhow::Result<Self> {
        if kind == BackendKind::Django && options.algorithm == SigningAlgorithm::Rs256 {
            bail!("the Django test backend signs with HS256 only");
        }
        Self::start_with(kind, options, None).await
    }

    pub(crate) async fn start_with(
        kind: BackendKind,
        options: ServerOptions,
        stack: Option<(Stack, StackOptions)>,
    ) -> anyhow::Result<Self> {
        let label = stack
            .as_ref()
            .map_or(kind.name(), |(stack, _)| stack.name());
        let dir = tempfile::Builder::new()
            .prefix(&format!("tessera-{label}-"))
            .tempdir()
            .context("creating the server's temp directory")?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("building the HTTP client")?;
        let mut server = Self {
            kind,
            options,
            base_url: Url::parse("http://127.0.0.1/").context("placeholder URL")?,
            port: 0,
            dir,
            django_secret: random_secret(),
            stack,
            child: None,
            stdin: None,
            client,
        };
        server.launch().await?;
        Ok(server)
    }

    pub fn kind(&self) -> BackendKind {
        self.kind
    }

    /// The stack name, else the backend kind's (for messages).
    fn label(&self) -> &'static str {
        self.stack().map_or(self.kind.name(), Stack::name)
    }

    pub fn options(&self) -> &ServerOptions {
        &self.options
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// A URL on this server, e.g. `url("api/token/")`.
    pub fn url(&self, path: &str) -> Url {
        let mut url = self.base_url.clone();
        url.set_path(path.trim_start_matches('/'));
        url
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The first configured user (name, password).
    pub fn user(&self) -> Option<(&str, &str)> {
        self.options
            .users
            .first()
            .map(|(name, password)| (name.as_str(), password.as_str()))
    }

    /// True while the child process is alive.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => true,
            Some(_) | None => false,
        }
    }

    /// What the server wrote to stderr (and stdout) so far.
    pub fn logs(&self) -> String {
        let read =
            |name: &str| std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        format!("{}{}", read("stdout.log"), read("stderr.log"))
    }

    /// Kills the server (the port then refuses connections). The database is kept.
    pub fn stop(&mut self) {
        self.stdin.take();
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again after [`TestServer::stop`], on the same port with the same
    /// database and keys (tokens issued before stay valid, blacklisted ones stay blacklisted).
    /// Test-control state (counters, injected failures, delay, clock shift) starts afresh.
    pub async fn start_again(&mut self) -> anyhow::Result<()> {
        if self.is_running() {
            bail!("the {} server is still running", self.label());
        }
        self.stop();
        self.launch().await
    }

    async fn launch(&mut self) -> anyhow::Result<()> {
        let mut command = self.command()?;
        let stderr = File::create(self.dir.path().join("stderr.log")).context("stderr log")?;
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr));
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start the {} backend: {command:?}", self.label()))?;
        self.stdin = child.stdin.take();
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow!("the server's stdout was not captured"))?;
        self.child = Some(child);

        // A thread keeps draining stdout into a log and reports the "Listening on" line.
        let (tx, rx) = mpsc::channel::<String>();
        let mut log = File::create(self.dir.path().join("stdout.log")).context("stdout log")?;
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = writeln!(log, "{line}");
                if let Some(url) = line.strip_prefix("Listening on ") {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });

        let deadline = Instant::now() + self.options.startup_timeout;
        let announced = loop {
            match rx.try_recv() {
                Ok(url) => break url,
                Err(mpsc::TryRecvError::Disconnected) => {
                    return Err(self.startup_failure("exited before listening"));
                }
                Err(mpsc::TryRecvError::Empty) => {}
            }
            if Instant::now() > deadline {
                return Err(self.startup_failure("did not announce its address in time"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let url = Url::parse(&announced)
            .with_context(|| format!("the server announced an unreadable URL {announced:?}"))?;
        self.port = url
            .port()
            .ok_or_else(|| anyhow!("the server announced no port: {announced}"))?;
        self.base_url = url;
        self.wait_until_answering(deadline).await
    }

    async fn wait_until_answering(&mut self, deadline: Instant) -> anyhow::Result<()> {
        // With controls on, probe an endpoint the counters ignore, so tests start from zero.
        let (probe, ready) = if self.options.test_controls {
            (self.url("_test/counters"), 200)
        } else if let Some((stack, _)) = &self.stack {
            (self.url(stack.me_path()), 401)
        } else {
            (self.url("api/hello/"), 401)
        };
        loop {
            if let Ok(response) = self.client.get(probe.clone()).send().await {
                if response.status().as_u16() == ready {
                    return Ok(());
                }
            }
            if !self.is_running() {
                return Err(self.startup_failure("exited while starting"));
            }
            if Instant::now() > deadline {
                return Err(self.startup_failure("did not answer HTTP in time"));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    fn startup_failure(&mut self, what: &str) -> anyhow::Error {
        self.stop();
        anyhow!(
            "the {} backend {what} (timeout {:?}). Its output:\n{}",
            self.label(),
            self.options.startup_timeout,
            self.logs()
        )
    }

    fn command(&self) -> anyhow::Result<Command> {
        let o = &self.options;
        if let Some((stack, stack_options)) = &self.stack {
            let database = self.dir.path().join("django.sqlite3");
            return stack_command(
                *stack,
                stack_options,
                o,
                &database,
                self.port,
                &self.django_secret,
            );
        }
        let users: Vec<String> = o
            .users
            .iter()
            .map(|(name, password)| format!("{name}:{password}"))
            .collect();
        match self.kind {
            BackendKind::Rust => {
                let mut command = Command::new(backend_binary()?);
                command
                    .arg("--listen")
                    .arg(format!("127.0.0.1:{}", self.port))
                    .arg("--database")
                    .arg(self.dir.path().join("backend.sqlite3"))
                    .args(["--access-lifetime", &o.access_lifetime_secs.to_string()])
                    .args(["--refresh-lifetime", &o.refresh_lifetime_secs.to_string()])
                    .args(["--leeway", &o.leeway_secs.to_string()])
                    .args(["--password-iterations", &o.password_iterations.to_string()])
                    .arg("--exit-on-stdin-eof")
                    .env("RUST_LOG", "warn")
                    .env_remove("TESSERA_BACKEND_SECRET");
                for user in &users {
                    command.args(["--user", user]);
                }
                if o.rotate {
                    command.arg("--rotate-refresh-tokens");
                }
                if o.blacklist_after_rotation {
                    command.arg("--blacklist-after-rotation");
                }
                if o.test_controls {
                    command.arg("--test-controls");
                }
                if o.algorithm == SigningAlgorithm::Rs256 {
                    command
                        .args(["--algorithm", "RS256", "--private-key"])
                        .arg(test_rsa_key());
                }
                Ok(command)
            }
            BackendKind::Django => {
                let mut command = Command::new(django_python()?);
                command
                    .arg(
                        workspace_root()
                            .join("tests")
                            .join("django")
                            .join("serve.py"),
                    )
                    .args(["--port", &self.port.to_string()])
                    .arg("--database")
                    .arg(self.dir.path().join("django.sqlite3"))
                    .arg("--exit-on-stdin-eof")
                    .envs(o.django_env())
                    .env("TESSERA_SECRET_KEY", &self.django_secret);
                for user in &users {
                    command.args(["--user", user]);
                }
                Ok(command)
            }
        }
    }

    /// The temp directory holding the database and logs.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The throw-away RS256 key the Rust backend signs with in tests.
pub fn test_rsa_key() -> PathBuf {
    workspace_root()
        .join("crates")
        .join("backend")
        .join("tests")
        .join("fixtures")
        .join("test-rsa-key.pem")
}

fn random_secret() -> String {
    // Uniqueness, not secrecy: the Django test backend only needs a per-server key.
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut out = String::from("tessera-test-");
    for _ in 0..4 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(Instant::now().elapsed().as_nanos());
        out.push_str(&format!("{:016x}", hasher.finish()));
    }
    out
}
