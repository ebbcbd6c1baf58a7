#!/usr/bin/env bash
# The template's test suite. Usage: scripts/test.sh [default|fast|slow] [pytest args...]
#   default  unit tests, the render matrix with every validator, the interactive prompt, then the
#            end-to-end runs of generated projects (what .ci/run runs first)
#   fast     the same without the end-to-end runs (a few minutes)
#   slow     the slower tier: other Python versions end to end, exhaustive prompt/matrix agreement
set -euo pipefail
# shellcheck source=scripts/bootstrap-uv.sh
source "$(dirname "$0")/bootstrap-uv.sh"
cd "$root"
tier=default
case "${1:-}" in default|fast|slow) tier=$1; shift ;; esac
"$UV" sync --locked
# checkov has a lock of its own (tools/checkov: it cannot share this one's pins), and its own venv.
UV_PROJECT_ENVIRONMENT=$root/.cache/k8s-tools/checkov "$UV" sync --locked --quiet --project tools/checkov

# pytest exits 5 when a selection holds no test; an empty tier is not a failure.
run() {
  local status=0
  "$UV" run --locked pytest -n 2 "$@" || status=$?
  [ "$status" -eq 0 ] || [ "$status" -eq 5 ] || exit "$status"
}

case "$tier" in
  # Matrix cases spread over both workers; the end-to-end tests that share a project stay on one
  # worker: one file, or one class of a file (tests/e2e/test_stores.py: a class per object store).
  default) run --dist load -m "not e2e and not slow" "$@"
           run --dist loadscope -m "e2e and not slow" "$@" ;;
  fast)    run --dist load -m "not e2e and not slow" "$@" ;;
  slow)    run --dist load -m slow "$@" ;;
esac
