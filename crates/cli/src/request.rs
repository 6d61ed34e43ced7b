//! `tessera-cli request` flags to an engine request: the method and a `--json` body go through
//! the engine's checks (the app's console uses the same); `-H` headers and a `--data` body
//! (literal, `@FILE`, `@-`) are the CLI's own input.

use std::io::Read;

use tessera_session::workspace::typed_request;
use tessera_session::{header, ApiRequest};

use crate::args::RequestArgs;
use crate::error::{CliError, CliResult};

/// The request the flags describe.
pub fn from_args(args: &RequestArgs) -> CliResult<ApiRequest> {
    let mut request = typed_request(&args.method, args.path.clone(), args.json.as_deref())?;
    let mut has_content_type = false;
    for raw in &args.headers {
        let (name, value) = raw
            .split_once(':')
            .ok_or_else(|| CliError::usage(format!("-H {raw:?}: use 'Name: value'")))?;
        let name = header::HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| CliError::usage(format!("-H {raw:?}: invalid header name")))?;
        if name == header::AUTHORIZATION {
            return Err(CliError::usage(
                "-H Authorization: Tessera sets the Authorization header itself",
            ));
        }
        has_content_type |= name == header::CONTENT_TYPE;
        let value = header::HeaderValue::from_str(value.trim())
            .map_err(|_| CliError::usage(format!("-H {raw:?}: invalid header value")))?;
        request = request.header(name, value);
    }
    if let Some(data) = &args.data {
        let bytes = read_data(data)?;
        if !has_content_type {
            let kind = if serde_json::from_slice::<serde_json::Value>(&bytes).is_ok() {
                "application/json"
            } else {
                "application/octet-stream"
            };
            request = request.header(header::CONTENT_TYPE, header::HeaderValue::from_static(kind));
        }
        request = request.body(bytes);
    }
    Ok(request)
}

/// `--data`: literal text, `@FILE`, or `@-` for standard input.
fn read_data(data: &str) -> CliResult<Vec<u8>> {
    match data.strip_prefix('@') {
        Some("-") => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .map_err(|source| CliError::Io {
                    what: "reading the body from standard input".into(),
                    source,
                })?;
            Ok(buf)
        }
        Some(path) => {
            std::fs::read(path).map_err(|e| CliError::usage(format!("--data @{path}: {e}")))
        }
        None => Ok(data.as_bytes().to_vec()),
    }
}
