//! The transport's unit tests: target resolution, reserved-path recognition in every
//! spelling, CA file errors, a refused connection.

use super::*;

fn transport(base: &str) -> Transport {
    Transport::new(&Profile::from_base_url(base).unwrap(), 1 << 20).unwrap()
}

#[test]
fn absolute_targets_must_stay_on_the_origin() {
    let t = transport("https://api.example.com/v1/");
    assert_eq!(
        t.resolve("/api/echo/").unwrap().as_str(),
        "https://api.example.com/v1/api/echo/"
    );
    assert_eq!(
        t.resolve("https://api.example.com/other").unwrap().as_str(),
        "https://api.example.com/other"
    );
    for other in [
        "https://evil.example.com/x",
        "http://api.example.com/x",
        "https://api.example.com:444/x",
    ] {
        assert_eq!(
            t.resolve(other).unwrap_err().code(),
            "cross_origin",
            "{other}"
        );
    }
}

#[test]
fn token_paths_are_recognised_on_the_resolved_url() {
    let mut profile = Profile::from_base_url("https://api.example.com/app/").unwrap();
    profile.registration_path = Some("/api/register".into());
    let t = Transport::new(&profile, 1 << 20).unwrap();
    let is_auth = |target: &str| t.is_auth_url(&t.resolve(target).unwrap());
    for target in [
        // relative, with and without slashes
        "/api/token/",
        "api/token",
        "/api/token",
        "/api/token//",
        "/api/token/refresh/",
        "/api/token/verify/",
        "/api/token/blacklist/",
        // configured without a trailing slash, asked with one
        "/api/register/",
        "/api/register",
        // query strings
        "/api/token/refresh/?x=1",
        "/api/token?next=/api/hello/",
        // absolute on the profile's origin
        "https://api.example.com/app/api/token/",
        "https://api.example.com/app/api/token/verify",
        "https://api.example.com/app/api/token/refresh/?a=b",
    ] {
        assert!(is_auth(target), "{target}");
    }
    for target in [
        "/api/hello/",
        "/api/token/x/",
        "/api/",
        "/",
        "/api/tokens/",
        "/api/hello/?next=/api/token/",
        // the token path without the base URL's path is another endpoint
        "https://api.example.com/api/token/",
        "https://api.example.com/app/api/hello/",
    ] {
        assert!(!is_auth(target), "{target}");
    }
    // Another origin never gets this far: `resolve` refuses it.
    assert_eq!(
        t.resolve("https://evil.example.com/app/api/token/")
            .unwrap_err()
            .code(),
        "cross_origin"
    );
    // Switched-off endpoints are ordinary paths.
    profile.verify_path = None;
    let t = Transport::new(&profile, 1 << 20).unwrap();
    for (target, reserved) in [
        ("/api/token/verify/", false),
        ("/api/token/", true),
        ("/api/hello/", false),
        ("https://api.example.com/app/api/token/refresh", true),
    ] {
        assert_eq!(
            t.is_auth_url(&t.resolve(target).unwrap()),
            reserved,
            "{target}"
        );
    }
}

#[test]
fn reserved_paths_are_compared_as_the_server_routes_them() {
    let mut profile = Profile::from_base_url("https://api.example.com/").unwrap();
    profile.registration_path = Some("/api/register/".into());
    let t = Transport::new(&profile, 1 << 20).unwrap();
    let is_auth = |target: &str| t.is_auth_url(&t.resolve(target).unwrap());
    for target in [
        // percent-encoded letters (Django decodes the path once before routing)
        "/api/%74oken/",
        "/api/%74%6F%6B%65%6E/",
        "/api/%74%6f%6b%65%6e/refresh/",
        "/%61pi/token/verify/",
        "/api/token%2Fblacklist/",
        "/api/regist%65r",
        // dot segments, plain and encoded
        "/api/x/../token/",
        "/api/./token/refresh/",
        "/api/x/%2e%2e/token/",
        "/api/x/%2E%2E/token/",
        "/api/%2e/token/",
        "/../api/token/",
        // duplicate slashes anywhere
        "/api//token/",
        "//api/token/",
        "/api/token//refresh/",
        "https://api.example.com//api//token/",
    ] {
        assert!(is_auth(target), "{target} must be reserved");
    }
    for target in [
        // decoded once only: %2574 is `%74` on the server, not `t`
        "/api/%2574oken/",
        // Django's paths are case-sensitive
        "/API/token/",
        "/api/Token/",
        "/api/%54oken/",
        "/api/token/refresh/x/",
        "/api/x/token/",
        "/api/tok%20en/",
    ] {
        assert!(!is_auth(target), "{target} must not be reserved");
    }
}

#[test]
fn a_ca_file_that_is_not_pem_is_a_profile_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ca.pem");
    std::fs::write(&path, "hello").unwrap();
    let mut profile = Profile::from_base_url("https://x.example").unwrap();
    profile.ca_cert_file = Some(path);
    assert_eq!(
        Transport::new(&profile, 1024).unwrap_err().code(),
        "invalid_profile"
    );
    profile.ca_cert_file = Some(dir.path().join("missing.pem"));
    assert_eq!(Transport::new(&profile, 1024).unwrap_err().code(), "io");
}

#[tokio::test]
async fn a_refused_connection_is_a_network_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let t = transport(&format!("http://127.0.0.1:{port}"));
    let url = t.endpoint("/api/token/").unwrap();
    let err = t
        .post_auth(url, Bytes::from_static(b"{}"), None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "network", "{err}");
}

/// A path whose query (or later path) holds a URL is a path, not an absolute target: the proxy
/// and `tessera-cli request` pass `/api/login-redirect/?next=https://…` as they got it.
#[test]
fn a_path_with_a_url_in_its_query_is_a_path() {
    let t = transport("https://api.example.com/v1/");
    assert_eq!(
        t.resolve("/api/go/?next=https://evil.example.com/x")
            .unwrap()
            .as_str(),
        "https://api.example.com/v1/api/go/?next=https://evil.example.com/x"
    );
    assert_eq!(
        t.resolve("/api/http://evil.example.com/").unwrap().as_str(),
        "https://api.example.com/v1/api/http://evil.example.com/"
    );
}
