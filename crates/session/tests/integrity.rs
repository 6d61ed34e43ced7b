//! Session integrity under races and hostile answers: sign-out against a refresh in
//! flight, sessions bound to the server that issued them, renewed tokens that must never be
//! dropped silently, keyring writes that outlive their timeout, clock-skew estimates and
//! `Retry-After` in the background refresher. Every check reads the server's own record of
//! which refresh tokens still work, not only what the client believes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::rotator::{Rotator, RotatorConfig};
use common::{fast_options, Harness, ServerConfig};
use tessera_session::store::StoreError;
use tessera_session::{
    ApiRequest, Clock, FakeStore, ManualClock, Profile, SecretStore, Session, SessionConfig,
    SessionOptions,
};
use zeroize::Zeroizing;

/// A rotating server, a shared keyring and lock directory: each `session()` is another process.
struct Rig {
    clock: Arc<ManualClock>,
    server: Rotator,
    store: Arc<dyn SecretStore>,
    fake: Arc<FakeStore>,
    lock_dir: tempfile::TempDir,
    profile: Profile,
    options: SessionOptions,
}

impl Rig {
    async fn new(cfg: RotatorConfig) -> Self {
        let clock = Arc::new(ManualClock::starting_now());
        let server = Rotator::start(cfg, clock.clone()).await;
        let profile = Profile::from_base_url(&server.base_url).unwrap();
        let fake = Arc::new(FakeStore::new());
        Self {
            clock,
            server,
            store: fake.clone(),
            fake,
            lock_dir: tempfile::tempdir().unwrap(),
            profile,
            options: fast_options(),
        }
    }

    fn session_with(&self, profile: Profile) -> Session {
        let clock: Arc<dyn Clock> = self.clock.clone();
        Session::open(
            SessionConfig::new(
                "test",
                profile,
                Arc::clone(&self.store),
                self.lock_dir.path().to_path_buf(),
            )
            .with_clock(clock)
            .with_options(self.options.clone()),
        )
        .unwrap()
    }

    fn session(&self) -> Session {
        self.session_with(self.profile.clone())
    }

    async fn logged_in(&self) -> Session {
        let s = self.session();
        s.login("alice", "pw".to_owned().into()).await.unwrap();
        s
    }

    fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }
}

async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

// ---- sign-out wins over a refresh in flight ----

#[tokio::test]
async fn signout_in_another_process_during_a_slow_refresh_wins() {
    let rig = Rig::new(RotatorConfig::default()).await;
    let app = rig.logged_in().await;
    rig.advance(250); // due (300 s token, 60 s margin)
    rig.server
        .state
        .refresh_delay_ms
        .store(1500, Ordering::SeqCst);
    let refreshing = app.clone();
    let refresh = tokio::spawn(async move { refreshing.refresh_now().await });
    wait_until("the refresh to reach the server", || {
        rig.server.state.refresh_started.load(Ordering::SeqCst) == 1
    })
    .await;

    let cli = rig.session();
    let outcome = cli.logout().await.unwrap();
    // Once sign-out has returned, nobody holds a usable session.
    let fresh = rig.session().load().await.unwrap();
    assert!(
        !fresh.signed_in,
        "a new process is signed in after sign-out"
    );
    let refreshed = tokio::time::timeout(Duration::from_secs(10), refresh)
        .await
        .unwrap()
        .unwrap();
    assert!(
        refreshed.is_err(),
        "the refresh must not win: {refreshed:?}"
    );
    assert!(
        !app.status().signed_in,
        "the refreshing process stayed signed in"
    );
    assert!(!rig.session().load().await.unwrap().signed_in);
    assert!(
        rig.fake.snapshot().is_empty(),
        "keyring: {:?}",
        rig.fake.snapshot().keys()
    );
    assert_eq!(
        rig.server.live_refresh_tokens(),
        0,
        "a refresh token issued during the sign-out is still valid on the server"
    );
    assert!(outcome.server_revoked, "{outcome:?}");
}

