//! What the CLI prints: human text by default, JSON with `--json`. Tokens are never printed,
//! anything shaped like a JWT in a response body is redacted, a proxy's password is shown as
//! `***`, and text from a server goes through the engine's terminal sanitizer (except a raw
//! body written to a pipe, which stays byte for byte as received, tokens aside).

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use tessera_session::detect::Detection;
use tessera_session::workspace::{ProfileListing, ProfileView, Sent, WhoAmI};
use tessera_session::{pretty, redact, sanitize, LogoutOutcome, Profile, SessionStatus};

/// Text for a terminal: URL passwords hidden, control and bidi characters escaped.
pub fn shown(text: &str) -> String {
    sanitize::for_terminal(&redact::url_credentials_in_text(text)).into_owned()
}

pub fn profile_list(listing: &ProfileListing, json: bool) {
    if json {
        let list: Vec<_> = listing
            .profiles
            .iter()
            .map(|v| serde_json::json!({ "name": v.name, "base_url": v.profile.base_url, "default": v.is_default }))
            .collect();
        println!("{}", serde_json::Value::Array(list));
        return;
    }
    if listing.profiles.is_empty() {
        eprintln!("no profiles yet: add one with `tessera-cli profile add NAME --url URL`");
    }
    for view in &listing.profiles {
        let mark = if view.is_default { "*" } else { " " };
        println!(
            "{mark} {}\t{}",
            view.name,
            shown(view.profile.base_url.as_str())
        );
    }
}

/// What the optional settings a profile file leaves out mean, for `profile show`.
const UNSET: [(&str, &str); 6] = [
    ("preset", "(none: settings of its own)"),
    ("renewal_access_field", "(as access_field)"),
    ("renewal_refresh_field", "(as refresh_field)"),
    ("logout_request_field", "(as refresh_request_field)"),
    (
        "refresh_cookie",
        "(none: a refresh-token cookie is recognised)",
    ),
    ("mfa_verify_path", "(mfa/verify/ beside obtain_path)"),
];

/// One profile's settings (its proxy password already hidden by the engine).
pub fn profile(view: &ProfileView, json: bool) {
    let value = serde_json::to_value(&view.profile).unwrap_or_default();
    if json {
        println!(
            "{}",
            serde_json::json!({ "name": view.name, "profile": value })
        );
        return;
    }
    println!("{}", view.name);
    if let serde_json::Value::Object(mut map) = value {
        for (key, meaning) in UNSET {
            map.entry(key).or_insert_with(|| meaning.into());
        }
        for (key, v) in map {
            let text = match v {
                serde_json::Value::String(s) => s,
                serde_json::Value::Null => "(none)".to_owned(),
                other => other.to_string(),
            };
            println!("  {key:<24} {}", shown(&text));
        }
    }
}

/// What `--detect` found, on stderr: the stack, each finding, how many requests it took, and
/// which detected settings the flags given replaced.
pub fn detection(found: &Detection, saved: &Profile) {
    let stack = found
        .preset
        .as_deref()
        .unwrap_or("custom views (no preset)");
    eprintln!(
        "detected {} ({} requests, none carrying a password or a token)",
        shown(stack),
        found.probes
    );
    for line in &found.findings {
        eprintln!("  {}", shown(line));
    }
    let replaced = changed_settings(&found.profile, saved);
    if !replaced.is_empty() {
        eprintln!("  kept from your flags: {}", shown(&replaced.join(", ")));
    }
}

/// The settings whose values differ between two profiles.
fn changed_settings(before: &Profile, after: &Profile) -> Vec<String> {
    let object = |p: &Profile| match serde_json::to_value(p) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let (before, after) = (object(before), object(after));
    let mut keys: Vec<String> = before.keys().chain(after.keys()).cloned().collect();
    keys.sort();
    keys.dedup();
    keys.retain(|k| before.get(k) != after.get(k));
    keys
}

pub fn signed_in(status: &SessionStatus, base_url: &str) {
    eprintln!(
        "signed in to {} ({base_url}){}",
        status.profile,
        status
            .user_id
            .as_ref()
            .map(|id| format!(" as user id {}", shown(id)))
            .unwrap_or_default()
    );
}

pub fn signed_out(outcome: &LogoutOutcome) {
    match (outcome.server_revoked, &outcome.server_note) {
        (true, _) => eprintln!("signed out; the server blacklisted the refresh token"),
        (false, Some(note)) => eprintln!("signed out locally; {}", shown(note)),
        (false, None) => eprintln!("signed out"),
    }
}

pub fn who(who: &WhoAmI, json: bool) {
    if json {
        println!("{}", serde_json::to_value(who).unwrap_or_default());
    } else {
        println!("{}", shown(&who.display));
    }
}

