//! A sign-out in another process (the app, a CLI, another proxy) noticed at this process's next
//! request, not only at its next refresh: a long-running shell — the local proxy, the app —
//! must not keep lending an access token for minutes after the user signed out.
//!
//! Every sign-out rewrites the profile's sign-out mark (`lock.rs`); the engine keeps the mark it
//! read before the tokens in use were read or received (`State::mark_seen`). A request reads the
//! mark (one small file) and, when it changed, re-reads the keyring before sending anything:
//! nothing stored ends the session here too; a session stored since (signed in again) is
//! adopted; a sign-out still waiting for the refresh lock ends it at once.
//!
//! The other way round, a process whose session ended looks in the keyring again — at most
//! once every [`LOOK_AGAIN_MS`], never while a sign-out is waiting or within a few seconds of
//! its mark — when a request comes: a sign-in in the app or another CLI is picked up without
//! restarting the proxy that lends the session.

use std::sync::Arc;

use crate::accept;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::events::SessionEvent;
use crate::lock;

/// The error a request gets once a sign-out elsewhere ended the session.
fn signed_out_elsewhere() -> Error {
    Error::LoginRequired {
        reason: "signed out in another Tessera window or process".to_owned(),
    }
}

/// How often a signed-out process looks for a sign-in made elsewhere.
pub(crate) const LOOK_AGAIN_MS: i64 = 1_000;

/// How long after a sign-out's mark was written a signed-out process waits before it looks:
/// the sign-out's blacklist call and keyring delete come after the mark.
fn settle_ms(engine: &Engine) -> i64 {
    let wait = engine.options.logout_timeout + std::time::Duration::from_secs(2);
    i64::try_from(wait.as_millis()).unwrap_or(i64::MAX)
}

/// Whether a sign-out ran since the tokens in use were read (cheap: one small file read).
fn mark_changed(engine: &Engine) -> bool {
    let seen = {
        let state = engine.read_state();
        if state.live.is_none() {
            return false;
        }
        state.mark_seen.clone()
    };
    seen.is_some_and(|seen| seen != engine.read_mark())
}

/// Follows a sign-out (and a sign-in after it) that happened elsewhere since this process read
/// its tokens. Returns an error only when the session ended or the keyring cannot be read.
pub(crate) async fn follow(engine: &Arc<Engine>) -> Result<()> {
    if engine.read_state().live.is_none() {
        return look_for_sign_in(engine).await;
    }
    if !mark_changed(engine) {
        return Ok(());
    }
    // One follower at a time (and never beside a refresh of this process); the others find the
    // mark already followed.
    let _gate = engine.gate.lock().await;
    let mark = engine.read_mark();
    let (ours, epoch) = {
        let state = engine.read_state();
        match &state.live {
            Some(live) if state.mark_seen.as_ref() != Some(&mark) => {
                (live.clone(), state.signout_epoch)
            }
            _ => return Ok(()),
        }
    };
    if mark.is_waiting() {
        tracing::info!(profile = %engine.profile_name, "a sign-out is under way elsewhere; this process stops using the session");
        let error = engine.expire(signed_out_elsewhere());
        engine.write_state().looked_for_sign_in_ms = Some(engine.now_ms());
        return Err(error);
    }
    let Some(stored) = engine.vault.load(&engine.profile_name).await? else {
        tracing::info!(profile = %engine.profile_name, "signed out elsewhere; this process stops using the session");
        let error = engine.expire(signed_out_elsewhere());
        // The keyring was just read: the next look for a sign-in waits its turn.
        engine.write_state().looked_for_sign_in_ms = Some(engine.now_ms());
        return Err(error);
    };
    if engine.foreign_issuer(&stored).is_some() {
        return Err(engine.expire(signed_out_elsewhere()));
    }
    if ours.same_tokens(&stored) {
        // A sign-out ran for exactly these tokens and has not removed them yet (one that gave
        // up waiting for the refresh lock marks itself done before it deletes): they are over.
        let error = engine.expire(signed_out_elsewhere());
        engine.write_state().looked_for_sign_in_ms = Some(engine.now_ms());
        return Err(error);
    }
    let adopted = accept::accept_stored(engine, stored).await?;
    let user_id = adopted.access_claims.user_id.clone();
    if !engine.install_unless_signed_out(adopted, epoch, mark) {
        return Err(signed_out_elsewhere());
    }
    tracing::info!(profile = %engine.profile_name, "signed in again elsewhere; using that session");
    engine.emit(SessionEvent::Restored {
        profile: engine.profile_name.clone(),
        user_id,
    });
    Ok(())
}

/// A signed-out process: a session stored since (a sign-in elsewhere) is restored, at most one
/// look per [`LOOK_AGAIN_MS`]; without one, the request gets the reason the session ended.
async fn look_for_sign_in(engine: &Arc<Engine>) -> Result<()> {
    let now = engine.now_ms();
    {
        let mut state = engine.write_state();
        if state.live.is_some() {
            return Ok(());
        }
        let due = state
            .looked_for_sign_in_ms
            .is_none_or(|at| now.saturating_sub(at) >= LOOK_AGAIN_MS || now < at);
        if !due {
            return Ok(());
        }
        state.looked_for_sign_in_ms = Some(now);
    }
    // Not while a sign-out is under way or has only just finished: until it deleted the
    // keyring entries, what is stored is what it is ending.
    let mark = engine.read_mark();
    let settled =
        lock::signout_mark_written_at(&engine.lock_dir, &engine.profile_name).is_none_or(|at| {
            let written_ms = crate::clock::unix_millis(at);
            now.saturating_sub(written_ms) >= settle_ms(engine)
        });
    if mark.is_waiting() || !settled {
        return Ok(());
    }
    let _gate = engine.gate.lock().await;
    if engine.read_state().live.is_some() {
        return Ok(());
    }
    // Lock-free and read-only: nothing stored leaves the state (and its reason) as it is.
    match engine.vault.peek(&engine.profile_name).await {
        Ok(Some(stored)) if engine.foreign_issuer(&stored).is_none() => {}
        _ => return Ok(()),
    }
    drop(_gate);
    tracing::info!(profile = %engine.profile_name, "signed in elsewhere; using that session");
    match crate::signin::restore(engine, true).await {
        Ok(_) => Ok(()),
        // The stored session could not be used after all: the request says why.
        Err(e) => Err(e),
    }
}