#[tokio::test]
async fn a_refresh_that_outlasts_the_signout_wait_blacklists_its_own_renewal() {
    let mut rig = Rig::new(RotatorConfig::default()).await;
    rig.options.logout_lock_wait = Some(Duration::from_millis(200));
    let app = rig.logged_in().await;
    rig.advance(250);
    rig.server
        .state
        .refresh_delay_ms
        .store(1500, Ordering::SeqCst);
    let refreshing = app.clone();
    let refresh = tokio::spawn(async move { refreshing.refresh_now().await });
    wait_until("the refresh to reach the server", || {
        rig.server.state.refresh_started.load(Ordering::SeqCst) == 1
    })
    .await;
    let outcome = rig.session().logout().await.unwrap();
    assert!(
        outcome
            .server_note
            .as_deref()
            .unwrap_or("")
            .contains("still running"),
        "{outcome:?}"
    );
    assert!(!rig.session().load().await.unwrap().signed_in);
    let refreshed = tokio::time::timeout(Duration::from_secs(10), refresh)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(refreshed.unwrap_err().code(), "login_required");
    assert!(!app.status().signed_in);
    assert!(!rig.session().load().await.unwrap().signed_in);
    assert!(rig.fake.snapshot().is_empty());
    assert_eq!(
        rig.server.live_refresh_tokens(),
        0,
        "the renewal the refresh received is still valid on the server"
    );
}

#[tokio::test]
async fn signout_in_the_same_process_during_its_own_refresh_wins() {
    let rig = Rig::new(RotatorConfig::default()).await;
    let app = rig.logged_in().await;
    rig.advance(250);
    rig.server
        .state
        .refresh_delay_ms
        .store(1500, Ordering::SeqCst);
    let refreshing = app.clone();
    let refresh = tokio::spawn(async move { refreshing.refresh_now().await });
    wait_until("the refresh to reach the server", || {
        rig.server.state.refresh_started.load(Ordering::SeqCst) == 1
    })
    .await;
    let outcome = app.logout().await.unwrap();
    assert!(!app.status().signed_in);
    assert!(!rig.session().load().await.unwrap().signed_in);
    let _ = tokio::time::timeout(Duration::from_secs(10), refresh)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !app.status().signed_in,
        "the refresh re-installed tokens after sign-out"
    );
    assert!(rig.fake.snapshot().is_empty());
    assert_eq!(rig.server.live_refresh_tokens(), 0);
    assert!(outcome.server_revoked, "{outcome:?}");
}

// ---- a session is bound to the server that issued it ----

