//! What crosses IPC, as the window sees it. Built from the engine's models (profiles with
//! proxy passwords hidden, session status, who-am-I) and the local proxy's ([`SharingInfo`]);
//! none carries a token or a password.
//! The UI's copy of these names is checked against them by `tests/ipc.rs`.

use serde::Serialize;
use tessera_session::profile::Preset;
use tessera_session::workspace::{ProfileListing, Sent, Start, WhoAmI};
use tessera_session::{pretty, SessionStatus, Workspace};

use crate::error::CommandError;

/// Non-secret facts about the running app, shown in the UI footer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AppInfo {
    pub name: String,
    pub version: String,
}

/// What the window needs to show its first screen.
#[derive(Debug, Clone, Serialize)]
pub struct StartView {
    pub profiles: ProfileListing,
    pub selected: Option<String>,
    /// The restored session of `selected`, when there is one.
    pub status: Option<SessionStatus>,
    /// Who is signed in, when the session was restored.
    pub user: Option<WhoAmI>,
    /// Why the session could not be restored, or a problem with the command line.
    pub error: Option<CommandError>,
    /// The Django stacks a profile can start from (the engine's presets, in its order): the
    /// profile form's "Stack" choice, applied with `profile_apply_preset`.
    pub presets: Vec<&'static str>,
    /// Where sessions are kept (`secret-service`, `keyutils`, ...), shown on the home screen.
    pub store: &'static str,
}

impl StartView {
    pub fn new(
        start: Start,
        user: Option<WhoAmI>,
        launch_problem: Option<String>,
        store: &'static str,
    ) -> Self {
        Self {
            profiles: start.profiles,
            selected: start.selected,
            status: start.status,
            user,
            error: launch_problem
                .map(CommandError::InvalidArguments)
                .or(start.error.map(CommandError::from)),
            presets: Preset::ALL.map(Preset::name).to_vec(),
            store,
        }
    }
}

/// A session just signed in (or signed up), and who that is.
#[derive(Debug, Clone, Serialize)]
pub struct SignedIn {
    pub status: SessionStatus,
    /// `None` when the "me" endpoint could not be asked (the status still holds).
    pub user: Option<WhoAmI>,
}

impl SignedIn {
    /// `status` and who it is (the profile's "me" endpoint, asked once).
    pub async fn new(workspace: &Workspace, status: SessionStatus) -> Self {
        Self {
            user: workspace.signed_in_user(&status).await,
            status,
        }
    }
}

/// A response shown in the request console.
#[derive(Debug, Clone, Serialize)]
pub struct ConsoleResponse {
    pub status: u16,
    pub elapsed_ms: u64,
    /// Pretty-printed JSON, or the text; anything shaped like a JWT is redacted. At most
    /// `tessera_session::pretty::CONSOLE_MAX_BYTES` (1 MiB).
    pub body: String,
    /// `body` was cut at the console's limit.
    pub truncated: bool,
    /// Why a JSON body is shown as received (too large or too deep to re-indent).
    pub note: Option<String>,
    /// Advice when the answer has a likely local cause (the wrong Authorization header type).
    pub hint: Option<String>,
    /// The request was replayed once after a 401 and a refresh.
    pub replayed: bool,
    /// The session after the request (a refresh may have happened).
    pub session: SessionStatus,
}

impl From<Sent> for ConsoleResponse {
    fn from(sent: Sent) -> Self {
        // The engine's bounded formatter: linear, redacted, at most 1 MiB over IPC.
        let shown = pretty::for_display(&sent.response.body, true, pretty::CONSOLE_MAX_BYTES);
        Self {
            status: sent.response.status,
            elapsed_ms: sent.elapsed_ms,
            body: shown.text,
            truncated: shown.truncated,
            note: shown.note,
            hint: sent.hint,
            replayed: sent.response.replayed,
            session: sent.status,
        }
    }
}

/// What "Share with local tools" shows while it is on: the proxy's URL (for the user to copy
/// and give to tools as their base URL), the profile it lends and the address it listens on.
/// The URL holds the proxy's capability, so `Debug` hides it; it is never logged.
#[derive(Clone, Serialize, PartialEq, Eq)]
pub struct SharingInfo {
    /// `http://127.0.0.1:PORT/CAPABILITY`: whoever has it can use the session.
    pub url: String,
    pub profile: String,
    /// `127.0.0.1:PORT`.
    pub addr: String,
}

impl SharingInfo {
    /// The facts of a running proxy.
    pub fn of(proxy: &tessera_proxy::LocalProxy) -> Self {
        Self {
            url: proxy.url().expose_secret().to_owned(),
            profile: proxy.profile().to_owned(),
            addr: proxy.addr().to_string(),
        }
    }
}

impl std::fmt::Debug for SharingInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharingInfo")
            .field("url", &"***")
            .field("profile", &self.profile)
            .field("addr", &self.addr)
            .finish()
    }
}