/// `HTTP 200 · 12 ms`, on stderr (the body goes to stdout).
pub fn response_line(sent: &Sent) {
    eprintln!(
        "HTTP {} · {} ms{}",
        sent.response.status,
        sent.elapsed_ms,
        if sent.response.replayed {
            " · replayed after 401"
        } else {
            ""
        }
    );
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// "in 4 min 12 s" / "3 s ago".
pub fn relative(at: i64, now: i64) -> String {
    let delta = at - now;
    let s = delta.unsigned_abs();
    let span = if s < 60 {
        format!("{s} s")
    } else if s < 3600 {
        format!("{} min {} s", s / 60, s % 60)
    } else if s < 86_400 {
        format!("{} h {} min", s / 3600, (s % 3600) / 60)
    } else {
        format!("{} d {} h", s / 86_400, (s % 86_400) / 3600)
    };
    if delta >= 0 {
        format!("in {span}")
    } else {
        format!("{span} ago")
    }
}

pub fn status(status: &SessionStatus, base_url: &str, store: &str, json: bool) {
    let server_now = now_secs() + status.clock_offset_ms / 1000;
    let refresh_due = status.next_refresh_at.is_some_and(|at| at <= server_now);
    if json {
        let mut value = serde_json::to_value(status).unwrap_or_default();
        if let serde_json::Value::Object(map) = &mut value {
            map.insert("base_url".into(), base_url.into());
            map.insert("refresh_due".into(), refresh_due.into());
            map.insert("store".into(), store.into());
        }
        println!("{value}");
        return;
    }
    println!("profile   {} ({base_url})", status.profile);
    println!("store     {store}");
    if !status.signed_in {
        println!(
            "signed in no{}",
            status
                .reason
                .as_deref()
                .map(|r| format!(" ({})", shown(r)))
                .unwrap_or_default()
        );
        return;
    }
    let who = status
        .user_id
        .as_ref()
        .map(|id| format!("user id {}", shown(id)))
        .unwrap_or_else(|| "yes".to_owned());
    println!("signed in {who}");
    if let Some(at) = status.access_expires_at {
        let state = if status.access_expired {
            "expired"
        } else {
            "expires"
        };
        println!("access    {state} {}", relative(at, server_now));
    }
    if let Some(at) = status.refresh_expires_at {
        println!("session   renewable until {}", relative(at, server_now));
    }
    match status.next_refresh_at {
        Some(_) if refresh_due => println!("refresh   due now (the next request refreshes first)"),
        Some(at) => println!("refresh   due {}", relative(at, server_now)),
        None => {}
    }
    if status.clock_offset_ms.abs() >= 1000 {
        let side = if status.clock_offset_ms > 0 {
            "ahead"
        } else {
            "behind"
        };
        println!(
            "clock     server {side} by {} s",
            status.clock_offset_ms.abs() / 1000
        );
    }
}

/// The response body to stdout: pretty JSON (the engine's bounded re-indenter) when asked,
/// raw otherwise; JWTs redacted either way. Pretty output and raw output to a terminal are
/// sanitized; raw output to a pipe is the body byte for byte. Returns the re-indenter's note
/// (why a JSON body is shown as received) for stderr.
pub fn body(bytes: &[u8], pretty: bool, terminal: bool) -> std::io::Result<Option<String>> {
    let mut stdout = std::io::stdout().lock();
    let note = if pretty {
        let formatted = pretty::format(bytes, &pretty::LIMITS);
        let redacted = redact::redact_tokens(&formatted.text);
        let text = sanitize::for_terminal(&redacted);
        stdout.write_all(text.as_bytes())?;
        if formatted.indented {
            stdout.write_all(b"\n")?;
        }
        formatted.note
    } else {
        let redacted = redact::redact_token_bytes(bytes);
        if terminal {
            stdout.write_all(sanitize::bytes_for_terminal(&redacted).as_bytes())?;
        } else {
            stdout.write_all(&redacted)?;
        }
        None
    };
    stdout.flush()?;
    Ok(note)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_read_naturally() {
        assert_eq!(relative(100, 100), "in 0 s");
        assert_eq!(relative(160, 100), "in 1 min 0 s");
        assert_eq!(relative(90, 100), "10 s ago");
        assert_eq!(relative(100 + 7200 + 60, 100), "in 2 h 1 min");
        assert_eq!(relative(100 + 2 * 86_400, 100), "in 2 d 0 h");
    }

    #[test]
    fn changed_settings_name_what_differs() {
        let before = Profile::from_base_url("http://127.0.0.1:1/").unwrap();
        let mut after = before.clone();
        assert!(changed_settings(&before, &after).is_empty());
        after.login_field = "email".into();
        after.refresh_cookie = Some("jwt-refresh".into());
        assert_eq!(
            changed_settings(&before, &after),
            ["login_field", "refresh_cookie"]
        );
    }
}
