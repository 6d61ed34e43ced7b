//! Reserved endpoints: whether a request target is one of the profile's token endpoints is
//! decided on the path as a server would route it, not as typed, so that no spelling of a
//! token endpoint (`%74oken`, `x/../token`, `//token`) slips past the check. See
//! [`routed_path`].

/// A URL path as a server would route it, for comparing it with a token endpoint's path.
///
/// Conservative on purpose: a path that routes to a token endpoint under any plausible
/// normalisation must compare equal to it. So the path is percent-decoded once (every `%XX`,
/// hex digits in either case, `%2F` included: a WSGI server decodes `PATH_INFO` once before
/// Django routes it), then split on `/` with empty segments (`//`, a trailing slash) and `.`
/// dropped and `..` removing the previous segment (as reverse proxies and URL normalisers do),
/// and joined again with a leading `/`. Not done: a second decoding (`%2574` stays `%74`, which
/// Django does not route as `t`) and case folding (Django paths are case-sensitive).
pub fn routed_path(path: &str) -> String {
    let decoded = percent_decode(path.as_bytes());
    let decoded = String::from_utf8_lossy(&decoded);
    let mut segments: Vec<&str> = Vec::new();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    format!("/{}", segments.join("/"))
}

/// Decodes every `%XX` once; a `%` not followed by two hex digits is kept as it is.
fn percent_decode(input: &[u8]) -> Vec<u8> {
    fn hex(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%' {
            if let (Some(h), Some(l)) = (
                input.get(i + 1).copied().and_then(hex),
                input.get(i + 2).copied().and_then(hex),
            ) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(input[i]);
        i += 1;
    }
    out
}
