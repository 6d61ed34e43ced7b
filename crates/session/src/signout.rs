//! Ending a session: sign-out, which wins over a refresh in flight in any process.
//!
//! Sign-out leaves a mark (`lock.rs`) that every refresh checks before and after storing what
//! it renewed, bumps this process's sign-out epoch and forgets the tokens in memory, then waits
//! (bounded) for the refresh lock, so that it blacklists the newest refresh token — the one such
//! a refresh stored for it. The refresh token goes only to the server that issued it
//! (`revoke.rs`); the keyring entries are deleted whatever the server said, so sign-out works
//! offline. Kept apart from sign-in, which shares none of this.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::events::SessionEvent;
use crate::lock;
use crate::revoke;

/// What logout achieved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogoutOutcome {
    /// The server confirmed the refresh token is blacklisted.
    pub server_revoked: bool,
    /// Why it did not, when it did not (offline, no blacklist endpoint, server error).
    pub server_note: Option<String>,
}

/// Signs out. Sign-out wins over a refresh in flight anywhere: it first leaves a mark that
/// every refresh checks before and after storing what it renewed, then waits (bounded) for the
/// refresh lock, so that it blacklists the newest refresh token — the one such a refresh
/// stored for it. A refresh still running when the wait ends blacklists its renewal itself.
/// The refresh token goes only to the server that issued it.
pub(crate) async fn logout(engine: &Arc<Engine>) -> Result<LogoutOutcome> {
    let profile = &engine.profile;
    let nonce = format!("{:016x}", fastrand::u64(..));
    if let Err(e) = lock::write_signout_mark(
        &engine.lock_dir,
        &engine.profile_name,
        &format!("{nonce} waiting"),
    ) {
        tracing::warn!(profile = %engine.profile_name, code = e.code(), "could not leave the sign-out mark");
    }
    let in_memory = {
        let mut state = engine.write_state();
        state.signout_epoch += 1;
        state
            .live
            .as_ref()
            .and_then(|a| Some((a.refresh.clone()?, a.cookies.clone())))
    };
    // Nothing in this process uses the tokens from now on.
    engine.end(Some(Error::LoginRequired {
        reason: "signed out".into(),
    }));
    let wait = engine.options.logout_lock_wait.unwrap_or_else(|| {
        Duration::from_secs(profile.request_timeout_secs).saturating_add(Duration::from_secs(5))
    });
    let held = lock::acquire(&engine.lock_dir, &engine.profile_name, wait)
        .await
        .ok()
        .map(Arc::new);
    let mut notes = Vec::new();
    if held.is_none() {
        tracing::warn!(profile = %engine.profile_name, "a refresh is still running; signing out without the lock");
        notes.push(
            "a refresh in another process was still running; it blacklists the token it receives"
                .to_owned(),
        );
        let _ = lock::write_signout_mark(
            &engine.lock_dir,
            &engine.profile_name,
            &format!("{nonce} done"),
        );
    }
    let stored = engine.vault.load(&engine.profile_name).await.ok().flatten();
    let refresh = stored
        .as_ref()
        .and_then(|s| Some((s.refresh.clone()?, s.cookies.clone())))
        .or(in_memory);
    let mut outcome = match (&profile.blacklist_path, refresh, profile.sliding) {
        (_, Some(_), true) => LogoutOutcome {
            server_revoked: false,
            server_note: Some("sliding tokens are not blacklisted on logout".into()),
        },
        (_, Some(refresh), false) => match revoke::issuer_of(engine, stored.as_ref()) {
            Ok(issuer) => {
                if issuer.moved {
                    notes.push(
                        "the refresh token went back to the server that issued it, not to the profile's new URL"
                            .to_owned(),
                    );
                }
                let (token, cookies) = &refresh;
                match revoke::blacklist(
                    engine,
                    &issuer,
                    (token, cookies),
                    engine.options.logout_timeout,
                )
                .await
                {
                    Ok(()) => LogoutOutcome {
                        server_revoked: true,
                        server_note: None,
                    },
                    Err(why) => LogoutOutcome {
                        server_revoked: false,
                        server_note: Some(why),
                    },
                }
            }
            Err(e) => LogoutOutcome {
                server_revoked: false,
                server_note: Some(format!("the server was not told ({})", e.code())),
            },
        },
        (None, None, _) => LogoutOutcome {
            server_revoked: false,
            server_note: Some(revoke::no_logout_endpoint(profile)),
        },
        (_, None, _) => LogoutOutcome {
            server_revoked: false,
            server_note: Some("no refresh token was stored".into()),
        },
    };
    if !notes.is_empty() {
        let mut all: Vec<String> = outcome.server_note.take().into_iter().collect();
        all.extend(notes);
        outcome.server_note = Some(all.join("; "));
    }
    let cleared = engine
        .vault
        .clear_held(&engine.profile_name, held.as_ref())
        .await;
    if held.is_some() {
        let _ = lock::write_signout_mark(
            &engine.lock_dir,
            &engine.profile_name,
            &format!("{nonce} done"),
        );
    }
    drop(held);
    tracing::info!(profile = %engine.profile_name, server_revoked = outcome.server_revoked, "signed out");
    engine.emit(SessionEvent::LoggedOut {
        profile: engine.profile_name.clone(),
        server_revoked: outcome.server_revoked,
    });
    cleared?;
    Ok(outcome)
}
