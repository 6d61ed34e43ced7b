//! Where `login` gets its secrets. The password: `--password-stdin`, else `TESSERA_PASSWORD`,
//! else a hidden prompt on a terminal — never a plain argument (it would land in shell history
//! and `ps`). A second-factor code: `--otp`, `--otp-stdin` (the line after the password when
//! both come from standard input), else a hidden prompt on a terminal (`login.rs`).

use std::io::{BufRead, IsTerminal};

use tessera_session::Password;

use crate::error::{CliError, CliResult};

pub const PASSWORD_ENV: &str = "TESSERA_PASSWORD";

pub fn read(from_stdin: bool) -> CliResult<Password> {
    let password = if from_stdin {
        stdin_line("the password")?
    } else if let Some(value) = std::env::var(PASSWORD_ENV).ok().filter(|v| !v.is_empty()) {
        Password::new(value)
    } else if std::io::stdin().is_terminal() {
        prompt("Password: ", "the password")?
    } else {
        return Err(CliError::usage(format!(
            "no password given: use --password-stdin, set {PASSWORD_ENV}, or run in a terminal to be asked"
        )));
    };
    if password.expose_secret().is_empty() {
        return Err(CliError::usage("the password is empty"));
    }
    Ok(password)
}

/// The encrypted-file store's passphrase: `--store-passphrase-stdin` (the first line of
/// standard input), else `TESSERA_STORE_PASSPHRASE`, else a hidden prompt on a terminal.
pub fn store_passphrase(from_stdin: bool) -> tessera_session::Result<Password> {
    let given = if from_stdin {
        stdin_line("the store passphrase").ok()
    } else if std::env::var_os("TESSERA_STORE_PASSPHRASE").is_some() {
        return tessera_session::workspace::passphrase_from_env();
    } else if std::io::stdin().is_terminal() {
        prompt(
            "Passphrase of the encrypted session file: ",
            "the store passphrase",
        )
        .ok()
    } else {
        None
    };
    match given {
        Some(p) if !p.expose_secret().is_empty() => Ok(p),
        _ => tessera_session::workspace::passphrase_from_env(),
    }
}

/// The next line of standard input (its line ending dropped). Standard input is buffered once
/// for the process, so a second call reads the second line.
pub fn stdin_line(what: &str) -> CliResult<Password> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|source| CliError::Io {
            what: format!("reading {what} from standard input"),
            source,
        })?;
    let trimmed_len = line.trim_end_matches(['\n', '\r']).len();
    line.truncate(trimmed_len);
    Ok(Password::new(line))
}

/// A hidden prompt on the terminal.
pub fn prompt(label: &str, what: &str) -> CliResult<Password> {
    rpassword::prompt_password(label)
        .map(Password::new)
        .map_err(|source| CliError::Io {
            what: format!("reading {what} from the terminal"),
            source,
        })
}
