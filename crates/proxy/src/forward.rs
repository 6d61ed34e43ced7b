//! One request from a tool, forwarded: the capability checked and stripped, the hop-by-hop
//! headers dropped, the body buffered when it fits the replay limit (so a 401 can be cured by a
//! refresh and the request replayed) or streamed once when it does not, the engine's request
//! path run, and the answer's body streamed back as it arrives. The tool's own `Authorization`
//! never goes out; the session's never comes back (the engine masks an echoed token).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use http_body_util::BodyExt;
use tessera_session::request::StreamingBody;
use tessera_session::{ApiRequest, StreamedResponse, Workspace};

use crate::capability::Capability;
use crate::headers;
use crate::refusal;

/// What every request of one proxy shares.
pub(crate) struct Shared {
    pub workspace: Arc<Workspace>,
    pub profile: String,
    pub capability: Capability,
    /// Bodies up to this size are buffered (and replayable after a 401); larger ones stream.
    pub replay_limit: usize,
    /// `base_url` as text, its path, and the proxy's own URL: a `Location` on the server
    /// becomes one on the proxy.
    pub base_url: String,
    pub base_path: String,
    pub proxy_url: String,
}

/// A request body: read whole (within the limit) or the part read so far plus the rest.
enum Incoming {
    Whole(Bytes),
    Stream(Bytes, Body),
}

/// Reads the body up to `limit` bytes; stops there and keeps the rest for streaming.
async fn read_up_to(mut body: Body, limit: usize) -> Result<Incoming, axum::Error> {
    let mut head = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame?;
        if let Ok(data) = frame.into_data() {
            head.extend_from_slice(&data);
            if head.len() > limit {
                return Ok(Incoming::Stream(head.freeze(), body));
            }
        }
    }
    Ok(Incoming::Whole(head.freeze()))
}

/// The axum handler behind every path.
pub(crate) async fn forward(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Some(rest) = shared.capability.strip(parts.uri.path()) else {
        tracing::debug!(method = %parts.method, "refused a request without the capability");
        return refusal::no_capability();
    };
    let target = match parts.uri.query() {
        Some(query) => format!("{rest}?{query}"),
        None => rest.to_owned(),
    };
    // The path goes into the log, never the capability (stripped above) nor the query.
    tracing::debug!(method = %parts.method, path = rest, "forwarding");
    let declared = parts
        .headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let incoming = match declared {
        // Announced larger than the limit: straight to streaming, nothing buffered.
        Some(len) if len > shared.replay_limit as u64 => Incoming::Stream(Bytes::new(), body),
        _ => match read_up_to(body, shared.replay_limit).await {
            Ok(incoming) => incoming,
            Err(e) => return refusal::unreadable_body(&e.to_string()),
        },
    };
    let buffered = matches!(incoming, Incoming::Whole(_));
    let mut request = ApiRequest::new(parts.method, target);
    for (name, value) in headers::outgoing(parts.headers, buffered).iter() {
        request = request.header(name.clone(), value.clone());
    }
    request = match incoming {
        Incoming::Whole(bytes) if bytes.is_empty() => request,
        Incoming::Whole(bytes) => request.body(bytes),
        Incoming::Stream(head, rest) => {
            let rest = rest.into_data_stream();
            let all = futures_util::stream::iter((!head.is_empty()).then_some(Ok(head)))
                .chain(rest.map(|chunk| chunk.map_err(std::io::Error::other)));
            request.streaming_body(reqwest_body(all))
        }
    };
    match shared.workspace.forward(&shared.profile, request).await {
        Ok(answer) => respond(&shared, answer),
        Err(error) => {
            tracing::debug!(
                code = error.code(),
                "the engine refused a forwarded request"
            );
            refusal::from_error(&error, &shared.profile)
        }
    }
}

fn reqwest_body<S>(stream: S) -> StreamingBody
where
    S: futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
{
    StreamingBody::wrap_stream(stream)
}

/// The server's answer, streamed back.
fn respond(shared: &Shared, answer: StreamedResponse) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut out_headers: HeaderMap = headers::incoming(answer.headers.clone());
    rewrite_location(shared, &mut out_headers);
    let body = Body::from_stream(answer.into_stream());
    let mut response = (status, body).into_response();
    *response.headers_mut() = out_headers;
    response
}

/// A `Location` under the server's base URL points into the proxy instead (a tool that follows
/// a 201's `Location` stays behind the proxy).
fn rewrite_location(shared: &Shared, headers: &mut HeaderMap) {
    let Some(location) = headers
        .get(axum::http::header::LOCATION)
        .and_then(|v| v.to_str().ok())
    else {
        return;
    };
    let Some(rest) = location
        .strip_prefix(shared.base_url.as_str())
        .or_else(|| location.strip_prefix(shared.base_path.as_str()))
    else {
        return;
    };
    let rewritten = format!("{}/{}", shared.proxy_url, rest);
    if let Ok(value) = HeaderValue::from_str(&rewritten) {
        headers.insert(axum::http::header::LOCATION, value);
    }
}
