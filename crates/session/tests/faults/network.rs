//! Network failures: a refused connection, a reset or a cut in the middle of a response, and
//! a server that never answers.

use std::time::Duration;

use tessera_session::{ApiRequest, Password, SessionEvent};

use crate::common::events::drain;
use crate::common::fault_client::{
    assert_error, bounded, client, login_error, login_refused_cleanly, refresh_error, signed_in,
    PASSWORD,
};
use crate::common::raw_server::{Mode, RawServer};

#[tokio::test]
async fn a_refused_connection_is_a_network_error() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let c = client(&url);
    let err = bounded(
        10,
        "login",
        c.session.login("alice", Password::new(PASSWORD.to_owned())),
    )
    .await
    .unwrap_err();
    login_refused_cleanly(&err, &c, "network", "Could not reach the server");

    // A signed-in session whose server went away: the refresh fails transiently, twice (the
    // retry policy), and the session is kept.
    let c = signed_in(&url).await;
    let mut events = c.session.subscribe();
    c.clock.advance(Duration::from_secs(301));
    let err = bounded(
        10,
        "request",
        c.session.request(ApiRequest::get("/api/echo/")),
    )
    .await
    .unwrap_err();
    assert_error(&err, "network", "Could not reach the server");
    assert!(c.session.status().signed_in);
    let transient = drain(&mut events)
        .into_iter()
        .filter(|e| matches!(e, SessionEvent::RefreshFailedTransiently { code, .. } if code == "network"))
        .count();
    assert_eq!(transient, 2);
}

#[tokio::test]
async fn a_reset_or_a_cut_in_the_middle_of_a_response_is_a_network_error() {
    for mode in [Mode::ResetMidBody, Mode::Truncated] {
        let (err, c, _s) = login_error(mode.clone()).await;
        login_refused_cleanly(&err, &c, "network", "Could not reach the server");
        let err = refresh_error(mode.clone()).await;
        assert_error(&err, "network", "Could not reach the server");
        // An idempotent API request is retried once, then the error is returned.
        let server = RawServer::start(mode).await;
        let c = signed_in(&server.url()).await;
        let err = bounded(
            10,
            "request",
            c.session.request(ApiRequest::get("/api/echo/")),
        )
        .await
        .unwrap_err();
        assert_error(&err, "network", "Could not reach the server");
        assert_eq!(server.connections(), 2);
        assert!(c.session.status().signed_in);
    }
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    // The profile's request timeout (1 s, its minimum) bounds sign-in and refresh; a request's
    // own timeout bounds API calls. Silence and a body that never ends are both cut off.
    for mode in [Mode::Silent, Mode::Trickle] {
        let (err, c, _s) = login_error(mode.clone()).await;
        login_refused_cleanly(&err, &c, "timeout", "did not answer within 1 s");
        let err = refresh_error(mode.clone()).await;
        assert_error(&err, "timeout", "did not answer within 1 s");

        let server = RawServer::start(mode).await;
        let c = signed_in(&server.url()).await;
        let err = bounded(
            10,
            "request",
            c.session
                .request(ApiRequest::get("/api/echo/").timeout(Duration::from_millis(300))),
        )
        .await
        .unwrap_err();
        assert_eq!(err.code(), "timeout", "{err}");
        assert!(c.session.status().signed_in);
        // Logout does not wait for a dead blacklist endpoint beyond its own short timeout.
        let out = bounded(10, "logout", c.session.logout()).await.unwrap();
        assert!(!out.server_revoked);
        assert!(out.server_note.unwrap().contains("timeout"));
        assert!(c.store.snapshot().is_empty());
    }
}