#[tokio::test]
async fn a_session_never_goes_to_the_server_a_profile_now_points_to() {
    let rig = Rig::new(RotatorConfig::default()).await;
    let _a = rig.logged_in().await;
    let other = Rotator::start(RotatorConfig::default(), rig.clock.clone()).await;
    let mut edited = rig.profile.clone();
    edited.base_url = url::Url::parse(&other.base_url).unwrap();
    let untouched = |what: &str| {
        let s = &other.state;
        assert_eq!(
            (
                s.refresh_started.load(Ordering::SeqCst),
                s.blacklist_ok.load(Ordering::SeqCst) + s.blacklist_refused.load(Ordering::SeqCst),
                s.api_ok.load(Ordering::SeqCst)
            ),
            (0, 0, 0),
            "{what}: the other server received a token"
        );
    };

    // A read-only status neither sends nor wipes anything.
    let moved = rig.session_with(edited.clone());
    let status = moved.load().await.unwrap();
    assert!(!status.signed_in);
    assert!(
        status
            .reason
            .as_deref()
            .unwrap_or("")
            .contains(&rig.server.base_url),
        "{status:?}"
    );
    assert!(
        !rig.fake.snapshot().is_empty(),
        "a read-only status wiped the stored session"
    );
    untouched("status");

    rig.advance(250);
    assert_eq!(moved.restore().await.unwrap_err().code(), "login_required");
    let err = moved
        .request(ApiRequest::get("/api/hello/"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "login_required");
    untouched("restore + request");

    let outcome = moved.logout().await.unwrap();
    untouched("logout");
    // The token went back to the server that issued it, and nowhere else.
    assert_eq!(
        rig.server.state.blacklist_ok.load(Ordering::SeqCst),
        1,
        "{outcome:?}"
    );
    assert_eq!(rig.server.live_refresh_tokens(), 0);
    assert!(outcome.server_revoked, "{outcome:?}");
    assert!(rig.fake.snapshot().is_empty());
}

#[tokio::test]
async fn an_edit_to_another_server_signs_out_at_the_old_one_first() {
    let rig = Rig::new(RotatorConfig::default()).await;
    let s = rig.logged_in().await;
    let other = Rotator::start(RotatorConfig::default(), rig.clock.clone()).await;
    let mut edited = rig.profile.clone();
    assert!(s
        .sign_out_if_moved(&edited.base_url)
        .await
        .unwrap()
        .is_none());
    assert!(
        s.status().signed_in,
        "an edit on the same server signed out"
    );
    edited.base_url = url::Url::parse(&other.base_url).unwrap();
    let outcome = s
        .sign_out_if_moved(&edited.base_url)
        .await
        .unwrap()
        .unwrap();
    assert!(outcome.server_revoked, "{outcome:?}");
    assert_eq!(rig.server.live_refresh_tokens(), 0);
    assert_eq!(other.state.blacklist_ok.load(Ordering::SeqCst), 0);
    assert_eq!(other.state.blacklist_refused.load(Ordering::SeqCst), 0);
    assert!(rig.fake.snapshot().is_empty());
}

// ---- a refresh token the server handed over is never dropped silently ----

#[tokio::test]
async fn a_jwks_fetch_failing_once_keeps_the_rotated_refresh_token() {
    let h = Harness::new(ServerConfig {
        ed25519: true,
        ..ServerConfig::default()
    })
    .await;
    let mut profile = h.profile.clone();
    profile.verification = Some(tessera_session::VerificationConfig {
        algorithm: "EdDSA".into(),
        public_key_file: None,
        public_key_pem: None,
        jwks_url: Some(url::Url::parse(&format!("{}/jwks.json", h.server.base_url)).unwrap()),
        audience: None,
        issuer: None,
        leeway_secs: 0,
    });
    h.session_with(profile.clone())
        .login("alice", "correct horse".to_owned().into())
        .await
        .unwrap();
    // A new process (empty JWKS cache), the token due, the JWKS endpoint down once.
    h.advance(250);
    h.server.state.fail_jwks.store(1, Ordering::SeqCst);
    let cli = h.session_with(profile.clone());
    let _ = cli.restore().await;
    assert_eq!(h.refreshes(), 1);

    let next = h.session_with(profile);
    next.restore().await.unwrap();
    let response = next.request(ApiRequest::get("/api/echo/")).await.unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(
        h.server.count("POST /api/token/refresh/ 401"),
        0,
        "the rotated refresh token was dropped: {:?}",
        h.server.counters()
    );
    assert!(next.status().signed_in);
}

#[tokio::test]
async fn an_absurd_date_on_a_refresh_without_iat_keeps_the_session() {
    let rig = Rig::new(RotatorConfig {
        include_iat: false,
        ..RotatorConfig::default()
    })
    .await;
    let s = rig.logged_in().await;
    rig.advance(250);
    *rig.server.state.date.lock().unwrap() = Some("Fri, 31 Dec 9999 23:59:59 GMT".into());
    s.refresh_now().await.unwrap();
    let offset = s.status().clock_offset_ms;
    assert!(
        offset.abs() < 2_000,
        "an implausible Date was used: {offset} ms"
    );
    let response = s.request(ApiRequest::get("/api/hello/")).await.unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(rig.server.state.refresh_ok.load(Ordering::SeqCst), 1);
    assert!(rig.session().restore().await.unwrap().signed_in);
    assert_eq!(rig.server.state.refresh_refused.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_refresh_answer_with_other_field_names_than_login_keeps_the_rotation() {
    // The tutorial design: a custom login view answering access_token/refresh_token, and
    // simplejwt's TokenRefreshView answering access/refresh.
    let rig = Rig::new(RotatorConfig {
        login_fields: ("access_token".into(), "refresh_token".into()),
        ..RotatorConfig::default()
    })
    .await;
    let mut profile = rig.profile.clone();
    profile.access_field = "access_token".into();
    profile.refresh_field = "refresh_token".into();
    let s = rig.session_with(profile.clone());
    s.login("alice", "pw".to_owned().into()).await.unwrap();
    rig.advance(250);
    s.refresh_now().await.unwrap();
    rig.advance(250);
    s.refresh_now().await.unwrap();
    assert_eq!(rig.server.state.refresh_ok.load(Ordering::SeqCst), 2);
    assert_eq!(rig.server.state.refresh_refused.load(Ordering::SeqCst), 0);
    assert_eq!(rig.server.live_refresh_tokens(), 1);
    assert!(rig.session_with(profile).restore().await.unwrap().signed_in);
}

#[tokio::test]
async fn a_renewed_token_the_client_rejects_is_blacklisted_and_ends_the_session() {
    let rig = Rig::new(RotatorConfig::default()).await;
    let s = rig.logged_in().await;
    rig.advance(250);
    // The renewed access token arrives already expired: unusable, so the session cannot go on.
    rig.server
        .state
        .refresh_access_lifetime
        .store(-10, Ordering::SeqCst);
    let err = s.refresh_now().await.unwrap_err();
    assert_eq!(err.code(), "bad_response", "{err}");
    assert!(!s.status().signed_in, "status still says signed in");
    assert_eq!(
        rig.server.live_refresh_tokens(),
        0,
        "the new refresh token stays valid on the server"
    );
    assert!(rig.fake.snapshot().is_empty());
    assert!(!rig.session().load().await.unwrap().signed_in);
}

// ---- a keyring write that outlives its timeout keeps the refresh lock ----

/// A keyring whose writes hang (a Secret Service stuck behind a prompt), reads and deletes not.
struct HangingWrites {
    inner: FakeStore,
    hang: Mutex<Option<Duration>>,
}

impl SecretStore for HangingWrites {
    fn get(&self, account: &str) -> Result<Option<Zeroizing<String>>, StoreError> {
        self.inner.get(account)
    }
    fn set(&self, account: &str, secret: &str) -> Result<(), StoreError> {
        let hang = *self.hang.lock().unwrap();
        if let Some(d) = hang {
            std::thread::sleep(d);
        }
        self.inner.set(account, secret)
    }
    fn delete(&self, account: &str) -> Result<(), StoreError> {
        self.inner.delete(account)
    }
}

#[tokio::test]
async fn a_keyring_write_that_times_out_holds_the_refresh_lock_until_it_lands() {
    let mut rig = Rig::new(RotatorConfig::default()).await;
    let store = Arc::new(HangingWrites {
        inner: FakeStore::new(),
        hang: Mutex::new(None),
    });
    rig.store = store.clone();
    rig.options.keyring_timeout = Duration::from_millis(300);
    let s = rig.logged_in().await;
    rig.advance(250);
    *store.hang.lock().unwrap() = Some(Duration::from_millis(1200));
    let err = s.refresh_now().await.unwrap_err();
    assert_eq!(err.code(), "session_expired", "{err}");
    // The timed-out writes are still running: the lock must still be held.
    let grabbed =
        tessera_session::lock::acquire(rig.lock_dir.path(), "test", Duration::from_millis(50))
            .await;
    assert!(
        grabbed.is_err(),
        "the refresh lock was released while a keyring write could still land"
    );
    // Once they have landed, the clear that followed them has too: nothing comes back.
    let _guard =
        tessera_session::lock::acquire(rig.lock_dir.path(), "test", Duration::from_secs(15))
            .await
            .unwrap();
    *store.hang.lock().unwrap() = None;
    assert!(
        store.inner.snapshot().is_empty(),
        "a late write resurrected the session: {:?}",
        store.inner.snapshot().keys()
    );
}

// ---- clock skew ----

#[tokio::test]
async fn the_clock_offset_uses_the_request_midpoint() {
    let rig = Rig::new(RotatorConfig::default()).await;
    // The server takes 8 s to answer; its clock agrees with ours.
    rig.server
        .state
        .answer_takes_secs
        .store(8, Ordering::SeqCst);
    let s = rig.logged_in().await;
    let offset = s.status().clock_offset_ms;
    assert!(
        (-4_600..=1_000).contains(&offset),
        "an 8 s answer from a server with the right time read as {offset} ms of skew"
    );
}

#[tokio::test]
async fn implausible_dates_are_ignored_without_iat() {
    for date in [
        "Thu, 01 Jan 1970 00:00:00 GMT",
        "Fri, 31 Dec 9999 23:59:59 GMT",
    ] {
        let rig = Rig::new(RotatorConfig {
            include_iat: false,
            ..RotatorConfig::default()
        })
        .await;
        *rig.server.state.date.lock().unwrap() = Some(date.into());
        let s = rig.logged_in().await;
        let status = s.status();
        assert_eq!(status.clock_offset_ms, 0, "{date}");
        // Proactive refresh still works.
        rig.advance(250);
        let response = s.request(ApiRequest::get("/api/hello/")).await.unwrap();
        assert_eq!(response.status, 200, "{date}");
        assert_eq!(
            rig.server.state.refresh_ok.load(Ordering::SeqCst),
            1,
            "{date}"
        );
    }
}

// ---- Retry-After beyond the in-call cap ----

#[tokio::test]
async fn the_background_refresher_honours_a_long_retry_after() {
    let h = Harness::new(ServerConfig::default()).await;
    let s = h.logged_in().await;
    h.advance(250);
    h.server.fail_next_refreshes(1000, 429, Some("120"));
    let task = s.spawn_auto_refresh();
    wait_until("a first refresh attempt", || {
        h.server.count("POST /api/token/refresh/ 429") >= 1
    })
    .await;
    // The loop naps 100 ms at most in these options; a server asking for 120 s must get them.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        h.server.count("POST /api/token/refresh/ 429"),
        1,
        "retried before Retry-After"
    );
    h.server.clear_refresh_failures();
    h.advance(121);
    wait_until("the refresh after Retry-After", || h.refreshes() == 1).await;
    assert!(!task.is_finished());
    assert!(s.status().signed_in);
}
