//! Newtypes for the three secrets a session handles, so that none of them can be logged,
//! displayed or serialised by accident.
//!
//! Each wraps [`secrecy::SecretString`] (zeroized on drop); `Debug` prints `[redacted]`; there is
//! no `Display` and no `Serialize`. The only way to the bytes is an explicit `expose_secret()`,
//! used where a token goes on the wire or into the keyring.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

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
    /// A password on its way to the sign-in or registration endpoint. Never stored.
    Password
);

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
    fn same_as_compares_values() {
        let a = RefreshToken::new("a".to_owned());
        assert!(a.same_as(&RefreshToken::new("a".to_owned())));
        assert!(!a.same_as(&RefreshToken::new("b".to_owned())));
    }
}
