#!/usr/bin/env bash
# Tessera's benchmarks (issue 7), measured in one run on loopback against the reference backend,
# everything in release mode. Results: artifacts/bench/summary.md (+ JSON with every sample);
# what the figures mean and the last measured ones: docs/BENCHMARKS.md.
#
#   bash scripts/bench.sh              # full run (~8 min of measuring after the builds)
#   BENCH_QUICK=1 bash scripts/bench.sh  # few rounds, to check that everything works
#
# 1. engine: Session::request vs bare reqwest; 1000 concurrent requests on an expired token
# 2. cli-race: 20 tessera-cli processes on an expired token
# 3. proxy: the local proxy (tessera-proxy) vs the engine called directly, curl through it vs
#    curl with its own token; 1000 concurrent requests through it on an expired token
# 4. launch: the app vs a hello-world Tauri app (bench/baseline): launch to interactive, idle PSS
# 5. report: .deb sizes, machine description, the summary table
#
# Builds with the default target directory (or $CARGO_TARGET_DIR), the .debs with the pinned
# Tauri CLI. Runs the programs inside scripts/session-env.sh (Xvfb + private D-Bus + keyring).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"

log() { printf '\033[1;34m[bench]\033[0m %s\n' "$*" >&2; }

[ -n "${TESSERA_SETUP_DONE:-}" ] || bash scripts/setup.sh bench

BENCH_LOADAVG_START="$(cut -d' ' -f1-3 /proc/loadavg)"
export BENCH_LOADAVG_START
if [ -n "${BENCH_QUICK:-}" ]; then
  export BENCH_ROUNDS="${BENCH_ROUNDS:-4}" BENCH_BATCH_ROUNDS="${BENCH_BATCH_ROUNDS:-2}" \
    BENCH_CLI_ROUNDS="${BENCH_CLI_ROUNDS:-2}" BENCH_LAUNCH_RUNS="${BENCH_LAUNCH_RUNS:-2}" \
    BENCH_VARIANT_RUNS="${BENCH_VARIANT_RUNS:-1}" BENCH_IDLE_SECS="${BENCH_IDLE_SECS:-2}" \
    BENCH_CURL_ROUNDS="${BENCH_CURL_ROUNDS:-2}"
fi

TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
RELEASE="$TARGET/release"
# The shipped config signs updater artifacts with a key that is not here: not needed for a size.
NO_UPDATER='{"bundle":{"createUpdaterArtifacts":false}}'
TAURI="$ROOT/node_modules/.bin/tauri"

log "building the backend, the CLI and the benchmark programs (release)"
cargo build --release --locked -p tessera-backend -p tessera-cli -p tessera-bench
log "building the app and its .deb (tauri build --bundles deb)"
"$TAURI" build --bundles deb --ci --config "$NO_UPDATER"
log "building the hello-world baseline and its .deb (bench/baseline)"
(cd bench/baseline && "$TAURI" build --bundles deb --ci --config "$NO_UPDATER")

newest() { ls -t "$@" 2>/dev/null | head -n 1; }
TESSERA_APP_DEB="$(newest "$RELEASE"/bundle/deb/Tessera_*_amd64.deb "$RELEASE"/bundle/deb/Tessera_*.deb)"
TESSERA_BASELINE_DEB="$(newest "$RELEASE"/bundle/deb/tessera-baseline_*.deb)"
[ -n "$TESSERA_APP_DEB" ] && [ -n "$TESSERA_BASELINE_DEB" ] || {
  echo "bench: the .deb packages were not found in $RELEASE/bundle/deb" >&2
  exit 1
}
export TESSERA_APP_DEB TESSERA_BASELINE_DEB
export TESSERA_BACKEND_BIN="$RELEASE/tessera-backend" TESSERA_CLI_BIN="$RELEASE/tessera-cli" \
  TESSERA_APP_BIN="$RELEASE/tessera" TESSERA_BASELINE_BIN="$RELEASE/tessera-baseline"

export BENCH_SCREENSHOT="${BENCH_SCREENSHOT:-1}" # one screenshot per subject: the UI must look the same
rm -rf artifacts/bench
mkdir -p artifacts/bench
bash scripts/session-env.sh bash -c '
  set -euo pipefail
  log() { printf "\033[1;34m[bench]\033[0m %s\n" "$*" >&2; }
  log "1/5 engine: request overhead, 1000 concurrent requests on an expired token"
  "$0/engine"
  log "2/5 cli-race: 20 tessera-cli processes on an expired token"
  "$0/cli-race"
  log "3/5 proxy: local proxy overhead (reqwest, curl), 1000 concurrent requests on an expired token"
  "$0/proxy"
  log "4/5 launch: app vs baseline under Xvfb (launch to interactive, idle memory)"
  "$0/launch"
' "$RELEASE"
log "5/5 report"
"$RELEASE/report"
