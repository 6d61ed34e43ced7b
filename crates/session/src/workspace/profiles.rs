//! Profile rules, once for every shell: names are checked, a new or renamed profile never
//! replaces another one, a profile pointed at another server is signed out at the old one
//! before the change is saved (so none of its tokens reaches the new server), a renamed or
//! removed profile is signed out (keyring entries are per profile name), a proxy password is
//! shown as `***` and saving `***` back keeps the stored one, and removing the default profile
//! leaves no default (a script must never silently talk to another server).

use serde::Serialize;

use super::Workspace;
use crate::detect::{self, Detection};
use crate::error::{Error, Result};
use crate::probe::{self, ProbeReport};
use crate::profile::Profile;
use crate::profiles_file::{validate_profile_name, ProfilesFile};
use crate::redact;
use crate::signin::LogoutOutcome;

/// One saved profile, as a shell shows it: a proxy password is shown as `***`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProfileView {
    /// The profile's name.
    pub name: String,
    /// The profile, its proxy URL redacted (`http://user:***@proxy/`). Saving it back with
    /// that value unchanged keeps the stored password.
    pub profile: Profile,
    /// The stored proxy URL has a password (hidden in `profile.proxy`).
    pub proxy_has_credentials: bool,
    /// This is the default profile (the one used last).
    pub is_default: bool,
}

impl ProfileView {
    fn new(name: &str, mut profile: Profile, default: Option<&str>) -> Self {
        let proxy_has_credentials = profile
            .proxy
            .as_deref()
            .is_some_and(redact::has_credentials);
        profile.proxy = profile.proxy.as_deref().map(redact::url_credentials);
        Self {
            name: name.to_owned(),
            profile,
            proxy_has_credentials,
            is_default: default == Some(name),
        }
    }
}

/// Every saved profile and the default one.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProfileListing {
    /// By name.
    pub profiles: Vec<ProfileView>,
    /// The profile used last (`profile use` in the CLI, the last pick in the app).
    pub last_profile: Option<String>,
    /// The engine's defaults (simplejwt's), the starting point of a new profile.
    pub defaults: Option<Profile>,
}

impl From<&ProfilesFile> for ProfileListing {
    fn from(file: &ProfilesFile) -> Self {
        let default = file.last_profile.as_deref();
        Self {
            profiles: file
                .profiles
                .iter()
                .map(|(name, profile)| ProfileView::new(name, profile.clone(), default))
                .collect(),
            last_profile: file.last_profile.clone(),
            defaults: url::Url::parse("https://api.example.com/")
                .ok()
                .map(Profile::new),
        }
    }
}

/// What saving a profile did besides saving it.
#[derive(Debug)]
pub struct Saved {
    /// The profiles after the change.
    pub listing: ProfileListing,
    /// The profile pointed at another server and was signed out at the old one first
    /// (`Ok`), or that sign-out failed (`Err`: the stored session stays bound to the old
    /// server and is never sent to the new one).
    pub moved_sign_out: Option<Result<LogoutOutcome>>,
}

/// What removing a profile did besides removing it.
#[derive(Debug)]
pub struct Removed {
    /// The profiles after the change.
    pub listing: ProfileListing,
    /// The sign-out before removal; an `Err` means its keyring entry may remain.
    pub sign_out: Result<LogoutOutcome>,
}

impl Workspace {
    /// Every saved profile, proxy passwords hidden.
    pub async fn profile_list(&self) -> Result<ProfileListing> {
        Ok((&self.profiles().await?).into())
    }

    /// One saved profile, its proxy password hidden.
    pub async fn profile_view(&self, name: &str) -> Result<ProfileView> {
        let file = self.profiles().await?;
        Ok(ProfileView::new(
            name,
            file.get(name)?.clone(),
            file.last_profile.as_deref(),
        ))
    }

    /// The connection test for a profile as a form holds it: a proxy password shown as `***`
    /// is the stored one (of the profile `previous`, or of the profile it was copied from).
    pub async fn probe_profile(
        &self,
        previous: Option<&str>,
        profile: Profile,
    ) -> Result<ProbeReport> {
        let profile = self.with_stored_proxy(previous, profile).await?;
        probe::probe(&profile).await
    }

    /// Detection for a profile as a form holds it (a `***` proxy password is the stored one,
    /// as for [`Workspace::probe_profile`]). The proxy in the answer is the form's own, so the
    /// stored password never goes back to the form.
    pub async fn detect_profile(
        &self,
        previous: Option<&str>,
        profile: Profile,
    ) -> Result<Detection> {
        let submitted = profile.proxy.clone();
        let profile = self.with_stored_proxy(previous, profile).await?;
        let mut found = detect::detect(&profile).await?;
        found.profile.proxy = submitted;
        Ok(found)
    }

    async fn with_stored_proxy(
        &self,
        previous: Option<&str>,
        mut profile: Profile,
    ) -> Result<Profile> {
        if profile.proxy.as_deref().is_some_and(|p| p.contains("***")) {
            let file = self.profiles().await?;
            profile.proxy = keep_proxy_password(&file, previous, profile.proxy.take());
        }
        Ok(profile)
    }

    /// Creates profile `name`; refused when one of that name exists. It becomes the default
    /// when there is none.
    pub async fn add_profile(&self, name: &str, profile: Profile) -> Result<Saved> {
        self.store_profile(name, None, move |_| Ok(profile.clone()), false)
            .await
    }

