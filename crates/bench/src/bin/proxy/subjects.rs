//! What the proxy benchmark measures: the workspaces, the proxies lending their profiles, the
//! clients, and each variant's one request (engine, proxy, bare reqwest, curl).

use std::process::Stdio;
use std::sync::Arc;

use super::*;
use anyhow::{anyhow, bail, Context as _};
use reqwest::header::{HeaderValue, AUTHORIZATION};
use tessera_bench::engine_clients::{bearer_header, own_access_token, TARGET};
use tessera_proxy::{LocalProxy, ProxyOptions};
use tessera_session::{
    ApiRequest, FakeStore, Password, Profile, Session, Workspace, WorkspaceConfig,
};
use tessera_testkit::TestServer;
use tokio::io::AsyncWriteExt as _;

/// A workspace on `dir` with an in-memory store, built as the shells build theirs.
pub(crate) fn workspace_in(dir: &std::path::Path) -> Arc<Workspace> {
    Arc::new(Workspace::new(WorkspaceConfig::new(
        dir.to_owned(),
        Arc::new(FakeStore::new()),
    )))
}

/// A profile of `workspace` on `server`, signed in, lent through a proxy of its own.
pub(crate) struct Lent {
    pub(crate) name: String,
    pub(crate) proxy: LocalProxy,
    /// `http://127.0.0.1:PORT/CAPABILITY/api/hello/`: a secret, never printed.
    pub(crate) target: reqwest::Url,
}

pub(crate) async fn lend(
    workspace: &Arc<Workspace>,
    server: &TestServer,
    name: &str,
) -> anyhow::Result<Lent> {
    let profile = Profile::from_base_url(server.base_url().as_str())?;
    workspace
        .add_profile(name, profile)
        .await
        .context("adding the profile")?;
    let (user, password) = server.user().ok_or_else(|| anyhow!("no user"))?;
    workspace
        .sign_in(name, user, Password::new(password.to_owned()))
        .await
        .context("signing in")?;
    let proxy = LocalProxy::start(workspace.clone(), name, ProxyOptions::default())
        .await
        .context("starting the proxy")?;
    let target = reqwest::Url::parse(&format!("{}{TARGET}", proxy.url().expose_secret()))
        .context("the proxy's URL")?;
    Ok(Lent {
        name: name.to_owned(),
        proxy,
        target,
    })
}

/// A keep-alive client that never goes through an environment proxy (loopback only).
pub(crate) fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder().no_proxy().build()?)
}

