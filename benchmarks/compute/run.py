"""Compute benchmark of the generated projects: ONNX serving vs eager PyTorch, and environment sizes.

    python benchmarks/compute/run.py [--torch-project /tmp/p-torch] [--sklearn-project /tmp/bench-skl]

Needs a generated PyTorch project that is set up (`make setup`) and trained (models/model.onnx and
checkpoints/best.pt), and a default (scikit-learn) project that is set up; README.md says how to get
both. Any Python 3.10+ runs this file (standard library only); the measuring code, _worker.py, runs in
the PyTorch project's own .venv. Writes results.md and results.json next to this file (--out to change)
and the table into README.md between its result markers. Nothing here asserts on a time.

1. Serving, PyTorch project: the same API (`create_app(Settings(model_dir="models"))`) with the model
   call done by the exported ONNX graph (as shipped) or by the checkpoint's torch network (eager):
   a. in-process `LoadedModel.predict` rows/s at batch 1, 32, 256;
   b. one uvicorn process per variant on 127.0.0.1, bounded httpx load of --requests one-row requests
      at concurrency 1 and 32: req/s, p50, p99, errors; cold start = process start to first 200 from
      /predict. Variants alternate, --rounds times; medians and the onnx/eager ratio are reported.
2. Sizes: the serving environment (`uv sync --frozen --no-default-groups --no-dev` into a fresh
   UV_PROJECT_ENVIRONMENT) of both projects, and the full default .venv (training) of both.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
WORKER = HERE / "_worker.py"
PREDICT = (
    b'{"instances": [{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}]}'
)
VARIANTS = ("onnx", "eager")
CONCURRENCY = (1, 32)
MARK_START, MARK_END = "<!-- results:start -->", "<!-- results:end -->"


def fail(message: str) -> None:
    raise SystemExit(f"run.py: {message}")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def answers(project: Path) -> dict[str, str]:
    path = project / ".copier-answers.yml"
    if not path.is_file():
        fail(f"{project} is not a generated project (no .copier-answers.yml); render one first (README.md)")
    pairs = (line.split(":", 1) for line in path.read_text().splitlines() if ":" in line)
    return {k.strip(): v.strip().strip("'\"") for k, v in pairs}


def check_project(project: Path, framework: str, trained: bool) -> None:
    if not project.is_dir():
        fail(f"project {project} does not exist; README.md says how to create it")
    found = answers(project).get("ml_framework")
    if found != framework:
        fail(f"{project} is a {found!r} project, this argument needs ml_framework={framework!r}")
    if not (project / ".venv" / "bin" / "python").exists():
        fail(f"{project}/.venv is missing: run `make setup UV=<uv>` in {project}")
    if not (project / "uv.lock").is_file():
        fail(f"{project}/uv.lock is missing: run `make setup` in {project}")
    if trained:
        package = answers(project).get("package_name", "my_ml_project")
        missing = [
            p
            for p in (
                "models/model.onnx",
                "models/metadata.json",
                "checkpoints/best.pt",
                "data/processed/test.csv",
            )
            if not (project / p).exists()
        ]
        if missing:
            fail(
                f"{project} is not trained ({', '.join(missing)} missing): run there\n"
                f"  uv run --frozen python -m {package} ingest && uv run --frozen python -m {package} train"
            )


def find_uv(given: str | None) -> str:
    for candidate in (given, os.environ.get("UV"), str(REPO / ".cache/bootstrap/bin/uv"), shutil.which("uv")):
        if candidate and Path(candidate).is_file():
            return candidate
    fail("uv not found: pass --uv, set UV, or run scripts/bootstrap-uv.sh")
    raise AssertionError


def base_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("UV_CACHE_DIR", "/root/.cache/copier-mlops/uv")
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env.pop("VIRTUAL_ENV", None)
    return env


def worker(project: Path, *args: str, timeout: float) -> Any:
    result = subprocess.run(
        [str(project / ".venv/bin/python"), str(WORKER), *args],
        cwd=project,
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        fail(f"_worker.py {' '.join(args)} exited {result.returncode}:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout)


# ---------------------------------------------------------------- serving


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def first_prediction(url: str, proc: subprocess.Popen[bytes], started: float, limit: float = 120) -> float:
    """Seconds from `started` to the first 200 from POST /predict (polled every 10 ms, bounded)."""
    while time.perf_counter() - started < limit:
        if proc.poll() is not None:
            fail(f"the server exited {proc.returncode} before answering")
        request = urllib.request.Request(url, PREDICT, {"content-type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=2) as reply:
                if reply.status == 200:
                    return time.perf_counter() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.01)
    fail(f"no prediction from {url} within {limit}s")
    raise AssertionError


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server's process group by its PID: SIGTERM, then SIGKILL after 10 s."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def serve_round(project: Path, variant: str, requests: int, logs: Path) -> dict[str, Any]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/predict"
    with (logs / f"serve-{variant}-{port}.log").open("wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [
                str(project / ".venv/bin/python"),
                str(WORKER),
                "serve",
                "--variant",
                variant,
                "--port",
                str(port),
            ],
            cwd=project,
            env=base_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            result: dict[str, Any] = {"cold_start_s": first_prediction(url, proc, started)}
            for concurrency in CONCURRENCY:
                result[f"c{concurrency}"] = worker(
                    project,
                    "load",
                    "--url",
                    url,
                    "--requests",
                    str(requests),
                    "--concurrency",
                    str(concurrency),
                    timeout=300,
                )
        finally:
            stop(proc)
    return result


def serving(project: Path, rounds: int, requests: int, logs: Path) -> dict[str, Any]:
    samples: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
    for index in range(rounds):
        order = VARIANTS if index % 2 == 0 else VARIANTS[::-1]  # alternate which variant goes first
        for variant in order:
            log(f"serving round {index + 1}/{rounds}: {variant}")
            samples[variant].append(serve_round(project, variant, requests, logs))
    medians: dict[str, dict[str, float]] = {}
    for variant, runs in samples.items():
        m = {"cold_start_s": statistics.median(r["cold_start_s"] for r in runs)}
        for c in CONCURRENCY:
            for key in ("req_per_s", "p50_ms", "p99_ms"):
                m[f"c{c}_{key}"] = statistics.median(r[f"c{c}"][key] for r in runs)
            m[f"c{c}_errors"] = sum(r[f"c{c}"]["errors"] for r in runs)
        medians[variant] = m
    return {"rounds": rounds, "requests_per_level": requests, "medians": medians, "samples": samples}


# ---------------------------------------------------------------- sizes


def du_bytes(path: Path) -> int:
    """Disk usage as `du -s` counts it (allocated blocks), in bytes."""
    out = subprocess.run(["du", "-sk", str(path)], capture_output=True, text=True, check=True).stdout
    return int(out.split()[0]) * 1024


def packages(env_dir: Path) -> int:
    return len(list(env_dir.glob("lib/python*/site-packages/*.dist-info")))


def serving_env(project: Path, uv: str, tmp: Path) -> dict[str, Any]:
    target = tmp / f"serve-env-{project.name}"
    env = {**base_env(), "UV_PROJECT_ENVIRONMENT": str(target), "UV_LINK_MODE": "copy"}
    # The interpreter the project's .venv was made with (its bin/python links to it), unless UV_PYTHON says.
    env.setdefault("UV_PYTHON", str((project / ".venv/bin/python").resolve()))
    started = time.perf_counter()
    result = subprocess.run(
        [uv, "sync", "--frozen", "--no-default-groups", "--no-dev"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        fail(
            f"uv sync (serving environment of {project}) exited {result.returncode}:\n{result.stderr[-3000:]}"
        )
    size = du_bytes(target)
    largest = sorted(
        (
            (du_bytes(p), p.name)
            for p in target.glob("lib/python*/site-packages/*")
            if p.is_dir() and not p.name.endswith(".dist-info")
        ),
        reverse=True,
    )[:4]
    count = packages(target)
    shutil.rmtree(target)
    return {
        "bytes": size,
        "n_packages": count,
        "sync_s": seconds,
        "largest": [{"name": n, "bytes": b} for b, n in largest],
    }


def training_env(project: Path) -> dict[str, Any]:
    venv = project / ".venv"
    site = next(venv.glob("lib/python*/site-packages"))
    parts = {
        name: du_bytes(site / name)
        for name in ("torch", "nvidia", "triton", "cuda")
        if (site / name).exists()
    }
    version = None
    for meta in site.glob("torch-*.dist-info/METADATA"):
        version = next(
            (
                line.split(":", 1)[1].strip()
                for line in meta.read_text().splitlines()
                if line.startswith("Version:")
            ),
            None,
        )
    return {"bytes": du_bytes(venv), "packages": packages(venv), "parts": parts, "torch_version": version}


def locked_torch_wheel(project: Path) -> dict[str, Any] | None:
    """The size uv.lock records for the torch wheel this machine installs (cp312, manylinux x86_64)."""
    text = (project / "uv.lock").read_text()
    found = re.search(
        r'url = "([^"]*/torch-[^"]*-cp312-cp312-manylinux[^"]*x86_64\.whl)"[^}]*size = (\d+)', text
    )
    return {"url": found.group(1), "bytes": int(found.group(2))} if found else None


def sizes(torch_project: Path, sklearn_project: Path, uv: str, tmp: Path) -> dict[str, Any]:
    log("sizes: serving environments (uv sync into fresh environments)")
    return {
        "serving": {
            "scikit-learn": serving_env(sklearn_project, uv, tmp),
            "pytorch": serving_env(torch_project, uv, tmp),
        },
        "training": {
            "scikit-learn": training_env(sklearn_project),
            "pytorch": training_env(torch_project),
        },
        "torch_wheel_in_lock": locked_torch_wheel(torch_project),
        "torch_index": answers(torch_project).get("torch_cpu_index"),
    }


# ---------------------------------------------------------------- report


def human(n: float) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}" if unit == "GiB" else f"{n / scale:.0f} {unit}"
    return f"{n / 1024:.0f} KiB"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else ""


def markdown(r: dict[str, Any]) -> str:
    m = r["machine"]
    out = [
        f"Measured {r['when']} on {m['cpus']} CPU cores ({m['cpu']}), shared with other work; "
        f"project Python {r['inproc']['python']}, torch {r['inproc']['torch_version']}, template commit {r['template_commit']}. "
        f"Medians of {r['serving']['rounds']} alternating rounds; ratio = onnx / eager.",
        "",
        "**1a. In-process model call** (`LoadedModel.predict`, rows/s; onnx and eager on 1 thread each, "
        f"labels agree on the {r['inproc']['test_rows']} test rows: {r['inproc']['labels_agree_on_test_rows']})",
        "",
    ]
    rows = r["inproc"]["rows_per_s"]
    extra = next(name for name in rows if name not in VARIANTS)
    out += [f"| batch | onnx | eager | ratio onnx/eager | {extra} |", "|---:|---:|---:|---:|---:|"]
    for size in ("1", "32", "256"):
        o, e, x = (rows[k][size]["median"] for k in ("onnx", "eager", extra))
        out.append(f"| {size} | {o:,.0f} | {e:,.0f} | {ratio(o, e)} | {x:,.0f} |")
    s = r["serving"]["medians"]
    o, e = s["onnx"], s["eager"]
    out += [
        "",
        f"**1b. Through uvicorn on 127.0.0.1** ({r['serving']['requests_per_level']} one-row requests per level "
        "and round, httpx client on the same cores; errors summed over rounds)",
        "",
        "| metric | onnx | eager | ratio onnx/eager |",
        "|---|---:|---:|---:|",
    ]
    for c in CONCURRENCY:
        out.append(
            f"| c={c} req/s | {o[f'c{c}_req_per_s']:,.0f} | {e[f'c{c}_req_per_s']:,.0f} | {ratio(o[f'c{c}_req_per_s'], e[f'c{c}_req_per_s'])} |"
        )
        for key in ("p50_ms", "p99_ms"):
            out.append(
                f"| c={c} {key[:3]} ms | {o[f'c{c}_{key}']:.2f} | {e[f'c{c}_{key}']:.2f} | {ratio(o[f'c{c}_{key}'], e[f'c{c}_{key}'])} |"
            )
        out.append(f"| c={c} errors | {o[f'c{c}_errors']} | {e[f'c{c}_errors']} | |")
    out.append(
        f"| cold start s (process start to first /predict 200) | {o['cold_start_s']:.2f} | {e['cold_start_s']:.2f} | {ratio(o['cold_start_s'], e['cold_start_s'])} |"
    )
    if "sizes" not in r:
        return "\n".join(out) + "\n"
    z = r["sizes"]
    sv, tr = z["serving"], z["training"]
    out += [
        "",
        "**2. Environment sizes** (`du -s`; serving = `uv sync --frozen --no-default-groups --no-dev` into a fresh "
        "UV_PROJECT_ENVIRONMENT, UV_LINK_MODE=copy, warm uv cache; training = the project's full default .venv)",
        "",
        "| environment | scikit-learn project | PyTorch project | ratio pytorch/sklearn |",
        "|---|---:|---:|---:|",
        f"| serving | {human(sv['scikit-learn']['bytes'])} ({sv['scikit-learn']['n_packages']} packages) | "
        f"{human(sv['pytorch']['bytes'])} ({sv['pytorch']['n_packages']} packages) | {ratio(sv['pytorch']['bytes'], sv['scikit-learn']['bytes'])} |",
        f"| training (.venv) | {human(tr['scikit-learn']['bytes'])} ({tr['scikit-learn']['packages']} packages) | "
        f"{human(tr['pytorch']['bytes'])} ({tr['pytorch']['packages']} packages) | {ratio(tr['pytorch']['bytes'], tr['scikit-learn']['bytes'])} |",
        "",
        "Largest serving packages (PyTorch project): "
        + ", ".join(f"{p['name']} {human(p['bytes'])}" for p in sv["pytorch"]["largest"])
        + ".",
        f"PyTorch training .venv: torch {tr['pytorch']['torch_version']}; "
        + ", ".join(f"{k}/ {human(v)}" for k, v in tr["pytorch"]["parts"].items())
        + f" (torch index in this project: {z['torch_index']}).",
    ]
    wheel = z["torch_wheel_in_lock"]
    if wheel:
        out.append(
            f"torch wheel in uv.lock (cp312 manylinux x86_64): {human(wheel['bytes'])} ({wheel['url'].split('/')[-1]})."
        )
    return "\n".join(out) + "\n"


def update_readme(table: str) -> None:
    readme = HERE / "README.md"
    if not readme.is_file():
        return
    text = readme.read_text()
    if MARK_START in text and MARK_END in text:
        head, rest = text.split(MARK_START, 1)
        _, tail = rest.split(MARK_END, 1)
        readme.write_text(f"{head}{MARK_START}\n{table}{MARK_END}{tail}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--torch-project", type=Path, default=Path("/tmp/p-torch"), help="set-up, trained PyTorch project"
    )
    parser.add_argument(
        "--sklearn-project",
        type=Path,
        default=Path("/tmp/bench-skl"),
        help="set-up default (scikit-learn) project",
    )
    parser.add_argument(
        "--uv", help="uv executable (default: $UV, the repository's bootstrap uv, or uv on PATH)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per variant (default 3)")
    parser.add_argument(
        "--requests", type=int, default=2000, help="requests per concurrency level and round (default 2000)"
    )
    parser.add_argument(
        "--budget", type=float, default=0.5, help="seconds per in-process measurement (default 0.5)"
    )
    parser.add_argument(
        "--out", type=Path, default=HERE, help="folder for results.md/.json (default: this folder)"
    )
    parser.add_argument(
        "--skip-sizes", action="store_true", help="serving measurements only (no sklearn project needed)"
    )
    args = parser.parse_args()

    torch_project, sklearn_project = args.torch_project.resolve(), args.sklearn_project.resolve()
    check_project(torch_project, "pytorch", trained=True)
    if not args.skip_sizes:
        check_project(sklearn_project, "scikit-learn", trained=False)
    uv = find_uv(args.uv)
    started = time.perf_counter()
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    cpu = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor(),
        )
        if Path("/proc/cpuinfo").exists()
        else platform.processor()
    )
    results: dict[str, Any] = {
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "template_commit": commit,
        "machine": {"cpus": os.cpu_count(), "cpu": cpu, "python": platform.python_version()},
        "projects": {"pytorch": str(torch_project), "scikit-learn": str(sklearn_project)},
    }
    with tempfile.TemporaryDirectory(prefix="bench-compute-") as tmp:
        log("in-process model calls")
        results["inproc"] = worker(
            torch_project, "inproc", "--rounds", str(args.rounds), "--budget", str(args.budget), timeout=600
        )
        results["serving"] = serving(torch_project, args.rounds, args.requests, Path(tmp))
        if not args.skip_sizes:
            results["sizes"] = sizes(torch_project, sklearn_project, uv, Path(tmp))
    results["total_s"] = time.perf_counter() - started
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results)
    (args.out / "results.md").write_text("# Compute benchmark: latest results\n\n" + table)
    if args.out.resolve() == HERE and "sizes" in results:
        update_readme(table)
    print(table)
    log(f"done in {results['total_s']:.0f}s; results in {args.out}")


if __name__ == "__main__":
    main()
