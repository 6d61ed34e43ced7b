//! Diagnostics for every shell: logs go to stderr, filtered by `TESSERA_LOG` (tracing's
//! `EnvFilter` syntax) or the shell's default. Nothing the engine logs carries a token or a
//! password.

/// Sends the process's logs to stderr; `default_filter` applies when `TESSERA_LOG` is unset
/// or invalid. Calling it twice keeps the first set-up.
pub fn init(default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TESSERA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
