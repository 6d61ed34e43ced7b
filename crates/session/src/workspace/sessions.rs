//! The sessions a process has open, one per profile, and the lifecycle rules every shell shares:
//! a session is read from the keyring once per process before it is used (read-only for a
//! status, with a refresh when due before a request), an edited profile reopens its session
//! and keeps the sign-in, a signed-in session is kept fresh in the background when the shell
//! runs long, and sign-out stops that first.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use super::{forward_events, Workspace};
use crate::error::Result;
use crate::paths;
use crate::secret::Password;
use crate::session::{AutoRefresh, Session, SessionConfig};
use crate::signin::{LogoutOutcome, Registration};
use crate::status::SessionStatus;

/// How much of the stored session this process has read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Read {
    /// Nothing yet.
    Not,
    /// Read without network or keyring changes (a status).
    Peeked,
    /// Restored (refreshed when due), or signed in here.
    Restored,
}

struct CachedSession {
    session: Session,
    read: Read,
    /// Proactive refresh while the shell runs; stopped when dropped.
    auto_refresh: Option<AutoRefresh>,
    /// Delivers this session's events to the workspace's sink.
    events: Option<JoinHandle<()>>,
}

/// The cache of open sessions, by profile name.
#[derive(Default)]
pub(crate) struct OpenSessions {
    open: Mutex<HashMap<String, CachedSession>>,
}

impl OpenSessions {
    /// Closes every session and waits (at most `grace`) for their last events to be delivered.
    pub(crate) async fn close_all(&self, grace: Duration) {
        let drained: Vec<CachedSession> = self.open.lock().await.drain().map(|(_, o)| o).collect();
        let mut pumps = Vec::new();
        for open in drained {
            drop(open.auto_refresh);
            drop(open.session);
            pumps.extend(open.events);
        }
        for pump in pumps {
            let _ = tokio::time::timeout(grace, pump).await;
        }
    }
}

impl Workspace {
    /// The session of profile `name`, opened if needed, or reopened (keeping its sign-in) when
    /// the profile changed since it was opened — here or in another process.
    pub async fn session(&self, name: &str) -> Result<Session> {
        Ok(self.open_session(name).await?.0)
    }

    async fn open_session(&self, name: &str) -> Result<(Session, Read)> {
        let profile = self.profile(name).await?;
        let mut open = self.sessions.open.lock().await;
        let mut was_signed_in = false;
        if let Some(entry) = open.get(name) {
            if entry.session.profile() == &profile {
                return Ok((entry.session.clone(), entry.read));
            }
            was_signed_in = entry.session.status().signed_in;
        }
        let config = SessionConfig::new(
            name,
            profile,
            self.config.store.clone(),
            paths::lock_dir(&self.config.data_dir),
        )
        .with_clock(self.config.clock.clone())
        .with_options(self.config.options.clone());
        let session = Session::open(config)?;
        let events = forward_events(&self.config.events, session.subscribe());
        open.insert(
            name.to_owned(),
            CachedSession {
                session: session.clone(),
                read: Read::Not,
                auto_refresh: None,
                events,
            },
        );
        drop(open);
        if was_signed_in {
            // Best effort: a failure shows up as a signed-out status.
            let _ = self.restore_open(name, &session).await;
            return Ok((session, Read::Restored));
        }
        Ok((session, Read::Not))
    }

    async fn mark(&self, name: &str, read: Read, signed_in: bool) {
        if let Some(entry) = self.sessions.open.lock().await.get_mut(name) {
            entry.read = entry.read.max(read);
            let keep_fresh = self.config.keep_fresh && signed_in;
            if keep_fresh
                && entry
                    .auto_refresh
                    .as_ref()
                    .is_none_or(AutoRefresh::is_finished)
            {
                entry.auto_refresh = Some(entry.session.spawn_auto_refresh());
            }
        }
    }

    /// Reads the stored session (a process's first use of a profile), refreshing it when due.
    /// A server that cannot be reached keeps the stored session; a profile that is simply
    /// signed out (or whose session ended) is a signed-out status with its reason, not an
    /// error.
    pub async fn restore(&self, name: &str) -> Result<SessionStatus> {
        let (session, _) = self.open_session(name).await?;
        self.restore_open(name, &session).await
    }

    async fn restore_open(&self, name: &str, session: &Session) -> Result<SessionStatus> {
        let status = match session.restore().await {
            Ok(status) => status,
            Err(e) if e.is_transient() && session.status().signed_in => session.status(),
            // Nothing stored: no reason to show; an ended or foreign session keeps its reason.
            Err(e) if e.needs_login() => session.status(),
            Err(e) => return Err(e),
        };
        self.mark(name, Read::Restored, status.signed_in).await;
        Ok(status)
    }

    /// The session of `name`, restored from the keyring if this process has not read it yet.
    pub(crate) async fn restored(&self, name: &str) -> Result<Session> {
        let (session, read) = self.open_session(name).await?;
        if read < Read::Restored {
            self.restore(name).await?;
        }
        Ok(session)
    }

    /// The session's state (expiries, claims, user id), never a token. A process that has not
    /// read the profile's session yet reads it from the keyring first, without network and
    /// without changing the keyring (an expired access token is reported, not refreshed).
    pub async fn status(&self, name: &str) -> Result<SessionStatus> {
        let (session, read) = self.open_session(name).await?;
        if read == Read::Not {
            let status = session.load().await?;
            self.mark(name, Read::Peeked, false).await;
            return Ok(status);
        }
        Ok(session.status())
    }

    /// Signs in; the password is zeroized when this returns.
    pub async fn sign_in(
        &self,
        name: &str,
        login: &str,
        password: Password,
    ) -> Result<SessionStatus> {
        let (session, _) = self.open_session(name).await?;
        let status = session.login(login, password).await?;
        self.mark(name, Read::Restored, status.signed_in).await;
        Ok(status)
    }

    /// Finishes a sign-in that asked for a second factor (`mfa_required`) with the user's code.
    pub async fn verify_code(&self, name: &str, code: Password) -> Result<SessionStatus> {
        let (session, _) = self.open_session(name).await?;
        let status = session.verify_code(code).await?;
        self.mark(name, Read::Restored, status.signed_in).await;
        Ok(status)
    }

    /// Creates an account on the profile's registration endpoint, then signs in.
    pub async fn register(&self, name: &str, registration: Registration) -> Result<SessionStatus> {
        let (session, _) = self.open_session(name).await?;
        let status = session.register(registration).await?;
        self.mark(name, Read::Restored, status.signed_in).await;
        Ok(status)
    }

    /// Signs out: background refresh stops, the refresh token is blacklisted at the server
    /// that issued it (best effort) and the keyring entries are deleted whatever it said.
    pub async fn sign_out(&self, name: &str) -> Result<LogoutOutcome> {
        let (session, _) = self.open_session(name).await?;
        if let Some(entry) = self.sessions.open.lock().await.get_mut(name) {
            entry.auto_refresh = None;
        }
        let outcome = session.logout().await;
        self.mark(name, Read::Restored, false).await;
        outcome
    }

    /// Forgets the session of `name` (its profile was removed or renamed).
    pub(crate) async fn forget(&self, name: &str) {
        let entry = self.sessions.open.lock().await.remove(name);
        drop(entry);
    }
}
