//! Password hashes in Django's own format (`pbkdf2_sha256$ITERATIONS$SALT$BASE64`), so a user
//! table could move between Django and this server, and so logins cost what they cost in
//! Django. The iteration count is stored in each hash; new hashes use the configured count.

use base64::Engine as _;
use rand::Rng as _;
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

/// Django's name for the algorithm.
pub const ALGORITHM: &str = "pbkdf2_sha256";

const SALT_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const SALT_LEN: usize = 22;

/// Hashes `password` with a fresh random salt.
pub fn hash(password: &str, iterations: u32) -> String {
    let mut rng = rand::thread_rng();
    let salt: String = (0..SALT_LEN)
        .map(|_| char::from(SALT_CHARS[rng.gen_range(0..SALT_CHARS.len())]))
        .collect();
    hash_with_salt(password, &salt, iterations)
}

/// Hashes `password` with the given salt (Django's `PBKDF2PasswordHasher.encode`).
pub fn hash_with_salt(password: &str, salt: &str, iterations: u32) -> String {
    let digest = derive(password, salt, iterations);
    let encoded = base64::engine::general_purpose::STANDARD.encode(digest);
    format!("{ALGORITHM}${iterations}${salt}${encoded}")
}

/// Checks `password` against an encoded hash in constant time. Malformed hashes never match.
pub fn verify(password: &str, encoded: &str) -> bool {
    let mut parts = encoded.splitn(4, '$');
    let (Some(algorithm), Some(iterations), Some(salt), Some(expected)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    if algorithm != ALGORITHM {
        return false;
    }
    let Ok(iterations) = iterations.parse::<u32>() else {
        return false;
    };
    if iterations == 0 {
        return false;
    }
    let Ok(expected) = base64::engine::general_purpose::STANDARD.decode(expected) else {
        return false;
    };
    let actual = derive(password, salt, iterations);
    actual.ct_eq(expected.as_slice()).into()
}

fn derive(password: &str, salt: &str, iterations: u32) -> [u8; 32] {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt.as_bytes(), iterations, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made by Django 5.2: PBKDF2PasswordHasher().encode(password, salt, iterations).
    const DJANGO_DEMO: &str =
        "pbkdf2_sha256$1000$seasaltseasalt0123456$L8N1/+47a44jk9IDxSjJw7HEL05iExIxHM5N10ew80M=";
    const DJANGO_UNICODE: &str =
        "pbkdf2_sha256$1200$abcDEF123$vWFGTA6OyIfpXtps/5FFm3vkaxGs7VjgqaKmKR2MWTM=";

    #[test]
    fn produces_the_same_hash_as_django() {
        assert_eq!(
            hash_with_salt("demo-password", "seasaltseasalt0123456", 1000),
            DJANGO_DEMO
        );
        assert_eq!(
            hash_with_salt("pässwörd with spaces ", "abcDEF123", 1200),
            DJANGO_UNICODE
        );
    }

    #[test]
    fn verifies_django_hashes() {
        assert!(verify("demo-password", DJANGO_DEMO));
        assert!(!verify("demo-passwore", DJANGO_DEMO));
        assert!(verify("pässwörd with spaces ", DJANGO_UNICODE));
        assert!(!verify("pässwörd with spaces", DJANGO_UNICODE));
    }

    #[test]
    fn fresh_hashes_are_salted_and_verify() {
        let a = hash("secret-1", 10);
        let b = hash("secret-1", 10);
        assert_ne!(a, b, "two hashes of one password must differ by salt");
        assert!(a.starts_with("pbkdf2_sha256$10$"));
        assert!(verify("secret-1", &a));
        assert!(!verify("secret-2", &a));
    }

    #[test]
    fn malformed_hashes_never_match() {
        for bad in [
            "",
            "pbkdf2_sha256",
            "md5$1$salt$abc",
            "pbkdf2_sha256$x$salt$abc",
            "pbkdf2_sha256$0$salt$abc",
            "pbkdf2_sha256$10$salt$not base64!",
            "!unusable-password",
        ] {
            assert!(!verify("anything", bad), "{bad:?} must not verify");
        }
    }
}

/// The iteration count recorded in an encoded hash.
pub fn iterations(encoded: &str) -> Option<u32> {
    let mut parts = encoded.split('$');
    match (parts.next(), parts.next()) {
        (Some(ALGORITHM), Some(count)) => count.parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod iteration_tests {
    #[test]
    fn iterations_are_read_from_the_hash() {
        assert_eq!(super::iterations("pbkdf2_sha256$1000$s$h"), Some(1000));
        assert_eq!(super::iterations("md5$1000$s$h"), None);
        assert_eq!(super::iterations("garbage"), None);
    }
}
