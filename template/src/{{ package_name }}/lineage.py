"""Where a model came from: the code commit and the exact data it was trained on."""

from __future__ import annotations

import hashlib
import shutil
import subprocess

from . import storage


def git_commit() -> str:
    """The current commit, with "-dirty" when tracked files have uncommitted changes."""
    git = shutil.which("git")
    if git is None:
        return "unknown (git not installed)"
    try:
        head = subprocess.run(  # noqa: S603 - fixed arguments, no shell
            [git, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(  # noqa: S603
            [git, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (subprocess.SubprocessError, OSError):
        return "unknown (not a git repository or no commit yet)"
    return f"{head}-dirty" if dirty else head


def data_version(url: str) -> str:
    """MD5 of the file's bytes: the same hash DVC records for it in dvc.lock."""
    return "md5:" + hashlib.md5(storage.read_bytes(url), usedforsecurity=False).hexdigest()
