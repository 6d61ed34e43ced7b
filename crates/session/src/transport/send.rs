//! Sending a request with a client of the [`Transport`] and reading its answer: the total
//! timeout (the caller's or the profile's), the body read up to the size cap (whole when its
//! length is declared, chunk by chunk otherwise), and reqwest's errors classified as timeout,
//! TLS or network failures — in words a user can act on, never with a body.

use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, CONTENT_TYPE};
use reqwest::Method;
use url::Url;

use super::{HttpResponse, Transport};

/// The longest a streamed answer's body may take in all (a large download through the local
/// proxy); each read still waits at most the profile's timeout.
pub const STREAMED_BODY_LIMIT: Duration = Duration::from_secs(60 * 60);
use crate::error::{Error, Result};
use crate::profile::check_transport_security;

impl Transport {
    /// POSTs a JSON body to an authentication endpoint. No redirect is followed.
    pub async fn post_auth(
        &self,
        url: Url,
        body: Bytes,
        timeout: Option<Duration>,
    ) -> Result<HttpResponse> {
        self.post_auth_with(url, body, timeout, HeaderMap::new())
            .await
    }

    /// [`Transport::post_auth`] with extra headers: a cookie-mode session's cookies, which go
    /// only to its own refresh and logout endpoints (`cookies.rs`).
    pub(crate) async fn post_auth_with(
        &self,
        url: Url,
        body: Bytes,
        timeout: Option<Duration>,
        headers: HeaderMap,
    ) -> Result<HttpResponse> {
        let request = self
            .auth
            .post(url)
            .headers(headers)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .body(body);
        self.send(request, timeout).await
    }

    /// Sends a request without credentials and without following redirects: detection's
    /// harmless probes (`detect.rs`), which read statuses, `Location` and field errors.
    pub(crate) async fn probe(
        &self,
        method: Method,
        url: Url,
        body: Option<Bytes>,
    ) -> Result<HttpResponse> {
        let mut request = self
            .auth
            .request(method, url)
            .header(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(body) = body {
            request = request
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(body);
        }
        self.send(request, None).await
    }

    /// GETs a public document (a JWKS) without following redirects.
    pub async fn get_auth(&self, url: Url) -> Result<HttpResponse> {
        check_transport_security(&url, self.profile.allow_insecure_http)?;
        let request = self
            .auth
            .get(url)
            .header(ACCEPT, HeaderValue::from_static("application/json"));
        self.send(request, None).await
    }

    /// Sends an API request (same-origin redirects only) and reads its answer under the cap.
    pub async fn send_api(
        &self,
        method: Method,
        url: Url,
        headers: HeaderMap,
        body: Option<reqwest::Body>,
        timeout: Option<Duration>,
    ) -> Result<HttpResponse> {
        let response = self
            .open_api(method, url, headers, body, timeout, (false, false))
            .await?;
        self.read_body(response, timeout).await
    }

    /// Sends an API request (same-origin redirects only) and returns the answer with its body
    /// unread. `streamed`: the body will be streamed to someone (the local proxy), so the
    /// timeout (the caller's or the profile's) bounds the wait for the answer's head only, and
    /// the body may take up to [`STREAMED_BODY_LIMIT`] — with no pause longer than the
    /// profile's timeout between two reads (the client's read timeout). `streaming_body`: the
    /// request body is a stream (a large upload), whose sending the head wait does not bound.
    pub(crate) async fn open_api(
        &self,
        method: Method,
        url: Url,
        headers: HeaderMap,
        body: Option<reqwest::Body>,
        timeout: Option<Duration>,
        (streamed, streaming_body): (bool, bool),
    ) -> Result<reqwest::Response> {
        let mut request = self.api.request(method, url).headers(headers);
        if let Some(body) = body {
            request = request.body(body);
        }
        let secs = timeout.map_or(self.profile.request_timeout_secs, |t| t.as_secs().max(1));
        if !streamed {
            if let Some(t) = timeout {
                request = request.timeout(t);
            }
            return request
                .send()
                .await
                .map_err(|e| map_reqwest_error(&e, secs));
        }
        let request = request.timeout(STREAMED_BODY_LIMIT);
        // `send` returns once the answer's head arrived, that is after the whole request body
        // went out: a streamed upload may take longer than the head wait, each of its writes
        // and reads still bounded by the client's read timeout.
        if streaming_body {
            return request
                .send()
                .await
                .map_err(|e| map_reqwest_error(&e, secs));
        }
        let head_wait = timeout.unwrap_or(Duration::from_secs(secs));
        match tokio::time::timeout(head_wait, request.send()).await {
            Ok(sent) => sent.map_err(|e| map_reqwest_error(&e, secs)),
            Err(_) => Err(Error::Timeout { secs }),
        }
    }

    /// Reads an answer's body under the size cap.
    pub(crate) async fn read_body(
        &self,
        response: reqwest::Response,
        timeout: Option<Duration>,
    ) -> Result<HttpResponse> {
        let secs = timeout.map_or(self.profile.request_timeout_secs, |t| t.as_secs().max(1));
        self.read(response, secs).await
    }

    /// Sends with the given total timeout (else the profile's) and reads the capped body.
    async fn send(
        &self,
        mut request: reqwest::RequestBuilder,
        timeout: Option<Duration>,
    ) -> Result<HttpResponse> {
        if let Some(t) = timeout {
            request = request.timeout(t);
        }
        let secs = timeout.map_or(self.profile.request_timeout_secs, |t| t.as_secs().max(1));
        let response = request
            .send()
            .await
            .map_err(|e| map_reqwest_error(&e, secs))?;
        self.read(response, secs).await
    }

    async fn read(&self, mut response: reqwest::Response, secs: u64) -> Result<HttpResponse> {
        let status = response.status().as_u16();
        // The body is read after this; nothing needs the response's own headers any more.
        let headers = std::mem::take(response.headers_mut());
        let url = response.url().clone();
        match response.content_length() {
            Some(len) if len > self.max_body as u64 => return Err(too_big(self.max_body)),
            // A declared length within the cap: hyper never yields more than it (a longer body is
            // an error), so the body is read whole, without copying it chunk by chunk.
            Some(_) => {
                let body = response
                    .bytes()
                    .await
                    .map_err(|e| map_reqwest_error(&e, secs))?;
                if body.len() > self.max_body {
                    return Err(too_big(self.max_body));
                }
                return Ok(HttpResponse {
                    status,
                    headers,
                    body,
                    url,
                });
            }
            None => {}
        }
        // No declared length: chunk by chunk up to the cap. A body of one chunk is kept as it is.
        let mut first: Option<Bytes> = None;
        let mut rest: Vec<u8> = Vec::new();
        let mut total = 0usize;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| map_reqwest_error(&e, secs))?
        {
            total = total.saturating_add(chunk.len());
            if total > self.max_body {
                return Err(too_big(self.max_body));
            }
            match &first {
                None if rest.is_empty() => first = Some(chunk),
                _ => {
                    if let Some(head) = first.take() {
                        rest.reserve(head.len() + chunk.len());
                        rest.extend_from_slice(&head);
                    }
                    rest.extend_from_slice(&chunk);
                }
            }
        }
        let body = match first {
            Some(only) => only,
            None => Bytes::from(rest),
        };
        Ok(HttpResponse {
            status,
            headers,
            body,
            url,
        })
    }
}

