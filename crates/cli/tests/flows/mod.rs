//! `profile add/edit --detect`, two-step sign-in (`login --otp`, `--otp-stdin`), the stores, and
//! the session lent to other tools (`proxy`, `exec`), run as a QA engineer runs them. Against the Django + simplejwt test server and the Rust reference
//! backend, and, for a server that asks for a second factor, a scripted one (`super::scripted_server`).

mod detect;
mod proxy;
mod second_factor;
mod stacks;
mod stores;

use std::process::Output;

use super::Env;

/// `login --username USER` with `extra` flags and `target` (`--profile P` or `--server URL`)
/// before the subcommand, `stdin` written to standard input (closed right after), and
/// `password` in `TESSERA_PASSWORD` when given.
async fn login_with(
    env: &mut Env,
    target: &[&str],
    user: &str,
    extra: &[&str],
    stdin: &str,
    password: Option<&str>,
) -> Output {
    use tokio::io::AsyncWriteExt;
    let mut args = target.to_vec();
    args.extend(["login", "--username", user]);
    args.extend_from_slice(extra);
    let mut cmd = env.command(&args);
    if let Some(password) = password {
        cmd.env("TESSERA_PASSWORD", password);
    }
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    // The CLI reads only the lines it needs: a broken pipe here is not the test's concern.
    let _ = input.write_all(stdin.as_bytes()).await;
    drop(input);
    let out = child.wait_with_output().await.unwrap();
    env.record(&out);
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
