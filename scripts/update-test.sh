#!/usr/bin/env bash
# End-to-end self-update of an installed .deb and of an AppImage (part of scripts/test.sh;
# needs root or passwordless sudo, like `package.sh check`).
#
#   bash scripts/update-test.sh           # build N and N+1, install N, run the test
#   bash scripts/update-test.sh --reuse   # keep the packages of the last run (while editing the test)
#
# 1. A throwaway updater key (`tauri signer generate`) and a test-only configuration merged over
#    the shipped one with `--config`: the updater's feed is http://127.0.0.1:$PORT/latest.json
#    and it trusts the throwaway key. The shipped tauri.conf.json is not touched (its checksum
#    is compared before and after) and the shipped build holds no loopback feed.
# 2. Version N (the workspace version) and N+1 of the .deb and the AppImage (N+1 also as an
#    .rpm), built with
#    that configuration and signed with the throwaway key (release profile, so the release
#    build's dependencies are reused; only the app crate is rebuilt). The release workflow's
#    feed check (scripts/verify-feed.py) accepts the CLI's signatures of N+1's .deb and .rpm and
#    refuses them swapped.
# 3. `dpkg -i` N, then tests/e2e/tests/update.rs drives the INSTALLED app over WebDriver:
#    AppImage-only feed → "get it from"; tampered N+1 → refused; N+1 → installed and restarted,
#    session kept. And a copy of N's AppImage (extract-and-run: no FUSE here) replaces itself
#    with N+1's and restarts, session kept. The package is removed afterwards unless Tessera
#    was installed before.
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
appimages="$ROOT/target/release/bundle/appimage"
shipped_appimage="$appimages/Tessera_${from}_amd64.AppImage"
reuse=""
if [ "${1:-}" = --reuse ] && [ -f "$work/Tessera_${from}_amd64.deb" ] && [ -f "$work/Tessera_${to}_amd64.AppImage.sig" ]; then
  reuse=1
else
  rm -rf "$work"
fi
mkdir -p "$work"

shipped_conf="$(sha256sum tauri.conf.json)"
feed="http://127.0.0.1:$port/latest.json"
# The shipped .deb and AppImage are put back afterwards (the test builds share target/release;
# the CLI empties bundle/appimage before each AppImage).
if [ -f "$shipped_deb" ]; then cp "$shipped_deb" "$work/shipped.deb"; fi
if [ -f "$shipped_appimage" ]; then cp "$shipped_appimage" "$work/shipped.AppImage"; fi
bash scripts/appimage-tools.sh

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
  # N+1 also as an .rpm: the release feed's rpm entry needs the CLI to sign that too.
  bundles=deb,appimage
  [ "$version" = "$from" ] || bundles=deb,rpm,appimage
  echo "update-test.sh: building Tessera $version ($bundles) with the loopback feed"
  TAURI_SIGNING_PRIVATE_KEY="$(cat "$work/key")" TAURI_SIGNING_PRIVATE_KEY_PASSWORD=throwaway \
    ./node_modules/.bin/tauri build --bundles "$bundles" --ci --config "$work/conf-$version.json"
  deb="$bundle/Tessera_${version}_amd64.deb"
  [ -f "$deb" ] && [ -f "$deb.sig" ] || fail "no $deb and $deb.sig after the build"
  cp "$deb" "$deb.sig" "$work/"
  image="$appimages/Tessera_${version}_amd64.AppImage"
  [ -f "$image" ] && [ -f "$image.sig" ] || fail "no $image and $image.sig after the build"
  mv "$image" "$image.sig" "$work/"
  if [ "$version" = "$to" ]; then
    rpm_file="$ROOT/target/release/bundle/rpm/Tessera-${to}-1.x86_64.rpm"
    [ -f "$rpm_file" ] && [ -f "$rpm_file.sig" ] || fail "no $rpm_file and its .sig after the build"
    mv "$rpm_file" "$rpm_file.sig" "$work/"
  fi
  grep -qaF "$feed" target/release/tessera || fail "the test build does not point at $feed"
done
rm -f "$bundle/Tessera_${to}_amd64.deb" "$bundle/Tessera_${to}_amd64.deb.sig"

# The release workflow's feed check (scripts/verify-feed.py) on the signatures the pinned CLI
# really writes: a feed of N+1's .deb and .rpm passes, and with the two signatures swapped fails.
python3 - "$work" "$to" <<'PY'
import json, sys
work, to = sys.argv[1:]
base = f"https://github.com/tessera-app/tessera/releases/download/v{to}"
files = {"linux-x86_64-deb": f"Tessera_{to}_amd64.deb", "linux-x86_64-rpm": f"Tessera-{to}-1.x86_64.rpm"}
def feed(swap):
    names = list(files.values())[::-1] if swap else list(files.values())
    return {"version": to, "platforms": {
        key: {"url": f"{base}/{name}", "signature": open(f"{work}/{sig}.sig").read()}
        for (key, name), sig in zip(files.items(), names)}}
json.dump(feed(False), open(f"{work}/feed-good.json", "w"))
json.dump(feed(True), open(f"{work}/feed-swapped.json", "w"))
PY
check_feed() {
  python3 scripts/verify-feed.py "$work/$1" --version "$to" --tag "v$to" --pubkey "$pubkey" \
    --sigs "$work" --require linux-x86_64-deb linux-x86_64-rpm
}
check_feed feed-good.json || fail "verify-feed.py refused the CLI's own .deb and .rpm signatures"
if check_feed feed-swapped.json >"$work/feed-swapped.out" 2>&1; then
  fail "verify-feed.py accepted a .deb entry signed for the .rpm"
fi
grep -q "made for 'Tessera-${to}-1.x86_64.rpm', not for Tessera_${to}_amd64.deb" "$work/feed-swapped.out" ||
  fail "verify-feed.py did not say which file the swapped signature was made for: $(cat "$work/feed-swapped.out")"
if [ -f "$work/shipped.deb" ]; then mv "$work/shipped.deb" "$shipped_deb"; fi
if [ -f "$work/shipped.AppImage" ]; then
  mkdir -p "$appimages" && mv "$work/shipped.AppImage" "$shipped_appimage"
fi
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
echo "update-test.sh: Tessera $from updated itself to $to through the real updater: the .deb with dpkg, the AppImage in place"
