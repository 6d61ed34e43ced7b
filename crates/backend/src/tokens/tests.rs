//! The token service's unit tests: simplejwt's claims, types, lifetimes, leeway, rotation and
//! the order of checks.

use super::*;
use base64::Engine as _;

fn service(clock: Arc<Clock>, access: u64, leeway: u64) -> TokenService {
    TokenService::new(
        SigningKeys::hs256(b"test-secret"),
        clock,
        Duration::from_secs(access),
        Duration::from_secs(86_400),
        Duration::from_secs(leeway),
    )
}

fn payload(token: &str) -> Map<String, Value> {
    let part = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn claims_are_exactly_simplejwts() {
    let clock = Arc::new(Clock::new());
    let tokens = service(clock.clone(), 300, 0);
    let pair = tokens.issue_pair(42).unwrap();
    let access = payload(&pair.access);
    let refresh = payload(&pair.refresh);
    let keys: Vec<_> = access.keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 5);
    for claim in ["token_type", "exp", "iat", "jti", "user_id"] {
        assert!(
            access.contains_key(claim) && refresh.contains_key(claim),
            "{claim}"
        );
    }
    assert_eq!(access["token_type"], "access");
    assert_eq!(refresh["token_type"], "refresh");
    assert_eq!(access["user_id"], "42", "user_id is a string");
    let iat = access["iat"].as_i64().unwrap();
    assert_eq!(access["exp"].as_i64().unwrap(), iat + 300);
    assert_eq!(
        refresh["exp"].as_i64().unwrap(),
        refresh["iat"].as_i64().unwrap() + 86_400
    );
    assert_ne!(access["jti"], refresh["jti"]);
    let jti = access["jti"].as_str().unwrap();
    assert_eq!(jti.len(), 32);
    assert!(jti
        .chars()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
}

#[test]
fn type_is_checked() {
    let tokens = service(Arc::new(Clock::new()), 300, 0);
    let pair = tokens.issue_pair(1).unwrap();
    assert!(tokens.verify(&pair.access, Some(TokenType::Access)).is_ok());
    assert!(tokens
        .verify(&pair.refresh, Some(TokenType::Refresh))
        .is_ok());
    assert_eq!(
        tokens.verify(&pair.refresh, Some(TokenType::Access)),
        Err(TokenError::WrongType)
    );
    assert_eq!(
        tokens.verify(&pair.access, Some(TokenType::Refresh)),
        Err(TokenError::WrongType)
    );
    assert!(
        tokens.verify(&pair.refresh, None).is_ok(),
        "untyped accepts both"
    );
}

#[test]
fn expiry_follows_the_clock_and_leeway() {
    let clock = Arc::new(Clock::new());
    let strict = service(clock.clone(), 10, 0);
    let lenient = service(clock.clone(), 10, 30);
    let pair = strict.issue_pair(1).unwrap();
    clock.shift(11);
    assert_eq!(
        strict.verify(&pair.access, Some(TokenType::Access)),
        Err(TokenError::Expired)
    );
    assert!(lenient
        .verify(&pair.access, Some(TokenType::Access))
        .is_ok());
    clock.shift(30);
    assert_eq!(
        lenient.verify(&pair.access, Some(TokenType::Access)),
        Err(TokenError::Expired)
    );
}

#[test]
fn tokens_issued_in_the_future_are_invalid_like_pyjwt() {
    let clock = Arc::new(Clock::new());
    let tokens = service(clock.clone(), 300, 0);
    let pair = tokens.issue_pair(1).unwrap();
    clock.shift(-5);
    assert_eq!(
        tokens.verify(&pair.access, Some(TokenType::Access)),
        Err(TokenError::Invalid)
    );
}

#[test]
fn tampering_and_foreign_keys_are_invalid() {
    let tokens = service(Arc::new(Clock::new()), 300, 0);
    let other = TokenService::new(
        SigningKeys::hs256(b"another-secret"),
        Arc::new(Clock::new()),
        Duration::from_secs(300),
        Duration::from_secs(300),
        Duration::ZERO,
    );
    let pair = tokens.issue_pair(1).unwrap();
    let mut tampered = pair.access.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    for bad in [tampered.as_str(), "garbage", "", "a.b.c"] {
        assert_eq!(
            tokens.verify(bad, None),
            Err(TokenError::Invalid),
            "{bad:?}"
        );
    }
    let foreign = other.issue_pair(1).unwrap();
    assert_eq!(
        tokens.verify(&foreign.access, None),
        Err(TokenError::Invalid)
    );
}

#[test]
fn alg_none_and_other_algorithms_are_refused() {
    let tokens = service(Arc::new(Clock::new()), 300, 0);
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let now = Clock::new().now_secs();
    let body = b64.encode(format!(
        r#"{{"token_type":"access","exp":{},"iat":{now},"jti":"x","user_id":"1"}}"#,
        now + 100
    ));
    let none = format!("{}.{}.", b64.encode(r#"{"alg":"none","typ":"JWT"}"#), body);
    assert_eq!(tokens.verify(&none, None), Err(TokenError::Invalid));
    let hs512 = jsonwebtoken::encode(
        &Header::new(jsonwebtoken::Algorithm::HS512),
        &serde_json::json!({"token_type":"access","exp":now + 100,"iat":now,"jti":"x","user_id":"1"}),
        &jsonwebtoken::EncodingKey::from_secret(b"test-secret"),
    )
    .unwrap();
    assert_eq!(tokens.verify(&hs512, None), Err(TokenError::Invalid));
}

#[test]
fn missing_claims_get_simplejwts_messages() {
    let tokens = service(Arc::new(Clock::new()), 300, 0);
    let now = Clock::new().now_secs();
    let sign = |claims: Value| {
        jsonwebtoken::encode(
            &Header::default(),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(b"test-secret"),
        )
        .unwrap()
    };
    let no_exp = sign(serde_json::json!({"token_type":"access","jti":"x"}));
    assert_eq!(tokens.verify(&no_exp, None), Err(TokenError::NoExp));
    let no_jti = sign(serde_json::json!({"token_type":"access","exp":now + 60}));
    assert_eq!(tokens.verify(&no_jti, None), Err(TokenError::NoId));
    let no_type = sign(serde_json::json!({"exp":now + 60,"jti":"x"}));
    assert_eq!(
        tokens.verify(&no_type, Some(TokenType::Access)),
        Err(TokenError::NoType)
    );
    assert!(tokens.verify(&no_type, None).is_ok());
}

#[test]
fn rotation_keeps_user_and_renews_the_rest() {
    let clock = Arc::new(Clock::new());
    let tokens = service(clock.clone(), 300, 0);
    let pair = tokens.issue_pair(7).unwrap();
    let old = tokens
        .verify(&pair.refresh, Some(TokenType::Refresh))
        .unwrap();
    clock.shift(100);
    let rotated = tokens.rotate(&old).unwrap();
    let new = tokens.verify(&rotated, Some(TokenType::Refresh)).unwrap();
    assert_eq!(new.user_id().as_deref(), Some("7"));
    assert_ne!(new.jti(), old.jti());
    assert!(new.exp() >= old.exp() + 100);
    let access = tokens.access_for(&new).unwrap();
    let access = tokens.verify(&access, Some(TokenType::Access)).unwrap();
    assert_eq!(access.user_id().as_deref(), Some("7"));
}

#[test]
fn error_messages_are_simplejwts() {
    assert_eq!(TokenError::Expired.to_string(), "Token is expired");
    assert_eq!(TokenError::Invalid.to_string(), "Token is invalid");
    assert_eq!(TokenError::WrongType.to_string(), "Token has wrong type");
    assert_eq!(TokenError::Blacklisted.to_string(), "Token is blacklisted");
}

#[test]
fn rs256_tokens_verify_with_the_published_key_only() {
    let pem = include_str!("../../tests/fixtures/test-rsa-key.pem");
    let keys = SigningKeys::rs256_from_pem(pem).unwrap();
    let jwks = keys.jwks();
    let tokens = TokenService::new(
        keys,
        Arc::new(Clock::new()),
        Duration::from_secs(300),
        Duration::from_secs(300),
        Duration::ZERO,
    );
    let pair = tokens.issue_pair(3).unwrap();
    let header = jsonwebtoken::decode_header(&pair.access).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    assert_eq!(header.kid.as_deref(), jwks["keys"][0]["kid"].as_str());
    let key = &jwks["keys"][0];
    let decoding = jsonwebtoken::DecodingKey::from_rsa_components(
        key["n"].as_str().unwrap(),
        key["e"].as_str().unwrap(),
    )
    .unwrap();
    let mut validation = Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.required_spec_claims.clear();
    let decoded =
        jsonwebtoken::decode::<Map<String, Value>>(&pair.access, &decoding, &validation).unwrap();
    assert_eq!(decoded.claims["user_id"], "3");
    assert!(tokens.verify(&pair.access, Some(TokenType::Access)).is_ok());
}
