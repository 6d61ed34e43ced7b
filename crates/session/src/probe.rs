//! "Test connection" for a profile: one unauthenticated POST of an empty body to the obtain
//! endpoint, through the same transport a sign-in uses (no redirects, the profile's CA and
//! proxy, the plain-http rule). simplejwt answers that with 400 and DRF field errors naming
//! the login fields, which tells the user the URL and paths are right before they type a
//! password. Nothing secret is sent.

use std::time::Instant;

use serde::Serialize;

use crate::error::Result;
use crate::profile::Profile;
use crate::transport::Transport;
use crate::wire::parse_error_body;

/// What the probe found, for a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeReport {
    /// The server looks like a simplejwt obtain endpoint.
    pub ok: bool,
    /// HTTP status of the answer.
    pub status: u16,
    /// Round-trip time, milliseconds.
    pub elapsed_ms: u64,
    /// What it means, in words.
    pub message: String,
}

/// Probes the profile's obtain endpoint. Network, TLS and URL-policy failures are errors
/// with their usual codes (`network`, `tls`, `insecure_url`, ...).
pub async fn probe(profile: &Profile) -> Result<ProbeReport> {
    let transport = Transport::new(profile, 64 * 1024)?;
    let url = transport.endpoint(&profile.obtain_path)?;
    let started = Instant::now();
    let response = transport
        .post_auth(url.clone(), bytes::Bytes::from_static(b"{}"), None)
        .await?;
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let fields = parse_error_body(&response.body).fields;
    let (ok, message) = match response.status {
        400 if fields.contains_key(&profile.login_field) || fields.contains_key(&profile.password_field) => (
            true,
            format!(
                "The server answered like a simplejwt token endpoint at {url} ({elapsed_ms} ms). Sign in with your {}.",
                profile.login_field
            ),
        ),
        400 => (
            false,
            format!(
                "The server at {url} answered 400 without asking for “{}”: check the login field name.",
                profile.login_field
            ),
        ),
        301 | 302 | 307 | 308 => (
            false,
            format!("{url} redirects elsewhere: Tessera never follows redirects with credentials. Use the final URL (often a missing trailing slash or https)."),
        ),
        404 => (false, format!("Nothing at {url} (404): {}.", crate::signin::OTHER_STACK)),
        405 => (false, format!("{url} does not accept POST (405), so it is not a token endpoint: {}.", crate::signin::OTHER_STACK)),
        status => (false, format!("{url} answered {status}: this does not look like a simplejwt token endpoint.")),
    };
    Ok(ProbeReport {
        ok,
        status: response.status,
        elapsed_ms,
        message,
    })
}
