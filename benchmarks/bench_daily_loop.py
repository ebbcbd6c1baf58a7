"""The generated project's daily loop, timed for two template commits in the same run (not a test).

    uv run python benchmarks/bench_daily_loop.py [--baseline REF] [--candidate REF] [--cold]

For each commit (baseline and candidate, default HEAD~1 and the working tree) and each bytecode mode
(Python may cache bytecode, as on a laptop; PYTHONDONTWRITEBYTECODE=1, as on some CI machines), the
default project is rendered and timed through the steps a user takes on day one:

    copy -> make setup -> make check -> make pipeline -> make serve until the first prediction

("time to first green" is their sum), then a second `make check` and a forced pipeline run
(`dvc repro --force`: every stage re-executed), the daily loop. The uv cache is shared and warmed before
timing, so only the project's own work is measured; `--cold` adds one run of the candidate with an empty
uv cache (every package downloaded). Prints a Markdown table; the ratio column is candidate / baseline.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from template_spec import TEMPLATE_ROOT
from tests.support.process import free_port, git, serving
from tests.support.projects import UV_CACHE_DIR, find_python, project_env
from tests.support.snapshot import make_template_snapshot

STEPS = ("copy", "setup", "check", "pipeline", "serve")
LOOP = ("check again", "pipeline --force")
PREDICT = (
    b'{"instances": [{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}]}'
)


@dataclass
class Timing:
    label: str
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def first_green(self) -> float:
        return sum(self.seconds[step] for step in STEPS)


def template_at(ref: str, dst: Path) -> Path:
    """A template repository holding `ref` (or the working tree for "WORKTREE"), tagged for copier."""
    if ref == "WORKTREE":
        return make_template_snapshot(dst)
    dst.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(TEMPLATE_ROOT), "archive", "--format=tar", ref],
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(dst)], input=archive, check=True)
    git(dst, "init", "--quiet", "--initial-branch=main")
    git(dst, "add", "--all")
    git(dst, "commit", "--quiet", "--no-verify", "--message", f"template at {ref}")
    git(dst, "tag", "v999.0.0")
    return dst


def step(argv: Sequence[str | Path], cwd: Path, env: dict[str, str], timeout: float = 1800) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        [str(arg) for arg in argv],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, argv))} exited {result.returncode}:\n{result.stdout[-4000:]}")
    return elapsed


def serve_first_prediction(project: Path, env: dict[str, str]) -> float:
    """`make serve` until /ready answers 200, then one prediction."""
    import urllib.request

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    with serving(["make", "serve"], f"{base}/ready", cwd=project, base_env={**env, "PORT": str(port)}):
        request = urllib.request.Request(
            f"{base}/predict", PREDICT, {"content-type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as reply:
            assert b"setosa" in reply.read()
        return time.perf_counter() - started


def measure(template: Path, workdir: Path, label: str, env: dict[str, str], loop: bool = True) -> Timing:
    timing = Timing(label)
    workdir.mkdir(parents=True, exist_ok=True)
    project = workdir / "project"
    copier = Path(sys.executable).parent / "copier"
    timing.seconds["copy"] = step(
        [copier, "copy", "--defaults", "--quiet", "--vcs-ref", "HEAD", template, project], workdir, env
    )
    git(project, "init", "--quiet", "--initial-branch=main")
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "--no-verify", "--message", "Generate")
    timing.seconds["setup"] = step(["make", "setup"], project, env)
    timing.seconds["check"] = step(["make", "check"], project, env)
    timing.seconds["pipeline"] = step(["make", "pipeline"], project, env)
    timing.seconds["serve"] = serve_first_prediction(project, env)
    if loop:
        timing.seconds["check again"] = step(["make", "check"], project, env)
        uv = env["UV"]
        timing.seconds["pipeline --force"] = step(
            [uv, "run", "--frozen", "dvc", "repro", "--force"], project, env
        )
    return timing


def base_env(python: Path, uv_cache: Path, bytecode: bool) -> dict[str, str]:
    """The environment the end-to-end tests give a project, with this cache and bytecode mode."""
    uv = os.environ.get("UV") or shutil.which("uv")
    if not uv:
        raise SystemExit("uv not found: run through scripts/bootstrap-uv.sh or put uv on PATH")
    extra = {"UV": uv, "UV_CACHE_DIR": str(uv_cache), "HOST": "127.0.0.1"}
    if not bytecode:
        extra["PYTHONDONTWRITEBYTECODE"] = "1"
    return project_env(python, **extra)


def table(timings: list[Timing], pairs: list[tuple[int, int]]) -> str:
    columns = [*STEPS, "first green", *LOOP]
    lines = [
        "| run | " + " | ".join(columns) + " |",
        "|---|" + "---:|" * len(columns),
    ]

    def cells(t: Timing) -> list[str]:
        values = [t.seconds.get(c) for c in STEPS] + [t.first_green] + [t.seconds.get(c) for c in LOOP]
        return [f"{v:.1f}" if v is not None else "" for v in values]

    for timing in timings:
        lines.append(f"| {timing.label} | " + " | ".join(cells(timing)) + " |")
    for base, cand in pairs:
        b, c = timings[base], timings[cand]
        ratios = []
        for column in columns:
            bv = b.first_green if column == "first green" else b.seconds.get(column)
            cv = c.first_green if column == "first green" else c.seconds.get(column)
            ratios.append(f"{cv / bv:.2f}" if bv and cv else "")
        lines.append(f"| ratio {c.label} / {b.label} | " + " | ".join(ratios) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--baseline", default="HEAD~1", help="template commit to compare with (default HEAD~1)"
    )
    parser.add_argument(
        "--candidate", default="WORKTREE", help="template commit measured (default: working tree)"
    )
    parser.add_argument("--cold", action="store_true", help="also time the candidate with an empty uv cache")
    parser.add_argument(
        "--modes",
        default="bytecode,no-bytecode",
        help="bytecode modes to run ('' with --cold: only the cold run)",
    )
    args = parser.parse_args()

    python = find_python("3.12")
    timings: list[Timing] = []
    pairs: list[tuple[int, int]] = []
    with tempfile.TemporaryDirectory(prefix="bench-loop-") as tmp:
        root = Path(tmp)
        templates = {
            "baseline": template_at(args.baseline, root / "tpl-baseline"),
            "candidate": template_at(args.candidate, root / "tpl-candidate"),
        }
        # Warm the shared uv cache with both commits' lock files (unmeasured).
        for name, template in templates.items():
            measure(
                template, root / f"warm-{name}", "warm-up", base_env(python, UV_CACHE_DIR, True), loop=False
            )
        for mode in filter(None, args.modes.split(",")):
            env = base_env(python, UV_CACHE_DIR, bytecode=mode == "bytecode")
            first = len(timings)
            for name, template in templates.items():
                ref = args.baseline if name == "baseline" else args.candidate
                label = f"{name} ({ref}), {mode}"
                print(f"measuring {label} ...", file=sys.stderr, flush=True)
                timings.append(measure(template, root / f"{name}-{mode}", label, env))
            pairs.append((first, first + 1))
        if args.cold:
            cache = root / "empty-uv-cache"
            label = f"candidate ({args.candidate}), bytecode, cold uv cache"
            print(f"measuring {label} ...", file=sys.stderr, flush=True)
            timings.append(
                measure(
                    templates["candidate"], root / "cold", label, base_env(python, cache, True), loop=False
                )
            )
    print(f"\nDefault project, seconds on {os.cpu_count()} cores (warm uv cache unless stated):\n")
    print(table(timings, pairs))


if __name__ == "__main__":
    main()
