#!/usr/bin/env bash
# The template's test suite: unit tests, the render matrix with every validator, and end-to-end runs
# of generated projects. Extra arguments go to pytest (e.g. `-m slow` for the slower tier).
set -euo pipefail
# shellcheck source=scripts/bootstrap-uv.sh
source "$(dirname "$0")/bootstrap-uv.sh"
cd "$root"
"$UV" sync --locked
exec "$UV" run --locked pytest -n 2 --dist loadgroup "$@"
