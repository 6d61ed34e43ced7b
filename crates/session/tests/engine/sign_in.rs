//! Signing in: what is stored (tokens, never the password), refused credentials and missing
//! fields, redirects, custom login views, response shapes, registration, a locked keyring,
//! signature verification with configured keys, and the connection probe.

use std::time::Duration;

use tessera_session::{Error, FakeOp, SessionEvent, StoreError, VerificationConfig};

use crate::common::backend::BackendHarness;
use crate::common::events::drain;
use crate::common::requests::{get, get_err, get_status, pw, ECHO};
use crate::common::scripted_server::keys::{ED_PUBLIC, OTHER_PUBLIC};
use crate::common::{Harness, ServerConfig};

#[tokio::test]
async fn login_stores_tokens_not_the_password_and_a_new_process_restores_them() {
    let h = Harness::new(ServerConfig::default()).await;
    let session = h.session();
    let mut events = session.subscribe();
    let status = session.login("alice", pw("correct horse")).await.unwrap();
    assert!(status.signed_in);
    assert_eq!(status.user_id.as_deref(), Some("1"));
    assert!(!status.access_expired);
    assert_eq!(status.claims["token_type"], "access");
    let entries = h.store.snapshot();
    assert_eq!(
        entries.len(),
        1,
        "one entry per profile: {:?}",
        entries.keys()
    );
    let blob = &entries["session:test"];
    assert!(!blob.contains("correct horse"));
    assert!(blob.contains(&h.server.issued_tokens()[0]));
    assert!(matches!(
        drain(&mut events).as_slice(),
        [SessionEvent::LoggedIn { .. }]
    ));

    let other = h.session();
    let restored = other.restore().await.unwrap();
    assert!(restored.signed_in);
    assert_eq!(restored.access_expires_at, status.access_expires_at);
    assert_eq!(get_status(&other, ECHO).await, 200);
    assert_eq!(h.refreshes(), 0);
    // the status shows claims, never a token
    let shown = serde_json::to_string(&other.status()).unwrap();
    for token in h.server.issued_tokens() {
        assert!(!shown.contains(&token));
    }
}

#[tokio::test]
async fn bad_credentials_and_missing_fields_have_their_own_codes() {
    // Scripted: an empty password is a 401 here (simplejwt answers 400 "may not be blank").
    let h = Harness::new(ServerConfig::default()).await;
    let session = h.session();
    let err = session.login("alice", pw("wrong")).await.unwrap_err();
    assert_eq!(err.code(), "invalid_credentials");
    let err = session.login("bob", pw("")).await.unwrap_err();
    assert_eq!(err.code(), "invalid_credentials");
    let mut profile = h.profile.clone();
    profile.password_field = "pass".into();
    let err = h
        .session_with(profile)
        .login("alice", pw("x"))
        .await
        .unwrap_err();
    let Error::Validation { fields } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(fields["password"], vec!["This field is required."]);
    assert!(h.store.snapshot().is_empty());
    assert_eq!(get_err(&session, ECHO).await.code(), "login_required");
}

