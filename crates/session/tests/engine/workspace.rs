//! The workspace API every shell calls: profile rules (duplicate names, rename, the default
//! profile, sign out before a rename, a removal or a move to another server), launch
//! resolution, the profiles-file cache and who is signed in — here once, against the
//! reference backend, so that the app's and the CLI's tests only check their mapping.

use std::sync::Arc;

use tessera_session::error::Error;
use tessera_session::{
    Clock, Launch, Password, Profile, ProfilesFile, SecretStore, Workspace, WorkspaceConfig,
};

use crate::common::backend::BackendHarness;
use crate::common::fast_options;

const BLACKLISTED: &str = "POST /api/token/blacklist/ 200";

/// A workspace on a fresh data directory, sharing the harness's keyring and clock.
fn workspace(h: &BackendHarness) -> (Workspace, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let store: Arc<dyn SecretStore> = h.store.clone();
    let clock: Arc<dyn Clock> = h.clock.clone();
    let config = WorkspaceConfig::new(data.path().to_path_buf(), store)
        .with_clock(clock)
        .with_options(fast_options());
    (Workspace::new(config), data)
}

fn profile_of(h: &BackendHarness) -> Profile {
    let mut profile = Profile::from_base_url(h.server.base_url().as_str()).unwrap();
    profile.me_path = Some("/api/me/".to_owned());
    profile
}

async fn sign_in(ws: &Workspace, h: &BackendHarness, name: &str) {
    let (user, password) = h.server.user().unwrap();
    let status = ws
        .sign_in(name, user, Password::new(password.to_owned()))
        .await
        .unwrap();
    assert!(status.signed_in);
}

fn has_entry(h: &BackendHarness, name: &str) -> bool {
    h.store.snapshot().contains_key(&format!("session:{name}"))
}

#[tokio::test]
async fn names_are_unique_and_the_first_profile_becomes_the_default() {
    let h = BackendHarness::rust().await;
    let (ws, _data) = workspace(&h);

    let saved = ws.add_profile("staging", profile_of(&h)).await.unwrap();
    assert_eq!(saved.listing.last_profile.as_deref(), Some("staging"));
    let again = ws.add_profile("staging", profile_of(&h)).await.unwrap_err();
    assert!(
        matches!(&again, Error::InvalidProfile { detail } if detail.contains("exists already")),
        "{again:?}"
    );
    let bad = ws
        .add_profile("no/slashes", profile_of(&h))
        .await
        .unwrap_err();
    assert!(matches!(bad, Error::InvalidProfile { .. }), "{bad:?}");

    let saved = ws.add_profile("prod", profile_of(&h)).await.unwrap();
    assert_eq!(
        saved.listing.last_profile.as_deref(),
        Some("staging"),
        "adding a second profile does not move the default"
    );
    // Renaming onto an existing name is refused like a duplicate, and changes nothing.
    let clash = ws
        .save_profile("staging", Some("prod"), profile_of(&h))
        .await
        .unwrap_err();
    assert!(matches!(clash, Error::InvalidProfile { .. }), "{clash:?}");
    let names: Vec<String> = ws
        .profile_list()
        .await
        .unwrap()
        .profiles
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["prod", "staging"]);
}

#[tokio::test]
async fn a_rename_or_a_removal_signs_the_old_name_out_first() {
    let h = BackendHarness::rust().await;
    let (ws, _data) = workspace(&h);
    ws.add_profile("qa", profile_of(&h)).await.unwrap();
    sign_in(&ws, &h, "qa").await;
    assert!(has_entry(&h, "qa"));

    let saved = ws
        .save_profile("qa-renamed", Some("qa"), profile_of(&h))
        .await
        .unwrap();
    assert_eq!(saved.listing.last_profile.as_deref(), Some("qa-renamed"));
    assert!(!has_entry(&h, "qa"), "the old name's keyring entry is gone");
    assert_eq!(
        h.count(BLACKLISTED).await,
        1,
        "and its refresh token blacklisted"
    );
    assert!(!ws.status("qa-renamed").await.unwrap().signed_in);

    sign_in(&ws, &h, "qa-renamed").await;
    let removed = ws.remove_profile("qa-renamed").await.unwrap();
    assert!(removed.sign_out.unwrap().server_revoked);
    assert!(removed.listing.profiles.is_empty());
    assert_eq!(
        removed.listing.last_profile, None,
        "removing the default leaves none: a script must not silently use another server"
    );
    assert!(!has_entry(&h, "qa-renamed"));
    assert_eq!(h.count(BLACKLISTED).await, 2);
    let gone = ws.remove_profile("qa-renamed").await.unwrap_err();
    assert!(matches!(gone, Error::ProfileNotFound { .. }), "{gone:?}");
}

#[tokio::test]
async fn a_profile_moved_to_another_server_is_signed_out_at_the_old_one() {
    let old = BackendHarness::rust().await;
    let new = BackendHarness::rust().await;
    let (ws, _data) = workspace(&old);
    ws.add_profile("moving", profile_of(&old)).await.unwrap();
    sign_in(&ws, &old, "moving").await;

    let target = new.server.base_url().clone();
    let saved = ws
        .edit_profile("moving", move |p| {
            p.base_url = target.clone();
            Ok(())
        })
        .await
        .unwrap();
    let outcome = saved
        .moved_sign_out
        .expect("a move signs out")
        .expect("at the old server");
    assert!(outcome.server_revoked);
    assert_eq!(old.count(BLACKLISTED).await, 1);
    assert!(!has_entry(&old, "moving"));
    assert!(!ws.status("moving").await.unwrap().signed_in);
    let reached: Vec<String> = new
        .counters()
        .await
        .into_keys()
        .filter(|key| key.contains("/api/"))
        .collect();
    assert!(
        reached.is_empty(),
        "nothing reached the new server: {reached:?}"
    );

    // An edit that keeps the server keeps the sign-in (the session reopens with the change).
    sign_in(&ws, &new, "moving").await;
    let saved = ws
        .edit_profile("moving", |p| {
            p.request_timeout_secs = 7;
            Ok(())
        })
        .await
        .unwrap();
    assert!(saved.moved_sign_out.is_none());
    let status = ws.status("moving").await.unwrap();
    assert!(status.signed_in, "{status:?}");
    assert_eq!(
        ws.session("moving")
            .await
            .unwrap()
            .profile()
            .request_timeout_secs,
        7
    );
}

