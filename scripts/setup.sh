#!/usr/bin/env bash
# Installs what Tessera needs on Debian 12 / Ubuntu 22.04+, and only what is missing.
# Idempotent: a second run changes nothing. Works as root, as a user with sudo, or under sudo
# (per-user tools then go to the invoking user, not root).
#
#   bash scripts/setup.sh demo   # what the demo needs: system libraries, Rust, Node + Tauri CLI
#   bash scripts/setup.sh test   # demo + Xvfb, WebDriver, gnome-keyring, tauri-driver, Python venv
#   bash scripts/setup.sh bench  # demo + Xvfb, gnome-keyring, D-Bus (what scripts/bench.sh runs in)
set -euo pipefail

MODE="${1:-test}"
case "$MODE" in demo | test | bench) ;; *)
  echo "usage: $0 [demo|test|bench]" >&2
  exit 2
  ;;
esac

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Pinned tool versions (keep in step with Cargo.toml / package.json / requirements.txt).
TAURI_DRIVER_VERSION="2.0.4"
MIN_RUST="1.85.0"
MIN_NODE_MAJOR=18

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*" >&2; }
die() {
  printf '\033[1;31m[setup]\033[0m %s\n' "$*" >&2
  exit 1
}

# --- who does what: apt needs root; cargo/npm/pip belong to the invoking user -------------
if [ "$(id -u)" -eq 0 ]; then
  AS_ROOT=()
else
  AS_ROOT=(sudo) # checked only when something has to be installed
fi
if [ "$(id -u)" -eq 0 ] && [ -n "${SUDO_USER:-}" ] && [ "${SUDO_USER}" != root ]; then
  # Run per-user steps as the person who typed `sudo`, with their environment.
  USER_HOME="$(getent passwd "$SUDO_USER" | cut -d: -f6)"
  as_user() { sudo -u "$SUDO_USER" -H env PATH="$USER_HOME/.cargo/bin:$PATH" "$@"; }
else
  as_user() { "$@"; }
fi

# --- system packages -----------------------------------------------------------------------
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

want=(libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev librsvg2-dev
  libssl-dev libdbus-1-dev pkg-config build-essential curl file ca-certificates)
if [ "$MODE" = test ]; then
  want+=(xvfb xauth webkit2gtk-driver gnome-keyring dbus dbus-x11 libglib2.0-bin)
  # The update test (scripts/update-test.sh): the updater installs a .deb through sudo when
  # pkexec and a password dialog are absent; secret-tool lists the keyring items, xwininfo the
  # restarted window; rpm inspects the .rpm (package.sh check).
  want+=(sudo libsecret-tools x11-utils rpm)
fi
if [ "$MODE" = bench ]; then
  # session-env.sh (Xvfb, D-Bus, keyring); binutils for `size` on the app binary.
  want+=(xvfb xauth gnome-keyring dbus dbus-x11 binutils)
fi
command -v python3 >/dev/null || want+=(python3)
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then want+=(python3-venv); fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then want+=(nodejs npm); fi

missing=()
for p in "${want[@]}"; do have_pkg "$p" || missing+=("$p"); done
# python3/node may come from pyenv/nvm rather than dpkg: only ask apt when the command is absent.
filtered=()
for p in "${missing[@]}"; do
  case "$p" in
  python3) command -v python3 >/dev/null || filtered+=("$p") ;;
  nodejs | npm) command -v "${p/nodejs/node}" >/dev/null || filtered+=("$p") ;;
  *) filtered+=("$p") ;;
  esac
done
if [ "${#filtered[@]}" -gt 0 ]; then
  if [ "${#AS_ROOT[@]}" -gt 0 ] && ! command -v sudo >/dev/null; then
    die "missing system packages (${filtered[*]}) and no sudo: run as root, or install them"
  fi
  log "installing system packages: ${filtered[*]}"
  "${AS_ROOT[@]}" apt-get update -qq
  "${AS_ROOT[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${filtered[@]}" >/dev/null
else
  log "system packages: all present"
fi

# --- Rust ----------------------------------------------------------------------------------
export PATH="$HOME/.cargo/bin:$PATH"
if ! as_user bash -c 'command -v cargo' >/dev/null; then
  log "Rust not found: installing the stable toolchain with rustup (rustup.rs)"
  as_user bash -c 'curl --proto "=https" --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component rustfmt,clippy'
