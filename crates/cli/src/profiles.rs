//! `tessera-cli profile ...`: flags mapped to the engine's profile rules (the same ones the
//! app's profile screen uses), and what each did printed. `--detect` asks the engine's
//! detection what the server runs, then applies the flags once more: flags win.

use std::path::PathBuf;

use tessera_session::detect;
use tessera_session::error::Error as EngineError;
use tessera_session::profile::Preset;
use tessera_session::workspace::Saved;
use tessera_session::{Profile, VerificationConfig, Workspace};

use crate::args::{ProfileCommand, ProfileFields};
use crate::error::{CliError, CliResult};
use crate::output;

/// `"none"` switches an optional setting off.
fn optional(value: &str) -> Option<String> {
    (!value.eq_ignore_ascii_case("none") && !value.is_empty()).then(|| value.to_owned())
}

/// Applies every flag that was given; the rest of the profile stays as it is.
pub fn apply(fields: &ProfileFields, p: &mut Profile) -> Result<(), EngineError> {
    if let Some(name) = &fields.preset {
        Preset::parse(name)?.apply(p);
    }
    apply_verification(fields, p)?;
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
        (&mut p.renewal_access_field, &fields.renewal_access_field),
        (&mut p.renewal_refresh_field, &fields.renewal_refresh_field),
        (&mut p.logout_request_field, &fields.logout_request_field),
        (&mut p.refresh_cookie, &fields.refresh_cookie),
        (&mut p.mfa_verify_path, &fields.mfa_verify_path),
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
    Ok(())
}

/// The signature-verification flags: `--verify-alg none` turns verification off; any other
/// verification flag changes the profile's settings (one key source: a key file or a JWKS URL).
/// Whether the result is usable is the engine's rule, checked when the profile is saved.
fn apply_verification(fields: &ProfileFields, p: &mut Profile) -> Result<(), EngineError> {
    let invalid = |detail: &str| EngineError::InvalidProfile {
        detail: detail.to_owned(),
    };
    let any = fields.verify_key.is_some()
        || fields.jwks_url.is_some()
        || fields.audience.is_some()
        || fields.issuer.is_some();
    if fields
        .verify_alg
        .as_deref()
        .is_some_and(|a| a.eq_ignore_ascii_case("none"))
    {
        if any {
            return Err(invalid(
                "--verify-alg none turns verification off: leave out --verify-key, --jwks-url, --audience and --issuer",
            ));
        }
        p.verification = None;
        return Ok(());
    }
    if !any && fields.verify_alg.is_none() {
        return Ok(());
    }
    let mut v: VerificationConfig = p.verification.take().unwrap_or_default();
    if let Some(algorithm) = &fields.verify_alg {
        v.algorithm = algorithm.trim().to_owned();
    }
    if v.algorithm.is_empty() {
        return Err(invalid(
            "say which algorithm the server signs with: --verify-alg RS256 (or ES256, EdDSA, ...)",
        ));
    }
    if let Some(file) = &fields.verify_key {
        v.public_key_file = Some(file.clone());
        v.public_key_pem = None;
        v.jwks_url = None;
    }
    if let Some(url) = &fields.jwks_url {
        let url = url::Url::parse(url)
            .map_err(|e| invalid(&format!("--jwks-url {url:?} is not a URL ({e})")))?;
        v.jwks_url = Some(url);
        v.public_key_file = None;
        v.public_key_pem = None;
    }
    if let Some(audience) = &fields.audience {
        v.audience = optional(audience);
    }
    if let Some(issuer) = &fields.issuer {
        v.issuer = optional(issuer);
    }
    p.verification = Some(v);
    Ok(())
}

fn parse_url(url: &str) -> CliResult<Profile> {
    Profile::from_base_url(url).map_err(|e| CliError::usage(format!("--url {url:?}: {e}")))
}

/// Detection from `profile` (the flags already applied, so that it probes the user's own
/// paths and fields), its report printed, then the flags applied again over what it found.
async fn detected(profile: &Profile, fields: &ProfileFields) -> CliResult<Profile> {
    let detection = match detect::detect(profile).await {
        Ok(detection) => detection,
        Err(e @ EngineError::NotSupported { .. }) => {
            eprintln!("tessera-cli: hint: name the stack with --preset NAME, or its paths with --obtain-path, --refresh-path and --blacklist-path");
            return Err(e.into());
        }
        Err(e) => return Err(e.into()),
    };
    let mut result = detection.profile.clone();
    apply(fields, &mut result)?;
    output::detection(&detection, &result);
    Ok(result)
}

/// Runs a profile subcommand.
pub async fn run(workspace: &Workspace, command: &ProfileCommand) -> CliResult<()> {
    match command {
        ProfileCommand::List { json } => {
            output::profile_list(&workspace.profile_list().await?, *json);
        }
        ProfileCommand::Show { name, json } => {
            output::profile(&workspace.profile_view(name).await?, *json);
        }
        ProfileCommand::Add {
            name,
            url,
            detect,
            fields,
        } => {
            let mut profile = parse_url(url)?;
            apply(fields, &mut profile)?;
            if *detect {
                profile = detected(&profile, fields).await?;
            }
            workspace.add_profile(name, profile).await?;
            eprintln!("added profile {name}");
        }
        ProfileCommand::Edit {
            name,
            url,
            detect,
            fields,
        } => {
            let base_url = url
                .as_deref()
                .map(parse_url)
                .transpose()?
                .map(|p| p.base_url);
            let change = move |profile: &mut Profile, fields: &ProfileFields| {
                if let Some(url) = &base_url {
                    profile.base_url = url.clone();
                }
                apply(fields, profile)
            };
            let saved = if *detect {
                let mut profile = workspace.profile(name).await?;
                change(&mut profile, fields)?;
                let found = detected(&profile, fields).await?;
                workspace
                    .edit_profile(name, move |profile| {
                        profile.clone_from(&found);
                        Ok(())
                    })
                    .await?
            } else {
                let fields = fields.as_ref().clone();
                workspace
                    .edit_profile(name, move |profile| change(profile, &fields))
                    .await?
            };
            report_move(name, &saved);
            eprintln!("updated profile {name}");
        }
        ProfileCommand::Remove { name } => {
            let removed = workspace.remove_profile(name).await?;
            if let Err(e) = removed.sign_out {
                eprintln!(
                    "tessera-cli: signing {name} out failed ({}); removed it anyway",
                    e.code()
                );
            }
            eprintln!("removed profile {name}");
        }
        ProfileCommand::Use { name } => {
            workspace.select_profile(name).await?;
            eprintln!("default profile: {name}");
        }
    }
    Ok(())
}

/// What signing out at the old server (before a URL change) did.
fn report_move(name: &str, saved: &Saved) {
    match &saved.moved_sign_out {
        None => {}
        Some(Err(e)) => eprintln!(
            "tessera-cli: could not sign {name} out at its old server first ({}); its session stays bound to that server",
            e.code()
        ),
        Some(Ok(outcome)) if outcome.server_revoked => eprintln!(
            "signed {name} out at its old server first; that server blacklisted the refresh token"
        ),
        Some(Ok(outcome)) => eprintln!(
            "signed {name} out locally first{}",
            outcome
                .server_note
                .as_deref()
                .map(|n| format!("; {}", output::shown(n)))
                .unwrap_or_default()
        ),
    }
}
