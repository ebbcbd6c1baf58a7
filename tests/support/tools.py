"""The command-line tools the checks run: from the dev environment (uv.lock) first, then PATH.

Every tool with a PyPI package comes from uv.lock (`uv sync --locked`), so a missing one fails. The
one exception is promtool (Prometheus publishes no PyPI package): without it, its checks are skipped
with the command that installs it, except in CI, where `.ci/run` installs it and a skip would hide a
check that was meant to run.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

VENV_BIN = Path(sys.executable).parent
"""Bin dir of the interpreter running the tests: the repo's dev venv, where the validators live."""

NOT_ON_PYPI = {"promtool": "apt-get install prometheus, or put promtool on PATH"}
"""Tools no lock file can provide, and how to install them."""


def find_tool(name: str) -> Path | None:
    """A tool's executable: from the dev venv first, then PATH."""
    candidate = VENV_BIN / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return candidate
    found = shutil.which(name)
    return Path(found) if found else None


def require_tool(name: str) -> Path:
    """The tool, or the test fails (skips, for a tool without a PyPI package, outside CI)."""
    tool = find_tool(name)
    if tool is not None:
        return tool
    if name in NOT_ON_PYPI:
        message = f"{name} not found: {NOT_ON_PYPI[name]}"
        if not os.environ.get("CI"):
            pytest.skip(message)
        pytest.fail(f"{message} (required when CI is set)")
    pytest.fail(f"{name} not found in {VENV_BIN} nor on PATH: run `uv sync --locked`")
