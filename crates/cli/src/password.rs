//! Where `login` gets the password: `--password-stdin`, else `TESSERA_PASSWORD`, else a hidden
//! prompt on a terminal — never a plain argument (it would land in shell history and `ps`).

use std::io::{BufRead, IsTerminal};

use tessera_session::Password;

use crate::error::{CliError, CliResult};

pub const PASSWORD_ENV: &str = "TESSERA_PASSWORD";

pub fn read(from_stdin: bool) -> CliResult<Password> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|source| CliError::Io {
                what: "reading the password from standard input".into(),
                source,
            })?;
        let trimmed_len = line.trim_end_matches(['\n', '\r']).len();
        line.truncate(trimmed_len);
        line
    } else if let Some(value) = std::env::var(PASSWORD_ENV).ok().filter(|v| !v.is_empty()) {
        value
    } else if std::io::stdin().is_terminal() {
        rpassword::prompt_password("Password: ").map_err(|source| CliError::Io {
            what: "reading the password from the terminal".into(),
            source,
        })?
    } else {
        return Err(CliError::usage(format!(
            "no password given: use --password-stdin, set {PASSWORD_ENV}, or run in a terminal to be asked"
        )));
    };
    if password.is_empty() {
        return Err(CliError::usage("the password is empty"));
    }
    Ok(Password::new(password))
}
