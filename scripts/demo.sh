#!/usr/bin/env bash
# Sets up what is missing, starts the reference backend (`tessera-backend`) on loopback with a
# demo account, and launches the Tessera desktop app pointed at it. Ctrl-C or closing the window
# stops both.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"

DEMO_USER="demo"
DEMO_PASSWORD="tessera-demo"

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "demo: no display found (DISPLAY/WAYLAND_DISPLAY unset). Run this from a desktop session," >&2
  echo "      or give it a virtual display and keyring:" >&2
  echo "      bash scripts/setup.sh test && bash scripts/session-env.sh bash scripts/demo.sh" >&2
  exit 1
fi

# Under sudo: set-up needs root for apt, but builds, tests and the app belong to the user who
# typed sudo (their toolchain, their checkout, their D-Bus session).
if [ "$(id -u)" -eq 0 ] && [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ] && [ -z "${TESSERA_SETUP_DONE:-}" ]; then
  bash scripts/setup.sh demo
  exec sudo -u "$SUDO_USER" -H --preserve-env=DISPLAY,WAYLAND_DISPLAY,XAUTHORITY,CI \
    env TESSERA_SETUP_DONE=1 bash "$0" "$@"
fi
[ -n "${TESSERA_SETUP_DONE:-}" ] || bash scripts/setup.sh demo

echo "[demo] building the reference backend and the app (release mode; the first build takes a few minutes)" >&2
cargo build --release --locked -p tessera-backend -p tessera-cli
./node_modules/.bin/tauri build --no-bundle --ci

data_dir="${XDG_DATA_HOME:-$HOME/.local/share}/tessera-demo"
mkdir -p "$data_dir"
log="$data_dir/backend.log"

# Port 0: the backend picks a free port and prints its URL.
target/release/tessera-backend \
  --listen 127.0.0.1:0 \
  --database "$data_dir/demo.sqlite3" \
  --user "$DEMO_USER:$DEMO_PASSWORD" \
  --access-lifetime 60 \
  --rotate-refresh-tokens --blacklist-after-rotation >"$log" 2>&1 &
backend=$!
trap 'kill "$backend" 2>/dev/null || true; wait "$backend" 2>/dev/null || true' EXIT INT TERM

url=""
for _ in $(seq 1 100); do
  url="$(grep -o -m1 'http://127\.0\.0\.1:[0-9]*' "$log" || true)"
  [ -n "$url" ] && break
  kill -0 "$backend" 2>/dev/null || {
    cat "$log" >&2
    echo "demo: the backend exited" >&2
    exit 1
  }
  sleep 0.1
done
[ -n "$url" ] || {
  cat "$log" >&2
  echo "demo: the backend did not print its URL" >&2
  exit 1
}

cat <<MSG

  Tessera demo backend: $url  (access tokens live 60 s, refresh tokens rotate)
  Demo account:         username "$DEMO_USER", password "$DEMO_PASSWORD"
  Backend log:          $log

MSG
# The demo profile, set up with the CLI (the app and the CLI share profiles and sessions).
cli=target/release/tessera-cli
if "$cli" profile show demo >/dev/null 2>&1; then
  "$cli" profile edit demo --url "$url/" --me-path /api/me/ --registration-path /api/register/
else
  "$cli" profile add demo --url "$url/" --me-path /api/me/ --registration-path /api/register/
fi
"$cli" profile use demo

cat <<MSG
  Try the CLI on the same session once you have signed in in the app:
    $cli status
    $cli request GET /api/me/

MSG
target/release/tessera --profile demo