/// A request through the proxy: `reqwest` errors without their URL (it holds the capability).
pub(crate) async fn get_through(
    client: &reqwest::Client,
    target: &reqwest::Url,
) -> anyhow::Result<usize> {
    let response = client
        .get(target.clone())
        .send()
        .await
        .map_err(reqwest::Error::without_url)?;
    let status = response.status().as_u16();
    let refusal = response
        .headers()
        .get(tessera_proxy::refusal::ERROR_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let len = response
        .bytes()
        .await
        .map_err(reqwest::Error::without_url)?
        .len();
    if status != 200 {
        bail!(
            "GET {TARGET} through the proxy answered {status}{}",
            refusal.map_or_else(String::new, |code| format!(" ({code})"))
        );
    }
    Ok(len)
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Variant {
    Bare,
    Session,
    Send,
    Forward,
    Proxy,
}

impl Variant {
    pub(crate) const ALL: [Variant; 5] = [
        Variant::Bare,
        Variant::Session,
        Variant::Send,
        Variant::Forward,
        Variant::Proxy,
    ];
    pub(crate) fn name(self) -> &'static str {
        match self {
            Variant::Bare => "reqwest straight to the server (fixed Authorization)",
            Variant::Session => "Session::request (the Workspace's session, held)",
            Variant::Send => "Workspace::send (Session::request)",
            Variant::Forward => "Workspace::forward (the engine path the proxy calls)",
            Variant::Proxy => "reqwest through the proxy",
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Curl {
    Direct,
    Proxy,
}

impl Curl {
    pub(crate) const ALL: [Curl; 2] = [Curl::Direct, Curl::Proxy];
    pub(crate) fn name(self) -> &'static str {
        match self {
            Curl::Direct => "curl straight to the server (Authorization: Bearer)",
            Curl::Proxy => "curl through the proxy",
        }
    }
}

/// What the overhead benchmarks call, all on one profile of one workspace.
pub(crate) struct Subjects {
    pub(crate) workspace: Arc<Workspace>,
    /// The profile's session as `Workspace::session` opened it, kept (no per-request lookup).
    pub(crate) session: Session,
    pub(crate) proxy: LocalProxy,
    pub(crate) proxy_client: reqwest::Client,
    pub(crate) proxy_target: reqwest::Url,
    pub(crate) direct_client: reqwest::Client,
    pub(crate) direct_target: reqwest::Url,
    pub(crate) auth: HeaderValue,
    /// curl configs (`-K -`): the direct one holds the token, the proxy one the capability.
    pub(crate) curl_direct: String,
    pub(crate) curl_proxy: String,
    /// The capability and the token: cut out of any error message.
    pub(crate) secrets: [String; 2],
}

impl Subjects {
    pub(crate) async fn new(
        workspace: &Arc<Workspace>,
        server: &TestServer,
    ) -> anyhow::Result<Self> {
        let lent = lend(workspace, server, PROFILE).await?;
        let direct_client = client()?;
        let access = own_access_token(server, &direct_client).await?;
        let auth = bearer_header(&access)?;
        let direct_target = server.url(TARGET);
        let curl_config = |url: &str, header: Option<&str>| {
            let mut config = String::from(
                "silent\nshow-error\nnoproxy = \"*\"\noutput = \"/dev/null\"\nwrite-out = \"%{http_code}\"\n",
            );
            config.push_str(&format!("url = \"{url}\"\n"));
            if let Some(header) = header {
                config.push_str(&format!("header = \"{header}\"\n"));
            }
            config
        };
        let curl_direct = curl_config(
            direct_target.as_str(),
            Some(&format!("Authorization: Bearer {}", access.expose_secret())),
        );
        let curl_proxy = curl_config(lent.target.as_str(), None);
        let capability = lent
            .proxy
            .url()
            .expose_secret()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let secrets = [capability, access.expose_secret().to_owned()];
        drop(access);
        Ok(Self {
            workspace: workspace.clone(),
            session: workspace.session(PROFILE).await?,
            proxy: lent.proxy,
            proxy_client: client()?,
            proxy_target: lent.target,
            direct_client,
            direct_target,
            auth,
            curl_direct,
            curl_proxy,
            secrets,
        })
    }

    pub(crate) fn redact(&self, text: &str) -> String {
        self.secrets
            .iter()
            .filter(|s| !s.is_empty())
            .fold(text.to_owned(), |text, secret| text.replace(secret, "***"))
    }

    pub(crate) async fn one(&self, variant: Variant) -> anyhow::Result<usize> {
        let (status, len) = match variant {
            Variant::Proxy => return get_through(&self.proxy_client, &self.proxy_target).await,
            Variant::Forward => {
                let answer = self
                    .workspace
                    .forward(PROFILE, ApiRequest::get(TARGET))
                    .await?;
                let status = answer.status;
                (status, answer.collect().await?.len())
            }
            Variant::Session => {
                let r = self.session.request(ApiRequest::get(TARGET)).await?;
                (r.status, r.body.len())
            }
            Variant::Send => {
                let sent = self
                    .workspace
                    .send(PROFILE, ApiRequest::get(TARGET))
                    .await?;
                (sent.response.status, sent.response.body.len())
            }
            Variant::Bare => {
                let r = self
                    .direct_client
                    .get(self.direct_target.clone())
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

    pub(crate) async fn curl(&self, variant: Curl) -> anyhow::Result<()> {
        let config = match variant {
            Curl::Direct => &self.curl_direct,
            Curl::Proxy => &self.curl_proxy,
        };
        let mut child = tokio::process::Command::new("curl")
            .args(["-q", "-K", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("spawning curl (is it installed?)")?;
        let mut stdin = child
            .stdin
            .take()
            .ok_or_else(|| anyhow!("curl: no stdin"))?;
        stdin
            .write_all(config.as_bytes())
            .await
            .context("writing curl's config")?;
        drop(stdin);
        let out = child.wait_with_output().await.context("waiting for curl")?;
        let code = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() || code.trim() != "200" {
            let stderr = String::from_utf8_lossy(&out.stderr);
            bail!(
                "{}: {} (HTTP {}) {}",
                variant.name(),
                out.status,
                code.trim(),
                self.redact(stderr.lines().next().unwrap_or_default())
            );
        }
        Ok(())
    }
}
