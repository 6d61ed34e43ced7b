#!/usr/bin/env bash
# Runs a command inside the desktop environment the real components need, made here and
# thrown away afterwards: a virtual X display (Xvfb) and a private D-Bus session with an
# unlocked gnome-keyring (a real Secret Service). Nothing touches the user's own keyring.
#
#   bash scripts/session-env.sh cargo test --workspace
set -euo pipefail
[ "$#" -gt 0 ] || {
  echo "usage: $0 COMMAND [ARGS...]" >&2
  exit 2
}

if [ -z "${TESSERA_IN_SESSION_ENV:-}" ]; then
  export TESSERA_IN_SESSION_ENV=1
  # A fresh X display for the window, a fresh D-Bus session for the keyring.
  exec xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp" \
    dbus-run-session -- bash "$0" "$@"
fi

# Inside dbus-run-session: a throwaway keyring home, unlocked with a non-empty password
# (an empty one does not create the default collection and keyring calls fail).
keyring_home="$(mktemp -d)"
trap 'rm -rf "$keyring_home"' EXIT
export XDG_DATA_HOME="$keyring_home/data" XDG_RUNTIME_DIR="$keyring_home/run"
mkdir -p "$XDG_DATA_HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
eval "$(printf 'tessera-test\n' | gnome-keyring-daemon --components=secrets --daemonize --unlock)"
export GNOME_KEYRING_CONTROL="${GNOME_KEYRING_CONTROL:-}"
"$@"
