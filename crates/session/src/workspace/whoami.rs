//! Who is signed in, in words for a person: the profile's "me" endpoint (`me_path`) when it
//! has one, else the token's user id claim.

use serde::Serialize;

use super::Workspace;
use crate::error::{Error, Result};
use crate::request::ApiRequest;
use crate::status::SessionStatus;

/// Who is signed in.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct WhoAmI {
    /// "Signed in as alice", "User 42" or "Signed in".
    pub display: String,
    /// The token's user id claim.
    pub user_id: Option<String>,
    /// The name the "me" endpoint gave (`username`, else `email`, else `name`).
    pub name: Option<String>,
}

impl Workspace {
    /// Who is signed in to profile `name` (a request to the "me" endpoint when the profile
    /// has one; its failure to answer with a name falls back to the user id).
    /// `login_required` when nobody is.
    pub async fn who_am_i(&self, name: &str) -> Result<WhoAmI> {
        let session = self.restored(name).await?;
        let status = session.status();
        if !status.signed_in {
            return Err(Error::LoginRequired {
                reason: status
                    .reason
                    .unwrap_or_else(|| "nobody is signed in".to_owned()),
            });
        }
        let user_id = status.user_id;
        let mut found = None;
        if let Some(me_path) = session.profile().me_path.clone() {
            let response = session.request(ApiRequest::get(me_path)).await?;
            found = response
                .json::<serde_json::Value>()
                .ok()
                .filter(|_| response.is_success())
                .and_then(|me| {
                    ["username", "email", "name"]
                        .iter()
                        .find_map(|key| me.get(*key).and_then(|v| v.as_str()).map(str::to_owned))
                });
        }
        let display = match (&found, &user_id) {
            (Some(name), _) => format!("Signed in as {name}"),
            (None, Some(id)) => format!("User {id}"),
            (None, None) => "Signed in".to_owned(),
        };
        Ok(WhoAmI {
            display,
            user_id,
            name: found,
        })
    }

    /// Who is signed in, for a status that says someone is; `None` otherwise, or when the
    /// "me" endpoint could not be asked (logged; the status still holds).
    pub async fn signed_in_user(&self, status: &SessionStatus) -> Option<WhoAmI> {
        if !status.signed_in {
            return None;
        }
        match self.who_am_i(&status.profile).await {
            Ok(who) => Some(who),
            Err(error) => {
                tracing::info!(profile = %status.profile, code = error.code(), "could not ask who is signed in");
                None
            }
        }
    }
}
