//! [`TestServer`] for the real-package stacks: starting one, and what only a stack server has
//! (its [`Stack`], its options, the MFA recovery codes it printed). Apart from `stacks.rs`,
//! which describes the stacks and builds their command lines without knowing the server type.

use crate::options::{BackendKind, ServerOptions};
use crate::process::TestServer;
use crate::stacks::{stack_python, Stack, StackOptions};

impl TestServer {
    /// Starts a real-package stack (see [`Stack`]) on a free loopback port with a fresh
    /// database. Lifetimes, rotation, blacklist-after-rotation, leeway, users (each with email
    /// `NAME@example.com`) and test controls come from `options`; `password_iterations` does
    /// not apply (the stacks hash with MD5 for speed). `kind()` is [`BackendKind::Django`].
    pub async fn start_stack(
        stack: Stack,
        options: ServerOptions,
        stack_options: StackOptions,
    ) -> anyhow::Result<TestServer> {
        stack_options.check(stack, &options)?;
        stack_python(stack)?;
        Self::start_with(BackendKind::Django, options, Some((stack, stack_options))).await
    }

    /// The stack this server runs, if it was started with [`TestServer::start_stack`].
    pub fn stack(&self) -> Option<Stack> {
        self.stack.as_ref().map(|(stack, _)| *stack)
    }

    pub fn stack_options(&self) -> Option<&StackOptions> {
        self.stack.as_ref().map(|(_, options)| options)
    }

    /// MFA recovery codes of the enrolled user (printed by the server at its last start as
    /// `Recovery codes: a,b,...`); empty without MFA. After [`TestServer::start_again`] these
    /// are the still unused ones.
    pub fn recovery_codes(&self) -> Vec<String> {
        let logs = std::fs::read_to_string(self.data_dir().join("stdout.log")).unwrap_or_default();
        logs.lines()
            .rev()
            .find_map(|line| line.strip_prefix("Recovery codes:"))
            .map(|codes| {
                codes
                    .split(',')
                    .map(str::trim)
                    .filter(|code| !code.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
}
