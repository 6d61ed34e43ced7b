//! The one authenticated request path, used by the app and the CLI alike.
//!
//! Before sending, the access token's expiry is checked against the (server-time) clock — a
//! timer that slept through expiry is never trusted — and a due token is refreshed first
//! (single-flight). The request carries `Authorization: <type> <access>` (marked sensitive).
//! A 401 whose body says `"code": "token_not_valid"` causes one refresh and one replay with the
//! identical buffered body; a second 401 is returned to the caller as it is. Other 401 codes
//! (`user_inactive`, `bad_authorization_header`, ...) and 403 are returned untouched — except
//! the first 401 that ignored the token and names another scheme in `WWW-Authenticate` (the
//! server's `AUTH_HEADER_TYPES` is `JWT`, the profile says `Bearer`): the request goes again,
//! once, with that scheme, which this process then keeps using. A streaming body is sent once and never replayed.
//! An answer is read in full ([`ApiResponse`]) or, for the local proxy, handed back once its
//! head arrived with the body to stream ([`StreamedResponse`]); a 401 is read either way, since
//! the loop decides on its body. After a network error, idempotent methods
//! are retried once; others never are (the server may have acted on them).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::Method;
use serde::Serialize;
use url::Url;

use crate::echo_mask::EchoMask;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::events::SessionEvent;
use crate::refresh::{ensure_fresh, Trigger};
pub use crate::response::ApiResponse;
use crate::response::StreamedResponse;
use crate::secret::AuthHeader;
use crate::transport::HttpResponse;
use crate::wire::{auth_scheme, parse_error_body};

enum Body {
    Empty,
    Buffered(Bytes),
    Streaming(Option<reqwest::Body>),
}

/// A request body sent as it is produced ([`ApiRequest::streaming_body`]).
pub type StreamingBody = reqwest::Body;

/// An authenticated API request.
pub struct ApiRequest {
    method: Method,
    target: String,
    headers: HeaderMap,
    body: Body,
    timeout: Option<Duration>,
}

impl std::fmt::Debug for ApiRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiRequest")
            .field("method", &self.method)
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl ApiRequest {
    /// A request to `target`: a path under the profile's base URL, or an absolute URL on the
    /// profile's origin.
    pub fn new(method: Method, target: impl Into<String>) -> Self {
        Self {
            method,
            target: target.into(),
            headers: HeaderMap::new(),
            body: Body::Empty,
            timeout: None,
        }
    }

    /// `GET target`.
    pub fn get(target: impl Into<String>) -> Self {
        Self::new(Method::GET, target)
    }

    /// `POST target`.
    pub fn post(target: impl Into<String>) -> Self {
        Self::new(Method::POST, target)
    }

    /// Adds a header (an `Authorization` header is replaced by the session's).
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// A buffered body (replayable).
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Body::Buffered(body.into());
        self
    }

    /// A JSON body (replayable), with `Content-Type: application/json`.
    pub fn json<T: Serialize + ?Sized>(mut self, value: &T) -> Result<Self> {
        let bytes = serde_json::to_vec(value)
            .map_err(|e| Error::internal(format!("cannot encode the request body: {e}")))?;
        self.headers
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        self.body = Body::Buffered(Bytes::from(bytes));
        Ok(self)
    }

    /// A streaming body: sent once, never replayed after a 401 or retried after a network error.
    pub fn streaming_body(mut self, body: reqwest::Body) -> Self {
        self.body = Body::Streaming(Some(body));
        self
    }

    /// A timeout for this request instead of the profile's.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }
}

fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE | Method::TRACE
    )
}

/// simplejwt's "this token is expired/invalid" 401 — the only one a refresh can cure.
fn is_token_not_valid(response: &HttpResponse) -> bool {
    response.status == 401
        && parse_error_body(&response.body).code.as_deref() == Some("token_not_valid")
}

/// A 401 that ignored the token (not `token_not_valid`: the header was not even read) and whose
/// `WWW-Authenticate` names another scheme than the one sent: DRF's answer to
/// `AUTH_HEADER_TYPES = ("JWT",)` when it gets `Bearer` — the same token goes back, to the same
/// URL, with the scheme the server named.
fn scheme_the_server_wants(engine: &Engine, response: &HttpResponse) -> Option<String> {
    if response.status != 401 || is_token_not_valid(response) {
        return None;
    }
    let wanted = auth_scheme(&response.headers)?;
    (!wanted.eq_ignore_ascii_case(&engine.auth_scheme())).then_some(wanted)
}

struct Credentials {
    auth: AuthHeader,
    generation: u64,
    flights: u64,
}

/// Current token, refreshed first if due.
async fn credentials(engine: &Arc<Engine>) -> Result<Credentials> {
    crate::elsewhere::follow(engine).await?;
    let (creds, due, expired) = {
        let state = engine.read_state();
        let live = state
            .live
            .as_ref()
            .ok_or_else(|| Engine::signed_out_error(&state))?;
        (
            Credentials {
                auth: live.auth_header.clone(),
                generation: state.generation,
                flights: state.flights,
            },
            engine.needs_refresh(live),
            engine.is_expired(live),
        )
    };
    if !due {
        return Ok(creds);
    }
    match ensure_fresh(engine, creds.generation, creds.flights, Trigger::Expiring).await {
        Ok(()) => {
            let state = engine.read_state();
            let live = state
                .live
                .as_ref()
                .ok_or_else(|| Engine::signed_out_error(&state))?;
            Ok(Credentials {
                auth: live.auth_header.clone(),
                generation: state.generation,
                flights: state.flights,
            })
        }
        // A proactive refresh failed transiently but the token still works: use it.
        Err(e) if e.is_transient() && !expired => {
            tracing::debug!(profile = %engine.profile_name, code = e.code(), "proactive refresh failed; token still valid");
            Ok(creds)
        }
        Err(e) => Err(e),
    }
}

