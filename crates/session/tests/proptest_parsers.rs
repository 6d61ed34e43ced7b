//! Property tests over the public code that reads untrusted input — a token's claims, text to
//! redact, a JWKS and tokens to verify, a keyring entry, the profiles file, a server URL — and
//! over the whole sign-in path against a server answering arbitrary bytes: no input panics, and
//! every failure is one of the documented error codes. (The crate-private parsers — token
//! responses, DRF error bodies, headers, the chunk manifest — are in `src/proptests.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use serde_json::{json, Value};
use tessera_session::claims::{decode_unverified, TokenVerifier};
use tessera_session::redact::{redact_tokens, REDACTED};
use tessera_session::vault::Vault;
use tessera_session::{
    FakeStore, Password, Profile, ProfilesFile, SecretStore, Session, SessionConfig,
    SessionOptions, VerificationConfig,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ED_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAkwNxibStdwjmL+BxDn235VNugZxVi5OzKutaiOl6yFk=\n-----END PUBLIC KEY-----\n";

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,30}".prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 32, 5, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..5).prop_map(Value::Array),
            btree_map(
                prop_oneof![
                    Just("exp".to_owned()),
                    Just("iat".to_owned()),
                    Just("token_type".to_owned()),
                    Just("user_id".to_owned()),
                    Just("kid".to_owned()),
                    Just("alg".to_owned()),
                    Just("keys".to_owned()),
                    ".{0,8}"
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Three dot-separated parts: base64url of arbitrary JSON or bytes, or raw text.
fn token_like() -> impl Strategy<Value = String> {
    let part = prop_oneof![
        json_value().prop_map(|v| b64(v.to_string().as_bytes())),
        vec(any::<u8>(), 0..40).prop_map(|b| b64(&b)),
        "[A-Za-z0-9_=+/.-]{0,20}",
    ];
    prop_oneof![
        3 => (part.clone(), part.clone(), part).prop_map(|(h, p, s)| format!("{h}.{p}.{s}")),
        1 => ".{0,60}",
    ]
}

fn verifier() -> TokenVerifier {
    TokenVerifier::new(
        &VerificationConfig {
            algorithm: "EdDSA".into(),
            public_key_file: None,
            public_key_pem: Some(ED_PUBLIC.into()),
            jwks_url: None,
            audience: Some("api".into()),
            issuer: None,
            leeway_secs: 0,
        },
        "user_id",
    )
    .unwrap()
}

fn jwks_verifier() -> TokenVerifier {
    TokenVerifier::new(
        &VerificationConfig {
            algorithm: "RS256".into(),
            public_key_file: None,
            public_key_pem: None,
            jwks_url: Some("https://example.com/jwks.json".parse().unwrap()),
            audience: None,
            issuer: None,
            leeway_secs: u64::MAX,
        },
        "user_id",
    )
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn claims_decode_or_fail_with_bad_response(token in token_like()) {
        match decode_unverified(&token, "user_id") {
            Ok(claims) => {
                let _ = claims.lifetime_secs();
                let _ = serde_json::to_string(&claims).unwrap();
            }
            Err(e) => prop_assert_eq!(e.code(), "bad_response"),
        }
    }

    #[test]
    fn verification_never_panics(token in token_like(), jwks in json_value(), bytes in vec(any::<u8>(), 0..200), now in any::<i64>()) {
        let v = verifier();
        if let Err(e) = v.verify(&token, "access", now) {
            prop_assert_eq!(e.code(), "token_rejected");
        }
        let j = jwks_verifier();
        let _ = j.needs_jwks(&token);
        for doc in [jwks.to_string().into_bytes(), bytes.clone()] {
            if let Err(e) = j.set_jwks(&doc) {
                prop_assert_eq!(e.code(), "bad_response");
            }
            if let Err(e) = j.verify(&token, "refresh", now) {
                prop_assert_eq!(e.code(), "token_rejected");
            }
        }
    }

    #[test]
    fn redaction_survives_any_text_and_removes_every_token(
        text in ".{0,200}",
        claims in json_value(),
        before in "[ ,;:\"'(\\[{\n]{0,2}",
        after in "[ ,;:\"')\\]}\n]{0,2}",
    ) {
        let once = redact_tokens(&text).into_owned();
        prop_assert_eq!(redact_tokens(&once).into_owned(), once.clone());
        if !text.contains("eyJ") {
            prop_assert_eq!(&once, &text);
        }
        // A JWT embedded anywhere (at a word boundary) is gone.
        let token = format!(
            "{}.{}.{}",
            b64(br#"{"alg":"HS256","typ":"JWT"}"#),
            b64(claims.to_string().as_bytes()),
            b64(b"signature")
        );
        let mixed = format!("{text} {before}{token}{after} {text}");
        let out = redact_tokens(&mixed);
        prop_assert!(!out.contains(&token), "{}", out);
        prop_assert!(out.contains(REDACTED));
    }

    #[test]
    fn any_keyring_entry_is_a_session_or_a_clean_error(entry in prop_oneof![
        ".{0,200}",
        json_value().prop_map(|v| v.to_string()),
        (json_value(), json_value(), json_value(), json_value()).prop_map(|(a, r, o, off)| {
            json!({"v": 1, "access": a, "refresh": r, "origin": o, "offset_ms": off}).to_string()
        }),
    ]) {
        let store = Arc::new(FakeStore::new());
        store.set("session:p", &entry).unwrap();
        let vault = Vault::new(store.clone(), Duration::from_secs(5));
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        match rt.block_on(vault.load("p")) {
            Ok(Some(_)) => {}
            Ok(None) => prop_assert!(false, "a stored entry read as no session"),
            Err(e) => {
                prop_assert_eq!(e.code(), "login_required", "{}", e);
                prop_assert!(store.snapshot().is_empty(), "an unreadable entry was kept");
            }
        }
    }

    #[test]
    fn any_profiles_file_loads_or_is_reported_corrupt(content in prop_oneof![
        ".{0,200}",
        json_value().prop_map(|v| v.to_string()),
        (".{0,12}", json_value(), ".{0,30}").prop_map(|(name, extra, url)| {
            json!({"profiles": {name: {"base_url": url, "extra": extra}}, "default": "x"}).to_string()
        }),
        (".{0,12}", 0u64..3, 0u64..3).prop_map(|(name, t, c)| {
            json!({"profiles": {name: {"base_url": "https://api.example.com/", "request_timeout_secs": t, "connect_timeout_secs": c}}}).to_string()
        }),
    ]) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("profiles.json");
        std::fs::write(&path, &content).unwrap();
        if let Err(e) = ProfilesFile::load(&path) {
            prop_assert_eq!(e.code(), "profiles_file_corrupt", "{}", e);
            prop_assert!(e.to_string().contains("profiles.json"), "{}", e);
        }
        // Never overwritten while it is corrupt.
        prop_assert_eq!(std::fs::read_to_string(&path).unwrap(), content);
    }

    #[test]
    fn any_server_url_is_a_profile_or_invalid_profile(url in prop_oneof![".{0,60}", "(https?|ftp|file)://[a-z0-9.:@\\[\\]/%?#-]{0,40}"]) {
        if let Err(e) = Profile::from_base_url(&url) {
            prop_assert!(["invalid_profile", "insecure_url"].contains(&e.code()), "{}", e);
        }
    }
}

/// A loopback server whose one answer (status line, headers, body) is swapped per case.
struct Canned {
    url: String,
    answer: Arc<Mutex<Vec<u8>>>,
}

async fn canned_server() -> Canned {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let answer = Arc::new(Mutex::new(Vec::new()));
    let shared = Arc::clone(&answer);
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                continue;
            };
            let answer = shared.lock().unwrap().clone();
            tokio::spawn(async move {
                // Read the request head (the sign-in body is small and follows at once).
                let mut buf = vec![0u8; 16 * 1024];
                let _ =
                    tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await;
                let _ = stream.write_all(&answer).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    Canned { url, answer }
}

#[test]
fn sign_in_against_a_server_answering_arbitrary_bytes() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(canned_server());
    let mut profile = Profile::from_base_url(&server.url).unwrap();
    profile.request_timeout_secs = 2;
    let lock_dir = tempfile::tempdir().unwrap();
    let allowed = [
        "invalid_credentials",
        "validation",
        "server_error",
        "rate_limited",
        "http_error",
        "bad_response",
        "network",
        "timeout",
    ];
    let statuses = prop_oneof![
        Just(200u16),
        Just(201),
        Just(400),
        Just(401),
        Just(404),
        Just(429),
        Just(502),
        100u16..600
    ];
    let bodies = prop_oneof![
        vec(any::<u8>(), 0..300),
        json_value().prop_map(|v| v.to_string().into_bytes()),
        (token_like(), token_like())
            .prop_map(|(a, r)| json!({"access": a, "refresh": r}).to_string().into_bytes()),
    ];
    let headers = prop_oneof![
        Just(String::new()),
        Just("Retry-After: 5\r\n".to_owned()),
        "Retry-After: [ -~]{0,20}\r\n",
        "Date: [ -~]{0,30}\r\n",
        "Location: [ -~]{0,30}\r\n",
    ];
    proptest!(ProptestConfig::with_cases(96), |(status in statuses, extra in headers, body in bodies, chunked in any::<bool>())| {
        let mut answer = format!("HTTP/1.1 {status} Whatever\r\n{extra}Connection: close\r\n").into_bytes();
        if chunked {
            answer.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
            answer.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
            answer.extend_from_slice(&body);
            answer.extend_from_slice(b"\r\n0\r\n\r\n");
        } else {
            answer.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
            answer.extend_from_slice(&body);
        }
        *server.answer.lock().unwrap() = answer;
        let store = Arc::new(FakeStore::new());
        let session = Session::open(
            SessionConfig::new("prop", profile.clone(), store.clone(), lock_dir.path().to_path_buf())
                .with_options(SessionOptions::default()),
        )
        .unwrap();
        let result = rt.block_on(async {
            tokio::time::timeout(
                Duration::from_secs(10),
                session.login("alice", Password::new("pw".into())),
            )
            .await
        });
        let result = result.expect("the sign-in hung");
        match result {
            Ok(status) => {
                prop_assert!(status.signed_in);
                prop_assert!(!store.snapshot().is_empty());
            }
            Err(e) => {
                prop_assert!(allowed.contains(&e.code()), "{}: {}", e.code(), e);
                prop_assert!(!session.status().signed_in);
                prop_assert!(store.snapshot().is_empty());
            }
        }
    });
}
