//! Reading what a token says about itself, and (optionally) checking that it is genuine.
//!
//! simplejwt sends no `expires_in`: a client learns when a token expires from its `exp` claim.
//! [`decode_unverified`] reads the claims without trusting them (jsonwebtoken's insecure decode);
//! that is enough to schedule refreshes, because the server checks every token anyway. When a
//! profile configures a verifying key or a JWKS URL, [`TokenVerifier`] checks the signature with
//! exactly one allowed algorithm (`none` cannot be expressed), `exp` (in the server's time, see
//! `accept.rs`), `token_type`, and optionally `aud`/`iss`.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::RwLock;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

use crate::error::{Error, Result};

/// The claims Tessera uses, plus every other claim (for display; claims are not secret).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Claims {
    /// Expiry, Unix seconds (server time).
    pub exp: Option<i64>,
    /// Issued at, Unix seconds (server time).
    pub iat: Option<i64>,
    /// Token id.
    pub jti: Option<String>,
    /// simplejwt's `token_type`: `access`, `refresh` or `sliding`.
    pub token_type: Option<String>,
    /// The user id claim (simplejwt `USER_ID_CLAIM`, a string since 5.5.1; numbers are shown as strings).
    pub user_id: Option<String>,
    /// Sliding tokens: until when the token may be refreshed.
    pub refresh_exp: Option<i64>,
    /// All claims as sent.
    pub all: Map<String, Value>,
}

impl Claims {
    /// Builds from a decoded claims object.
    pub fn from_map(all: Map<String, Value>, user_id_claim: &str) -> Self {
        let int = |k: &str| match all.get(k) {
            Some(Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
            _ => None,
        };
        let string = |k: &str| match all.get(k) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        Claims {
            exp: int("exp"),
            iat: int("iat"),
            jti: string("jti"),
            token_type: string("token_type"),
            user_id: string(user_id_claim),
            refresh_exp: int("refresh_exp"),
            all,
        }
    }

    /// `exp - iat` in seconds, when both are present and sensible.
    pub fn lifetime_secs(&self) -> Option<i64> {
        match (self.exp, self.iat) {
            (Some(exp), Some(iat)) if exp > iat => exp.checked_sub(iat),
            _ => None,
        }
    }
}

/// Reads a token's claims WITHOUT verifying it. Fails on anything that is not a JWS with a JSON
/// object payload.
pub fn decode_unverified(token: &str, user_id_claim: &str) -> Result<Claims> {
    let map: Map<String, Value> = jsonwebtoken::dangerous::insecure_decode_claims(token)
        .map_err(|e| Error::bad_response(format!("a token is not a readable JWT ({e})")))?;
    Ok(Claims::from_map(map, user_id_claim))
}

/// How a profile wants tokens verified. Stored in the profile; contains no secret (public keys
/// only: an HMAC signing key must never sit on a client).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationConfig {
    /// The ONE accepted algorithm, e.g. `RS256`, `ES256`, `EdDSA`.
    pub algorithm: String,
    /// A PEM public key file.
    #[serde(default)]
    pub public_key_file: Option<PathBuf>,
    /// A PEM public key inline.
    #[serde(default)]
    pub public_key_pem: Option<String>,
    /// A JWKS URL (simplejwt `JWK_URL`); keys are picked by `kid`.
    #[serde(default)]
    pub jwks_url: Option<Url>,
    /// Expected `aud`, if the server sets AUDIENCE.
    #[serde(default)]
    pub audience: Option<String>,
    /// Expected `iss`, if the server sets ISSUER.
    #[serde(default)]
    pub issuer: Option<String>,
    /// Allowed clock leeway in seconds for `exp`.
    #[serde(default)]
    pub leeway_secs: u64,
}

enum KeySource {
    Static(Box<DecodingKey>),
    Jwks {
        url: Url,
        cached: RwLock<Option<JwkSet>>,
    },
}