/// An answer as the request loop leaves it: read (always for a 401, which the loop inspects;
/// every answer of a buffered request) or with its body still to come (a streamed request).
enum Answer {
    Read(HttpResponse),
    Open(reqwest::Response),
}

/// Sends `request` and reads the whole answer (under the size cap).
pub(crate) async fn execute(engine: &Arc<Engine>, request: ApiRequest) -> Result<ApiResponse> {
    let timeout = request.timeout;
    let (answer, replayed, auth) = run(engine, request, false).await?;
    let response = match answer {
        Answer::Read(response) => response,
        Answer::Open(open) => engine.transport.read_body(open, timeout).await?,
    };
    let mask = EchoMask::new(&auth);
    Ok(ApiResponse::from_http(response, replayed, mask.as_ref()))
}

/// Sends `request` and hands the answer back as soon as its head arrived, the body to stream.
pub(crate) async fn execute_streamed(
    engine: &Arc<Engine>,
    request: ApiRequest,
) -> Result<StreamedResponse> {
    let secs = request
        .timeout
        .map_or(engine.profile.request_timeout_secs, |t| t.as_secs().max(1));
    let (answer, replayed, auth) = run(engine, request, true).await?;
    let mask = EchoMask::new(&auth);
    Ok(match answer {
        Answer::Read(response) => StreamedResponse::read(response, replayed, mask),
        Answer::Open(open) => StreamedResponse::open(open, replayed, secs, mask),
    })
}

/// The request loop both modes share: fresh credentials, send, a scheme change and a
/// refresh-and-replay when a 401 calls for them. Also returns the credentials the answer was
/// sent with (their token is masked in the answer, `echo_mask.rs`).
async fn run(
    engine: &Arc<Engine>,
    mut request: ApiRequest,
    streamed: bool,
) -> Result<(Answer, bool, AuthHeader)> {
    // The target is resolved once; its resolved URL is what is checked and sent. A token
    // endpoint is refused on the profile's origin; another origin is refused by `resolve`.
    let url = engine.transport.resolve(&request.target)?;
    if engine.transport.is_auth_url(&url) {
        return Err(Error::ReservedEndpoint {
            target: request.target.clone(),
        });
    }
    let mut replayed = false;
    let mut rescheme = true;
    loop {
        let creds = credentials(engine).await?;
        // Replaces the caller's `Authorization`, if any, and the previous attempt's.
        request.headers.insert(AUTHORIZATION, creds.auth.value()?);
        let response = match send_with_retry(engine, &mut request, &url, streamed).await? {
            Answer::Read(response) => response,
            open => return Ok((open, replayed, creds.auth)),
        };
        if rescheme && !matches!(request.body, Body::Streaming(_)) {
            rescheme = false;
            if let Some(scheme) = scheme_the_server_wants(engine, &response) {
                if engine.learn_scheme(&scheme) {
                    tracing::info!(profile = %engine.profile_name, %scheme, "the server ignored the profile's Authorization scheme and asks for another; using it");
                    continue;
                }
            }
        }
        if !replayed && is_token_not_valid(&response) {
            if matches!(request.body, Body::Streaming(_)) {
                tracing::debug!(profile = %engine.profile_name, "401 on a streaming body: not replayable");
                return Ok((Answer::Read(response), false, creds.auth));
            }
            tracing::debug!(profile = %engine.profile_name, method = %request.method, path = url.path(), "401 token_not_valid; refreshing and replaying once");
            ensure_fresh(
                engine,
                creds.generation,
                creds.flights,
                Trigger::Unauthorized,
            )
            .await?;
            replayed = true;
            engine.emit(SessionEvent::ReplayedAfter401 {
                profile: engine.profile_name.clone(),
                method: request.method.to_string(),
                path: url.path().to_owned(),
            });
            continue;
        }
        return Ok((Answer::Read(response), replayed, creds.auth));
    }
}

/// Sends once (twice after a network error, for an idempotent method with a replayable body).
/// A 401 is always read — the loop looks at its body; other answers are read unless `streamed`.
async fn send_with_retry(
    engine: &Engine,
    request: &mut ApiRequest,
    url: &Url,
    streamed: bool,
) -> Result<Answer> {
    let retryable = is_idempotent(&request.method) && !matches!(request.body, Body::Streaming(_));
    let mut attempt = 0;
    loop {
        attempt += 1;
        let body =
            match &mut request.body {
                Body::Empty => None,
                Body::Buffered(bytes) => Some(reqwest::Body::from(bytes.clone())),
                Body::Streaming(body) => Some(body.take().ok_or_else(|| {
                    Error::internal("a streaming request body cannot be sent twice")
                })?),
            };
        let sent = engine
            .transport
            .open_api(
                request.method.clone(),
                url.clone(),
                request.headers.clone(),
                body,
                request.timeout,
                (streamed, matches!(request.body, Body::Streaming(_))),
            )
            .await;
        let result = match sent {
            Ok(open) if streamed && open.status() != reqwest::StatusCode::UNAUTHORIZED => {
                return Ok(Answer::Open(open));
            }
            Ok(open) => engine
                .transport
                .read_body(open, request.timeout)
                .await
                .map(Answer::Read),
            Err(e) => Err(e),
        };
        match result {
            Err(Error::Network { detail }) if retryable && attempt < 2 => {
                tracing::debug!(profile = %engine.profile_name, %detail, "network error on an idempotent request; retrying once");
                tokio::time::sleep(Duration::from_millis(100 + fastrand::u64(..200))).await;
            }
            other => return other,
        }
    }
}
