//! The requests detection may send: an empty JSON POST, a GET, nothing else — never a password,
//! never a token, never a cookie — through the profile's own transport (its CA, proxy and
//! plain-http rule; no redirect followed). What an answer tells is read here once: status,
//! DRF field errors, `detail`, `Location`, the `WWW-Authenticate` scheme.

use std::collections::BTreeMap;

use bytes::Bytes;
use reqwest::header::LOCATION;
use reqwest::Method;

use crate::error::Result;
use crate::transport::Transport;
use crate::wire::{auth_scheme, parse_error_body};

/// What one probe's answer says.
#[derive(Debug, Default)]
pub(super) struct Answer {
    pub status: u16,
    pub fields: BTreeMap<String, Vec<String>>,
    pub detail: Option<String>,
    pub location: Option<String>,
    /// The scheme of `WWW-Authenticate` (`Bearer`, `JWT`), when there is one.
    pub scheme: Option<String>,
}

impl Answer {
    /// A DRF-style "these fields are required" answer naming `field`.
    pub fn asks_for(&self, field: &str) -> bool {
        self.status == 400 && self.fields.contains_key(field)
    }

    pub fn missing(&self) -> bool {
        self.status == 404
    }
}

/// Sends the probes, and counts them for the report.
pub(super) struct Prober {
    pub transport: Transport,
    pub sent: usize,
}

impl Prober {
    async fn send(&mut self, method: Method, path: &str, body: Option<Bytes>) -> Result<Answer> {
        let url = self.transport.endpoint(path)?;
        self.sent += 1;
        let response = self.transport.probe(method, url, body).await?;
        let drf = parse_error_body(&response.body);
        let header = |name| {
            response
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let scheme = auth_scheme(&response.headers);
        Ok(Answer {
            status: response.status,
            fields: drf.fields,
            detail: drf.detail,
            location: header(LOCATION),
            scheme,
        })
    }

    /// `POST {}` to `path`.
    pub async fn post_empty(&mut self, path: &str) -> Result<Answer> {
        self.send(Method::POST, path, Some(Bytes::from_static(b"{}")))
            .await
    }

    /// `GET path`, without credentials.
    pub async fn get(&mut self, path: &str) -> Result<Answer> {
        self.send(Method::GET, path, None).await
    }

    /// `POST {}` to `path` as the server routes it: a redirect to the slashed path is followed
    /// once (by probing that path, never by forwarding anything), and a 404 tries the path with
    /// its trailing slash toggled. Returns the path that answered, or `None` when neither did.
    pub async fn find(&mut self, path: &str) -> Result<Option<(String, Answer)>> {
        let answer = self.post_empty(path).await?;
        if matches!(answer.status, 301 | 302 | 307 | 308) {
            let slashed = format!("{}/", path.trim_end_matches('/'));
            let to_slashed = answer
                .location
                .as_deref()
                .is_some_and(|l| l.ends_with(&slashed));
            if to_slashed && slashed != path {
                let again = self.post_empty(&slashed).await?;
                return Ok((!again.missing()).then_some((slashed, again)));
            }
            return Ok(None);
        }
        if !answer.missing() {
            return Ok(Some((path.to_owned(), answer)));
        }
        let toggled = match path.strip_suffix('/') {
            Some(bare) => bare.to_owned(),
            None => format!("{path}/"),
        };
        let again = self.post_empty(&toggled).await?;
        Ok((!again.missing() && !matches!(again.status, 301..=308)).then_some((toggled, again)))
    }
}

/// The one required field an empty sign-in POST named besides the password field, if exactly
/// one: the user model's `USERNAME_FIELD` (`username`, `email`).
pub(super) fn login_field(answer: &Answer, password_field: &str) -> Option<String> {
    let mut others = answer.fields.keys().filter(|k| *k != password_field);
    let first = others.next()?;
    others.next().is_none().then(|| first.clone())
}

/// The one field an empty refresh or logout POST said it needs, if exactly one.
pub(super) fn only_field(answer: &Answer) -> Option<String> {
    (answer.status == 400 && answer.fields.len() == 1)
        .then(|| answer.fields.keys().next().cloned())
        .flatten()
}
