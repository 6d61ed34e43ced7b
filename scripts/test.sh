#!/usr/bin/env bash
# Tessera's whole test suite: the one command CI runs (`.ci/run` calls exactly this).
# Sets up what is missing, then: formatting, clippy (warnings are errors), a release-mode
# build of the app and its .deb, .rpm and AppImage, every test (unit, integration against real Django + simplejwt and
# the Rust backend, real Secret Service, and WebDriver tests of the real window) under Xvfb,
# then the .deb installed and the .deb and the AppImage updated to the next version through the
# real updater.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

start=$SECONDS
step() {
  printf '\n\033[1;34m==> [%4ss] %s\033[0m\n' "$((SECONDS - start))" "$*" >&2
}

# Under sudo: set-up needs root for apt, but builds, tests and the app belong to the user who
# typed sudo (their toolchain, their checkout, their D-Bus session).
if [ "$(id -u)" -eq 0 ] && [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ] && [ -z "${TESSERA_SETUP_DONE:-}" ]; then
  bash scripts/setup.sh test
  exec sudo -u "$SUDO_USER" -H --preserve-env=DISPLAY,WAYLAND_DISPLAY,XAUTHORITY,CI \
    env TESSERA_SETUP_DONE=1 bash "$0" "$@"
fi
step "set-up (installs only what is missing)"
[ -n "${TESSERA_SETUP_DONE:-}" ] || bash scripts/setup.sh test

step "lint the GitHub workflows (actionlint + shellcheck)"
bash scripts/lint-workflows.sh

step "cargo fmt --all --check"
cargo fmt --all --check

step "cargo clippy --workspace --all-targets -- -D warnings (every test target, the e2e ones included)"
cargo clippy --workspace --all-targets --locked --features tessera-e2e/e2e-update -- -D warnings

step "build the app like a release, and its .deb, .rpm and AppImage (pinned Tauri CLI)"
bash scripts/package.sh build
export TESSERA_APP_BIN="$ROOT/target/release/tessera"

step "build the reference backend binary the tests start"
cargo build --locked -p tessera-backend -p tessera-cli
export TESSERA_BACKEND_BIN="$ROOT/target/debug/tessera-backend"

step "cargo test --workspace (under Xvfb + D-Bus + gnome-keyring, WebDriver tests on)"
mkdir -p artifacts
bash scripts/session-env.sh cargo test --workspace --locked --features tessera-e2e/e2e

step "inspect the .rpm; start the AppImage, and the .deb installed with dpkg -i, to the login screen"
bash scripts/package.sh check

step "update an installed .deb and an AppImage N to N+1 through the real updater (test-only loopback feed)"
bash scripts/update-test.sh

step "all checks passed in $((SECONDS - start)) s"
