//! Command-line flags for QA: `--profile NAME` picks a saved profile, `--server URL` points the
//! app at a server (saved as a profile named by `--profile`, or after the URL's host and port),
//! so a tester can launch it straight at staging. Unknown arguments are reported, not fatal:
//! launchers and WebDriver add their own.

use tessera_session::Launch;
use url::Url;

/// What the command line asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LaunchOptions {
    pub profile: Option<String>,
    pub server: Option<Url>,
    /// Problems with the flags, shown on the login screen.
    pub problems: Vec<String>,
}

impl LaunchOptions {
    /// Parses `--profile NAME`, `--profile=NAME`, `--server URL`, `--server=URL`.
    pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Self {
        let mut options = Self::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => {
                    (flag.to_owned(), Some(value.to_owned()))
                }
                _ => (arg.clone(), None),
            };
            match flag.as_str() {
                "--profile" | "--server" => {
                    let Some(value) = inline.or_else(|| args.next()) else {
                        options.problems.push(format!("{flag} needs a value"));
                        continue;
                    };
                    if flag == "--profile" {
                        options.profile = Some(value);
                    } else {
                        match Url::parse(&value) {
                            Ok(url) if matches!(url.scheme(), "http" | "https") => {
                                options.server = Some(url)
                            }
                            Ok(_) => options
                                .problems
                                .push(format!("--server {value}: use an http:// or https:// URL")),
                            Err(error) => {
                                options.problems.push(format!("--server {value}: {error}"))
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        options
    }

    /// The launch as the engine resolves it.
    pub fn launch(&self) -> Launch {
        Launch {
            profile: self.profile.clone(),
            server: self.server.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> LaunchOptions {
        LaunchOptions::parse(args.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn reads_profile_and_server_in_both_spellings() {
        let o = parse(&["--profile", "staging", "--server=https://api.example.com/"]);
        assert_eq!(o.profile.as_deref(), Some("staging"));
        assert_eq!(
            o.server.as_ref().map(Url::as_str),
            Some("https://api.example.com/")
        );
        assert!(o.problems.is_empty());
        assert_eq!(o.launch().server_profile_name().as_deref(), Some("staging"));
    }

    #[test]
    fn names_an_ad_hoc_server_after_host_and_port() {
        let o = parse(&["--server", "http://127.0.0.1:8000/"]);
        let name = o.launch().server_profile_name().unwrap_or_default();
        assert!(name.starts_with("127.0.0.1-8000-"), "{name}");
        assert_eq!(
            Some(name),
            tessera_session::profile::ad_hoc_name(
                &url::Url::parse("http://127.0.0.1:8000/").unwrap()
            )
            .into()
        );
    }

    #[test]
    fn reports_bad_flags_without_failing() {
        let o = parse(&["--server", "ftp://x", "--profile"]);
        assert_eq!(o.server, None);
        assert_eq!(o.problems.len(), 2, "{:?}", o.problems);
        let o = parse(&["--server", "not a url", "--unknown"]);
        assert_eq!(o.problems.len(), 1);
    }
}
