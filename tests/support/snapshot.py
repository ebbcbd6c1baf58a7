"""The template snapshot every render starts from, rendering it, and reading what it rendered."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml
from copier import Settings, run_copy

from template_spec import TEMPLATE_ROOT
from tests.support.process import git

SNAPSHOT_TAG = "v999.0.0"
"""Tag of the snapshot commit: above every release, so copier records it as `_commit`."""

ANSWERS_FILE = ".copier-answers.yml"

# Never part of the snapshot, even if .gitignore forgets them.
_SNAPSHOT_SKIP = {".git", ".venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}


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


def copy_working_tree(dst: Path, root: Path = TEMPLATE_ROOT) -> None:
    """The working tree's files (tracked and untracked, not ignored) into `dst`."""
    for rel in working_tree_files(root):
        target = dst / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, target, follow_symlinks=False)


def make_template_snapshot(dst: Path, root: Path = TEMPLATE_ROOT) -> Path:
    """Copy the working tree (uncommitted files included) into a fresh repo, commit and tag it.

    Tests render exactly what is on disk, and copier records a real `_commit` and an absolute
    `_src_path`, as it does for users.
    """
    dst.mkdir(parents=True)
    copy_working_tree(dst, root)
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
