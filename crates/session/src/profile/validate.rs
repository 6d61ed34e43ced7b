//! What a profile may say: [`Profile::validate`] checks everything that can be checked
//! without the network, and the plain-http rule ([`check_transport_security`], with what counts
//! as this machine: [`is_loopback`]) that the profile's base URL and every URL the transport
//! sends to obey.

use std::net::IpAddr;

use url::{Host, Url};

use super::Profile;
use crate::claims::TokenVerifier;
use crate::error::{Error, Result};

impl Profile {
    /// Checks the signature-verification settings as a verifier would use them (the algorithm,
    /// one key source, the key file readable and a key of that algorithm, a JWKS URL allowed by
    /// the plain-http rule). Run when a profile is saved, not when the profiles file is read: a
    /// key file that disappears later fails that profile's sessions, not the whole file.
    pub fn validate_verification(&self) -> Result<()> {
        let Some(config) = &self.verification else {
            return Ok(());
        };
        let has_key = config.public_key_file.is_some() || config.public_key_pem.is_some();
        if has_key && config.jwks_url.is_some() {
            return Err(Error::InvalidProfile {
                detail:
                    "token verification takes one key source: a public key or a JWKS URL, not both"
                        .into(),
            });
        }
        TokenVerifier::new(config, &self.user_id_claim)?;
        if let Some(url) = &config.jwks_url {
            check_transport_security(url, self.allow_insecure_http)?;
        }
        Ok(())
    }

    /// Checks everything that can be checked without the network.
    pub fn validate(&self) -> Result<()> {
        let invalid = |detail: String| Err(Error::InvalidProfile { detail });
        match self.base_url.scheme() {
            "https" | "http" => {}
            other => {
                return invalid(format!(
                    "the URL scheme must be https or http, not {other:?}"
                ))
            }
        }
        if self.base_url.host().is_none() {
            return invalid("the base URL has no host".into());
        }
        if !self.base_url.username().is_empty() || self.base_url.password().is_some() {
            return invalid("the base URL must not contain a user name or password".into());
        }
        check_transport_security(&self.base_url, self.allow_insecure_http)?;
        let paths = [
            ("obtain_path", Some(&self.obtain_path)),
            ("refresh_path", Some(&self.refresh_path)),
            ("verify_path", self.verify_path.as_ref()),
            ("blacklist_path", self.blacklist_path.as_ref()),
            ("registration_path", self.registration_path.as_ref()),
            ("mfa_verify_path", self.mfa_verify_path.as_ref()),
        ];
        for (name, path) in paths {
            if let Some(path) = path {
                if path.contains("://") || path.starts_with("//") {
                    return invalid(format!("{name} must be a path on the base URL, not a URL"));
                }
            }
        }
        let fields = [
            ("login_field", &self.login_field),
            ("password_field", &self.password_field),
            ("access_field", &self.access_field),
            ("refresh_field", &self.refresh_field),
            ("refresh_request_field", &self.refresh_request_field),
            ("sliding_token_field", &self.sliding_token_field),
            ("user_id_claim", &self.user_id_claim),
        ];
        let optional_fields = [
            ("renewal_access_field", &self.renewal_access_field),
            ("renewal_refresh_field", &self.renewal_refresh_field),
            ("logout_request_field", &self.logout_request_field),
        ];
        let set_fields = optional_fields
            .into_iter()
            .filter_map(|(name, value)| value.as_ref().map(|v| (name, v)));
        for (name, value) in fields.into_iter().chain(set_fields) {
            if value.trim().is_empty() {
                return invalid(format!("{name} must not be empty"));
            }
        }
        if let Some(cookie) = &self.refresh_cookie {
            // RFC 6265 cookie-name: a token (no separators, controls or spaces).
            let separator = |c: char| "()<>@,;:\\\"/[]?={} \t".contains(c);
            if cookie.is_empty()
                || cookie
                    .chars()
                    .any(|c| c.is_ascii_control() || separator(c) || !c.is_ascii())
            {
                return invalid(format!(
                    "refresh_cookie must be a cookie name such as my-refresh-token, not {cookie:?}"
                ));
            }
        }
        if self.auth_header_type.is_empty()
            || !self
                .auth_header_type
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return invalid(format!(
                "auth_header_type must be one word such as Bearer or JWT, not {:?}",
                self.auth_header_type
            ));
        }
        if self.request_timeout_secs == 0 || self.connect_timeout_secs == 0 {
            return invalid("timeouts must be at least one second".into());
        }
        if let Some(proxy) = &self.proxy {
            Url::parse(proxy).map_err(|e| Error::InvalidProfile {
                detail: format!(
                    "the proxy {:?} is not a URL ({e})",
                    crate::redact::url_credentials(proxy)
                ),
            })?;
        }
        Ok(())
    }
}

/// Whether the URL's host is this machine: `localhost` and `*.localhost` (RFC 6761; the
/// transport resolves these names to 127.0.0.1 / ::1 itself, never through DNS),
/// 127.0.0.0/8 and ::1.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => is_loopback_name(d),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// Whether a domain name is `localhost` or under it (`api.localhost`, `localhost.`), any case.
pub fn is_loopback_name(domain: &str) -> bool {
    let d = domain.trim_end_matches('.').to_ascii_lowercase();
    d == "localhost" || d.ends_with(".localhost")
}

/// Refuses `http://` to a non-loopback host unless explicitly allowed.
pub fn check_transport_security(url: &Url, allow_insecure_http: bool) -> Result<()> {
    if url.scheme() == "http" && !allow_insecure_http && !is_loopback(url) {
        return Err(Error::InsecureUrl {
            host: url.host_str().unwrap_or_default().to_owned(),
        });
    }
    Ok(())
}
