//! The profile's unit tests: defaults and round trips, endpoint URLs, validation, reserved
//! endpoints, ad-hoc names.

use super::*;

use serde_json::json;

#[test]
fn token_endpoints_are_recognised_in_any_spelling() {
    let mut p = Profile::from_base_url("https://api.example.com/app/").unwrap();
    p.registration_path = Some("/api/register/".into());
    let reserved = |p: &Profile, target: &str| {
        let t = crate::transport::Transport::new(p, 1 << 20).unwrap();
        t.is_auth_url(&t.resolve(target).unwrap())
    };
    for target in [
        "/api/token/",
        "api/token",
        "/api/token/refresh/?x=1",
        "/api/token/blacklist/",
        "/api/register/",
        "https://api.example.com/app/api/token/verify/",
    ] {
        assert!(reserved(&p, target), "{target}");
    }
    for target in [
        "/api/hello/",
        "/api/token/x/",
        "/api/",
        "https://api.example.com/api/token/",
    ] {
        assert!(!reserved(&p, target), "{target}");
    }
    p.verify_path = None;
    assert!(!reserved(&p, "/api/token/verify/"));
}

fn name(url: &str) -> String {
    ad_hoc_name(&Url::parse(url).unwrap())
}

#[test]
fn ad_hoc_names_are_valid_profile_names() {
    for (url, prefix) in [
        ("http://127.0.0.1:8000/", "127.0.0.1-8000-"),
        ("https://staging.example.com/api/", "staging.example.com-"),
        ("http://[::1]:9/", "--1-9-"),
        ("https://xn--bcher-kva.example/", "xn--bcher-kva.example-"),
        (
            "https://a-very-long-host-name-that-goes-on.and-on.and-on.example.com:65535/x/y/z/",
            "a-very-long-host-name-that-goes-on.and-on.and-on.e",
        ),
    ] {
        let got = name(url);
        assert!(got.starts_with(prefix), "{url}: {got}");
        crate::profiles_file::validate_profile_name(&got).unwrap();
    }
}

#[test]
fn ad_hoc_names_do_not_collide_across_scheme_host_port_and_path() {
    for (a, b) in [
        ("http://localhost:18086", "https://localhost-18086/"),
        ("http://localhost:18086/", "https://localhost:18086/"),
        ("https://h.example/", "https://h.example:8443/"),
        ("https://h.example/", "http://h.example/"),
        ("https://h.example/app/", "https://h.example/other/"),
        ("https://h.example/app", "https://h.example/app/"),
        ("https://h.example/", "https://h.example:80/"),
        ("http://[::1]:9/", "http://--1:9/"),
        ("https://a.b/", "https://a-b/"),
    ] {
        assert_ne!(name(a), name(b), "{a} and {b}");
    }
}

#[test]
fn ad_hoc_names_are_stable_for_the_same_base_url() {
    assert_eq!(
        name("https://h.example/app/"),
        name("https://h.example/app/")
    );
    // The same URL in other spellings the URL parser normalises.
    assert_eq!(
        name("HTTPS://H.Example:443/app/"),
        name("https://h.example/app/")
    );
    assert_eq!(name("http://localhost:80/"), name("http://localhost/"));
    assert_eq!(name("https://h.example"), name("https://h.example/"));
    // Query and fragment are no part of the base URL the session is bound to.
    assert_eq!(name("https://h.example/?x=1#y"), name("https://h.example/"));
    assert_eq!(
        name("http://127.0.0.1:8000/"),
        name("http://127.0.0.1:8000")
    );
    // Pinned: the app and the CLI (and older and newer versions) must agree on it.
    assert_eq!(
        name("http://127.0.0.1:8000/"),
        "127.0.0.1-8000-a224b92069e6"
    );
}

proptest::proptest! {
    #[test]
    fn ad_hoc_names_always_validate(
        scheme in proptest::sample::select(vec!["http", "https"]),
        host in "[a-z0-9][a-z0-9.-]{0,80}",
        port in proptest::option::of(1u16..),
        path in "(/[a-zA-Z0-9._~%-]{0,12}){0,4}/?",
    ) {
        let port = port.map(|p| format!(":{p}")).unwrap_or_default();
        if let Ok(url) = Url::parse(&format!("{scheme}://{host}{port}{path}")) {
            let got = ad_hoc_name(&url);
            proptest::prop_assert!(
                crate::profiles_file::validate_profile_name(&got).is_ok(),
                "{url} -> {got}"
            );
        }
    }
}

#[test]
fn minimal_json_gets_simplejwt_defaults() {
    let p: Profile =
        serde_json::from_value(json!({"base_url": "https://api.example.com"})).unwrap();
    assert_eq!(
        p,
        Profile::new(Url::parse("https://api.example.com").unwrap())
    );
    assert_eq!(p.obtain_path, "/api/token/");
    assert_eq!(p.verify_path.as_deref(), Some("/api/token/verify/"));
    assert_eq!(p.auth_header_type, "Bearer");
    p.validate().unwrap();
}

#[test]
fn null_switches_an_optional_endpoint_off_and_survives_round_trip() {
    let p: Profile = serde_json::from_value(json!({
        "base_url": "https://api.example.com", "blacklist_path": null, "future_option": {"x": 1}
    }))
    .unwrap();
    assert_eq!(p.blacklist_path, None);
    let again: Profile = serde_json::from_value(serde_json::to_value(&p).unwrap()).unwrap();
    assert_eq!(again.blacklist_path, None);
    assert_eq!(again.extra["future_option"], json!({"x": 1}));
}

