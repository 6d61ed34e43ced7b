//! The command line's shape (clap derive): every flag and subcommand, with the help text and
//! the exit codes documented in `--help`.

use std::path::PathBuf;
use std::sync::LazyLock;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};
use tessera_session::profile::Preset;
use tessera_session::Password;

pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success (a 2xx response)
  1  the server answered with an HTTP error status
  2  usage error: bad flags, unknown profile, malformed URL, invalid JSON, missing password
  3  login required or session expired (sign in again), or a sign-in not completed: the
     server asks for a second-factor code (mfa_required), refused it (mfa_code_rejected) or
     the step waiting for it expired (mfa_expired)
  4  network or TLS failure (server down, timeout, untrusted certificate)
  5  no store can keep the session (locked keyring, no Secret Service and no kernel
     keyring), or the encrypted session file's passphrase is wrong or the file was changed
  6  the server's answer could not be used (not what a simplejwt server sends, or a token
     that failed verification): check the profile's paths, field names and verifying key

The CLI shares the desktop app's profiles file, keyring entries and refresh lock: a sign-in in
one is a sign-in in the other. Tokens are never printed.";

/// Tessera's QA command line: sign in to a Django/simplejwt API and send authenticated requests.
#[derive(Debug, Parser)]
#[command(name = "tessera-cli", version, about, after_long_help = EXIT_CODES_HELP)]
pub struct Cli {
    /// Use this saved profile (default: the profile used last; --server wins over it).
    #[arg(long, global = true, value_name = "NAME", env = "TESSERA_PROFILE")]
    pub profile: Option<String>,
    /// Use an ad-hoc profile for this server URL (simplejwt defaults), without saving it.
    #[arg(long, global = true, value_name = "URL")]
    pub server: Option<String>,
    /// Where sessions are kept: auto (the OS keyring, else on Linux the kernel keyring),
    /// secret-service / keychain / credential-manager, keyutils, or encrypted-file (a file
    /// sealed with a passphrase: TESSERA_STORE_PASSPHRASE, --store-passphrase-stdin or a prompt).
    #[arg(long, global = true, value_name = "STORE", env = "TESSERA_STORE")]
    pub store: Option<String>,
    /// With --store encrypted-file: read the passphrase from the first line of standard input
    /// (before the password with --password-stdin).
    #[arg(long, global = true)]
    pub store_passphrase_stdin: bool,
    /// Print session events (refreshed, replayed after 401, ...) to stderr.
    #[arg(long, short, global = true)]
    pub verbose: bool,
    /// The data directory holding profiles.json and the refresh locks (default: the app's).
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        env = "TESSERA_DATA_DIR",
        hide = true
    )]
    pub data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage saved profiles (named backends).
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Sign in and store the tokens in the OS keyring.
    Login(LoginArgs),
    /// Show who is signed in and when the tokens expire (never the tokens).
    Status(StatusArgs),
    /// Show who is signed in: the profile's "me" endpoint when it has one, else the token's
    /// user id (a network call; refreshes first when the token is due).
    Whoami(StatusArgs),
    /// Send an authenticated request (refreshed before expiry, replayed once after a 401).
    Request(RequestArgs),
    /// Sign out: blacklist the refresh token (if configured) and clear the keyring.
    Logout,
    /// Lend the session to other tools: a local authenticating proxy to the profile's server.
    /// Its first line on stdout is `TESSERA_PROXY=http://127.0.0.1:PORT/CAPABILITY`; a request
    /// to `$TESSERA_PROXY/api/items/` goes to `<base URL>/api/items/` with a fresh token (never
    /// shown to the tool). Anything without the capability is refused (403), and so are the
    /// token endpoints. Runs until Ctrl-C or SIGTERM; a sign-out (here, in the app, in another
    /// CLI) ends what it lends.
    Proxy(ProxyArgs),
    /// Run a command with the session lent to it: a proxy on a free port for as long as the
    /// command runs, its URL in the command's TESSERA_PROXY (no secret in its environment);
    /// exits with the command's exit code. Example: tessera-cli exec -- sh -c 'curl -sf
    /// "$TESSERA_PROXY/api/me/"'
    Exec(ExecArgs),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// List saved profiles.
    List {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Show one profile's settings.
    Show {
        name: String,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Add a profile.
    Add {
        name: String,
        /// The API's base URL, e.g. https://staging.example.com/
        #[arg(long)]
        url: String,
        /// Ask the server which Django JWT stack it runs and fill the profile from its answers
        /// (empty requests only, never a password). Instead of --preset; other flags win.
        #[arg(long, conflicts_with = "preset")]
        detect: bool,
        #[command(flatten)]
        fields: Box<ProfileFields>,
    },
    /// Change some settings of a profile.
    Edit {
        name: String,
        /// A new base URL.
        #[arg(long)]
        url: Option<String>,
        /// Detect the server's stack again (see `profile add --detect`); other flags win.
        #[arg(long, conflicts_with = "preset")]
        detect: bool,
        #[command(flatten)]
        fields: Box<ProfileFields>,
    },
    /// Remove a profile (signs it out first).
    Remove { name: String },
    /// Make a profile the default.
    Use { name: String },
}

/// Every profile setting of the session engine. Unset flags leave a setting as it is.
#[derive(Debug, Clone, Default, Args)]
pub struct ProfileFields {
    #[arg(long, value_name = "PRESET", help = preset_help())]
    pub preset: Option<String>,
    /// Token obtain path.
    #[arg(long, value_name = "PATH")]
    pub obtain_path: Option<String>,
    /// Token refresh path.
    #[arg(long, value_name = "PATH")]
    pub refresh_path: Option<String>,
    /// Token verify path ("none" to switch it off).
    #[arg(long, value_name = "PATH")]
    pub verify_path: Option<String>,
    /// Token blacklist path used on logout ("none" to switch it off).
    #[arg(long, value_name = "PATH")]
    pub blacklist_path: Option<String>,
    /// Registration path ("none" to switch it off).
    #[arg(long, value_name = "PATH")]
    pub registration_path: Option<String>,
    /// Current-user path, shown on the app's home screen ("none" to switch it off).
    #[arg(long, value_name = "PATH")]
    pub me_path: Option<String>,
    /// Login field name (`username`, `email`, ...).
    #[arg(long, value_name = "FIELD")]
    pub login_field: Option<String>,
    /// Password field name.
    #[arg(long, value_name = "FIELD")]
    pub password_field: Option<String>,
    /// Access token field in responses (`access` or `access_token`).
    #[arg(long, value_name = "FIELD")]
    pub access_field: Option<String>,
    /// Refresh token field in responses (`refresh` or `refresh_token`).
    #[arg(long, value_name = "FIELD")]
    pub refresh_field: Option<String>,
    /// Refresh token field in refresh and blacklist request bodies.
    #[arg(long, value_name = "FIELD")]
    pub refresh_request_field: Option<String>,
    /// Access token field in refresh answers when it differs from sign-in's ("none": the same).
    #[arg(long, value_name = "FIELD")]
    pub renewal_access_field: Option<String>,
    /// Refresh token field in refresh answers when it differs from sign-in's ("none": the same).
    #[arg(long, value_name = "FIELD")]
    pub renewal_refresh_field: Option<String>,
    /// Refresh token field in the logout body when it differs from the refresh body's
    /// ("none": the same).
    #[arg(long = "logout-field", value_name = "FIELD")]
    pub logout_request_field: Option<String>,
    /// The cookie carrying the refresh token, for servers that keep it out of the body
    /// ("none": recognise it by itself).
    #[arg(long, value_name = "NAME")]
    pub refresh_cookie: Option<String>,
    /// Second-factor (MFA) verify path ("none": mfa/verify/ beside the obtain path).
    #[arg(long, value_name = "PATH")]
    pub mfa_verify_path: Option<String>,
    /// Use the field names of custom Django login views (`access_token`/`refresh_token`).
    #[arg(long)]
    pub custom_view_fields: bool,
    /// Sliding-token mode (simplejwt sliding views).
    #[arg(long, value_name = "BOOL")]
    pub sliding: Option<bool>,
    /// Token field in sliding-mode responses and refresh bodies.
    #[arg(long, value_name = "FIELD")]
    pub sliding_token_field: Option<String>,
    /// Authorization header type.
    #[arg(long, value_name = "TYPE")]
    pub auth_header_type: Option<String>,
    /// The user id claim (simplejwt USER_ID_CLAIM).
    #[arg(long, value_name = "CLAIM")]
    pub user_id_claim: Option<String>,
    /// Refresh this many seconds before expiry.
    #[arg(long, value_name = "SECS")]
    pub refresh_margin: Option<u64>,
    /// Total time allowed for one request, seconds.
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
    /// Time allowed to connect, seconds.
    #[arg(long, value_name = "SECS")]
    pub connect_timeout: Option<u64>,
    /// A PEM CA certificate trusted for this profile only ("none" to remove).
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<String>,
    /// A proxy URL for this profile ("none" to remove).
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,
    /// Allow plain http:// to a host other than this machine (credentials in clear text).
    #[arg(long, value_name = "BOOL")]
    pub allow_insecure_http: Option<bool>,
    /// Verify token signatures with this algorithm (RS256, ES256, EdDSA, ...; "none" turns
    /// verification off). Needs --verify-key or --jwks-url.
    #[arg(long, value_name = "ALG")]
    pub verify_alg: Option<String>,
    /// The server's PEM public key, for --verify-alg.
    #[arg(long, value_name = "FILE", conflicts_with = "jwks_url")]
    pub verify_key: Option<PathBuf>,
    /// The server's JWK Set URL (simplejwt JWK_URL), for --verify-alg.
    #[arg(long, value_name = "URL")]
    pub jwks_url: Option<String>,
    /// The `aud` tokens must carry (simplejwt AUDIENCE; "none" to accept any).
    #[arg(long, value_name = "AUD")]
    pub audience: Option<String>,
    /// The `iss` tokens must carry (simplejwt ISSUER; "none" to accept any).
    #[arg(long, value_name = "ISS")]
    pub issuer: Option<String>,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The username (or email, per the profile's login field).
    #[arg(long, short, value_name = "USER")]
    pub username: String,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// The second-factor code, if the server asks for one (ignored otherwise).
    #[arg(long, value_name = "CODE", value_parser = secret_code, conflicts_with = "otp_stdin")]
    pub otp: Option<Password>,
    /// Read the second-factor code from standard input, if the server asks for one (the
    /// second line with --password-stdin, else the first).
    #[arg(long)]
    pub otp_stdin: bool,
}

/// `--otp CODE`, kept as a secret from the moment it is parsed.
fn secret_code(value: &str) -> Result<Password, String> {
    Ok(Password::new(value.to_owned()))
}

/// The `--preset` help, listing every preset the engine knows.
fn preset_help() -> &'static str {
    static HELP: LazyLock<String> = LazyLock::new(|| {
        format!(
            "Start from a Django stack's endpoints and field names: {}. Other flags given with it win",
            Preset::ALL.map(Preset::name).join(", ")
        )
    });
    HELP.as_str()
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Pretty,
    Raw,
}

#[derive(Debug, Args)]
pub struct ProxyArgs {
    /// Where to listen: 127.0.0.1:PORT or [::1]:PORT, loopback only (port 0: a free one).
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:0")]
    pub listen: String,
    #[command(flatten)]
    pub lending: LendingArgs,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    #[command(flatten)]
    pub lending: LendingArgs,
    /// The command and its arguments (after `--`).
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CMD"
    )]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct LendingArgs {
    /// Request bodies up to this many bytes are buffered, so a request refused with an expired
    /// token is replayed after the refresh; larger bodies stream to the server once.
    #[arg(long, value_name = "BYTES", default_value_t = tessera_proxy::DEFAULT_REPLAY_LIMIT)]
    pub replay_limit: usize,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("payload").args(["json", "data"])))]
