"""Time of `copier update` on a realistic project, next to `copier copy` and the floor (not a test).

    uv run python benchmarks/bench_update.py [--repeat 3]

Releases v1.0.0 and v2.0.0 are built as in the update tests (tests/support/versions.py). The project is the
default one at v1.0.0 with the team's edits, a .venv of ~2000 small files, DVC-like data and model
files, an mlflow.db and 1000 ignored artifact files scattered over mlruns/ folders, all committed or
ignored as in a real project. Each update run starts from the v1.0.0 commit (`git reset --hard`,
`git clean -fd`: ignored files stay). Floor: `copier --version` (interpreter and copier start-up).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.process import GIT_ENV, git
from tests.support.snapshot import read_answers
from tests.support.versions import (
    COPIER,
    PACKAGE,
    V1,
    V2,
    add_run_outputs,
    assert_merged_cleanly,
    build_versions,
    commit_all,
    copy_version,
    edit_everywhere,
    ignored_files,
    init_repo,
    make_older,
)


def run(argv: Sequence[str | Path], cwd: Path, env: dict[str, str]) -> None:
    result = subprocess.run(
        [str(arg) for arg in argv], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, argv))} exited {result.returncode}:\n{result.stderr}")


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def loose_ignored_files(project: Path, count: int) -> None:
    """Ignored files beside tracked ones, which git lists one by one (copier passes each to
    `git apply --exclude`): leftover parallel coverage data and bytecode next to the sources."""
    for number in range(count):
        if number % 2:
            path = project / f".coverage.runner-{number}.{number * 7919 % 99991}"
        else:
            path = project / "src" / PACKAGE / f"stale_{number}.pyc"
        path.write_bytes(b"\0" * 64)


def project_at_v1(template: Path, dst: Path, with_outputs: bool, loose: int = 0) -> str:
    """The default project at v1.0.0, committed with the team's edits; returns the commit."""
    copy_version(template, dst)
    if with_outputs:
        add_run_outputs(dst, venv_files=2000, artifacts=1000)
    loose_ignored_files(dst, loose)
    init_repo(dst)
    edit_everywhere(dst, PACKAGE)
    commit_all(dst, "Team edits")
    assert git(dst, "status", "--porcelain") == "", "the fake outputs must all be ignored"
    return git(dst, "rev-parse", "HEAD").strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per scenario (median reported)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-update-") as scratch:
        work = Path(scratch)
        env = {**os.environ, **GIT_ENV, "COPIER_SETTINGS_PATH": str(work / "absent-settings.yml")}
        os.environ.update(env)  # the API calls of tests/support/versions.py (copy, git) see the same
        template = build_versions(work / "copier-mlops", make_older)
        project = work / "project"
        base = project_at_v1(template, project, with_outputs=True)
        bare = work / "bare"
        bare_base = project_at_v1(template, bare, with_outputs=False)
        loose = work / "loose"
        loose_base = project_at_v1(template, loose, with_outputs=True, loose=1000)
        ignored = len(ignored_files(project))
        listed = {
            path: len(git(path, "status", "--ignored", "--porcelain").splitlines())
            for path in (project, loose)
        }
        tracked = len(git(project, "ls-files").splitlines())

        def update(path: Path, commit: str) -> Callable[[], None]:
            def reset_and_update() -> None:
                git(path, "reset", "--quiet", "--hard", commit)
                git(path, "clean", "--quiet", "-d", "--force")
                run([COPIER, "update", "--quiet", "--defaults"], cwd=path, env=env)

            return reset_and_update

        copies = iter(range(10**6))

        def copy() -> None:
            dst = work / f"copy-{next(copies)}"
            run([COPIER, "copy", "--quiet", "--defaults", "--vcs-ref", V2, template, dst], cwd=work, env=env)

        scenarios: list[tuple[str, Callable[[], None]]] = [
            ("`copier --version` (floor)", lambda: run([COPIER, "--version"], cwd=work, env=env)),
            ("`copier copy` (default project, v2.0.0)", copy),
            ("`copier update` v1.0.0 -> v2.0.0, no ignored files", update(bare, bare_base)),
            (
                f"`copier update` v1.0.0 -> v2.0.0, {ignored} ignored files"
                f" ({listed[project]} entries in `git status --ignored`)",
                update(project, base),
            ),
            (
                f"`copier update` v1.0.0 -> v2.0.0, {ignored} + 1000 loose ignored files"
                f" ({listed[loose]} entries)",
                update(loose, loose_base),
            ),
        ]
        results: list[tuple[str, float, list[float]]] = []
        for name, action in scenarios:
            runs = [timed(action) for _ in range(args.repeat)]
            results.append((name, statistics.median(runs), runs))

        # What was timed is a correct update.
        for path in (project, bare, loose):
            assert read_answers(path)["_commit"] == V2
            assert_merged_cleanly(path)
        git(project, "reset", "--quiet", "--hard", base)
        assert read_answers(project)["_commit"] == V1

    floor = results[0][1]
    print(f"Project: {tracked} tracked files, {ignored} ignored files; median of {args.repeat} runs.\n")
    print("| scenario | seconds | ratio to floor | runs (s) |")
    print("|---|---:|---:|---|")
    for name, median, runs in results:
        print(f"| {name} | {median:.2f} | {median / floor:.1f} | {', '.join(f'{r:.2f}' for r in runs)} |")


if __name__ == "__main__":
    main()
