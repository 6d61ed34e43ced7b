//! The `tessera-backend` command line. These option names are an interface: the README, the
//! demo script and the test kit use them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::config::{
    Config, DatabaseLocation, SigningAlgorithm, UserSpec, DEFAULT_PASSWORD_ITERATIONS,
};

/// Reference backend speaking djangorestframework-simplejwt's protocol.
#[derive(Debug, Parser)]
#[command(name = "tessera-backend", version, about)]
pub struct Args {
    /// Address to listen on; port 0 picks a free port (the URL is printed).
    #[arg(long, default_value = "127.0.0.1:8000")]
    pub listen: SocketAddr,

    /// SQLite database file, or `:memory:` [default: tessera/backend.sqlite3 in the user's
    /// data directory]
    #[arg(long, value_name = "PATH")]
    pub database: Option<String>,

    /// Create or update a user (repeatable). Without any, a first run creates `demo` with a
    /// random password and prints it.
    #[arg(long = "user", value_name = "NAME:PASSWORD", value_parser = UserSpec::parse)]
    pub users: Vec<UserSpec>,

    /// Access token lifetime in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub access_lifetime: u64,

    /// Refresh token lifetime in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 86_400)]
    pub refresh_lifetime: u64,

    /// Answer refreshes with a new refresh token too (simplejwt ROTATE_REFRESH_TOKENS).
    #[arg(long)]
    pub rotate_refresh_tokens: bool,

    /// Blacklist a refresh token once it has been rotated (simplejwt BLACKLIST_AFTER_ROTATION).
    #[arg(long)]
    pub blacklist_after_rotation: bool,

    /// Signing algorithm.
    #[arg(long, value_enum, default_value = "HS256")]
    pub algorithm: SigningAlgorithm,

    /// Seconds of leeway when checking `exp` / `iat`.
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    pub leeway: u64,

    /// HS256 signing secret [default: random, stored in the database].
    #[arg(long, env = "TESSERA_BACKEND_SECRET", hide_env_values = true)]
    pub secret: Option<String>,

    /// RS256 private key, PEM file (PKCS#1 or PKCS#8) [default: generated once, stored in the
    /// database].
    #[arg(long, value_name = "PEM_FILE")]
    pub private_key: Option<PathBuf>,

    /// PBKDF2-SHA256 iterations for new password hashes.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_PASSWORD_ITERATIONS)]
    pub password_iterations: u32,

    /// Mount the /_test/ endpoints (counters, injected failures, delay, clock shift).
    /// For client test suites only; never enable on a server people use.
    #[arg(long)]
    pub test_controls: bool,

    /// Exit when standard input closes (lets a test runner that dies take the server along).
    #[arg(long, hide = true)]
    pub exit_on_stdin_eof: bool,
}

impl Args {
    /// Turns the arguments into a [`Config`], reading the private key file if one was given.
    pub fn into_config(self) -> anyhow::Result<Config> {
        let database = match self.database {
            Some(text) => DatabaseLocation::parse(&text),
            None => DatabaseLocation::File(default_database_path()?),
        };
        let private_key_pem = match &self.private_key {
            Some(path) => Some(std::fs::read_to_string(path).map_err(|err| {
                anyhow::anyhow!("cannot read private key {}: {err}", path.display())
            })?),
            None => None,
        };
        if self.password_iterations == 0 {
            anyhow::bail!("--password-iterations must be at least 1");
        }
        Ok(Config {
            database,
            create_demo_user_if_empty: self.users.is_empty(),
            users: self.users,
            access_lifetime: Duration::from_secs(self.access_lifetime),
            refresh_lifetime: Duration::from_secs(self.refresh_lifetime),
            rotate_refresh_tokens: self.rotate_refresh_tokens,
            blacklist_after_rotation: self.blacklist_after_rotation,
            algorithm: self.algorithm,
            leeway: Duration::from_secs(self.leeway),
            secret: self.secret,
            private_key_pem,
            password_iterations: self.password_iterations,
            test_controls: self.test_controls,
        })
    }
}

/// `<data dir>/tessera/backend.sqlite3` (e.g. `~/.local/share/tessera/backend.sqlite3`).
pub fn default_database_path() -> anyhow::Result<PathBuf> {
    let base = dirs::data_dir()
        .ok_or_else(|| anyhow::anyhow!("no user data directory; pass --database PATH"))?;
    Ok(base.join("tessera").join("backend.sqlite3"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_option_names_parse() {
        let args = Args::try_parse_from([
            "tessera-backend",
            "--listen",
            "127.0.0.1:0",
            "--database",
            ":memory:",
            "--user",
            "demo:demo-password",
            "--user",
            "ann:x:y",
            "--access-lifetime",
            "2",
            "--refresh-lifetime",
            "60",
            "--rotate-refresh-tokens",
            "--blacklist-after-rotation",
            "--algorithm",
            "RS256",
            "--leeway",
            "5",
            "--test-controls",
        ])
        .unwrap();
        let config = args.into_config().unwrap();
        assert_eq!(config.database, DatabaseLocation::Memory);
        assert_eq!(config.users.len(), 2);
        assert_eq!(config.users[1].password, "x:y");
        assert!(!config.create_demo_user_if_empty);
        assert_eq!(config.access_lifetime, Duration::from_secs(2));
        assert_eq!(config.refresh_lifetime, Duration::from_secs(60));
        assert!(config.rotate_refresh_tokens && config.blacklist_after_rotation);
        assert_eq!(config.algorithm, SigningAlgorithm::Rs256);
        assert_eq!(config.leeway, Duration::from_secs(5));
        assert!(config.test_controls);
    }

    #[test]
    fn defaults_are_simplejwt_defaults_and_controls_are_off() {
        let args = Args::try_parse_from(["tessera-backend", "--database", ":memory:"]).unwrap();
        assert_eq!(args.listen, "127.0.0.1:8000".parse().unwrap());
        let config = args.into_config().unwrap();
        assert_eq!(config.access_lifetime, Duration::from_secs(300));
        assert_eq!(config.refresh_lifetime, Duration::from_secs(86_400));
        assert!(!config.rotate_refresh_tokens);
        assert!(!config.blacklist_after_rotation);
        assert_eq!(config.algorithm, SigningAlgorithm::Hs256);
        assert!(!config.test_controls);
        assert!(config.create_demo_user_if_empty);
    }

    #[test]
    fn malformed_user_is_rejected() {
        assert!(Args::try_parse_from(["tessera-backend", "--user", "nopassword"]).is_err());
    }
}