fi
rust_version="$(as_user rustc --version | awk '{print $2}')"
if [ "$(printf '%s\n%s\n' "$MIN_RUST" "$rust_version" | sort -V | head -1)" != "$MIN_RUST" ]; then
  if as_user bash -c 'command -v rustup' >/dev/null; then
    log "Rust $rust_version is older than $MIN_RUST: updating with rustup"
    as_user rustup update stable
  else
    die "Rust $rust_version is older than $MIN_RUST and rustup is not available to update it"
  fi
fi
for component in rustfmt clippy; do
  if ! as_user cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
    as_user rustup component add "$component"
  fi
done

# --- Node + the pinned Tauri CLI ------------------------------------------------------------
node_major="$(node --version | sed 's/^v\([0-9]*\).*/\1/')"
[ "$node_major" -ge "$MIN_NODE_MAJOR" ] || die "Node.js $node_major is too old: the Tauri CLI needs $MIN_NODE_MAJOR or later (Debian 12 and Ubuntu 24.04 ship 18; on older systems install a newer Node.js first)"
pinned_cli="$(sed -n 's/.*"@tauri-apps\/cli": "\([^"]*\)".*/\1/p' package.json)"
pinned_axe="$(sed -n 's/.*"axe-core": "\([^"]*\)".*/\1/p' package.json)"
installed_axe="$(sed -n 's/^  "version": "\([^"]*\)".*/\1/p' node_modules/axe-core/package.json 2>/dev/null || true)"
if [ "$(as_user ./node_modules/.bin/tauri --version 2>/dev/null | awk '{print $2}')" != "$pinned_cli" ] ||
  [ "$installed_axe" != "$pinned_axe" ]; then
  # package.json pins the CLI exactly, and the CLI pins its platform binary exactly. No lock
  # file: npm 11 writes locks without other platforms' optional binaries, which `npm ci` rejects.
  log "installing the Tauri CLI $pinned_cli and axe-core $pinned_axe (npm install)"
  as_user npm install --no-package-lock --no-audit --no-fund --loglevel=error
else
  log "Tauri CLI $pinned_cli, axe-core $pinned_axe: present"
fi

if [ "$MODE" = test ]; then
  # --- tauri-driver (WebDriver proxy for the real window) -----------------------------------
  # tauri-driver has no --version: ask cargo what it installed.
  if ! as_user cargo install --list | grep -q "^tauri-driver v$TAURI_DRIVER_VERSION:"; then
    log "installing tauri-driver $TAURI_DRIVER_VERSION (cargo install --locked)"
    as_user cargo install tauri-driver --locked --version "$TAURI_DRIVER_VERSION" --quiet
  else
    log "tauri-driver $TAURI_DRIVER_VERSION: present"
  fi

  # --- Python virtualenv with the pinned Django + DRF + simplejwt test backend --------------
  req="tests/django/requirements.txt"
  if [ -f "$req" ]; then
    stamp=".venv/.requirements.sha256"
    sum="$(sha256sum "$req" | awk '{print $1}')"
    if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
      log "creating the Python test environment (.venv) from $req"
      as_user python3 -m venv .venv
      as_user .venv/bin/pip install --quiet --disable-pip-version-check -r "$req"
      as_user bash -c "echo '$sum' > '$stamp'"
    else
      log "Python test environment: up to date"
    fi
  fi

  # --- one virtualenv per real-package stack (tests/django/stacks/<stack>) -----------------
  # Their pins conflict (djoser needs PyJWT>=2.13), so each gets .venv-stacks/<stack>.
  as_user mkdir -p .venv-stacks
  [ -f .venv-stacks/.gitignore ] || as_user bash -c "echo '*' > .venv-stacks/.gitignore"
  for req in tests/django/stacks/*/requirements.txt; do
    [ -f "$req" ] || continue
    stack="$(basename "$(dirname "$req")")"
    venv=".venv-stacks/$stack"
    stamp="$venv/.requirements.sha256"
    sum="$(sha256sum "$req" | awk '{print $1}')"
    if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
      log "creating the $stack stack environment ($venv) from $req"
      as_user python3 -m venv "$venv"
      as_user "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
      as_user "$venv/bin/pip" check --disable-pip-version-check >/dev/null ||
        die "$venv: pip check failed (run $venv/bin/pip check)"
      as_user bash -c "echo '$sum' > '$stamp'"
    else
      log "$stack stack environment: up to date"
    fi
  done
fi

log "setup ($MODE) complete"
