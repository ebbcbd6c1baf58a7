"""Helpers shared by the template's test suite: template snapshot, rendering, tools, processes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from copier import Settings, run_copy

TEMPLATE_ROOT = Path(__file__).resolve().parent.parent
"""The template repository's working tree (holds copier.yml)."""

SNAPSHOT_TAG = "v999.0.0"
"""Tag of the snapshot commit: above every release, so copier records it as `_commit`."""

ANSWERS_FILE = ".copier-answers.yml"

VENV_BIN = Path(sys.executable).parent
"""Bin dir of the interpreter running the tests: the repo's dev venv, where the validators live."""

GIT_ENV: dict[str, str] = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Template Tests",
    "GIT_AUTHOR_EMAIL": "template-tests@example.com",
    "GIT_COMMITTER_NAME": "Template Tests",
    "GIT_COMMITTER_EMAIL": "template-tests@example.com",
}
"""Git isolated from the user's and the system's config, with a fixed identity."""

# Never part of the snapshot, even if .gitignore forgets them.
_SNAPSHOT_SKIP = {".git", ".venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}


def git(cwd: Path, *args: str) -> str:
    """Run git isolated from user/system config; return stdout, fail loudly with stderr."""
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **GIT_ENV},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result.stdout


def working_tree_files(root: Path = TEMPLATE_ROOT) -> list[Path]:
    """Files of the working tree as git sees them: tracked and untracked, not ignored or deleted."""
    listing = git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    files = []
    for name in sorted(set(listing.split("\0"))):
        if not name or _SNAPSHOT_SKIP.intersection(Path(name).parts):
            continue
        path = root / name
        if path.is_file() or path.is_symlink():
            files.append(Path(name))
    return files


def make_template_snapshot(dst: Path, root: Path = TEMPLATE_ROOT) -> Path:
    """Copy the working tree (uncommitted files included) into a fresh repo, commit and tag it.

    Tests render exactly what is on disk, and copier records a real `_commit` and an absolute
    `_src_path`, as it does for users.
    """
    dst.mkdir(parents=True)
    for rel in working_tree_files(root):
        target = dst / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, target, follow_symlinks=False)
    git(dst, "init", "--quiet", "--initial-branch=main")
    git(dst, "add", "--all")
    git(dst, "commit", "--quiet", "--no-verify", "--message", "Template snapshot for tests")
    git(dst, "tag", SNAPSHOT_TAG)
    return dst


def render(template_repo: Path, dst: Path, **answers: Any) -> Path:
    """Render the template snapshot into `dst` the way a user would, non-interactively."""
    run_copy(
        str(template_repo),
        dst,
        data=answers,
        defaults=True,
        unsafe=False,
        quiet=True,
        settings=Settings(),
        vcs_ref=SNAPSHOT_TAG,
    )
    return dst


def read_answers(project: Path) -> dict[str, Any]:
    """The rendered project's answers file."""
    data = yaml.safe_load((project / ANSWERS_FILE).read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{ANSWERS_FILE} is not a mapping: {data!r}"
    return data


def project_files(project: Path) -> set[str]:
    """Every file of a rendered project, as POSIX paths relative to it."""
    return {
        path.relative_to(project).as_posix()
        for path in project.rglob("*")
        if path.is_file() or path.is_symlink()
    }


def find_tool(name: str) -> Path | None:
    """A validator's executable: from the dev venv first, then PATH."""
    candidate = VENV_BIN / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return candidate
    found = shutil.which(name)
    return Path(found) if found else None


def run_tool(
    argv: Sequence[str | Path],
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing stdout and stderr together as text."""
    return subprocess.run(
        [str(arg) for arg in argv],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )
