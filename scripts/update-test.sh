#!/usr/bin/env bash
# End-to-end self-update of an installed .deb (part of scripts/test.sh; needs root or
# passwordless sudo, like `package.sh check`).
#
#   bash scripts/update-test.sh           # build N and N+1, install N, run the test
#   bash scripts/update-test.sh --reuse   # keep the packages of the last run (while editing the test)
#
# 1. A throwaway updater key (`tauri signer generate`) and a test-only configuration merged over
#    the shipped one with `--config`: the updater's feed is http://127.0.0.1:$PORT/latest.json
#    and it trusts the throwaway key. The shipped tauri.conf.json is not touched (its checksum
#    is compared before and after) and the shipped build holds no loopback feed.
# 2. Version N (the workspace version) and N+1 of the .deb, built with that configuration and
#    signed with the throwaway key (release profile, so the release build's dependencies are
#    reused; only the app crate is rebuilt).
# 3. `dpkg -i` N, then tests/e2e/tests/update.rs drives the INSTALLED app over WebDriver:
#    AppImage-only feed → "get it from"; tampered N+1 → refused; N+1 → installed and restarted,
#    session kept. The package is removed afterwards unless Tessera was installed before.
# Artifacts: target/update-test/ (keys, configs, packages, feed checks).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"

fail() {
  echo "update-test.sh: $*" >&2
  exit 1
}
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}
[ "$(id -u)" -eq 0 ] || sudo -n true 2>/dev/null ||
  fail "needs root or passwordless sudo (dpkg -i, and the app's own update runs sudo dpkg -i)"

from="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)"
IFS=. read -r major minor patch <<<"${from%%-*}"
to="$major.$minor.$((patch + 1))"
port="${TESSERA_UPDATE_FEED_PORT:-47613}"
work="$ROOT/target/update-test"
bundle="$ROOT/target/release/bundle/deb"
shipped_deb="$bundle/Tessera_${from}_amd64.deb"
reuse=""
if [ "${1:-}" = --reuse ] && [ -f "$work/Tessera_${from}_amd64.deb" ] && [ -f "$work/Tessera_${to}_amd64.deb.sig" ]; then
  reuse=1
else
  rm -rf "$work"
fi
mkdir -p "$work"

shipped_conf="$(sha256sum tauri.conf.json)"
feed="http://127.0.0.1:$port/latest.json"
# The shipped .deb is put back afterwards (the test builds share target/release).
if [ -f "$shipped_deb" ]; then cp "$shipped_deb" "$work/shipped.deb"; fi

echo "update-test.sh: a throwaway signing key"
[ -n "$reuse" ] || ./node_modules/.bin/tauri signer generate -w "$work/key" -p throwaway --ci -f >/dev/null
pubkey="$(tr -d '\n' <"$work/key.pub")"

for version in "$from" "$to"; do
  [ -z "$reuse" ] || break
  python3 - "$work/conf-$version.json" "$version" "$pubkey" "$feed" <<'PY'
import json, sys
path, version, pubkey, feed = sys.argv[1:]
json.dump({
    "version": version,
    "bundle": {"createUpdaterArtifacts": True},
    "plugins": {"updater": {
        "pubkey": pubkey,
        "endpoints": [feed],
        "dangerousInsecureTransportProtocol": True,
    }},
}, open(path, "w"), indent=2)
PY
  echo "update-test.sh: building Tessera $version (.deb) with the loopback feed"
  TAURI_SIGNING_PRIVATE_KEY="$(cat "$work/key")" TAURI_SIGNING_PRIVATE_KEY_PASSWORD=throwaway \
    ./node_modules/.bin/tauri build --bundles deb --ci --config "$work/conf-$version.json"
  deb="$bundle/Tessera_${version}_amd64.deb"
  [ -f "$deb" ] && [ -f "$deb.sig" ] || fail "no $deb and $deb.sig after the build"
  cp "$deb" "$deb.sig" "$work/"
  grep -qaF "$feed" target/release/tessera || fail "the test build does not point at $feed"
done
rm -f "$bundle/Tessera_${to}_amd64.deb" "$bundle/Tessera_${to}_amd64.deb.sig"
if [ -f "$work/shipped.deb" ]; then mv "$work/shipped.deb" "$shipped_deb"; fi
[ "$(sha256sum tauri.conf.json)" = "$shipped_conf" ] || fail "tauri.conf.json changed"
python3 - <<'PY' || fail "the shipped tauri.conf.json is no longer HTTPS-only"
import json
updater = json.load(open("tauri.conf.json"))["plugins"]["updater"]
assert all(e.startswith("https://") for e in updater["endpoints"]), updater["endpoints"]
assert not updater.get("dangerousInsecureTransportProtocol"), updater
PY
if [ -f "$shipped_deb" ]; then
  dpkg-deb --fsys-tarfile "$shipped_deb" | tar -xO --wildcards '*usr/bin/tessera' | grep -qaF "$feed" &&
    fail "the shipped .deb points at the loopback feed"
fi

was_installed=""
if dpkg-query -W -f='${Status}' tessera 2>/dev/null | grep -q "install ok installed"; then
  was_installed=1
fi
echo "update-test.sh: dpkg -i Tessera $from"
as_root dpkg -i "$work/Tessera_${from}_amd64.deb" >/dev/null
if [ -z "$was_installed" ]; then
  trap 'as_root dpkg -r tessera >/dev/null 2>&1 || true' EXIT
fi

TESSERA_APP_BIN=/usr/bin/tessera TESSERA_UPDATE_DIR="$work" TESSERA_UPDATE_FROM="$from" \
  TESSERA_UPDATE_TO="$to" TESSERA_UPDATE_FEED_PORT="$port" \
  bash scripts/session-env.sh cargo test --locked -p tessera-e2e --features e2e-update --test update -- --nocapture
echo "update-test.sh: Tessera $from updated itself to $to through the real updater and dpkg"
