# shellcheck shell=bash
# Sourced by the other scripts: puts a working `uv` in $UV (installs it into .cache/ if missing).
# Needs only Python 3.11+ with venv/pip; uv then fetches every other package from PyPI.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The uv cache lives outside the clone, so consecutive runs on one machine (CI's fresh clones included)
# find the wheels they downloaded before: PyTorch's alone are gigabytes.
export UV_CACHE_DIR=${UV_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/copier-mlops/uv}
if command -v uv >/dev/null 2>&1; then
  UV=$(command -v uv)
else
  if [ ! -x "$root/.cache/bootstrap/bin/uv" ]; then
    echo "Installing uv into $root/.cache/bootstrap ..." >&2
    python3 -m venv "$root/.cache/bootstrap"
    "$root/.cache/bootstrap/bin/python" -m pip install --quiet --disable-pip-version-check uv
  fi
  UV=$root/.cache/bootstrap/bin/uv
fi
export UV
# uv must not pick up a virtual environment the caller happens to have active.
unset VIRTUAL_ENV

# find_python 3.12: a working interpreter of that version already on this machine (pyenv's versions,
# PATH, uv's managed ones), or nothing; uv downloads one when none is found and downloads are allowed.
find_python() {
  local version=$1 candidate
  for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$version".*/bin/python"$version" \
    "$(command -v "python$version" 2>/dev/null || true)" "/usr/bin/python$version"; do
    if [ -x "$candidate" ] && [ "$("$candidate" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$version" ]; then
      echo "$candidate"
      return
    fi
  done
  UV_PYTHON_DOWNLOADS=never "$UV" python find --no-project "$version" 2>/dev/null || true
}
