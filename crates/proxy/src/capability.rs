//! The capability that keeps the proxy to the one who started it: 256 random bits, as a path
//! segment (`/CAPABILITY/…`) every request must start with. A web page in a browser, another
//! user's process or a tool that was not given the URL cannot guess it; the comparison takes
//! the same time whatever the guess. The URL that holds it is a secret ([`ProxyUrl`]: redacted
//! Debug, no Display), printed once for the user and never logged.

use base64::Engine as _;

/// Random bytes in a capability.
const BYTES: usize = 32;

/// The proxy's capability segment.
#[derive(Clone)]
pub struct Capability(String);

impl std::fmt::Debug for Capability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Capability(***)")
    }
}

impl Capability {
    /// A fresh capability from the OS's random source.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; BYTES];
        getrandom::fill(&mut bytes)?;
        Ok(Self(
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
        ))
    }

    /// The segment itself (43 URL-safe characters).
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// The rest of `path` when it starts with `/CAPABILITY` followed by `/` or nothing: the
    /// path to send on (at least `/`). `None` for any other path.
    pub fn strip<'a>(&self, path: &'a str) -> Option<&'a str> {
        let rest = path.strip_prefix('/')?;
        let (segment, tail) = match rest.find('/') {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, ""),
        };
        if !same(segment.as_bytes(), self.0.as_bytes()) {
            return None;
        }
        Some(if tail.is_empty() { "/" } else { tail })
    }
}

/// Compares in time that depends only on the lengths.
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `http://127.0.0.1:PORT/CAPABILITY`: what a tool is given (`TESSERA_PROXY`). Whoever has it
/// can use the session through the proxy, so it is shown to the user once and never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyUrl(String);

impl std::fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProxyUrl(***)")
    }
}

impl ProxyUrl {
    pub(crate) fn new(addr: std::net::SocketAddr, capability: &Capability) -> Self {
        Self(format!("http://{addr}/{}", capability.expose_secret()))
    }

    /// The URL, for the user and the tools they run.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_under_the_exact_capability_pass() {
        let cap = Capability::generate().unwrap();
        let c = cap.expose_secret();
        assert_eq!(c.len(), 43);
        assert_eq!(cap.strip(&format!("/{c}/api/hello/")), Some("/api/hello/"));
        assert_eq!(cap.strip(&format!("/{c}")), Some("/"));
        assert_eq!(cap.strip(&format!("/{c}/")), Some("/"));
        for wrong in [
            "/".to_owned(),
            "/api/hello/".to_owned(),
            format!("/{c}x/api/"),
            format!("/{}/api/", &c[..42]),
            format!("/x{c}/api/"),
            format!("//{c}/api/"),
            format!("{c}/api/"),
        ] {
            assert_eq!(cap.strip(&wrong), None, "{wrong}");
        }
        assert_ne!(
            Capability::generate().unwrap().expose_secret(),
            c,
            "each capability is fresh"
        );
    }

    #[test]
    fn debug_never_shows_the_capability() {
        let cap = Capability::generate().unwrap();
        let url = ProxyUrl::new("127.0.0.1:9".parse().unwrap(), &cap);
        assert!(url.expose_secret().ends_with(cap.expose_secret()));
        for shown in [format!("{cap:?}"), format!("{url:?}")] {
            assert!(!shown.contains(cap.expose_secret()), "{shown}");
        }
    }
}
