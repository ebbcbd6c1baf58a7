"""Migrations a template release runs in a project during `copier update` (`_migrations` in copier.yml).

Standard library only: copier runs it with its own interpreter (`{{ _copier_python }}`), in the
project's directory, from the template clone (`{{ _copier_conf.src_path }}/hooks/migrate.py`).

    python hooks/migrate.py rename-file OLD NEW [--project DIR]
    python hooks/migrate.py rename-answer OLD NEW [--answers-file .copier-answers.yml]

Both are idempotent: run twice, or on a project that never had OLD, they change nothing. Use them in a
`before` migration, so copier's three-way merge compares the user's file at its new place:

    _migrations:
      - version: v2.0.0
        when: "{{ _stage == 'before' }}"
        command: ["{{ _copier_python }}", "{{ _copier_conf.src_path }}/hooks/migrate.py",
                  "rename-file", "config/params.yaml", "params.yaml"]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

DEFAULT_ANSWERS_FILE = ".copier-answers.yml"


class MigrationError(Exception):
    """A migration that cannot be applied as asked (the message says why)."""


def _inside(project: Path, relpath: str) -> Path:
    path = (project / relpath).resolve()
    root = project.resolve()
    if path == root or root not in path.parents:
        raise MigrationError(f"{relpath!r} is not a path inside the project {project}")
    return path


def _is_tracked(project: Path, relpath: str) -> bool:
    result = subprocess.run(
        ["git", "ls-files", "--error-unmatch", "--", relpath],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode == 0


def rename_file(project: Path, old: str, new: str) -> bool:
    """Move the project's file `old` to `new` (paths relative to the project) with `git mv`, so the
    user's content (and history) follow the template's rename.

    Does nothing, and returns False, when `old` does not exist (a project rendered after the rename,
    or one where the user deleted it) or `new` already exists (never overwrites). A file git does not
    track is moved on disk. Folders left empty by the move are removed.
    """
    source, target = _inside(project, old), _inside(project, new)
    if not (source.exists() or source.is_symlink()) or target.exists() or target.is_symlink():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    if _is_tracked(project, old):
        result = subprocess.run(
            ["git", "mv", "--", old, new], cwd=project, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise MigrationError(f"git mv {old} {new} failed: {result.stderr.strip()}")
    else:
        source.rename(target)
    root = project.resolve()
    folder = source.parent
    while folder != root and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
    return True


def _key_line(key: str) -> re.Pattern[str]:
    """A top-level `key:` line of a YAML mapping, the key plain or quoted."""
    quoted = re.escape(key)
    return re.compile(rf"^(?P<q>['\"]?){quoted}(?P=q)[ \t]*:(?=\s|$)")


def rename_answer(answers_file: Path, old: str, new: str) -> bool:
    """Rename the top-level key `old` of a copier answers file to `new`, keeping its value and every
    other line (comments, order, formatting) as they are.

    Returns False, changing nothing, when `old` is absent (already migrated, or never answered).
    Raises MigrationError when both keys are present: which one holds the user's answer is unknown.
    """
    if not answers_file.is_file():
        raise MigrationError(f"{answers_file}: no such answers file")
    lines = answers_file.read_text(encoding="utf-8").splitlines(keepends=True)
    old_key, new_key = _key_line(old), _key_line(new)
    found = [number for number, line in enumerate(lines) if old_key.match(line)]
    if not found:
        return False
    if len(found) > 1:
        raise MigrationError(f"{answers_file}: key {old!r} appears {len(found)} times")
    if any(new_key.match(line) for line in lines):
        raise MigrationError(f"{answers_file}: both {old!r} and {new!r} are answered; keep one by hand")
    number = found[0]
    lines[number] = old_key.sub(new + ":", lines[number], count=1)
    answers_file.write_text("".join(lines), encoding="utf-8")
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="migrate.py", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    file_parser = commands.add_parser("rename-file", help="git mv a project file the template renamed")
    file_parser.add_argument("old")
    file_parser.add_argument("new")
    file_parser.add_argument(
        "--project", type=Path, default=Path.cwd(), help="default: the current directory"
    )

    answer_parser = commands.add_parser("rename-answer", help="rename a key of the answers file")
    answer_parser.add_argument("old")
    answer_parser.add_argument("new")
    answer_parser.add_argument(
        "--answers-file", type=Path, default=Path(DEFAULT_ANSWERS_FILE), help="default: %(default)s"
    )

    args = parser.parse_args(argv)
    try:
        if args.command == "rename-file":
            done = rename_file(args.project, args.old, args.new)
            what = f"renamed {args.old} -> {args.new}" if done else f"{args.old}: nothing to rename"
        else:
            done = rename_answer(args.answers_file, args.old, args.new)
            what = f"answer {args.old} -> {args.new}" if done else f"answer {args.old}: nothing to rename"
    except MigrationError as error:
        print(f"migrate.py: error: {error}", file=sys.stderr)
        return 1
    print(f"migrate.py: {what}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