#[tokio::test]
async fn launch_resolution_for_the_cli_and_the_app() {
    let h = BackendHarness::rust().await;
    let (ws, data) = workspace(&h);

    let none = ws.resolve(&Launch::default()).await.unwrap_err();
    assert!(matches!(none, Error::NoProfileChosen), "{none:?}");

    ws.add_profile("a", profile_of(&h)).await.unwrap();
    ws.add_profile("b", profile_of(&h)).await.unwrap();
    assert_eq!(ws.resolve(&Launch::default()).await.unwrap(), "a");
    ws.select_profile("b").await.unwrap();
    assert_eq!(ws.resolve(&Launch::default()).await.unwrap(), "b");
    let named = Launch {
        profile: Some("a".into()),
        server: None,
    };
    assert_eq!(ws.resolve(&named).await.unwrap(), "a");
    let unknown = Launch {
        profile: Some("nope".into()),
        server: None,
    };
    let err = ws.resolve(&unknown).await.unwrap_err();
    assert!(matches!(err, Error::ProfileNotFound { .. }), "{err:?}");

    // `--server` in the CLI: a profile of this process only, never written to the file.
    let server = Launch {
        profile: None,
        server: Some(h.server.base_url().clone()),
    };
    let ad_hoc = ws.resolve(&server).await.unwrap();
    assert!(ad_hoc.starts_with("127.0.0.1-"), "{ad_hoc}");
    sign_in(&ws, &h, &ad_hoc).await;
    let file = ProfilesFile::load(&data.path().join("profiles.json")).unwrap();
    assert!(!file.profiles.contains_key(&ad_hoc));

    // The app: an unknown `--profile` is reported beside the default profile's screen.
    let start = ws.start(&unknown).await.unwrap();
    assert_eq!(start.selected.as_deref(), Some("b"));
    assert!(matches!(start.error, Some(Error::ProfileNotFound { .. })));
    // `--server` in the app: saved under the URL's name and made the default.
    let start = ws.start(&server).await.unwrap();
    assert_eq!(start.selected.as_deref(), Some(ad_hoc.as_str()));
    assert!(start.error.is_none(), "{:?}", start.error);
    assert!(
        start.status.unwrap().signed_in,
        "the same keyring entry as the CLI's"
    );
    assert_eq!(
        start.profiles.last_profile.as_deref(),
        Some(ad_hoc.as_str())
    );
}

#[tokio::test]
async fn the_profiles_file_is_read_again_only_when_it_changed() {
    let h = BackendHarness::rust().await;
    let (ws, data) = workspace(&h);
    ws.add_profile("a", profile_of(&h)).await.unwrap();
    let path = data.path().join("profiles.json");
    assert!(ws.profiles().await.unwrap().profiles.contains_key("a"));

    // Same length, same inode, same modification time, other bytes: still the cached parse,
    // so the file was not read again.
    let meta = std::fs::metadata(&path).unwrap();
    let modified = meta.modified().unwrap();
    let garbage = vec![b'x'; meta.len() as usize];
    {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.write_all(&garbage).unwrap();
        file.set_modified(modified).unwrap();
    }
    assert!(ws.profiles().await.unwrap().profiles.contains_key("a"));

    // Another process's edit (an atomic rename) is seen at once.
    std::fs::write(&path, b"{}").unwrap();
    ProfilesFile::update(&path, |file| file.upsert("b", profile_of(&h))).unwrap();
    let file = ws.profiles().await.unwrap();
    assert!(file.profiles.contains_key("b") && !file.profiles.contains_key("a"));

    // And a corrupt file is reported, not hidden behind the cache.
    std::fs::write(&path, b"{ not json").unwrap();
    let err = ws.profiles().await.unwrap_err();
    assert!(matches!(err, Error::ProfilesFileCorrupt { .. }), "{err:?}");
}

#[tokio::test]
async fn who_am_i_asks_the_me_endpoint() {
    let h = BackendHarness::rust().await;
    let (ws, _data) = workspace(&h);
    ws.add_profile("me", profile_of(&h)).await.unwrap();
    sign_in(&ws, &h, "me").await;
    let (user, _) = h.server.user().unwrap();
    let who = ws.who_am_i("me").await.unwrap();
    assert_eq!(who.display, format!("Signed in as {user}"));
    assert_eq!(who.name.as_deref(), Some(user));
    assert!(who.user_id.is_some());

    // Without a "me" endpoint: the token's user id, and no request is made.
    let before = h.count("GET /api/me/ 200").await;
    ws.edit_profile("me", |p| {
        p.me_path = None;
        Ok(())
    })
    .await
    .unwrap();
    let who = ws.who_am_i("me").await.unwrap();
    assert!(who.display.starts_with("User "), "{}", who.display);
    assert_eq!(h.count("GET /api/me/ 200").await, before);

    ws.sign_out("me").await.unwrap();
    let err = ws.who_am_i("me").await.unwrap_err();
    assert!(err.needs_login(), "{err:?}");
}
