//! The answers the proxy gives itself, when a request does not reach the server or the engine
//! refuses it: JSON `{"detail": …, "code": …}` like DRF's own errors (so the tool's usual error
//! handling shows them), with the header `X-Tessera-Error: <code>` to tell them from the
//! server's, and a status a tool reacts to sensibly — 401 when the session is over (sign in
//! again), 403 without the capability or for a token endpoint, 502/504 when the server cannot
//! be reached. The engine's error codes are the stable codes; server text is never echoed.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tessera_session::Error;

/// The header that marks an answer of the proxy's own.
pub const ERROR_HEADER: &str = "x-tessera-error";

/// A refusal: status, stable code and a sentence for the user.
pub(crate) fn answer(status: StatusCode, code: &str, detail: String) -> Response {
    let body = serde_json::json!({ "detail": detail, "code": code }).to_string();
    let mut response = (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(code) {
        response.headers_mut().insert(ERROR_HEADER, value);
    }
    response
}

/// A request without the capability: nothing reaches the server, and nothing says why beyond
/// the rule (the URL is the credential).
pub(crate) fn no_capability() -> Response {
    answer(
        StatusCode::FORBIDDEN,
        "proxy_capability_required",
        "Tessera's local proxy: this URL does not start with the proxy's capability; use the whole TESSERA_PROXY URL it printed".to_owned(),
    )
}

/// A request body that could not be read from the tool.
pub(crate) fn unreadable_body(detail: &str) -> Response {
    answer(
        StatusCode::BAD_REQUEST,
        "proxy_bad_request",
        format!("Tessera's local proxy could not read the request body ({detail})"),
    )
}

/// The engine refused or failed the request for `profile`.
pub(crate) fn from_error(error: &Error, profile: &str) -> Response {
    let code = error.code();
    let (status, detail) = match error {
        Error::LoginRequired { reason } | Error::SessionExpired { reason } => (
            StatusCode::UNAUTHORIZED,
            format!("Tessera: profile {profile:?} is not signed in: {reason}. Sign in again in the app or with `tessera-cli --profile {profile} login`; this proxy then uses the new session"),
        ),
        Error::ReservedEndpoint { .. } => (
            StatusCode::FORBIDDEN,
            format!("Tessera's local proxy does not forward to token endpoints (sign-in, refresh, verify, blacklist, registration): {error}"),
        ),
        Error::CrossOrigin { .. } | Error::InvalidProfile { .. } | Error::InvalidMethod { .. } => {
            (StatusCode::BAD_REQUEST, format!("Tessera: {error}"))
        }
        Error::Timeout { .. } => (StatusCode::GATEWAY_TIMEOUT, format!("Tessera: {error}")),
        Error::KeyringUnavailable { .. } | Error::LockTimeout { .. } => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("Tessera: {error}"),
        ),
        _ => (StatusCode::BAD_GATEWAY, format!("Tessera: {error}")),
    };
    answer(status, code, detail)
}
