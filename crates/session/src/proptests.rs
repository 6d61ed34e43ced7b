//! Property tests over the crate-private code that reads server, keyring or file input — token
//! responses, DRF error bodies, `Date`/`Retry-After`, claims and the time arithmetic built on
//! them, the keyring blob and its chunk manifest: arbitrary input never panics, and what is
//! accepted has the promised shape. The public parsers are covered in
//! `tests/proptest_parsers.rs`.

use std::time::{Duration, UNIX_EPOCH};

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use reqwest::header::{HeaderMap, HeaderValue, DATE, RETRY_AFTER};
use serde_json::{json, Map, Value};

use crate::accept::estimate_offset_ms;
use crate::claims::{decode_unverified, Claims};
use crate::schedule::{effective_margin_ms, refresh_at_ms};
use crate::store::{FakeStore, SecretStore};
use crate::test_tokens::jwt;
use crate::vault::{read_blob, write_blob};
use crate::wire::{parse_error_body, parse_token_response, retry_after, secret_json_body};

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
    ]
}

/// Claim names the engine reads, and a few others.
fn claim_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("exp".to_owned()),
        Just("iat".to_owned()),
        Just("jti".to_owned()),
        Just("token_type".to_owned()),
        Just("user_id".to_owned()),
        Just("refresh_exp".to_owned()),
        "[a-z_]{1,8}",
    ]
}

/// A JWT-shaped string with arbitrary claims (an object, or sometimes not).
fn jwt_like() -> impl Strategy<Value = String> {
    prop_oneof![
        btree_map(claim_name(), leaf(), 0..7)
            .prop_map(|m| Value::Object(m.into_iter().collect()).to_string()),
        leaf().prop_map(|v| v.to_string()),
        ".{0,30}",
    ]
    .prop_map(|payload| jwt(r#"{"alg":"HS256","typ":"JWT"}"#, &payload, "c2ln"))
}

/// Field names of token responses and DRF error bodies, and others.
fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("access".to_owned()),
        Just("refresh".to_owned()),
        Just("token".to_owned()),
        Just("detail".to_owned()),
        Just("code".to_owned()),
        Just("messages".to_owned()),
        Just("non_field_errors".to_owned()),
        ".{0,10}",
    ]
}

