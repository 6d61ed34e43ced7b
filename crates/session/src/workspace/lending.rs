//! Requests other tools send through the local proxy (`tessera-proxy`), which lends the session
//! to curl, pytest, k6 or Postman without handing them a token: the same one request path as
//! everything else (fresh token, single-flight refresh across processes, replay once after a
//! 401), with the answer streamed back as it arrives.

use super::Workspace;
use crate::error::{Error, Result};
use crate::request::ApiRequest;
use crate::response::StreamedResponse;
use crate::status::SessionStatus;

impl Workspace {
    /// Reads profile `name`'s session before it is lent: signed in (refreshed when due), or
    /// the reason it is not as a `login_required` / `session_expired` error.
    pub async fn lendable(&self, name: &str) -> Result<SessionStatus> {
        let status = self.restore(name).await?;
        if status.signed_in {
            return Ok(status);
        }
        Err(Error::LoginRequired {
            reason: status.reason.unwrap_or_else(|| "not signed in".to_owned()),
        })
    }

    /// Sends `request` for profile `name` and returns once the answer's head arrived, its body
    /// to be streamed.
    pub async fn forward(&self, name: &str, request: ApiRequest) -> Result<StreamedResponse> {
        self.restored(name).await?.request_streamed(request).await
    }
}
