//! What a request may do with the session's tokens: idempotent requests are retried after a
//! network error and others never, token endpoints are reserved in any spelling, and tokens go
//! to the profile's origin only (the caller's own `Authorization` header is replaced).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use tessera_session::{header, ApiRequest, Method};

use crate::common::backend::BackendHarness;
use crate::common::requests::{get_status, ECHO, HELLO};
use crate::common::{Harness, ServerConfig};

#[tokio::test]
async fn idempotent_requests_are_retried_after_a_network_error_others_never() {
    // A server that accepts connections and closes them at once.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&accepted);
    tokio::spawn(async move {
        loop {
            let (sock, _) = listener.accept().await.unwrap();
            counter.fetch_add(1, Ordering::SeqCst);
            drop(sock);
        }
    });
    let h = BackendHarness::rust().await;
    h.logged_in().await;
    let dead = format!("http://127.0.0.1:{port}");
    tessera_session::SecretStore::set(
        h.store.as_ref(),
        "session:test",
        &h.stored_entry().replace(&h.origin(), &dead),
    )
    .unwrap();
    let mut profile = h.profile.clone();
    profile.base_url = url::Url::parse(&dead).unwrap();
    let s = h.session_with(profile);
    s.restore().await.unwrap();
    let err = s
        .request(ApiRequest::post(ECHO).body("once"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "network");
    assert_eq!(accepted.swap(0, Ordering::SeqCst), 1, "a POST was retried");
    let err = s.request(ApiRequest::get(ECHO)).await.unwrap_err();
    assert_eq!(err.code(), "network");
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn token_endpoints_are_reserved_in_any_spelling() {
    let h = BackendHarness::rust().await;
    let session = h.logged_in().await;
    let base = h.origin();
    let absolute = |path: &str| format!("{base}/{path}");
    for target in [
        "/api/token/".to_owned(),
        "api/token/refresh".to_owned(),
        "/api/token/refresh/?x=1".to_owned(),
        "/api/token/blacklist//".to_owned(),
        absolute("api/token/"),
        absolute("api/token/verify"),
        absolute("api/token/refresh/?x=1"),
    ] {
        let err = session
            .request(ApiRequest::post(target.clone()).body("{}"))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "reserved_endpoint", "{target}");
    }
    // Another origin is refused as such, token path or not.
    let err = session
        .request(ApiRequest::get("https://evil.example.com/api/token/"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "cross_origin");
    // An ordinary endpoint still works afterwards.
    assert_eq!(
        get_status(&session, &format!("{HELLO}?next=/api/token/")).await,
        200
    );
}

#[tokio::test]
async fn tokens_go_nowhere_but_the_profile_origin() {
    // Scripted: its echo answers any method (the backend's endpoints are GET or POST only).
    let h = Harness::new(ServerConfig::default()).await;
    let session = h.logged_in().await;
    let err = session
        .request(ApiRequest::get("https://evil.example.com/api/echo/"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "cross_origin");
    let same = format!("{}/api/echo/", h.server.base_url);
    let r = session
        .request(ApiRequest::get(same).header(
            header::AUTHORIZATION,
            header::HeaderValue::from_static("Bearer forged"),
        ))
        .await
        .unwrap();
    assert_eq!(
        r.status, 200,
        "the caller's Authorization header is replaced"
    );
    let m = Method::DELETE;
    assert_eq!(
        session
            .request(ApiRequest::new(m, ECHO))
            .await
            .unwrap()
            .status,
        200
    );
}
