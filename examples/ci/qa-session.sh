#!/usr/bin/env bash
# One CI job's QA session with tessera-cli, as the README's recipe runs it: sign in once, send
# requests in parallel (they share the session, and one refresh if the token expires), sign out
# at the end. Where the job has no desktop keyring, the session lives in the kernel keyring
# (`tessera-cli status` says where); in a container whose seccomp profile refuses keyctl, set
# TESSERA_STORE=encrypted-file and TESSERA_STORE_PASSPHRASE (a CI secret).
#
#   TESSERA_URL    the API's base URL                 QA_USER, QA_PASSWORD   the QA account
#   QA_PATHS       space-separated GET paths (default: /api/hello/)
set -euo pipefail

: "${TESSERA_URL:?set TESSERA_URL}" "${QA_USER:?set QA_USER}" "${QA_PASSWORD:?set QA_PASSWORD}"
export TESSERA_PROFILE="${TESSERA_PROFILE:-ci}"
out="${QA_OUT:-qa-out}"
mkdir -p "$out"

# Once per job: the profile (detected from the server) and the sign-in.
tessera-cli profile add "$TESSERA_PROFILE" --url "$TESSERA_URL" --detect 2>"$out/detect.txt" ||
  tessera-cli profile edit "$TESSERA_PROFILE" --url "$TESSERA_URL" --detect 2>"$out/detect.txt"
printf '%s\n' "$QA_PASSWORD" | tessera-cli login --username "$QA_USER" --password-stdin
tessera-cli status --json >"$out/status.json"

# The checks, in parallel: each is its own process on the shared session.
pids=()
n=0
for path in ${QA_PATHS:-/api/hello/}; do
  n=$((n + 1))
  tessera-cli request GET "$path" --output raw >"$out/$n.json" &
  pids+=("$!")
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done

# Always: the refresh token is blacklisted and the session removed.
tessera-cli logout
exit "$failed"