pub struct RequestArgs {
    /// HTTP method (GET, POST, PUT, PATCH, DELETE, ...).
    pub method: String,
    /// Path on the profile's server (or an absolute URL on the same origin).
    pub path: String,
    /// A JSON body (validated before sending).
    #[arg(long, value_name = "BODY")]
    pub json: Option<String>,
    /// A body: literal text, @FILE to read a file, @- to read standard input.
    #[arg(long, short, value_name = "DATA")]
    pub data: Option<String>,
    /// An extra header, 'Name: value' (repeatable).
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// Response body format (default: pretty on a terminal, raw otherwise).
    #[arg(long, value_enum)]
    pub output: Option<OutputFormat>,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_preset_help_lists_every_preset() {
        let mut command = Cli::command();
        let add = command
            .find_subcommand_mut("profile")
            .and_then(|c| c.find_subcommand_mut("add"))
            .map(|c| c.render_help().to_string())
            .unwrap_or_default();
        for preset in Preset::ALL {
            assert!(
                add.contains(preset.name()),
                "{:?} missing: {add}",
                preset.name()
            );
        }
    }

    #[test]
    fn an_otp_code_is_parsed_into_a_secret() {
        let cli = Cli::try_parse_from(["tessera-cli", "login", "-u", "qa", "--otp", "123456"]);
        let Ok(Cli {
            command: Command::Login(LoginArgs { otp, .. }),
            ..
        }) = cli
        else {
            panic!("login --otp did not parse: {cli:?}");
        };
        assert_eq!(otp.as_ref().map(Password::expose_secret), Some("123456"));
        assert!(!format!("{otp:?}").contains("123456"));
        let both = [
            "tessera-cli",
            "login",
            "-u",
            "qa",
            "--otp",
            "1",
            "--otp-stdin",
        ];
        assert!(Cli::try_parse_from(both).is_err());
    }
}
