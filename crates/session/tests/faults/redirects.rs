//! Redirects must not carry credentials to another host.

use tessera_session::ApiRequest;

use crate::common::fault_client::{
    assert_error, bounded, login_error, login_refused_cleanly, refresh_error, signed_in, PASSWORD,
};
use crate::common::raw_server::{canned, json_reply, RawServer};

#[tokio::test]
async fn reqwest_by_default_would_resend_the_password_to_another_host() {
    // Why the transport turns redirects off on its authentication endpoints: reqwest's default
    // policy follows a 307 to another host with the same body (it drops only Authorization and
    // cookies). This test shows it, so that a reqwest upgrade that changes it is noticed.
    let thief = RawServer::start_on("127.0.0.2:0", json_reply("200 OK", "{}")).await;
    let location = format!("{}/steal/", thief.url());
    let redirector = RawServer::start(canned(
        "307 Temporary Redirect",
        &[("Location", &location)],
        b"",
    ))
    .await;
    let response = reqwest::Client::new()
        .post(format!("{}/api/token/", redirector.url()))
        .header("authorization", "Bearer abc")
        .body(format!(r#"{{"username":"alice","password":"{PASSWORD}"}}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let stolen = thief.requests();
    assert_eq!(stolen.len(), 1);
    assert!(stolen[0].starts_with("POST /steal/"), "{}", stolen[0]);
    assert!(stolen[0].contains(PASSWORD), "the body did not follow");
    assert!(!stolen[0].to_ascii_lowercase().contains("authorization"));
}

#[tokio::test]
async fn no_credential_follows_a_redirect_to_another_host() {
    let thief = RawServer::start_on("127.0.0.2:0", json_reply("200 OK", "{}")).await;
    let location = format!("{}/steal/", thief.url());
    for status in [
        "307 Temporary Redirect",
        "308 Permanent Redirect",
        "302 Found",
        "301 Moved Permanently",
    ] {
        let redirect = canned(status, &[("Location", &location)], b"");
        // Sign-in: the password stays home.
        let (err, c, server) = login_error(redirect.clone()).await;
        login_refused_cleanly(&err, &c, "http_error", "never forwarded");
        assert!(err.to_string().contains(&location), "{err}");
        assert_eq!(server.connections(), 1);
        // Refresh: the refresh token stays home, the session too.
        let err = refresh_error(redirect.clone()).await;
        assert_error(&err, "http_error", &status[..3]);
        // API request: the bearer token stays home; the caller gets the redirect itself.
        let server = RawServer::start(redirect.clone()).await;
        let c = signed_in(&server.url()).await;
        let r = bounded(
            10,
            "request",
            c.session.request(ApiRequest::post("/api/echo/").body("x")),
        )
        .await
        .unwrap();
        assert_eq!(r.status.to_string(), status[..3]);
        // Logout: the blacklist call is not forwarded either; the keyring is cleared anyway.
        let out = bounded(10, "logout", c.session.logout()).await.unwrap();
        assert!(!out.server_revoked);
        assert!(c.store.snapshot().is_empty());
        assert_eq!(
            thief.connections(),
            0,
            "{status}: a request reached the other host"
        );
    }
}

/// A same-origin redirect into a token endpoint is not followed: the request (its body, its
/// Authorization) never reaches the refresh endpoint through the API path, and no token comes
/// back through it — the caller gets the redirect itself.
#[tokio::test]
async fn an_api_redirect_into_a_token_endpoint_is_not_followed() {
    let server = RawServer::start(canned(
        "307 Temporary Redirect",
        &[("Location", "/api/token/refresh/")],
        b"",
    ))
    .await;
    let c = signed_in(&server.url()).await;
    let r = bounded(
        10,
        "request",
        c.session
            .request(ApiRequest::post("/api/echo/").body(r#"{"refresh":"x"}"#)),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 307);
    let requests = server.requests();
    assert!(
        requests
            .iter()
            .all(|line| !line.contains("/api/token/refresh/")),
        "{requests:?}"
    );
}
