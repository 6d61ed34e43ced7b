//! Requests a person types (the app's request console, `tessera-cli request`): the method and
//! JSON body are checked before anything is sent, the request goes through the session's one
//! authenticated path (restored from the keyring first in a new process), and the answer comes
//! back with its timing, the session's state after it, and advice when the answer has a likely
//! local cause.

use std::time::Instant;

use super::Workspace;
use crate::error::{Error, Result};
use crate::hints;
use crate::request::{ApiRequest, ApiResponse};
use crate::status::SessionStatus;

/// An answer to a typed request.
#[derive(Debug)]
pub struct Sent {
    /// The server's answer (the body as received).
    pub response: ApiResponse,
    /// From sending to the whole body read, including a refresh and a replay.
    pub elapsed_ms: u64,
    /// Advice when the answer has a likely local cause (the wrong Authorization header type).
    pub hint: Option<String>,
    /// The session after the request (a refresh may have happened).
    pub status: SessionStatus,
}

/// An HTTP method as typed (`get`, ` POST `).
pub fn parse_method(text: &str) -> Result<reqwest::Method> {
    reqwest::Method::from_bytes(text.trim().to_ascii_uppercase().as_bytes()).map_err(|_| {
        Error::InvalidMethod {
            method: text.to_owned(),
        }
    })
}

/// A JSON body as typed, checked before it is sent.
pub fn json_body(text: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| Error::InvalidJson {
        detail: e.to_string(),
    })
}

/// A typed request: method, path (or same-origin URL) and an optional JSON body, which is
/// sent with `Content-Type` and `Accept: application/json`.
pub fn typed_request(
    method: &str,
    path: impl Into<String>,
    json: Option<&str>,
) -> Result<ApiRequest> {
    let request = ApiRequest::new(parse_method(method)?, path.into());
    match json.filter(|text| !text.trim().is_empty()) {
        None => Ok(request),
        Some(text) => Ok(request.json(&json_body(text)?)?.header(
            reqwest::header::ACCEPT,
            reqwest::header::HeaderValue::from_static("application/json"),
        )),
    }
}

impl Workspace {
    /// Sends `request` for profile `name`.
    pub async fn send(&self, name: &str, request: ApiRequest) -> Result<Sent> {
        let session = self.restored(name).await?;
        let started = Instant::now();
        let response = session.request(request).await?;
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let hint = hints::auth_header_hint(
            response.status,
            &response.body,
            &session.profile().auth_header_type,
        );
        Ok(Sent {
            response,
            elapsed_ms,
            hint,
            status: session.status(),
        })
    }
}
