"""Render time, as ratios within one run (not a test; nothing is asserted).

    uv run python benchmarks/bench_render.py [--repeat 5]

Floor: `copier --version` (interpreter and copier start-up). Renders: the default project, the all-off
project and the largest combination of the render matrix, each through the `copier copy` CLI. The
generated project's time to first green and daily loop: benchmarks/bench_daily_loop.py.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from template_spec import ALL_OFF, matrix_cases
from tests.support.process import GIT_ENV
from tests.support.snapshot import SNAPSHOT_TAG, make_template_snapshot, project_files

COPIER = str(Path(sys.executable).parent / "copier")


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def copier_copy(template: Path, dst: Path, answers: dict[str, str]) -> None:
    data = [arg for key, value in answers.items() for arg in ("-d", f"{key}={value}")]
    subprocess.run(
        [COPIER, "copy", "-q", "--defaults", "--vcs-ref", SNAPSHOT_TAG, *data, str(template), str(dst)],
        check=True,
        env={**GIT_ENV, "PATH": "/usr/bin:/bin", "HOME": str(dst.parent)},
    )


def cli_answers(answers: Mapping[str, Any]) -> dict[str, str]:
    """Answers as `copier -d key=value` strings (booleans as true/false)."""
    return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in answers.items()}


def largest_case(template: Path, work: Path) -> tuple[str, dict[str, str]]:
    best: tuple[int, str, dict[str, str]] = (0, "", {})
    for case in matrix_cases():
        case_id = case.id
        as_text = cli_answers(case.answers)
        dst = work / f"probe-{case_id}"
        copier_copy(template, dst, as_text)
        count = len(project_files(dst))
        if count > best[0]:
            best = (count, case_id, as_text)
    return best[1], best[2]


def copy_numbered(template: Path, stem: Path, answers: dict[str, str], number: int) -> None:
    copier_copy(template, stem.with_name(f"{stem.name}-{number}"), answers)


def median_of(repeat: int, action: Callable[[int], object]) -> float:
    return statistics.median(timed(functools.partial(action, i)) for i in range(repeat))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = Path(tmp)
        template = make_template_snapshot(work / "template")
        floor = median_of(
            args.repeat, lambda _: subprocess.run([COPIER, "--version"], check=True, capture_output=True)
        )
        case_id, largest = largest_case(template, work)
        rows = [("copier --version (floor)", floor)]
        for label, answers in (
            ("default", {}),
            ("all-off", cli_answers(ALL_OFF)),
            (f"largest ({case_id})", largest),
        ):
            rows.append(
                (
                    f"copy {label}",
                    median_of(args.repeat, functools.partial(copy_numbered, template, work / label, answers)),
                )
            )
        print(f"\nRender time, median of {args.repeat} (2-core machine):\n")
        print(f"| {'what':<40} | {'seconds':>8} | {'x floor':>8} |")
        print(f"|{'-' * 42}|{'-' * 10}|{'-' * 10}|")
        for label, seconds in rows:
            print(f"| {label:<40} | {seconds:8.2f} | {seconds / floor:8.2f} |")

    return 0


if __name__ == "__main__":
    raise SystemExit(main())
