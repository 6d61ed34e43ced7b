//! `tessera-cli profile ...`: the shared profiles file, edited through the engine's
//! `ProfilesFile` (locked, atomic writes, unknown fields kept), exactly as the app edits it.

use std::path::PathBuf;

use tessera_session::{Profile, ProfilesFile};

use crate::args::{ProfileCommand, ProfileFields};
use crate::error::{CliError, CliResult};
use crate::output;

/// `"none"` switches an optional setting off.
fn optional(value: &str) -> Option<String> {
    (!value.eq_ignore_ascii_case("none") && !value.is_empty()).then(|| value.to_owned())
}

/// Applies every flag that was given; the rest of the profile stays as it is.
pub fn apply(fields: &ProfileFields, p: &mut Profile) {
    if fields.custom_view_fields {
        *p = p.clone().with_custom_view_fields();
    }
    let set = |target: &mut String, value: &Option<String>| {
        if let Some(v) = value {
            target.clone_from(v);
        }
    };
    set(&mut p.obtain_path, &fields.obtain_path);
    set(&mut p.refresh_path, &fields.refresh_path);
    set(&mut p.login_field, &fields.login_field);
    set(&mut p.password_field, &fields.password_field);
    set(&mut p.access_field, &fields.access_field);
    set(&mut p.refresh_field, &fields.refresh_field);
    set(&mut p.refresh_request_field, &fields.refresh_request_field);
    set(&mut p.sliding_token_field, &fields.sliding_token_field);
    set(&mut p.auth_header_type, &fields.auth_header_type);
    set(&mut p.user_id_claim, &fields.user_id_claim);
    for (target, value) in [
        (&mut p.verify_path, &fields.verify_path),
        (&mut p.blacklist_path, &fields.blacklist_path),
        (&mut p.registration_path, &fields.registration_path),
        (&mut p.me_path, &fields.me_path),
        (&mut p.proxy, &fields.proxy),
    ] {
        if let Some(v) = value {
            *target = optional(v);
        }
    }
    if let Some(v) = &fields.ca_cert {
        p.ca_cert_file = optional(v).map(PathBuf::from);
    }
    if let Some(v) = fields.sliding {
        p.sliding = v;
    }
    if let Some(v) = fields.refresh_margin {
        p.refresh_margin_secs = v;
    }
    if let Some(v) = fields.timeout {
        p.request_timeout_secs = v;
    }
    if let Some(v) = fields.connect_timeout {
        p.connect_timeout_secs = v;
    }
    if let Some(v) = fields.allow_insecure_http {
        p.allow_insecure_http = v;
    }
}

fn parse_url(url: &str) -> CliResult<Profile> {
    Profile::from_base_url(url).map_err(|e| CliError::usage(format!("--url {url:?}: {e}")))
}

/// Runs a profile subcommand. `Remove` needs the session first, so main handles its sign-out.
pub fn run(path: &std::path::Path, command: &ProfileCommand) -> CliResult<()> {
    match command {
        ProfileCommand::List { json } => {
            let file = ProfilesFile::load(path)?;
            output::profile_list(&file, *json);
        }
        ProfileCommand::Show { name, json } => {
            let file = ProfilesFile::load(path)?;
            output::profile(name, file.get(name)?, *json);
        }
        ProfileCommand::Add { name, url, fields } => {
            let mut profile = parse_url(url)?;
            apply(fields, &mut profile);
            profile.validate()?;
            ProfilesFile::update(path, |file| {
                if file.profiles.contains_key(name) {
                    return Err(tessera_session::Error::InvalidProfile {
                        detail: format!(
                            "a profile named {name:?} exists already: use `profile edit`"
                        ),
                    });
                }
                file.upsert(name, profile)?;
                if file.last_profile.is_none() {
                    file.last_profile = Some(name.clone());
                }
                Ok(())
            })?;
            eprintln!("added profile {name}");
        }
        ProfileCommand::Edit { name, url, fields } => {
            ProfilesFile::update(path, |file| {
                let mut profile = file.get(name)?.clone();
                if let Some(url) = url {
                    profile.base_url = Profile::from_base_url(url)?.base_url;
                }
                apply(fields, &mut profile);
                profile.validate()?;
                file.upsert(name, profile)
            })?;
            eprintln!("updated profile {name}");
        }
        ProfileCommand::Remove { name } => {
            ProfilesFile::update(path, |file| {
                file.get(name)?;
                file.remove(name);
                if file.last_profile.as_deref() == Some(name.as_str()) {
                    file.last_profile = None;
                }
                Ok(())
            })?;
            eprintln!("removed profile {name}");
        }
        ProfileCommand::Use { name } => {
            ProfilesFile::update(path, |file| {
                file.get(name)?;
                file.last_profile = Some(name.clone());
                Ok(())
            })?;
            eprintln!("default profile: {name}");
        }
    }
    Ok(())
}
