//! Signing keys. HS256 uses a shared secret; RS256 a private key whose public half is
//! published as a JWK Set at `GET /api/jwks/` so clients can verify signatures themselves
//! (what simplejwt calls JWK_URL on the verifying side). Without an explicit secret or key,
//! one is generated on first start and kept in the database, so restarts keep sessions valid.

use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use rand::RngCore as _;
use rsa::pkcs1::DecodeRsaPrivateKey as _;
use rsa::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, LineEnding};
use rsa::traits::PublicKeyParts as _;
use rsa::RsaPrivateKey;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

use crate::config::{Config, SigningAlgorithm};
use crate::db::Database;
use crate::error::BackendError;

const HS256_SETTING: &str = "hs256_secret";
const RS256_SETTING: &str = "rs256_private_key_pem";
const RSA_BITS: usize = 2048;

/// The keys tokens are signed and checked with.
pub struct SigningKeys {
    algorithm: Algorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// Key id (RFC 7638 thumbprint) for RS256; put in token headers and the JWKS.
    kid: Option<String>,
    public_jwk: Option<Value>,
}

impl SigningKeys {
    /// HS256 with the given secret.
    pub fn hs256(secret: &[u8]) -> Self {
        Self {
            algorithm: Algorithm::HS256,
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            kid: None,
            public_jwk: None,
        }
    }

    /// RS256 with a PKCS#8 or PKCS#1 PEM private key.
    pub fn rs256_from_pem(pem: &str) -> Result<Self, BackendError> {
        let private = RsaPrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem))
            .map_err(|err| BackendError::Key(format!("unreadable RSA private key: {err}")))?;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let n = b64.encode(private.n().to_bytes_be());
        let e = b64.encode(private.e().to_bytes_be());
        // RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace.
        let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
        let kid = b64.encode(Sha256::digest(canonical.as_bytes()));
        let encoding = EncodingKey::from_rsa_pem(pem.as_bytes())
            .map_err(|err| BackendError::Key(format!("unusable RSA private key: {err}")))?;
        let decoding = DecodingKey::from_rsa_components(&n, &e)
            .map_err(|err| BackendError::Key(format!("unusable RSA public key: {err}")))?;
        let public_jwk = json!({
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": kid,
            "n": n,
            "e": e,
        });
        Ok(Self {
            algorithm: Algorithm::RS256,
            encoding,
            decoding,
            kid: Some(kid),
            public_jwk: Some(public_jwk),
        })
    }

    /// A new 2048-bit RSA private key as PKCS#8 PEM.
    pub fn generate_rsa_pem() -> Result<String, BackendError> {
        let private = RsaPrivateKey::new(&mut rand::rngs::OsRng, RSA_BITS)
            .map_err(|err| BackendError::Key(format!("cannot generate an RSA key: {err}")))?;
        let pem = private
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|err| BackendError::Key(format!("cannot encode the RSA key: {err}")))?;
        Ok(pem.to_string())
    }

    /// The keys `config` asks for: given explicitly, or persisted in (or first added to) `db`.
    /// Blocking (may generate an RSA key): call from a blocking thread.
    pub fn load(config: &Config, db: &Database) -> Result<Self, BackendError> {
        match config.algorithm {
            SigningAlgorithm::Hs256 => {
                let secret = match &config.secret {
                    Some(secret) if !secret.is_empty() => secret.clone(),
                    Some(_) => return Err(BackendError::Key("the secret is empty".into())),
                    None => {
                        let mut bytes = [0u8; 32];
                        rand::rngs::OsRng.fill_bytes(&mut bytes);
                        let fresh = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
                        db.setting_or_insert(HS256_SETTING, &fresh)?
                    }
                };
                Ok(Self::hs256(secret.as_bytes()))
            }
            SigningAlgorithm::Rs256 => {
                let pem = match &config.private_key_pem {
                    Some(pem) => pem.clone(),
                    None => match db.setting(RS256_SETTING)? {
                        Some(pem) => pem,
                        None => db.setting_or_insert(RS256_SETTING, &Self::generate_rsa_pem()?)?,
                    },
                };
                Self::rs256_from_pem(&pem)
            }
        }
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    pub fn encoding(&self) -> &EncodingKey {
        &self.encoding
    }

    pub fn decoding(&self) -> &DecodingKey {
        &self.decoding
    }

    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The JWK Set clients verify with: the RSA public key, or no key at all for HS256 (a
    /// shared secret is never published).
    pub fn jwks(&self) -> Value {
        match &self.public_jwk {
            Some(jwk) => json!({ "keys": [jwk] }),
            None => json!({ "keys": [] }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DatabaseLocation;

    /// A 2048-bit key made once for these tests (generating one is slow in debug builds).
    pub(crate) const TEST_RSA_PEM: &str = include_str!("../tests/fixtures/test-rsa-key.pem");

    #[test]
    fn rs256_jwk_has_a_stable_thumbprint_kid() {
        let a = SigningKeys::rs256_from_pem(TEST_RSA_PEM).unwrap();
        let b = SigningKeys::rs256_from_pem(TEST_RSA_PEM).unwrap();
        assert_eq!(a.kid(), b.kid());
        let jwks = a.jwks();
        let key = &jwks["keys"][0];
        assert_eq!(key["kty"], "RSA");
        assert_eq!(key["alg"], "RS256");
        assert_eq!(key["e"], "AQAB");
        assert_eq!(key["kid"].as_str(), a.kid());
        assert!(
            key.get("d").is_none(),
            "private exponent must never be published"
        );
        assert_eq!(a.algorithm(), Algorithm::RS256);
    }

    #[test]
    fn hs256_publishes_no_key() {
        let keys = SigningKeys::hs256(b"secret");
        assert_eq!(keys.jwks(), json!({"keys": []}));
        assert_eq!(keys.kid(), None);
    }

    #[test]
    fn generated_hs256_secret_is_persisted() {
        let db = Database::open(&DatabaseLocation::Memory).unwrap();
        let config = Config::default();
        SigningKeys::load(&config, &db).unwrap();
        let first = db.setting(HS256_SETTING).unwrap().unwrap();
        SigningKeys::load(&config, &db).unwrap();
        assert_eq!(db.setting(HS256_SETTING).unwrap().unwrap(), first);
        assert!(first.len() >= 40);
    }

    #[test]
    fn garbage_pem_is_an_error_not_a_panic() {
        assert!(SigningKeys::rs256_from_pem("not a key").is_err());
    }
}
