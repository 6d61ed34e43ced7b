//! Newtypes for the secrets a session handles, so that none of them can be logged,
//! displayed or serialised by accident.
//!
//! Each wraps [`secrecy::SecretString`] (zeroized on drop); `Debug` prints `[redacted]`; there is
//! no `Display` and no `Serialize`. The only way to the bytes is an explicit `expose_secret()`,
//! used where a token goes on the wire or into the keyring.

use std::fmt;

use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, Result};

macro_rules! secret_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name(SecretString);

        impl $name {
            /// Wraps a secret; the `String` is moved, not copied.
            pub fn new(value: String) -> Self {
                Self(SecretString::from(value))
            }

            /// The secret itself. Only for the wire and the keyring.
            pub fn expose_secret(&self) -> &str {
                self.0.expose_secret()
            }

            /// Whether two secrets are the same, without exposing either to the caller.
            pub fn same_as(&self, other: &Self) -> bool {
                self.expose_secret() == other.expose_secret()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "([redacted])"))
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self::new(value)
            }
        }
    };
}

secret_newtype!(
    /// A JWT access token (or a sliding token, which plays both roles).
    AccessToken
);
secret_newtype!(
    /// A JWT refresh token.
    RefreshToken
);
secret_newtype!(
    /// A password on its way to the sign-in or registration endpoint (or a second-factor code
    /// on its way to the verify endpoint). Never stored.
    Password
);
secret_newtype!(
    /// The one-time sign-in token a server hands over when it wants a second factor
    /// (dj-rest-auth's `ephemeral_token`): held in memory until the code is verified, never
    /// stored, never shown.
    OneTimeToken
);

/// The `Authorization` header of the current access token (`<type> <token>`), built once when
/// the token arrives (sign-in, restore, refresh) and marked sensitive, so that a request clones
/// it (a reference count) instead of formatting and validating it again. `Debug` prints
/// `[redacted]`; nothing else shows it.
#[derive(Clone)]
pub(crate) struct AuthHeader(Option<HeaderValue>);

impl AuthHeader {
    /// `<scheme> <access>`; a token with characters not allowed in a header is kept as the error
    /// every request with it gets.
    pub(crate) fn new(scheme: &str, access: &AccessToken) -> Self {
        let token = access.expose_secret();
        let mut text = String::with_capacity(scheme.len() + 1 + token.len());
        text.push_str(scheme);
        text.push(' ');
        text.push_str(token);
        // `try_from(String)` takes the buffer over without copying it.
        Self(HeaderValue::try_from(text).ok().map(|mut value| {
            value.set_sensitive(true);
            value
        }))
    }

    /// The header value for one request.
    pub(crate) fn value(&self) -> Result<HeaderValue> {
        self.0.clone().ok_or_else(|| {
            Error::bad_response("the access token contains characters not allowed in a header")
        })
    }
}

impl fmt::Debug for AuthHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthHeader([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let raw = crate::test_tokens::jwt(r#"{"alg":"HS256"}"#, "{}", "sig");
        let token = AccessToken::new(raw.clone());
        let printed = format!("{token:?} {:?}", Password::new("hunter2".to_owned()));
        assert_eq!(printed, "AccessToken([redacted]) Password([redacted])");
        assert!(!printed.contains("eyJ"));
        assert_eq!(token.expose_secret(), raw);
    }

    #[test]
    fn auth_header_is_sensitive_and_never_in_debug_output() {
        let raw = crate::test_tokens::jwt(r#"{"alg":"HS256"}"#, r#"{"exp":1}"#, "sig");
        let header = AuthHeader::new("Bearer", &AccessToken::new(raw.clone()));
        let value = header.value().unwrap();
        assert!(value.is_sensitive());
        assert_eq!(value.to_str().unwrap(), format!("Bearer {raw}"));
        let printed = format!("{header:?} {header:#?} {value:?}");
        assert!(!printed.contains(&raw), "{printed}");
        assert!(!printed.contains("eyJ"), "{printed}");
        assert!(!printed.contains("Bearer"), "{printed}");
        assert!(printed.starts_with("AuthHeader([redacted]) AuthHeader([redacted])"));

        let bad = AuthHeader::new("Bearer", &AccessToken::new("a\nb".to_owned()));
        assert!(!format!("{bad:?}").contains("a\nb"));
        assert_eq!(bad.value().unwrap_err().code(), "bad_response");
    }

    #[test]
    fn same_as_compares_values() {
        let a = RefreshToken::new("a".to_owned());
        assert!(a.same_as(&RefreshToken::new("a".to_owned())));
        assert!(!a.same_as(&RefreshToken::new("b".to_owned())));
    }
}
