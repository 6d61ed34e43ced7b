//! Which headers cross the proxy. Hop-by-hop headers (RFC 9110 §7.6.1: `Connection` and the
//! ones it names, `Keep-Alive`, `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade`,
//! `Proxy-Authorization`, `Proxy-Authenticate`) stay on their hop, both ways. On the way out,
//! the tool's `Host` (the engine sends the server's), `Authorization` (the engine's replaces
//! it), `Expect` (the proxy answered it) and `Content-Length` of a buffered body (recomputed) are dropped too; everything else
//! — cookies, custom headers — passes as the tool sent it, except `Accept-Encoding`, which
//! becomes `identity` (the engine masks an echoed token in plain bytes only), and the server's
//! answer comes back with its own headers.

use axum::http::header::{self, HeaderMap, HeaderName};

const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// Removes the hop-by-hop headers, those `Connection` names first.
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|list| list.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named.iter().chain(HOP_BY_HOP.iter()) {
        headers.remove(name);
    }
}

/// The tool's headers as they go to the server. `buffered`: the body was read whole, so its
/// length is the engine's to set. `Expect: 100-continue` was answered on the tool's hop.
pub(crate) fn outgoing(mut headers: HeaderMap, buffered: bool) -> HeaderMap {
    strip_hop_by_hop(&mut headers);
    headers.remove(header::HOST);
    headers.remove(header::EXPECT);
    // The engine does not decompress: a compressed answer would hide an echoed token from its
    // mask (and a 401's `token_not_valid` from the replay). Asked for uncompressed; loopback
    // to the tool costs nothing.
    headers.insert(
        header::ACCEPT_ENCODING,
        axum::http::HeaderValue::from_static("identity"),
    );
    headers.remove(header::AUTHORIZATION);
    if buffered {
        headers.remove(header::CONTENT_LENGTH);
    }
    headers
}

/// The server's headers as they go back to the tool.
pub(crate) fn incoming(mut headers: HeaderMap) -> HeaderMap {
    strip_hop_by_hop(&mut headers);
    headers
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn hop_by_hop_and_credentials_stay_behind() {
        let mut h = HeaderMap::new();
        for (name, value) in [
            ("connection", "keep-alive, x-private-hop"),
            ("x-private-hop", "1"),
            ("keep-alive", "timeout=5"),
            ("transfer-encoding", "chunked"),
            ("proxy-authorization", "Basic eA=="),
            ("te", "trailers"),
            ("upgrade", "websocket"),
            ("host", "127.0.0.1:1"),
            ("authorization", "Bearer stolen"),
            ("content-length", "12"),
            ("cookie", "a=b"),
            ("x-request-id", "42"),
            ("accept-encoding", "gzip"),
            ("expect", "100-continue"),
        ] {
            h.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        let out = outgoing(h.clone(), true);
        let mut names: Vec<&str> = out.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, ["accept-encoding", "cookie", "x-request-id"]);
        assert_eq!(out["accept-encoding"], "identity");
        assert!(outgoing(h.clone(), false).contains_key("content-length"));
        let back = incoming(h);
        assert!(back.contains_key("content-length") && back.contains_key("x-request-id"));
        assert!(!back.contains_key("x-private-hop") && !back.contains_key("transfer-encoding"));
    }
}