#[tokio::test]
async fn login_never_follows_a_redirect() {
    let h = Harness::new(ServerConfig::default()).await;
    let mut profile = h.profile.clone();
    profile.obtain_path = "/api/token-redirect/".into();
    let err = h
        .session_with(profile)
        .login("alice", pw("correct horse"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "http_error");
    assert!(err.to_string().contains("/api/steal/"), "{err}");
    assert_eq!(h.server.count("POST /api/token-redirect/ 307"), 1);
    assert_eq!(
        h.server.count("POST /api/steal/ 200"),
        0,
        "the password was re-sent"
    );
}

#[tokio::test]
async fn custom_login_views_with_email_and_token_suffixed_fields() {
    let h = Harness::new(ServerConfig::custom_view()).await;
    let session = h.session();
    session
        .login("alice@example.com", pw("correct horse"))
        .await
        .unwrap();
    h.advance(299);
    assert_eq!(get(&session, ECHO).await.status, 200);
    assert_eq!(h.refreshes(), 1);
    let out = session.logout().await.unwrap();
    assert!(out.server_revoked, "{out:?}");
}

#[tokio::test]
async fn wrong_response_shape_is_bad_response() {
    let h = Harness::new(ServerConfig {
        access_field: "jwt".into(),
        refresh_field: "jwt_refresh".into(),
        ..ServerConfig::default()
    })
    .await;
    // The profile expects simplejwt's names; the server uses names no Django view uses.
    let err = h
        .session()
        .login("alice", pw("correct horse"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "bad_response");
    assert!(err.to_string().contains("jwt_refresh"), "{err}");
    assert!(!err.to_string().contains("eyJ"));
}

#[tokio::test]
async fn a_sign_in_answer_in_the_other_usual_spelling_is_taken() {
    // Before: bad_response "no \"access\" field (fields: access_token, refresh_token)" — the
    // tutorial's custom login view could not be used without changing the field names.
    let h = Harness::new(ServerConfig::custom_view()).await;
    let mut profile = h.profile.clone();
    profile.login_field = "email".into();
    profile.access_field = "access".into();
    profile.refresh_field = "refresh".into();
    profile.refresh_request_field = "refresh_token".into();
    let session = h.session_with(profile);
    session
        .login("alice@example.com", pw("correct horse"))
        .await
        .unwrap();
    h.advance(299);
    assert_eq!(get(&session, ECHO).await.status, 200);
    assert_eq!(
        h.refreshes(),
        1,
        "the refresh token from access_token/refresh_token was kept"
    );
}

#[tokio::test]
async fn registration_surfaces_field_errors_then_signs_in() {
    let h = Harness::new(ServerConfig::custom_view()).await;
    let session = h.session();
    let mut fields = std::collections::BTreeMap::new();
    fields.insert("name".to_owned(), String::new());
    fields.insert("email".to_owned(), "not-an-email".to_owned());
    let err = session
        .register(tessera_session::Registration {
            fields: fields.clone(),
            password: pw("short"),
        })
        .await
        .unwrap_err();
    let Error::Validation { fields: errors } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        errors.keys().collect::<Vec<_>>(),
        vec!["email", "name", "password"]
    );
    assert_eq!(errors["email"], vec!["Enter a valid email address."]);
    assert_eq!(
        serde_json::to_value(&err).unwrap()["fields"]["password"][0],
        "This password is too short. It must contain at least 8 characters."
    );

    fields.insert("name".to_owned(), "Bob".to_owned());
    fields.insert("email".to_owned(), "bob@example.com".to_owned());
    let status = session
        .register(tessera_session::Registration {
            fields,
            password: pw("long enough pw"),
        })
        .await
        .unwrap();
    assert!(status.signed_in);
    assert_eq!(h.server.count("POST /api/register/ 201"), 1);
    assert_eq!(h.server.count("POST /api/token/ 200"), 1);

    let mut no_reg = h.profile.clone();
    no_reg.registration_path = None;
    let err = h
        .session_with(no_reg)
        .register(tessera_session::Registration {
            fields: Default::default(),
            password: pw("x"),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not_supported");
}

#[tokio::test]
async fn a_locked_keyring_is_a_clear_error_not_a_hang() {
    let h = BackendHarness::rust().await;
    h.store.set_hang(Some(Duration::from_secs(3)));
    let err = h.session().restore().await.unwrap_err();
    assert_eq!(err.code(), "keyring_unavailable");
    h.store.set_hang(None);
    h.store.fail_next(
        FakeOp::Set,
        StoreError::Unavailable("the collection is locked".into()),
    );
    let err = h
        .session()
        .login("alice", pw("correct horse"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "keyring_unavailable");
    assert!(err.to_string().contains("collection is locked"));
}

/// Verification with EdDSA, from a PEM key or a JWKS URL.
fn verification(public_pem: Option<&str>, jwks: Option<String>) -> VerificationConfig {
    VerificationConfig {
        algorithm: "EdDSA".into(),
        public_key_file: None,
        public_key_pem: public_pem.map(str::to_owned),
        jwks_url: jwks.map(|u| url::Url::parse(&u).unwrap()),
        audience: None,
        issuer: None,
        leeway_secs: 0,
    }
}

#[tokio::test]
async fn configured_keys_verify_every_token_received() {
    let h = Harness::new(ServerConfig {
        ed25519: true,
        ..ServerConfig::default()
    })
    .await;
    // the right public key: signed-in and refreshed, verified each time
    let mut good = h.profile.clone();
    good.verification = Some(verification(Some(ED_PUBLIC), None));
    let session = h.session_with(good);
    session.login("alice", pw("correct horse")).await.unwrap();
    h.advance(290);
    assert_eq!(get_status(&session, ECHO).await, 200);
    assert_eq!(h.refreshes(), 1);
    session.logout().await.unwrap();

    // a JWKS URL: the key is fetched by kid
    let mut jwks = h.profile.clone();
    jwks.verification = Some(verification(
        None,
        Some(format!("{}/jwks.json", h.server.base_url)),
    ));
    h.session_with(jwks)
        .login("alice", pw("correct horse"))
        .await
        .unwrap();
    assert_eq!(h.server.count("GET /jwks.json 200"), 1);

    // the wrong key: the tokens are refused and nothing is stored
    h.store.snapshot().keys().for_each(|k| {
        tessera_session::SecretStore::delete(h.store.as_ref(), k).unwrap();
    });
    let mut wrong = h.profile.clone();
    wrong.verification = Some(verification(Some(OTHER_PUBLIC), None));
    let err = h
        .session_with(wrong)
        .login("alice", pw("correct horse"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "token_rejected");
    assert!(h.store.snapshot().is_empty());

    // HS256 tokens when EdDSA is the one allowed algorithm: refused
    let hs = Harness::new(ServerConfig::default()).await;
    let mut strict = hs.profile.clone();
    strict.verification = Some(verification(Some(ED_PUBLIC), None));
    let err = hs
        .session_with(strict)
        .login("alice", pw("correct horse"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "token_rejected");
    assert!(err.to_string().contains("not the allowed"), "{err}");
}

#[tokio::test]
async fn the_connection_probe_recognises_a_simplejwt_endpoint() {
    let h = BackendHarness::rust().await;
    let report = tessera_session::probe::probe(&h.profile).await.unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.status, 400);
    let mut wrong = h.profile.clone();
    wrong.obtain_path = "/api/nothing-here/".into();
    let report = tessera_session::probe::probe(&wrong).await.unwrap();
    assert!(!report.ok);
    assert_eq!(report.status, 404);
    assert_eq!(h.count("POST /api/token/ 200").await, 0);
}