    /// Saves a whole profile (as a form edits it) under `name`, renaming it from `previous`
    /// when that differs, and makes it the default. A proxy URL whose password is shown as
    /// `***` keeps the stored password.
    pub async fn save_profile(
        &self,
        name: &str,
        previous: Option<&str>,
        profile: Profile,
    ) -> Result<Saved> {
        let previous = previous.filter(|p| !p.is_empty()).map(str::to_owned);
        let source = previous.clone();
        self.store_profile(
            name,
            previous.as_deref(),
            move |file| {
                let mut profile = profile.clone();
                profile.proxy = keep_proxy_password(file, source.as_deref(), profile.proxy.take());
                Ok(profile)
            },
            true,
        )
        .await
    }

    /// Changes some settings of profile `name` (applied to what is saved at the moment of the
    /// write, so a concurrent edit of other settings is kept).
    pub async fn edit_profile(
        &self,
        name: &str,
        change: impl Fn(&mut Profile) -> Result<()> + Send + Sync + 'static,
    ) -> Result<Saved> {
        let key = name.to_owned();
        self.store_profile(
            name,
            Some(name),
            move |file| {
                let mut profile = file.get(&key)?.clone();
                change(&mut profile)?;
                Ok(profile)
            },
            false,
        )
        .await
    }

    /// Makes `name` the default profile.
    pub async fn select_profile(&self, name: &str) -> Result<()> {
        let name = name.to_owned();
        self.update_profiles(move |file| {
            file.get(&name)?;
            file.last_profile = Some(name);
            Ok(())
        })
        .await
    }

    /// Signs profile `name` out (blacklist, keyring entries removed), then removes it. A
    /// failed sign-out does not stop the removal; it is reported.
    pub async fn remove_profile(&self, name: &str) -> Result<Removed> {
        self.profiles().await?.get(name)?;
        let sign_out = self.sign_out(name).await;
        self.forget(name).await;
        let key = name.to_owned();
        let listing = self
            .update_profiles(move |file| {
                file.get(&key)?;
                file.remove(&key);
                Ok(ProfileListing::from(&*file))
            })
            .await?;
        Ok(Removed { listing, sign_out })
    }

    /// The one write path of a profile: `build` makes the new profile from the file as it is
    /// under the lock. Before anything is written, a profile moving to another server is
    /// signed out at the old one.
    async fn store_profile(
        &self,
        name: &str,
        previous: Option<&str>,
        build: impl Fn(&ProfilesFile) -> Result<Profile> + Send + Sync + 'static,
        make_default: bool,
    ) -> Result<Saved> {
        validate_profile_name(name)?;
        let current = self.profiles().await?;
        let planned = build(&current)?;
        planned.validate()?;
        planned.validate_verification()?;
        let creating = previous != Some(name);
        if creating && current.profiles.contains_key(name) {
            return Err(exists(name));
        }
        let mut moved_sign_out = None;
        let moving = previous.and_then(|old| {
            let stored = current.profiles.get(old)?;
            (stored.base_url != planned.base_url).then_some(old)
        });
        if let Some(old) = moving {
            let signed_out = match self.session(old).await {
                Ok(session) => session.sign_out_if_moved(&planned.base_url).await,
                Err(error) => Err(error),
            };
            if let Err(error) = &signed_out {
                tracing::warn!(
                    profile = old,
                    code = error.code(),
                    "sign-out before moving the profile failed"
                );
            }
            moved_sign_out = signed_out.transpose();
        }
        let key = name.to_owned();
        let renamed_from = previous.filter(|old| *old != name).map(str::to_owned);
        let renaming = renamed_from.clone();
        // Keyring entries are per profile name: the old name's session is signed out once the
        // rename is saved, through the session opened while the old name still exists.
        let renamed_session = match &renamed_from {
            Some(old) => Some(self.session(old).await),
            None => None,
        };
        let listing = self
            .update_profiles(move |file| {
                let profile = build(file)?;
                profile.validate()?;
                if creating && file.profiles.contains_key(&key) {
                    return Err(exists(&key));
                }
                if let Some(old) = &renaming {
                    file.remove(old);
                }
                file.upsert(&key, profile)?;
                if make_default || (creating && file.last_profile.is_none()) {
                    file.last_profile = Some(key);
                }
                Ok(ProfileListing::from(&*file))
            })
            .await?;
        if let (Some(old), Some(session)) = (renamed_from, renamed_session) {
            self.forget(&old).await;
            if let Err(error) = async { session?.logout().await }.await {
                tracing::warn!(profile = %old, code = error.code(), "sign-out of a renamed profile failed");
            }
        }
        Ok(Saved {
            listing,
            moved_sign_out,
        })
    }
}

fn exists(name: &str) -> Error {
    Error::InvalidProfile {
        detail: format!(
            "a profile named “{name}” exists already: pick another name, or edit that one"
        ),
    }
}

/// The stored proxy URL a submitted `***` stands for: the one of the profile being saved, or
/// of the profile it was copied from.
fn keep_proxy_password(
    file: &ProfilesFile,
    previous: Option<&str>,
    submitted: Option<String>,
) -> Option<String> {
    let hidden_matches = |stored: &String| Some(redact::url_credentials(stored)) == submitted;
    let stored = previous
        .and_then(|old| file.profiles.get(old))
        .and_then(|p| p.proxy.clone())
        .filter(hidden_matches)
        .or_else(|| {
            file.profiles
                .values()
                .filter_map(|p| p.proxy.clone())
                .find(hidden_matches)
        });
    redact::keep_stored_url(submitted, stored.as_deref())
}
