//! What an authenticated request answers: [`ApiResponse`], read in full (the console, the CLI,
//! typed requests), or [`StreamedResponse`], whose body is streamed as it arrives (the local
//! proxy lending the session to other tools). A streamed answer's body is never capped; a
//! read one is (the engine's `max_response_bytes`).

use std::pin::Pin;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use url::Url;

use crate::echo_mask::EchoMask;
use crate::error::{Error, Result};
use crate::transport::HttpResponse;

/// A response to an [`ApiRequest`], read in full.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
    /// Final URL.
    pub url: Url,
    /// Whether the request was replayed after a 401 and a refresh.
    pub replayed: bool,
}

impl ApiResponse {
    /// 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            Error::bad_response(format!("the response is not the expected JSON ({e})"))
        })
    }

    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// `mask`: the token the request was sent with, masked where the server echoed it.
    pub(crate) fn from_http(
        mut response: HttpResponse,
        replayed: bool,
        mask: Option<&EchoMask>,
    ) -> Self {
        if let Some(mask) = mask {
            mask.headers(&mut response.headers);
            response.body = mask.whole(response.body);
        }
        Self {
            status: response.status,
            headers: response.headers,
            body: response.body,
            url: response.url,
            replayed,
        }
    }
}

/// A streamed body: chunks as the server sends them, or an error (network, timeout) that ends
/// the stream.
pub type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes>> + Send>>;

/// A response to an [`ApiRequest`](crate::ApiRequest) sent with
/// [`Session::request_streamed`](crate::Session::request_streamed): status and headers now, the
/// body as it arrives.
pub struct StreamedResponse {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// Final URL.
    pub url: Url,
    /// Whether the request was replayed after a 401 and a refresh.
    pub replayed: bool,
    body: StreamedBody,
    mask: Option<EchoMask>,
}

enum StreamedBody {
    /// Read already (a 401 the engine had to look at).
    Read(Bytes),
    Open(reqwest::Response, u64),
}

/// A streamed body in progress: the server's chunks with the token masked.
struct Flow {
    source: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    mask: Option<EchoMask>,
    secs: u64,
    done: bool,
}

impl Flow {
    async fn next(mut self) -> Option<(Result<Bytes>, Self)> {
        loop {
            if self.done {
                return None;
            }
            match self.source.next().await {
                Some(Ok(chunk)) => {
                    let out = match &mut self.mask {
                        Some(mask) => mask.chunk(&chunk),
                        None => chunk,
                    };
                    if !out.is_empty() {
                        return Some((Ok(out), self));
                    }
                }
                Some(Err(e)) => {
                    self.done = true;
                    let error = crate::transport::map_reqwest_error(&e, self.secs);
                    return Some((Err(error), self));
                }
                None => {
                    self.done = true;
                    let tail = self.mask.as_mut().map(EchoMask::finish).unwrap_or_default();
                    if !tail.is_empty() {
                        return Some((Ok(tail), self));
                    }
                }
            }
        }
    }
}

impl std::fmt::Debug for StreamedResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamedResponse")
            .field("status", &self.status)
            .field("url", &self.url.path())
            .field("replayed", &self.replayed)
            .finish_non_exhaustive()
    }
}

impl StreamedResponse {
    pub(crate) fn read(response: HttpResponse, replayed: bool, mask: Option<EchoMask>) -> Self {
        let read = ApiResponse::from_http(response, replayed, mask.as_ref());
        Self {
            status: read.status,
            headers: read.headers,
            url: read.url,
            replayed,
            body: StreamedBody::Read(read.body),
            mask: None,
        }
    }

    /// `timeout_secs`: what a stalled read reports; `mask`: the token the request was sent
    /// with, masked where the server echoes it.
    pub(crate) fn open(
        mut response: reqwest::Response,
        replayed: bool,
        timeout_secs: u64,
        mask: Option<EchoMask>,
    ) -> Self {
        let mut headers = std::mem::take(response.headers_mut());
        if let Some(mask) = &mask {
            mask.headers(&mut headers);
        }
        Self {
            status: response.status().as_u16(),
            headers,
            url: response.url().clone(),
            replayed,
            body: StreamedBody::Open(response, timeout_secs),
            mask,
        }
    }

    /// The body's length, when the server declared it.
    pub fn content_length(&self) -> Option<u64> {
        match &self.body {
            StreamedBody::Read(bytes) => Some(bytes.len() as u64),
            StreamedBody::Open(response, _) => response.content_length(),
        }
    }

    /// The body, chunk by chunk.
    pub fn into_stream(self) -> BodyStream {
        match self.body {
            StreamedBody::Read(bytes) => Box::pin(futures_util::stream::iter(
                (!bytes.is_empty()).then_some(Ok(bytes)),
            )),
            StreamedBody::Open(response, secs) => {
                let flow = Flow {
                    source: Box::pin(response.bytes_stream()),
                    mask: self.mask,
                    secs,
                    done: false,
                };
                Box::pin(futures_util::stream::unfold(flow, Flow::next))
            }
        }
    }

    /// The whole body (tests, small answers): no cap, so only for answers known to be small.
    pub async fn collect(self) -> Result<Bytes> {
        let mut stream = self.into_stream();
        let mut all = Vec::new();
        while let Some(chunk) = stream.next().await {
            all.extend_from_slice(&chunk?);
        }
        Ok(Bytes::from(all))
    }
}
