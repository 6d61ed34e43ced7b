//! Which profile a launch means. `--server URL` names a server directly (as the profile
//! `--profile` names, or one named after the URL, the same name in every shell so that they
//! share the keyring entry); `--profile NAME` a saved profile; neither, the profile used last.
//!
//! The app keeps a `--server` profile (a tester's next launch finds it) and always shows a
//! screen: a bad flag or an unknown profile is reported beside the first profile there is. The
//! CLI uses a `--server` profile for one command without saving it and fails on anything
//! it cannot resolve.

use serde::Serialize;
use url::Url;

use super::profiles::ProfileListing;
use super::{lock, Workspace};
use crate::error::{Error, Result};
use crate::profile::{ad_hoc_name, Profile};
use crate::status::SessionStatus;

/// What the command line asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Launch {
    /// `--profile NAME`.
    pub profile: Option<String>,
    /// `--server URL`.
    pub server: Option<Url>,
}

impl Launch {
    /// The profile name a `--server` URL stands for: `--profile`, or a name made from the URL.
    pub fn server_profile_name(&self) -> Option<String> {
        let url = self.server.as_ref()?;
        Some(self.profile.clone().unwrap_or_else(|| ad_hoc_name(url)))
    }
}

/// What a window needs for its first screen.
#[derive(Debug, Clone, Serialize)]
pub struct Start {
    /// Every saved profile.
    pub profiles: ProfileListing,
    /// The profile to show.
    pub selected: Option<String>,
    /// The restored session of `selected`, when there is one.
    pub status: Option<SessionStatus>,
    /// Why the launch could not do all it was asked (the first problem).
    pub error: Option<Error>,
}

impl Workspace {
    /// The app's start: saves a `--server` profile (pointing an existing one there signs it out
    /// at its old server first) and makes it the default, picks the profile to show
    /// (`--profile`, else the default, else the first) and restores its session. Never fails
    /// for a bad launch: the problem is in [`Start::error`].
    pub async fn start(&self, launch: &Launch) -> Result<Start> {
        let mut error = None;
        if let (Some(url), Some(name)) = (launch.server.clone(), launch.server_profile_name()) {
            let saved = if self.profiles().await?.profiles.contains_key(&name) {
                self.edit_profile(&name, move |p| {
                    p.base_url = url.clone();
                    Ok(())
                })
                .await
            } else {
                self.add_profile(&name, Profile::new(url)).await
            };
            match saved {
                Ok(_) => {
                    if let Err(e) = self.select_profile(&name).await {
                        error = Some(e);
                    }
                }
                Err(e) => error = Some(e),
            }
        }
        let file = self.profiles().await?;
        let exists = |name: &String| file.profiles.contains_key(name);
        if let Some(wanted) = launch.profile.as_ref().filter(|n| !exists(n)) {
            error = error.or(Some(Error::ProfileNotFound {
                name: wanted.clone(),
            }));
        }
        let selected = launch
            .profile
            .clone()
            .filter(exists)
            .or_else(|| file.last_profile.clone().filter(exists))
            .or_else(|| file.profiles.keys().next().cloned());
        let mut status = None;
        if let Some(name) = &selected {
            match self.restore(name).await {
                Ok(restored) => status = Some(restored),
                Err(e) => error = error.or(Some(e)),
            }
        }
        Ok(Start {
            profiles: (&file).into(),
            selected,
            status,
            error,
        })
    }

    /// The profile a one-shot command talks to: `--server` (used for this process only, never
    /// saved, under the name every shell gives that URL), else `--profile`, else the default.
    pub async fn resolve(&self, launch: &Launch) -> Result<String> {
        if let Some(url) = &launch.server {
            let profile = Profile::from_base_url(url.as_str())?;
            profile.validate()?;
            let name = ad_hoc_name(url);
            lock(&self.ephemeral).insert(name.clone(), profile);
            return Ok(name);
        }
        let name = match &launch.profile {
            Some(name) => name.clone(),
            None => self
                .profiles()
                .await?
                .last_profile
                .ok_or(Error::NoProfileChosen)?,
        };
        self.profile(&name).await?;
        Ok(name)
    }
}