#[test]
fn endpoints_keep_the_base_path() {
    let p = Profile::from_base_url("https://h.example/app/").unwrap();
    assert_eq!(
        p.endpoint("/api/token/").unwrap().as_str(),
        "https://h.example/app/api/token/"
    );
    let p = Profile::from_base_url("https://h.example").unwrap();
    assert_eq!(
        p.endpoint("api/echo/?a=1").unwrap().as_str(),
        "https://h.example/api/echo/?a=1"
    );
}

#[test]
fn plain_http_only_to_loopback_unless_allowed() {
    for ok in [
        "http://localhost:8000",
        "http://127.0.0.1:1",
        "http://[::1]:80",
        "https://example.com",
    ] {
        Profile::from_base_url(ok).unwrap();
    }
    let err = Profile::from_base_url("http://example.com").unwrap_err();
    assert_eq!(err.code(), "insecure_url");
    assert!(err.to_string().contains("example.com"));
    let mut p = Profile::new(Url::parse("http://10.0.0.5:8000").unwrap());
    assert_eq!(p.validate().unwrap_err().code(), "insecure_url");
    p.allow_insecure_http = true;
    p.validate().unwrap();
}

#[test]
fn rejects_nonsense() {
    assert_eq!(
        Profile::from_base_url("ftp://x").unwrap_err().code(),
        "invalid_profile"
    );
    assert_eq!(
        Profile::from_base_url("not a url").unwrap_err().code(),
        "invalid_profile"
    );
    assert_eq!(
        Profile::from_base_url("https://user:pw@x.example")
            .unwrap_err()
            .code(),
        "invalid_profile"
    );
    let mut p = Profile::from_base_url("https://x.example").unwrap();
    p.auth_header_type = "Bearer x".into();
    assert_eq!(p.validate().unwrap_err().code(), "invalid_profile");
    p.auth_header_type = "JWT".into();
    p.refresh_path = "https://evil.example/refresh/".into();
    assert_eq!(p.validate().unwrap_err().code(), "invalid_profile");
}

#[test]
fn custom_view_preset() {
    let p = Profile::from_base_url("https://x.example")
        .unwrap()
        .with_custom_view_fields();
    assert_eq!(
        (
            p.login_field.as_str(),
            p.access_field.as_str(),
            p.refresh_request_field.as_str()
        ),
        ("email", "access_token", "refresh_token")
    );
}

#[test]
fn presets_set_the_stack_and_keep_the_rest() {
    let mut base = Profile::from_base_url("https://api.example.com/").unwrap();
    base.request_timeout_secs = 7;
    base.proxy = Some("http://proxy.example:3128/".into());
    base.auth_header_type = "JWT".into();

    let mut djoser = base.clone();
    Preset::Djoser.apply(&mut djoser);
    assert_eq!(djoser.obtain_path, "/auth/jwt/create/");
    assert_eq!(djoser.refresh_path, "/auth/jwt/refresh/");
    assert_eq!(djoser.verify_path.as_deref(), Some("/auth/jwt/verify/"));
    assert_eq!(djoser.blacklist_path, None, "djoser has no JWT logout");
    assert_eq!(djoser.me_path.as_deref(), Some("/auth/users/me/"));
    assert_eq!(djoser.auth_header_type, "Bearer");
    assert_eq!(djoser.request_timeout_secs, 7, "connection settings stay");
    assert_eq!(djoser.proxy, base.proxy);
    assert_eq!(djoser.preset.as_deref(), Some("djoser"));

    let mut legacy = base.clone();
    Preset::DjRestAuthLegacy.apply(&mut legacy);
    assert_eq!(legacy.obtain_path, "/dj-rest-auth/login/");
    assert_eq!(
        legacy.blacklist_path.as_deref(),
        Some("/dj-rest-auth/logout/")
    );
    assert_eq!(
        (legacy.access_field.as_str(), legacy.refresh_field.as_str()),
        ("access_token", "refresh_token")
    );
    assert_eq!(
        legacy.refresh_request_field, "refresh",
        "2.x reads `refresh` at refresh and logout"
    );

    let mut ninja = base.clone();
    Preset::NinjaJwt.apply(&mut ninja);
    assert_eq!(
        ninja.obtain_path, "/api/token/pair",
        "no trailing slash: ninja answers 404 to one"
    );
    assert_eq!(ninja.blacklist_path, None);

    // A preset replaces what another preset set; simplejwt is the defaults.
    let mut back = legacy.clone();
    Preset::Simplejwt.apply(&mut back);
    let mut defaults = Profile::from_base_url("https://api.example.com/").unwrap();
    defaults.request_timeout_secs = 7;
    defaults.proxy = base.proxy.clone();
    defaults.preset = Some("simplejwt".into());
    assert_eq!(back, defaults);

    for preset in Preset::ALL {
        let mut p = base.clone();
        preset.apply(&mut p);
        p.validate().unwrap();
        assert_eq!(Preset::parse(preset.name()).unwrap(), preset);
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<Profile>(&json).unwrap(), p, "{json}");
    }
    let err = Preset::parse("djnago").unwrap_err();
    assert!(err.to_string().contains("djoser, dj-rest-auth"), "{err}");
    // A profile saved before presets existed has none, and none is written for it.
    let plain = serde_json::to_value(&base).unwrap();
    assert!(plain.get("preset").is_none());
}

#[test]
fn verification_takes_one_key_source() {
    // Before: a key file and a JWKS URL together were accepted and the URL silently ignored.
    let mut p = Profile::from_base_url("https://api.example.com/").unwrap();
    p.verification = Some(VerificationConfig {
        algorithm: "RS256".into(),
        public_key_pem: Some("-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n".into()),
        jwks_url: Some(url::Url::parse("https://api.example.com/jwks/").unwrap()),
        ..VerificationConfig::default()
    });
    let err = p.validate_verification().unwrap_err();
    assert_eq!(err.code(), "invalid_profile");
    assert!(err.to_string().contains("not both"), "{err}");
}
