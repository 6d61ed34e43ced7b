//! The profile name an ad-hoc `--server URL` gets, shared by the app and the CLI so that both
//! find the same keyring entry for the same server: readable, stable across versions, and
//! different for different base URLs.

use url::Url;

/// The profile name an ad-hoc `--server URL` is known by (in the app and the CLI alike, so both
/// find the same keyring entry): a readable prefix (host and explicit port, e.g.
/// `127.0.0.1-8000`, `staging.example.com`) and a hash of the whole base URL, e.g.
/// `127.0.0.1-8000-3f2a9c01b7de`.
///
/// The hash (64-bit FNV-1a, folded to 48 bits, 12 hex digits) covers scheme, host, port (the
/// scheme's default when none is given) and path, all as the URL parser normalised them, so
/// `http://localhost:18086` and `https://localhost-18086/` (the same prefix) get different names,
/// and so do two paths on one host: a session is bound to its base URL. Query and fragment are
/// left out (no endpoint uses them). The name always passes
/// [`crate::profiles_file::validate_profile_name`].
pub fn ad_hoc_name(url: &Url) -> String {
    const HASH_DIGITS: usize = 12;
    let host = url.host_str().unwrap_or("server");
    let key = format!(
        "{}://{}:{}{}",
        url.scheme(),
        host,
        url.port_or_known_default().map_or(0, u32::from),
        url.path()
    );
    let readable_host = host.trim_matches(|c| c == '[' || c == ']');
    let raw = match url.port() {
        Some(port) => format!("{readable_host}-{port}"),
        None => readable_host.to_owned(),
    };
    let prefix: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let prefix = prefix.trim_start_matches('.');
    let prefix: String = prefix.chars().take(64 - 1 - HASH_DIGITS).collect();
    let prefix = if prefix.is_empty() { "server" } else { &prefix };
    format!(
        "{prefix}-{:0width$x}",
        fnv1a_48(key.as_bytes()),
        width = HASH_DIGITS
    )
}

/// 64-bit FNV-1a, xor-folded to 48 bits: a stable, dependency-free name hash (not a security
/// measure: names are not secrets and a collision needs a deliberately chosen second URL).
fn fnv1a_48(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash ^ (hash >> 48)) & 0xffff_ffff_ffff
}