/// Verifies tokens against the profile's key. Built once per session.
pub struct TokenVerifier {
    algorithm: Algorithm,
    source: KeySource,
    audience: Option<String>,
    issuer: Option<String>,
    leeway_secs: i64,
    user_id_claim: String,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl TokenVerifier {
    /// Validates the configuration and loads a static key.
    pub fn new(config: &VerificationConfig, user_id_claim: &str) -> Result<Self> {
        let invalid = |detail: String| Error::InvalidProfile { detail };
        let algorithm = Algorithm::from_str(&config.algorithm).map_err(|_| {
            invalid(format!(
                "unknown token algorithm {:?} (use e.g. RS256, ES256, EdDSA)",
                config.algorithm
            ))
        })?;
        if algorithm.family() == AlgorithmFamily::Hmac {
            return Err(invalid(
                "HMAC algorithms need the server's signing secret, which must never be stored on a client; use an asymmetric algorithm or turn verification off".into(),
            ));
        }
        let pem = match (&config.public_key_pem, &config.public_key_file) {
            (Some(pem), _) => Some(pem.clone().into_bytes()),
            (None, Some(path)) => Some(std::fs::read(path).map_err(|e| Error::io(path, &e))?),
            (None, None) => None,
        };
        let source = match (pem, &config.jwks_url) {
            (Some(pem), _) => {
                let key = match algorithm.family() {
                    AlgorithmFamily::Rsa => DecodingKey::from_rsa_pem(&pem),
                    AlgorithmFamily::Ec => DecodingKey::from_ec_pem(&pem),
                    AlgorithmFamily::Ed => DecodingKey::from_ed_pem(&pem),
                    AlgorithmFamily::Hmac => DecodingKey::from_rsa_pem(b""),
                }
                .map_err(|e| invalid(format!("the verifying key cannot be read ({e})")))?;
                KeySource::Static(Box::new(key))
            }
            (None, Some(url)) => KeySource::Jwks {
                url: url.clone(),
                cached: RwLock::new(None),
            },
            (None, None) => {
                return Err(invalid(
                    "token verification needs a public key (file or PEM) or a JWKS URL".into(),
                ))
            }
        };
        Ok(Self {
            algorithm,
            source,
            audience: config.audience.clone(),
            issuer: config.issuer.clone(),
            leeway_secs: i64::try_from(config.leeway_secs).unwrap_or(i64::MAX),
            user_id_claim: user_id_claim.to_owned(),
        })
    }

    /// The JWKS URL to fetch when [`TokenVerifier::needs_jwks`] says so.
    pub fn jwks_url(&self) -> Option<&Url> {
        match &self.source {
            KeySource::Jwks { url, .. } => Some(url),
            KeySource::Static(_) => None,
        }
    }

    /// Whether the key for this token's `kid` must be fetched first.
    pub fn needs_jwks(&self, token: &str) -> bool {
        match &self.source {
            KeySource::Static(_) => false,
            KeySource::Jwks { cached, .. } => {
                let kid = jsonwebtoken::decode_header(token).ok().and_then(|h| h.kid);
                let cached = cached.read().unwrap_or_else(|p| p.into_inner());
                match (cached.as_ref(), kid) {
                    (None, _) => true,
                    (Some(set), Some(kid)) => set.find(&kid).is_none(),
                    (Some(_), None) => false,
                }
            }
        }
    }

    /// Installs a freshly fetched JWKS.
    pub fn set_jwks(&self, jwks_json: &[u8]) -> Result<()> {
        if let KeySource::Jwks { cached, .. } = &self.source {
            let set: JwkSet = serde_json::from_slice(jwks_json)
                .map_err(|e| Error::bad_response(format!("the JWKS is not valid ({e})")))?;
            *cached.write().unwrap_or_else(|p| p.into_inner()) = Some(set);
        }
        Ok(())
    }

    /// Verifies signature, algorithm, `exp` (against `now_server_secs`), `token_type`, and
    /// `aud`/`iss` when configured. Returns the claims.
    pub fn verify(&self, token: &str, expected_type: &str, now_server_secs: i64) -> Result<Claims> {
        let rejected = |detail: String| Error::TokenRejected { detail };
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| rejected(format!("unreadable header ({e})")))?;
        if header.alg != self.algorithm {
            return Err(rejected(format!(
                "algorithm {:?} is not the allowed {:?}",
                header.alg, self.algorithm
            )));
        }
        let key = match &self.source {
            KeySource::Static(key) => (**key).clone(),
            KeySource::Jwks { cached, .. } => {
                let cached = cached.read().unwrap_or_else(|p| p.into_inner());
                let set = cached
                    .as_ref()
                    .ok_or_else(|| rejected("the JWKS has not been fetched".into()))?;
                let jwk = match &header.kid {
                    Some(kid) => set.find(kid),
                    None if set.keys.len() == 1 => set.keys.first(),
                    None => None,
                }
                .ok_or_else(|| rejected("no key in the JWKS matches the token's kid".into()))?;
                DecodingKey::from_jwk(jwk)
                    .map_err(|e| rejected(format!("unusable JWKS key ({e})")))?
            }
        };
        let mut validation = Validation::new(self.algorithm);
        validation.algorithms = vec![self.algorithm];
        // exp is checked below in the server's time, not the local clock's.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        // A configured audience or issuer must be in the token: jsonwebtoken only compares
        // the claims that are present unless they are required.
        validation.required_spec_claims = ["exp".to_owned()].into_iter().collect();
        match &self.audience {
            Some(aud) => {
                validation.set_audience(&[aud]);
                validation.required_spec_claims.insert("aud".to_owned());
            }
            None => validation.validate_aud = false,
        }
        if let Some(iss) = &self.issuer {
            validation.set_issuer(&[iss]);
            validation.required_spec_claims.insert("iss".to_owned());
        }
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
            .map_err(|e| rejected(format!("{e}")))?;
        let claims = Claims::from_map(data.claims, &self.user_id_claim);
        match claims.exp {
            Some(exp) if exp.saturating_add(self.leeway_secs) > now_server_secs => {}
            _ => return Err(rejected("the token is already expired".into())),
        }
        if claims.token_type.as_deref() != Some(expected_type) {
            return Err(rejected(format!(
                "token_type is {:?}, expected {expected_type:?}",
                claims.token_type
            )));
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{encode, EncodingKey, Header};
    use serde_json::json;

    // Throwaway Ed25519 pair made for these tests only (`openssl genpkey -algorithm ed25519`).
    pub(crate) const ED_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIByW0wKfxLgVRvXggjifwt74Ujl0MmrRfS13qzOd4oU1\n-----END PRIVATE KEY-----\n";
    pub(crate) const ED_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAkwNxibStdwjmL+BxDn235VNugZxVi5OzKutaiOl6yFk=\n-----END PUBLIC KEY-----\n";
    const OTHER_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAkbbW1o8trzfdHPshhXUn/xoOsTWQ/1Rc3TD5JGMZd8A=\n-----END PUBLIC KEY-----\n";

    fn ed_token(claims: &Value) -> String {
        let key = EncodingKey::from_ed_pem(ED_PRIVATE.as_bytes()).unwrap();
        encode(&Header::new(Algorithm::EdDSA), claims, &key).unwrap()
    }

    fn config(public: &str) -> VerificationConfig {
        VerificationConfig {
            algorithm: "EdDSA".into(),
            public_key_file: None,
            public_key_pem: Some(public.into()),
            jwks_url: None,
            audience: None,
            issuer: None,
            leeway_secs: 0,
        }
    }

    #[test]
    fn decodes_simplejwt_claims_without_verifying() {
        let token = ed_token(
            &json!({"token_type":"access","exp":2000,"iat":1700,"jti":"abc","user_id":"42"}),
        );
        let claims = decode_unverified(&token, "user_id").unwrap();
        assert_eq!(claims.exp, Some(2000));
        assert_eq!(claims.iat, Some(1700));
        assert_eq!(claims.lifetime_secs(), Some(300));
        assert_eq!(claims.token_type.as_deref(), Some("access"));
        assert_eq!(claims.user_id.as_deref(), Some("42"));
        assert_eq!(claims.jti.as_deref(), Some("abc"));
        // numeric user ids (simplejwt < 5.5.1) show as strings
        let token = ed_token(&json!({"exp":2000,"user_id":7}));
        assert_eq!(
            decode_unverified(&token, "user_id")
                .unwrap()
                .user_id
                .as_deref(),
            Some("7")
        );
    }

    #[test]
    fn malformed_tokens_are_bad_responses() {
        for bad in [
            "",
            "abc",
            "a.b",
            "a.!!!.c",
            &crate::test_tokens::jwt(r#"{"alg":"HS256"}"#, "not json", "sig"),
        ] {
            let err = decode_unverified(bad, "user_id").unwrap_err();
            assert_eq!(err.code(), "bad_response", "{bad}");
        }
    }

    #[test]
    fn verifies_signature_type_and_exp() {
        let verifier = TokenVerifier::new(&config(ED_PUBLIC), "user_id").unwrap();
        let good = ed_token(&json!({"token_type":"access","exp":2000,"iat":1700,"user_id":"1"}));
        assert_eq!(
            verifier
                .verify(&good, "access", 1800)
                .unwrap()
                .user_id
                .as_deref(),
            Some("1")
        );
        // expired in server time
        assert_eq!(
            verifier.verify(&good, "access", 2000).unwrap_err().code(),
            "token_rejected"
        );
        // wrong type
        assert_eq!(
            verifier.verify(&good, "refresh", 1800).unwrap_err().code(),
            "token_rejected"
        );
        // wrong key
        let other = TokenVerifier::new(&config(OTHER_PUBLIC), "user_id").unwrap();
        assert_eq!(
            other.verify(&good, "access", 1800).unwrap_err().code(),
            "token_rejected"
        );
    }

    #[test]
    fn only_the_one_algorithm_is_accepted_and_none_is_impossible() {
        let verifier = TokenVerifier::new(&config(ED_PUBLIC), "user_id").unwrap();
        let hs = encode(
            &Header::new(Algorithm::HS256),
            &json!({"token_type":"access","exp":2000}),
            &EncodingKey::from_secret(ED_PUBLIC.as_bytes()),
        )
        .unwrap();
        let err = verifier.verify(&hs, "access", 1800).unwrap_err();
        assert!(err.to_string().contains("not the allowed"), "{err}");
        // alg "none" (header {"alg":"none"}) does not even parse as an algorithm
        let none = crate::test_tokens::jwt(
            r#"{"alg":"none"}"#,
            r#"{"token_type":"access","exp":2000}"#,
            "",
        );
        assert_eq!(
            verifier.verify(&none, "access", 1800).unwrap_err().code(),
            "token_rejected"
        );
        let mut cfg = config(ED_PUBLIC);
        cfg.algorithm = "none".into();
        assert_eq!(
            TokenVerifier::new(&cfg, "user_id").unwrap_err().code(),
            "invalid_profile"
        );
        cfg.algorithm = "HS256".into();
        assert_eq!(
            TokenVerifier::new(&cfg, "user_id").unwrap_err().code(),
            "invalid_profile"
        );
    }

    #[test]
    fn a_configured_audience_or_issuer_must_be_in_the_token() {
        let cfg = VerificationConfig {
            audience: Some("api".into()),
            issuer: Some("https://issuer.example".into()),
            ..config(ED_PUBLIC)
        };
        let verifier = TokenVerifier::new(&cfg, "user_id").unwrap();
        let both =
            json!({"token_type":"access","exp":2000,"aud":"api","iss":"https://issuer.example"});
        verifier.verify(&ed_token(&both), "access", 1800).unwrap();
        for (claim, wrong) in [
            ("aud", json!("other")),
            ("iss", json!("https://other.example")),
        ] {
            let mut claims = both.clone();
            claims[claim] = wrong;
            let err = verifier
                .verify(&ed_token(&claims), "access", 1800)
                .unwrap_err();
            assert_eq!(err.code(), "token_rejected", "wrong {claim}");
            let mut claims = both.clone();
            claims.as_object_mut().unwrap().remove(claim);
            let err = verifier
                .verify(&ed_token(&claims), "access", 1800)
                .unwrap_err();
            assert_eq!(err.code(), "token_rejected", "no {claim} at all");
        }
    }

    #[test]
    fn jwks_keys_are_picked_by_kid() {
        let cfg = VerificationConfig {
            public_key_pem: None,
            jwks_url: Some(Url::parse("https://example.com/jwks.json").unwrap()),
            ..config(ED_PUBLIC)
        };
        let verifier = TokenVerifier::new(&cfg, "user_id").unwrap();
        let key = EncodingKey::from_ed_pem(ED_PRIVATE.as_bytes()).unwrap();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some("k1".into());
        let token = encode(&header, &json!({"token_type":"access","exp":2000}), &key).unwrap();
        assert!(verifier.needs_jwks(&token));
        // x is the raw public key of ED_PUBLIC, base64url
        let jwks = json!({"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1","alg":"EdDSA","x":"kwNxibStdwjmL-BxDn235VNugZxVi5OzKutaiOl6yFk"}]});
        verifier.set_jwks(jwks.to_string().as_bytes()).unwrap();
        assert!(!verifier.needs_jwks(&token));
        verifier.verify(&token, "access", 1000).unwrap();
    }
}