fn too_big(max: usize) -> Error {
    Error::bad_response(format!("the response is larger than {max} bytes"))
}

/// The usual certificate failures in words, ahead of rustls' own text.
fn tls_summary(lower: &str) -> Option<&'static str> {
    if lower.contains("unknownissuer") || lower.contains("unknown issuer") {
        Some("the server's certificate is not signed by an authority this profile trusts (self-signed, or from a private CA)")
    } else if lower.contains("not valid for name") || lower.contains("notvalidforname") {
        Some("the server's certificate was issued for another host name")
    } else if lower.contains("certificate expired") || lower.contains("expired") {
        Some("the server's certificate has expired (or this computer's clock is wrong)")
    } else if lower.contains("not valid yet") || lower.contains("notvalidyet") {
        Some("the server's certificate is not valid yet (or this computer's clock is wrong)")
    } else {
        None
    }
}

/// Classifies a reqwest error as timeout, TLS or network. Never includes a body.
pub(crate) fn map_reqwest_error(e: &reqwest::Error, timeout_secs: u64) -> Error {
    if e.is_timeout() {
        return Error::Timeout { secs: timeout_secs };
    }
    let mut chain = Vec::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        chain.push(s.to_string());
        source = s.source();
    }
    let text = chain.join(": ");
    let lower = text.to_ascii_lowercase();
    if [
        "certificate",
        "tls",
        "handshake",
        "unknownissuer",
        "notvalidforname",
        "x509",
    ]
    .iter()
    .any(|needle| lower.contains(needle))
    {
        let detail = match tls_summary(&lower) {
            Some(summary) => format!("{summary} ({text})"),
            None => text,
        };
        return Error::Tls { detail };
    }
    if e.is_builder() {
        return Error::InvalidProfile { detail: text };
    }
    Error::Network { detail: text }
}