/// Arbitrary JSON, biased towards what a token endpoint might send.
fn server_json() -> impl Strategy<Value = Value> {
    let leaves = prop_oneof![3 => leaf(), 1 => jwt_like().prop_map(Value::from)];
    leaves.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            btree_map(field_name(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn check_token_response(body: &[u8]) {
    for (refresh_field, require) in [
        (Some("refresh"), true),
        (Some("refresh"), false),
        (None, false),
    ] {
        match parse_token_response(body, "access", refresh_field, require) {
            Ok(tokens) => {
                // Accepted means: an access token of three base64url parts.
                let parts: Vec<&str> = tokens.access.expose_secret().split('.').collect();
                assert_eq!(parts.len(), 3);
                if require {
                    assert!(tokens.refresh.is_some());
                }
            }
            Err(e) => {
                assert_eq!(e.code(), "bad_response");
                assert!(!e.to_string().contains("eyJ"), "{e}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn token_responses_from_arbitrary_bytes(body in vec(any::<u8>(), 0..512)) {
        check_token_response(&body);
    }

    #[test]
    fn token_responses_from_arbitrary_json(value in server_json()) {
        check_token_response(value.to_string().as_bytes());
    }

    #[test]
    fn token_responses_with_arbitrary_field_values(access in server_json(), refresh in server_json()) {
        let body = json!({"access": access, "refresh": refresh}).to_string();
        check_token_response(body.as_bytes());
    }

    #[test]
    fn error_bodies_from_arbitrary_input(bytes in vec(any::<u8>(), 0..512), value in server_json()) {
        let _ = parse_error_body(&bytes);
        let parsed = parse_error_body(value.to_string().as_bytes());
        // Only strings are taken from the body.
        if let Value::Object(map) = &value {
            prop_assert_eq!(parsed.code.is_some(), matches!(map.get("code"), Some(Value::String(_))));
        } else {
            prop_assert_eq!(parsed, Default::default());
        }
    }

    #[test]
    fn retry_after_and_date_headers(text in ".{0,60}", now_secs in 0u64..4_000_000_000) {
        let now = UNIX_EPOCH + Duration::from_secs(now_secs);
        if let Ok(value) = HeaderValue::from_str(&text) {
            let mut headers = HeaderMap::new();
            headers.insert(RETRY_AFTER, value.clone());
            headers.insert(DATE, value);
            let _ = retry_after(&headers, now);
            let _ = crate::wire::server_date(&headers);
        }
    }

    #[test]
    fn secret_bodies_are_always_the_json_they_hold(key in ".{0,20}", value in ".{0,200}") {
        let body = secret_json_body(&[("username", "alice"), (key.as_str(), value.as_str())]).unwrap();
        let parsed: Value = serde_json::from_slice(&body).unwrap();
        prop_assert_eq!(&parsed[key.as_str()], &Value::from(value));
    }

    #[test]
    fn claims_of_any_token_decode_or_fail_cleanly(token in prop_oneof![jwt_like(), ".{0,80}"]) {
        match decode_unverified(&token, "user_id") {
            Ok(claims) => {
                let _ = claims.lifetime_secs();
                let _ = refresh_at_ms(&claims, Duration::from_secs(60));
            }
            Err(e) => prop_assert_eq!(e.code(), "bad_response"),
        }
    }

    #[test]
    fn time_arithmetic_saturates_instead_of_overflowing(
        exp in any::<Option<i64>>(),
        iat in any::<Option<i64>>(),
        date_ms in any::<Option<i64>>(),
        received_ms in any::<i64>(),
        margin_secs in any::<u64>(),
        lifetime in any::<Option<i64>>(),
    ) {
        let mut all = Map::new();
        if let Some(exp) = exp { all.insert("exp".into(), exp.into()); }
        if let Some(iat) = iat { all.insert("iat".into(), iat.into()); }
        let claims = Claims::from_map(all, "user_id");
        prop_assert_eq!(claims.exp, exp);
        if let Some(l) = claims.lifetime_secs() {
            prop_assert!(l > 0);
        }
        let margin = Duration::from_secs(margin_secs);
        let at = refresh_at_ms(&claims, margin);
        prop_assert_eq!(at.is_some(), exp.is_some());
        if let (Some(at), Some(exp)) = (at, exp) {
            prop_assert!(at <= exp.saturating_mul(1000));
        }
        let m = effective_margin_ms(margin, lifetime);
        prop_assert!(m >= 0);
        let _ = estimate_offset_ms(iat, date_ms, received_ms.saturating_sub(margin_secs as i64), received_ms);
        let _ = estimate_offset_ms(iat, date_ms, received_ms, received_ms.saturating_sub(1));
    }

    #[test]
    fn any_keyring_entry_reads_back_or_fails_cleanly(
        main in prop_oneof![
            ".{0,200}",
            (any::<u64>(), any::<usize>(), any::<usize>(), any::<u64>())
                .prop_map(|(g, c, l, s)| format!("tessera-chunked:v1:{g:016x}:{c}:{l}:{s:016x}")),
            "tessera-chunked:v1:[0-9a-f:]{0,60}",
        ],
        chunk in ".{0,50}",
    ) {
        let store = FakeStore::new();
        store.set("session:p", &main).unwrap();
        // A chunk for generation 0, index 0, so that small manifests find something.
        store.set("session:p:0000000000000000:0", &chunk).unwrap();
        let _ = read_blob(&store, "session:p");
        let _ = crate::vault::delete_blob(&store, "session:p");
        prop_assert!(store.get("session:p").unwrap().is_none());
    }

    /// (An entry must hold at least a manifest, 56 characters; real stores hold 1000.)
    #[test]
    fn blobs_round_trip_through_chunks(blob in ".{0,600}", max in 60usize..200) {
        let store = FakeStore::with_max_chars(max);
        write_blob(&store, "session:p", &blob).unwrap();
        let back = read_blob(&store, "session:p").unwrap().unwrap();
        prop_assert_eq!(back.as_str(), blob.as_str());
    }
}

#[test]
fn a_manifest_announcing_a_huge_blob_is_not_an_allocation() {
    let store = FakeStore::new();
    let manifest = format!(
        "tessera-chunked:v1:{:016x}:{}:{}:{:016x}",
        0,
        1,
        usize::MAX,
        0
    );
    store.set("session:p", &manifest).unwrap();
    store.set("session:p:0000000000000000:0", "x").unwrap();
    // Handed on as an unreadable blob (the vault removes it), not a capacity overflow.
    let blob = read_blob(&store, "session:p").unwrap().unwrap();
    assert_eq!(blob.as_str(), manifest);
}
