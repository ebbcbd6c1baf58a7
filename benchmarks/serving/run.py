"""Serving benchmark: the generated API against BentoML and MLServer, on the project's own models.

    python benchmarks/serving/run.py            # full run (README.md: method and results)
    python benchmarks/serving/run.py --quick    # one short round of everything: checks the harness

Any Python 3.11+ runs this file (standard library only). It renders the template's working tree into
.work/project (cached: rendered again when a template file changes), sets it up with `make setup`,
trains the default logistic-regression model (`make pipeline`), a 100-tree random forest
(`bench --params params-forest.yaml train`) and the overload forest (`_refit.py train`), refits
the first two estimators with the project's code for the peers (_refit.py), syncs each peer's locked environment (envs/<peer>/), then:

1. cold start of the generated API: process spawn to its first 200 from POST /predict;
2. round-robin: every server up at once, idle, pinned to CPU 0; wrk (CPU 1) cycles through them in
   short runs, one row per request, at c=1 and c=32, for both models, --rounds times;
3. overload: the generated API on a 60,000-tree forest (trained the same way, for this phase only), one
   server at a time: open loop at twice its sustainable rate and closed loop c=256, as shipped, with every
   bound off and with each bound off alone (_loadgen.py: per-status latencies; /metrics scraped around).

Writes results.json (every sample) and results.md here, and the tables into README.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import glob
import hashlib
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
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
WORK = HERE / ".work"
PROJECT = WORK / "project"
PACKAGE = "bench"
TEMPLATE_PARTS = ("copier.yml", "template", "hooks", "template_spec")
SERVER_CPU, CLIENT_CPU, BOTH_CPUS = "0", "1", "0,1"
MODELS = {"lr": "logistic regression (default)", "rf": "random forest, 100 trees"}
# The overload model: the same forest with so many trees that the generated API sustains about a
# thousand one-row requests a second on one core, far below what the load client sends on its core
# (ONNX Runtime evaluates a tree of this data set in a few nanoseconds: 100 or 2,000 trees leave the
# API bound by its HTTP work, at several thousand requests a second).
HEAVY, HEAVY_TREES = "rf_heavy", 60_000
MODEL_DIRS = {"lr": "models", "rf": "models-forest", HEAVY: "models-forest-heavy"}
ROW = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
API_BODY = json.dumps({"instances": [ROW]})
V2_BODY = json.dumps(
    {"inputs": [{"name": "predict", "shape": [1, 4], "datatype": "FP64", "data": list(ROW.values())}]}
)
# The generated API's variants: each turns one safety off, or changes the worker count and cores.
API_VARIANTS: dict[str, tuple[dict[str, str], str]] = {
    "api": ({}, SERVER_CPU),
    "api_queue_off": ({"MAX_QUEUE_ROWS": "0"}, SERVER_CPU),
    "api_wait_off": ({"MAX_QUEUE_WAIT_MS": "0"}, SERVER_CPU),
    "api_timeout_off": ({"REQUEST_TIMEOUT_MS": "0"}, SERVER_CPU),
    "api_w1_2cpu": ({"WORKERS": "1"}, BOTH_CPUS),
    "api_w2_2cpu": ({"WORKERS": "2"}, BOTH_CPUS),
}
# The overload runs, on the heavy forest: the API as shipped, with every bound off, and each bound off alone.
OVERLOAD_VARIANTS: dict[str, dict[str, str]] = {
    "api": {},
    "api_bounds_off": {"MAX_QUEUE_ROWS": "0", "MAX_QUEUE_WAIT_MS": "0", "REQUEST_TIMEOUT_MS": "0"},
    "api_queue_off": {"MAX_QUEUE_ROWS": "0"},
    "api_wait_off": {"MAX_QUEUE_WAIT_MS": "0"},
    "api_timeout_off": {"REQUEST_TIMEOUT_MS": "0"},
}
# Also run open loop with more connections than MAX_QUEUE_ROWS (the queue_full bound can trigger only then).
WIDE_VARIANTS = ("api", "api_bounds_off")
SHED_REASONS = ("queue_full", "queue_wait", "loop_lag", "deadline", "shutting_down")
PEERS = ("bento", "bento_onnx", "mlserver")
THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
MARK_START, MARK_END = "<!-- results:start -->", "<!-- results:end -->"


def fail(message: str) -> None:
    raise SystemExit(f"run.py: {message}")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- tools and environments


def find_uv(given: str | None) -> str:
    for candidate in (given, os.environ.get("UV"), str(REPO / ".cache/bootstrap/bin/uv"), shutil.which("uv")):
        if candidate and Path(candidate).is_file():
            return candidate
    fail("uv not found: pass --uv, set UV, or run `source scripts/bootstrap-uv.sh`")
    raise AssertionError


def find_python(version: str = "3.12") -> str:
    """An interpreter of `version`: $PYTHON312, pyenv's versions, PATH; uv never downloads one here."""
    pyenv = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates = [os.environ.get(f"PYTHON{version.replace('.', '')}", "")]
    candidates += sorted(glob.glob(f"{pyenv}/versions/{version}.*/bin/python{version}"), reverse=True)
    candidates += [shutil.which(f"python{version}") or "", f"/usr/bin/python{version}"]
    for candidate in filter(None, candidates):
        if Path(candidate).is_file():
            return candidate
    fail(f"no Python {version} found: set PYTHON{version.replace('.', '')}")
    raise AssertionError


def base_env(uv: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    env.setdefault(
        "UV_CACHE_DIR",
        str(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "copier-mlops" / "uv"),
    )
    env.update(
        UV_PYTHON_DOWNLOADS="never",
        UV_NO_PROGRESS="1",
        DVC_NO_ANALYTICS="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="Serving Benchmark",
        GIT_AUTHOR_EMAIL="bench@example.com",
        GIT_COMMITTER_NAME="Serving Benchmark",
        GIT_COMMITTER_EMAIL="bench@example.com",
    )
    env["PATH"] = f"{Path(uv).parent}{os.pathsep}{env.get('PATH', '')}"  # `uv` by name in make
    return env


def sh(argv: list[str], cwd: Path, env: dict[str, str], timeout: float, what: str) -> str:
    """Run a command, bounded; on failure stop with the end of its output."""
    log(what)
    try:
        done = subprocess.run(
            argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        fail(f"{what}: no end within {timeout:.0f}s ({' '.join(argv)})")
        raise AssertionError from None
    if done.returncode != 0:
        fail(f"{what}: `{' '.join(argv)}` exited {done.returncode}:\n{(done.stdout + done.stderr)[-4000:]}")
    return done.stdout


def template_files() -> list[str]:
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *TEMPLATE_PARTS],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return sorted(n for n in set(listing.split("\0")) if n and (REPO / n).is_file())


def fingerprint(files: list[str]) -> str:
    digest = hashlib.sha256()
    for name in files:
        digest.update(name.encode() + b"\0" + (REPO / name).read_bytes() + b"\0")
    digest.update((HERE / "_refit.py").read_bytes())
    digest.update(f"heavy forest: {HEAVY_TREES} trees".encode())
    return digest.hexdigest()[:16]


def prepare_project(uv: str, python: str, rebuild: bool) -> dict[str, Any]:
    """The generated project, set up and trained, with both models refit for the peers (cached)."""
    files = template_files()
    stamp_file = WORK / "project.json"
    print_ = fingerprint(files)
    if stamp_file.is_file() and not rebuild:
        stamp: dict[str, Any] = json.loads(stamp_file.read_text())
        trained = all((PROJECT / d / "model.onnx").is_file() for d in MODEL_DIRS.values())
        if stamp.get("fingerprint") == print_ and (PROJECT / ".venv/bin/python").exists() and trained:
            log(f"project: cached in {PROJECT} (template unchanged)")
            return stamp
    env = base_env(uv)
    env["UV_PYTHON"] = python
    shutil.rmtree(PROJECT, ignore_errors=True)
    template = WORK / "template"
    shutil.rmtree(template, ignore_errors=True)
    template.mkdir(parents=True)
    for name in files:
        (template / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, template / name)
    for git_args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["commit", "-q", "--no-verify", "-m", "snapshot"],
    ):
        sh(["git", *git_args], template, env, 120, f"template snapshot: git {git_args[0]}")
    copier = REPO / ".venv/bin/copier"
    if not copier.exists():
        fail(f"{copier} missing: run `make setup` (or `uv sync`) in {REPO}")
    sh(
        [
            str(copier),
            "copy",
            "-q",
            "--trust",
            "--defaults",
            "-r",
            "HEAD",
            "-d",
            "project_name=bench",
            "--",
            str(template),
            str(PROJECT),
        ],
        WORK,
        env,
        300,
        "render the default project (project_name=bench)",
    )
    for git_args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["commit", "-q", "--no-verify", "-m", "gen"],
    ):
        sh(["git", *git_args], PROJECT, env, 120, f"project: git {git_args[0]}")
    sh(["make", "setup", f"UV={uv}"], PROJECT, env, 1200, "project: make setup")
    sh(["make", "pipeline", f"UV={uv}"], PROJECT, env, 900, "project: make pipeline (logistic regression)")
    py = str(PROJECT / ".venv/bin/python")
    refit = str(HERE / "_refit.py")
    sh(
        [py, refit, "forest-params", "--out", "params-forest.yaml", "--model-dir", MODEL_DIRS["rf"]],
        PROJECT,
        env,
        60,
        "forest params",
    )
    sh(
        [str(PROJECT / f".venv/bin/{PACKAGE}"), "--params", "params-forest.yaml", "train"],
        PROJECT,
        env,
        600,
        "project: train the random forest (bench --params params-forest.yaml train)",
    )
    sh(
        [
            py,
            refit,
            "forest-params",
            "--out",
            "params-forest-heavy.yaml",
            "--model-dir",
            MODEL_DIRS[HEAVY],
            "--n-estimators",
            str(HEAVY_TREES),
        ],
        PROJECT,
        env,
        60,
        "heavy forest params",
    )
    started = time.monotonic()
    sh(
        [py, refit, "train", "--params", "params-forest-heavy.yaml"],
        PROJECT,
        env,
        3600,
        f"project: train the overload forest, {HEAVY_TREES:,} trees (the project's train without its MLflow "
        "record; a few minutes)",
    )
    heavy_train_s = round(time.monotonic() - started)
    out = sh(
        [
            py,
            refit,
            "refit",
            "--out",
            str(WORK / "sklearn"),
            "--model",
            "lr=params.yaml",
            "--model",
            "rf=params-forest.yaml",
        ],
        PROJECT,
        env,
        600,
        "refit both estimators for the peers (joblib)",
    )
    stamp = {
        "fingerprint": print_,
        "refit": json.loads(out),
        "template_head": git_head(),
        "heavy_forest": {
            "trees": HEAVY_TREES,
            "train_s": heavy_train_s,
            "onnx_mb": round((PROJECT / MODEL_DIRS[HEAVY] / "model.onnx").stat().st_size / 2**20, 1),
        },
    }
    stamp_file.write_text(json.dumps(stamp, indent=2))
    return stamp


def git_head() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", *TEMPLATE_PARTS], cwd=REPO, capture_output=True, text=True
    )
    return out.stdout.strip() + ("+uncommitted" if dirty.stdout.strip() else "")


def sync_env(uv: str, python: str, name: str) -> Path:
    """envs/<name>'s locked environment in .work/venvs/<name> (uv sync --locked)."""
    venv = WORK / "venvs" / name
    env = base_env(uv)
    env.update(UV_PROJECT_ENVIRONMENT=str(venv), UV_PYTHON=python)
    sh(
        [uv, "sync", "--locked", "--project", str(HERE / "envs" / name)],
        HERE,
        env,
        900,
        f"env {name}: uv sync --locked",
    )
    return venv


def package_version(venv: Path, name: str) -> str:
    found = glob.glob(str(venv / "lib/python*/site-packages" / f"{name}-*.dist-info"))
    return Path(found[0]).name.removeprefix(f"{name}-").removesuffix(".dist-info") if found else "?"


# ---------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pinned(cpus: str, argv: list[str]) -> list[str]:
    """taskset to `cpus`, at nice -10 when root, else at the default priority."""
    nice = ["nice", "-n", "-10"] if os.geteuid() == 0 else []
    return [*nice, "taskset", "-c", cpus, *argv]


def tree(pid: int) -> list[int]:
    """`pid` and its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            text = Path(stat).read_text()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[1].split()
        children.setdefault(int(fields[1]), []).append(int(text.split(" ", 1)[0]))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


CLOCK_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process tree (live processes), in seconds."""
    total = 0
    for member in tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICK


def rss_mb(pid: int) -> float:
    """Resident memory summed over the process tree, MB."""
    total = 0
    for member in tree(pid):
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except OSError:
            continue
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        total += int(match.group(1)) if match else 0
    return round(total / 1024, 1)


@dataclasses.dataclass
class Server:
    """One server process; `targets` maps a model to the URL and body that reach it."""

    name: str
    argv: list[str]
    cwd: Path
    env: dict[str, str]
    cpus: str
    targets: dict[str, tuple[str, str]]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    labels: dict[str, str] = dataclasses.field(default_factory=dict)

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                pinned(self.cpus, self.argv),
                cwd=self.cwd,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, started: float, limit: float) -> float:
        """Seconds from `started` until every target answered 200 (first one polled every 20 ms)."""
        assert self.proc is not None
        for url, body in self.targets.values():
            while True:
                if self.proc.poll() is not None:
                    fail(f"{self.name} exited {self.proc.returncode} before answering; log: {self.log}")
                if time.perf_counter() - started > limit:
                    fail(f"{self.name}: no 200 from {url} within {limit:.0f}s; log: {self.log}")
                status, _ = post(url, body, timeout=2)
                if status == 200:
                    break
                time.sleep(0.02)
        elapsed = time.perf_counter() - started
        for model, (url, body) in self.targets.items():
            self.labels[model] = first_label(post(url, body, timeout=10)[1])
        return elapsed

    def stop(self) -> None:
        """SIGTERM to the process group by its PID, SIGKILL after 15 s."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        except ProcessLookupError:
            pass


def post(url: str, body: str, timeout: float) -> tuple[int | None, bytes]:
    """Status and body of one POST (None: no HTTP answer)."""
    request = urllib.request.Request(url, body.encode(), {"content-type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return int(reply.status), reply.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), b""
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return None, b""


def first_label(answer: bytes) -> str:
    """The predicted label in an answer: {"predictions": [...]} or V2's {"outputs": [{"data": [...]}]}."""
    try:
        data = json.loads(answer)
        labels = data["predictions"] if "predictions" in data else data["outputs"][0]["data"]
        return str(labels[0])
    except (ValueError, KeyError, IndexError, TypeError):
        return f"unreadable answer: {answer[:200]!r}"


@contextmanager
def running(servers: list[Server]) -> Iterator[None]:
    try:
        yield
    finally:
        for server in servers:
            server.stop()


# ---------------------------------------------------------------- the servers


def api_server(model: str, variant: str, logs: Path) -> Server:
    extra, cpus = (
        API_VARIANTS[variant] if variant in API_VARIANTS else (OVERLOAD_VARIANTS[variant], SERVER_CPU)
    )
    port = free_port()
    env = {**os.environ, **THREAD_ENV, "MODEL_DIR": MODEL_DIRS[model], **extra}
    env.pop("VIRTUAL_ENV", None)
    return Server(
        name=f"{variant}/{model}",
        argv=[str(PROJECT / f".venv/bin/{PACKAGE}"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=PROJECT,
        env=env,
        cpus=cpus,
        targets={model: (f"http://127.0.0.1:{port}/predict", API_BODY)},
        log=logs / f"{variant}-{model}.log",
    )


def bento_server(venv: Path, logs: Path) -> list[Server]:
    """One BentoML process (workers=1) serving four endpoints; two names share it."""
    port = free_port()
    env = {
        **os.environ,
        **THREAD_ENV,
        "BENTOML_HOME": str(WORK / "bentoml-home"),
        "BENTOML_DO_NOT_TRACK": "true",
        "BENCH_SKLEARN_DIR": str(WORK / "sklearn"),
        "BENCH_ONNX_LR": str(PROJECT / MODEL_DIRS["lr"] / "model.onnx"),
        "BENCH_ONNX_RF": str(PROJECT / MODEL_DIRS["rf"] / "model.onnx"),
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    argv = [str(venv / "bin/bentoml"), "serve", "bento_service:IrisService", "--host", "127.0.0.1"]
    argv += ["--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    sklearn_targets = {m: (f"{base}/predict_{m}", API_BODY) for m in MODELS}
    onnx_targets = {m: (f"{base}/predict_{m}_onnx", API_BODY) for m in MODELS}
    shared = Server("bento", argv, HERE / "peers", env, SERVER_CPU, sklearn_targets, logs / "bento.log")
    return [shared, dataclasses.replace(shared, name="bento_onnx", targets=onnx_targets)]


def mlserver_server(venv: Path, logs: Path) -> Server:
    """MLServer with its defaults (parallel_workers=1) and both models, mlserver_sklearn.SKLearnModel."""
    root = WORK / "mlserver"
    shutil.rmtree(root, ignore_errors=True)
    port = free_port()
    settings = {
        "host": "127.0.0.1",
        "http_port": port,
        "grpc_port": free_port(),
        "metrics_port": free_port(),
        "load_models_at_startup": True,
    }
    root.mkdir(parents=True)
    (root / "settings.json").write_text(json.dumps(settings, indent=2))
    for model in MODELS:
        (root / model).mkdir()
        model_settings = {
            "name": model,
            "implementation": "mlserver_sklearn.SKLearnModel",
            "parameters": {"uri": str(WORK / "sklearn" / f"{model}.joblib"), "version": "v1"},
        }
        (root / model / "model-settings.json").write_text(json.dumps(model_settings, indent=2))
    env = {**os.environ, **THREAD_ENV, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    targets = {m: (f"http://127.0.0.1:{port}/v2/models/{m}/infer", V2_BODY) for m in MODELS}
    return Server(
        "mlserver",
        [str(venv / "bin/mlserver"), "start", str(root)],
        root,
        env,
        SERVER_CPU,
        targets,
        logs / "mlserver.log",
    )


# ---------------------------------------------------------------- load


def wrk_script(body: str) -> Path:
    path = WORK / "lua" / f"{hashlib.sha256(body.encode()).hexdigest()[:12]}.lua"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(body)}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )
    return path


UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def duration_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(text)
    return float(match.group(1)) * UNIT[match.group(2)]


def parse_wrk(out: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for pct in ("50", "75", "90", "99"):
        match = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        result[f"p{pct}_ms"] = duration_ms(match.group(1)) if match else None
    match = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
    result["requests"] = int(match.group(1)) if match else 0
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    result["rps"] = float(match.group(1)) if match else 0.0
    match = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non_2xx"] = int(match.group(1)) if match else 0
    match = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    result["socket_errors"] = sum(int(g) for g in match.groups()) if match else 0
    result["errors"] = result["non_2xx"] + result["socket_errors"]
    return result


def wrk(
    url: str, body: str, connections: int, seconds: float, client_cpus: str = CLIENT_CPU
) -> dict[str, Any]:
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "5s", "--latency"]
    argv += ["-s", str(wrk_script(body)), url]
    done = subprocess.run(
        pinned(client_cpus, argv), capture_output=True, text=True, timeout=seconds + 30, check=False
    )
    if done.returncode != 0:
        fail(f"wrk exited {done.returncode}: {done.stderr[-2000:]}")
    return parse_wrk(done.stdout)


def measured_run(server: Server, model: str, connections: int, seconds: float) -> dict[str, Any]:
    """One wrk run with the server tree's CPU time around it."""
    assert server.proc is not None
    if server.proc.poll() is not None:
        fail(f"{server.name} exited {server.proc.returncode}; log: {server.log}")
    url, body = server.targets[model]
    cpu_before = cpu_seconds(server.proc.pid)
    result = wrk(url, body, connections, seconds)
    cpu = cpu_seconds(server.proc.pid) - cpu_before
    result["cpu_ms_per_req"] = round(1000 * cpu / result["requests"], 3) if result["requests"] else None
    return result


def loadgen(
    client: Path,
    url: str,
    body: str,
    seconds: float,
    *,
    rate: float = 0,
    concurrency: int = 0,
    max_connections: int = 1024,
) -> dict[str, Any]:
    argv = [str(client / "bin/python"), str(HERE / "_loadgen.py"), "--url", url, "--body", body]
    argv += ["--seconds", str(seconds), "--rate", str(rate), "--concurrency", str(concurrency)]
    argv += ["--max-connections", str(max_connections), "--timeout", "15"]
    done = subprocess.run(
        pinned(CLIENT_CPU, argv), capture_output=True, text=True, timeout=seconds + 90, check=False
    )
    if done.returncode != 0:
        fail(f"_loadgen.py exited {done.returncode}: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


# ---------------------------------------------------------------- phases


def cold_starts(models: list[str], repeats: int, logs: Path) -> dict[str, list[float]]:
    """The default API, started alone `repeats` times per model: spawn to the first 200 from /predict."""
    samples: dict[str, list[float]] = {m: [] for m in models}
    for index in range(repeats):
        for model in models:
            server = api_server(model, "api", logs)
            server.log = logs / f"cold-{model}.log"
            with running([server]):
                started = time.perf_counter()
                server.start()
                samples[model].append(round(server.wait_ready(started, limit=120), 3))
            log(f"cold start {index + 1}/{repeats} {model}: {samples[model][-1]:.2f}s")
            time.sleep(0.5)
    return samples


def round_robin(
    servers: list[Server], models: list[str], concurrencies: list[int], rounds: int, seconds: float
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for index in range(rounds):
        for model in models:
            cast = [s for s in servers if model in s.targets]
            shift = index % len(cast)
            cast = cast[shift:] + cast[:shift]  # each round starts with another server
            for connections in concurrencies:
                for server in cast:
                    result = measured_run(server, model, connections, seconds)
                    rows.append(
                        {
                            "round": index,
                            "server": server.name.split("/")[0],
                            "model": model,
                            "c": connections,
                            **result,
                        }
                    )
                    log(
                        f"round {index + 1}/{rounds} {model} c={connections} {server.name}: {result['rps']:.0f} req/s "
                        f"p50 {result['p50_ms']} p99 {result['p99_ms']} ms, errors {result['errors']}, "
                        f"CPU {result['cpu_ms_per_req']} ms/req"
                    )
    return rows


def median(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 3) if values else None


def summarize(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Medians over rounds, by server, model and concurrency."""
    keys = sorted({(r["server"], r["model"], r["c"]) for r in rows})
    out: dict[str, dict[str, Any]] = {}
    for server, model, connections in keys:
        mine = [r for r in rows if (r["server"], r["model"], r["c"]) == (server, model, connections)]
        out[f"{server}|{model}|{connections}"] = {
            "server": server,
            "model": model,
            "c": connections,
            "runs": len(mine),
            "rps": median([r["rps"] for r in mine]),
            "p50_ms": median([r["p50_ms"] for r in mine]),
            "p99_ms": median([r["p99_ms"] for r in mine]),
            "errors": sum(r["errors"] for r in mine),
            "requests": sum(r["requests"] for r in mine),
            "cpu_ms_per_req": median([r["cpu_ms_per_req"] for r in mine]),
        }
    return out


def scrape(server: Server) -> dict[str, Any]:
    """The API's /metrics: shed counts by reason, /predict answers by status, its latency histogram."""
    url = next(iter(server.targets.values()))[0].rsplit("/", 1)[0] + "/metrics"
    with urllib.request.urlopen(url, timeout=15) as reply:
        text = reply.read().decode()
    found: dict[str, Any] = {"shed": {}, "status": {}, "buckets": {}, "queue_rows": None}
    for line in text.splitlines():
        match = re.fullmatch(r"(\w+)(?:\{(.*)\})?\s+(\S+)", line.strip())
        if not match:
            continue
        name, labels, value = (
            match.group(1),
            dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or "")),
            float(match.group(3)),
        )
        predict = labels.get("route") == "/predict" and labels.get("method") == "POST"
        if name == "model_requests_shed_total":
            found["shed"][labels["reason"]] = value
        elif name == "http_requests_total" and predict:
            found["status"][labels["status"]] = value
        elif name == "http_request_duration_seconds_bucket" and predict:
            found["buckets"][labels["le"]] = value
        elif name == "model_queue_rows":
            found["queue_rows"] = value
    return found


def histogram_quantile(q: float, buckets: dict[str, float]) -> float | str | None:
    """Prometheus' histogram_quantile over cumulative buckets {le: count}, in ms (linear within a bucket);
    past the last finite bound, ">bound"."""
    ordered = sorted((float(le), count) for le, count in buckets.items())
    if not ordered or ordered[-1][1] <= 0:
        return None
    rank = q * ordered[-1][1]
    lower, below = 0.0, 0.0
    for bound, count in ordered:
        if count >= rank:
            if bound == float("inf"):
                return f">{lower * 1000:g}"
            share = (rank - below) / (count - below) if count > below else 1.0
            return round((lower + (bound - lower) * share) * 1000, 2)
        lower, below = bound, count
    return None


def metrics_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    def minus(key: str) -> dict[str, float]:
        return {k: after[key][k] - before[key].get(k, 0.0) for k in after[key]}

    buckets = minus("buckets")
    return {
        "shed": {k: int(v) for k, v in minus("shed").items()},
        "status": {k: int(v) for k, v in minus("status").items() if v},
        "latency_p50_ms": histogram_quantile(0.50, buckets),
        "latency_p99_ms": histogram_quantile(0.99, buckets),
        "buckets": buckets,
    }


def settle(server: Server, limit: float = 60) -> dict[str, Any]:
    """Scrape /metrics once the model's queue is empty (what was queued is done), within `limit` s."""
    deadline = time.monotonic() + limit
    while True:
        scraped = scrape(server)
        if not scraped["queue_rows"] or time.monotonic() > deadline:
            return scraped
        time.sleep(0.5)


def overload(
    client: Path,
    logs: Path,
    rate: float | None,
    seconds: float,
    calibration_seconds: float,
    connections: int,
    max_connections: int,
    wide_connections: int,
) -> dict[str, Any]:
    """The heavy forest behind each overload variant, one server at a time: its sustainable rate first
    (the shipped API's best closed-loop rate, wrk at c=32 and c=`connections`), then open loop at
    twice that (or `rate`) and closed loop at c=`connections`, /metrics scraped around each run."""
    out: dict[str, Any] = {"model": HEAVY, "trees": HEAVY_TREES, "calibration": [], "rate": rate, "rows": []}
    for variant in OVERLOAD_VARIANTS:
        server = api_server(HEAVY, variant, logs)
        with running([server]):
            started = time.perf_counter()
            server.start()
            ready = server.wait_ready(started, limit=300)
            log(f"overload: {variant} on the heavy forest up in {ready:.1f}s")
            measured_run(server, HEAVY, 8, 1)  # warm-up, unmeasured
            if out["rate"] is None:
                for c in (32, connections):
                    result = measured_run(server, HEAVY, c, calibration_seconds)
                    out["calibration"].append({"server": variant, "c": c, **result})
                    log(f"overload calibration c={c}: {result['rps']:.0f} req/s, p99 {result['p99_ms']} ms")
                out["sustainable_rps"] = max(r["rps"] for r in out["calibration"])
                out["rate"] = round(2 * out["sustainable_rps"])
                log(
                    f"overload: sustainable {out['sustainable_rps']:.0f} req/s; open loop at {out['rate']} req/s"
                )
            runs = [("open", max_connections)]
            if wide_connections and variant in WIDE_VARIANTS:
                runs.append(("open", wide_connections))
            runs.append(("closed", connections))
            url, body = server.targets[HEAVY]
            for mode, limit in runs:
                before = settle(server)
                if mode == "open":
                    result = loadgen(client, url, body, seconds, rate=out["rate"], max_connections=limit)
                else:
                    result = loadgen(client, url, body, seconds, concurrency=limit)
                row = {"server": variant, "mode": mode, "connections": limit, **result}
                row["server_metrics"] = metrics_delta(before, settle(server))
                out["rows"].append(row)
                shed = {k: v for k, v in row["server_metrics"]["shed"].items() if v}
                log(
                    f"overload {mode} ({limit} conns) {variant}: {result['offered_rps']:.0f} offered, "
                    f"{result['ok_rps']:.0f} ok/s, 200 p99 {result['status'].get('200', {}).get('p99_ms')} ms, "
                    f"503 {result['status'].get('503', {}).get('count', 0)}, "
                    f"504 {result['status'].get('504', {}).get('count', 0)}, shed {shed}, "
                    f"server p99 {row['server_metrics']['latency_p99_ms']} ms, "
                    f"client issue late p99 {(result['issue_late_ms'] or {}).get('p99_ms')} ms"
                )
                time.sleep(1)
    return out


# ---------------------------------------------------------------- report


def fmt(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    if digits == 0 and abs(value) >= 10:
        return f"{value:,.0f}"
    return f"{value:.{max(digits, 1 if abs(value) >= 1 else 2)}f}"


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a is not None and b else "-"


def report(results: dict[str, Any]) -> str:
    summary: dict[str, dict[str, Any]] = results["summary"]
    models: list[str] = results["config"]["models"]
    concurrencies: list[int] = results["config"]["concurrencies"]
    order = [*API_VARIANTS, *PEERS]
    lines = [
        f"Run {results['date']} ({results['config']['mode']}), template {results['template']}, "
        f"{results['machine']}. Medians over {results['config']['rounds']} round(s) of "
        f"{results['config']['seconds']:g} s runs.",
        "",
        "### Round-robin: req/s, p50 / p99 ms, errors, server CPU ms/request",
        "",
    ]
    for model in models:
        lines += [
            f"**{MODELS[model]}**",
            "",
            "| server | " + " | ".join(f"c={c}" for c in concurrencies) + " | RSS MB | processes |",
        ]
        lines.append("|---" * (len(concurrencies) + 3) + "|")
        for server in order:
            cells = []
            for connections in concurrencies:
                s = summary.get(f"{server}|{model}|{connections}")
                if s is None:
                    cells.append("-")
                    continue
                cells.append(
                    f"{fmt(s['rps'])} ({fmt(s['p50_ms'], 1)} / {fmt(s['p99_ms'], 1)}), "
                    f"{s['errors']} err, {fmt(s['cpu_ms_per_req'], 2)} ms"
                )
            if all(c == "-" for c in cells):
                continue
            memory = results["memory"].get(f"{server}/{model}") or results["memory"].get(server)
            memory = memory or {"rss_mb": "(bento's)", "processes": "(bento's)"}
            lines.append(
                f"| {server} | "
                + " | ".join(cells)
                + f" | {memory.get('rss_mb', '-')} | {memory.get('processes', '-')} |"
            )
        lines.append("")
    lines += [
        "### Generated API / best peer (req/s: above 1 is better; latency and CPU: below 1 is better)",
        "",
        "| model | c | API req/s | best peer req/s | ratio | p50 ratio | p99 ratio | CPU/req ratio |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for model in models:
        for connections in concurrencies:
            api = summary.get(f"api|{model}|{connections}")
            peers = [summary[k] for p in PEERS if (k := f"{p}|{model}|{connections}") in summary]
            if api is None or not peers:
                continue
            best = max(peers, key=lambda s: s["rps"] or 0)
            fastest_p50 = min(s["p50_ms"] for s in peers if s["p50_ms"] is not None)
            fastest_p99 = min(s["p99_ms"] for s in peers if s["p99_ms"] is not None)
            leanest = min(s["cpu_ms_per_req"] for s in peers if s["cpu_ms_per_req"] is not None)
            lines.append(
                f"| {model} | {connections} | {fmt(api['rps'])} | {fmt(best['rps'])} ({best['server']}) | "
                f"**{ratio(api['rps'], best['rps'])}** | {ratio(api['p50_ms'], fastest_p50)} | "
                f"{ratio(api['p99_ms'], fastest_p99)} | {ratio(api['cpu_ms_per_req'], leanest)} |"
            )
    lines += [
        "",
        "### Safeties and workers: variant / `api` (same run)",
        "",
        "| variant | model | c | req/s ratio | p50 ratio | p99 ratio | CPU/req ratio | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for variant in list(API_VARIANTS)[1:]:
        for model in models:
            for connections in concurrencies:
                base = summary.get(f"api|{model}|{connections}")
                s = summary.get(f"{variant}|{model}|{connections}")
                if base is None or s is None:
                    continue
                lines.append(
                    f"| {variant} | {model} | {connections} | {ratio(s['rps'], base['rps'])} | "
                    f"{ratio(s['p50_ms'], base['p50_ms'])} | {ratio(s['p99_ms'], base['p99_ms'])} | "
                    f"{ratio(s['cpu_ms_per_req'], base['cpu_ms_per_req'])} | {s['errors']} |"
                )
    lines += ["", "### Cold start of the generated API (spawn to first 200 from /predict), s", ""]
    lines += ["| model | median | min | max | samples |", "|---|---|---|---|---|"]
    for model, samples in results["cold_start_s"].items():
        if samples:
            lines.append(
                f"| {model} | {statistics.median(samples):.2f} | {min(samples):.2f} | {max(samples):.2f} | {len(samples)} |"
            )
    peers_cold = {k: v for k, v in results["fleet_start_s"].items() if not k.startswith("api")}
    if peers_cold:
        lines.append("")
        lines.append(
            "Peers, started once each alongside the others (all models ready): "
            + ", ".join(f"{k} {v:.1f} s" for k, v in peers_cold.items())
            + "."
        )
    if results["overload"]:
        lines += overload_report(results["overload"], results["config"])
    return "\n".join(lines) + "\n"


def answers(status: dict[str, Any], total: int) -> str:
    """`count (share), p50 / p99 ms from send` of one status, or 0."""
    if not status:
        return "0"
    share = 100 * status["count"] / total if total else 0
    send = status["from_send"]
    return f"{status['count']:,} ({share:.0f}%), {fmt(send['p50_ms'], 1)} / {fmt(send['p99_ms'], 1)}"


def overload_report(overload: dict[str, Any], config: dict[str, Any]) -> list[str]:
    calibration = ", ".join(f"c={r['c']} {fmt(r['rps'])}" for r in overload["calibration"])
    lines = [
        "",
        f"### Overload: the generated API on the heavy forest ({overload['trees']:,} trees)",
        "",
        f"Sustainable: {fmt(overload.get('sustainable_rps'))} req/s, the shipped API's best closed-loop rate "
        f"(wrk: {calibration or 'given'}). Open loop at **{fmt(overload['rate'])} req/s** for "
        f"{config['overload_seconds']:g} s, and closed loop c={config['overload_connections']}; the "
        "server's own counts and latency from its /metrics, scraped before and after each run.",
        "",
        "Client: latency from send (the server's answer time, socket backlog included) and, for the 200s, "
        "from when the request was due (the wait for a free connection included); 503 and 504 from send.",
        "",
        "| variant | mode (connections) | offered req/s | 200/s | 200 p50 / p99 ms from send | "
        "200 p50 / p99 ms from due | 503: count (share), p50 / p99 ms | 504: count (share), p50 / p99 ms | "
        "other |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in overload["rows"]:
        status = row["status"]
        other = (
            row["transport_errors"]
            + row["unanswered"]
            + sum(v["count"] for k, v in status.items() if k not in {"200", "503", "504"})
        )
        total = sum(v["count"] for v in status.values()) + row["transport_errors"] + row["unanswered"]
        ok = status.get("200", {})
        send = ok.get("from_send", {})
        lines.append(
            f"| {row['server']} | {row['mode']} ({row['connections']:,}) | {fmt(row['offered_rps'])} | "
            f"{fmt(row['ok_rps'])} | {fmt(send.get('p50_ms'), 1)} / {fmt(send.get('p99_ms'), 1)} | "
            f"{fmt(ok.get('p50_ms'), 1)} / {fmt(ok.get('p99_ms'), 1)} | "
            f"{answers(status.get('503', {}), total)} | {answers(status.get('504', {}), total)} | {other} |"
        )
    lines += [
        "",
        "Server (/metrics deltas): refusals by reason (`model_requests_shed_total`), /predict latency "
        "quantiles from `http_request_duration_seconds` (every status; from when the app got the request, "
        "so without the socket backlog). Client checks: how late the client itself issued requests (its own "
        "delay), how long they then waited for a free connection (open loop), and its CPU while sending.",
        "",
        "| variant | mode (connections) | shed: " + ", ".join(SHED_REASONS[:4]) + " | server /predict "
        "p50 / p99 ms | client issue late p99 ms | due to sent p99 ms | client CPU |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in overload["rows"]:
        server = row["server_metrics"]
        shed = " / ".join(str(server["shed"].get(reason, 0)) for reason in SHED_REASONS[:4])
        issue = (row.get("issue_late_ms") or {}).get("p99_ms")
        sent = (row.get("send_late_ms") or {}).get("p99_ms")
        p50, p99 = server["latency_p50_ms"], server["latency_p99_ms"]
        lines.append(
            f"| {row['server']} | {row['mode']} ({row['connections']:,}) | {shed} | "
            f"{p50 if isinstance(p50, str) else fmt(p50, 1)} / {p99 if isinstance(p99, str) else fmt(p99, 1)} | "
            f"{fmt(issue, 1) if row['mode'] == 'open' else '-'} | {fmt(sent, 1) if row['mode'] == 'open' else '-'} | "
            f"{row.get('client_cpu_share', 0):.0%} |"
        )
    return lines


def write_outputs(results: dict[str, Any], out: Path, readme: bool) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    table = report(results)
    (out / "results.md").write_text(table)
    target = HERE / "README.md"
    if readme and target.is_file():
        text = target.read_text()
        if MARK_START in text and MARK_END in text:
            head, rest = text.split(MARK_START, 1)
            target.write_text(head + MARK_START + "\n" + table + MARK_END + rest.split(MARK_END, 1)[1])
    log(f"wrote {out / 'results.json'} and {out / 'results.md'}")


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="1 round of 2 s runs, 1 cold start: checks the harness"
    )
    parser.add_argument("--rounds", type=int, default=5, help="round-robin rounds (default 5)")
    parser.add_argument("--seconds", type=float, default=4, help="seconds per wrk run (default 4)")
    parser.add_argument("--cold-starts", type=int, default=5, help="cold starts per model (default 5)")
    parser.add_argument(
        "--overload-seconds", type=float, default=12, help="seconds per overload run (default 12)"
    )
    parser.add_argument(
        "--overload-connections", type=int, default=256, help="closed-loop overload concurrency"
    )
    parser.add_argument("--models", default="lr,rf", help="lr, rf or both (default lr,rf)")
    parser.add_argument("--concurrency", default="1,32", help="wrk connections per run (default 1,32)")
    parser.add_argument("--skip-peers", action="store_true", help="the generated API's variants only")
    parser.add_argument("--rebuild", action="store_true", help="render, set up and train the project again")
    parser.add_argument("--uv", help="uv binary (default: $UV, .cache/bootstrap/bin/uv, PATH)")
    parser.add_argument(
        "--overload-max-connections",
        type=int,
        default=1024,
        help="open loop: most connections the client opens (default 1024)",
    )
    parser.add_argument(
        "--overload-wide-connections",
        type=int,
        default=4096,
        help="one more open-loop run of `api` and `api_bounds_off` with this many connections (0: none)",
    )
    parser.add_argument(
        "--overload-rate",
        type=float,
        help="open-loop rate, req/s (default: 2 x the API's best closed-loop rate on the heavy forest)",
    )
    parser.add_argument("--skip-overload", action="store_true", help="no overload runs")
    parser.add_argument(
        "--out", type=Path, help="where results.json/results.md go (default: here; --quick: .work/quick)"
    )
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.cold_starts, args.overload_seconds = 1, 2, 1, 2
    out = args.out or (WORK / "quick" if args.quick else HERE)
    # SIGTERM ends the run through the `finally` blocks, which stop every server by its PID.
    signal.signal(signal.SIGTERM, lambda sig, frame: sys.exit(128 + sig))
    models = [m for m in args.models.split(",") if m]
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    if not set(models) <= set(MODELS):
        fail(f"--models: choose from {', '.join(MODELS)}")
    for tool in ("wrk", "taskset", "make", "git"):
        if shutil.which(tool) is None:
            fail(
                f"{tool} is not installed (Debian: apt-get install -y {'util-linux' if tool == 'taskset' else tool})"
            )
    if (os.cpu_count() or 1) < 2:
        fail("needs 2 CPUs: the servers run on CPU 0, the load client on CPU 1")
    uv, python = find_uv(args.uv), find_python()
    begun = time.monotonic()
    WORK.mkdir(exist_ok=True)
    project = prepare_project(uv, python, args.rebuild)
    client = sync_env(uv, python, "client")
    venvs = {} if args.skip_peers else {p: sync_env(uv, python, p) for p in ("bentoml", "mlserver")}
    logs = WORK / "logs" / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    logs.mkdir(parents=True)
    prepared = time.monotonic()

    cold = cold_starts(models, args.cold_starts, logs)

    servers = [api_server(m, v, logs) for v in API_VARIANTS for m in models]
    if venvs:
        servers += bento_server(venvs["bentoml"], logs)
        servers.append(mlserver_server(venvs["mlserver"], logs))
    processes: dict[int, Server] = {}  # bento and bento_onnx share one process (and argv)
    for server in servers:
        processes.setdefault(id(server.argv), server)
    fleet_start: dict[str, float] = {}
    memory: dict[str, dict[str, Any]] = {}
    with running(list(processes.values())):
        for server in processes.values():
            started = time.perf_counter()
            server.start()
            fleet_start[server.name] = round(server.wait_ready(started, limit=180), 3)
            log(f"up: {server.name} in {fleet_start[server.name]:.1f}s")
        for server in servers:
            server.proc = processes[id(server.argv)].proc
        for server in servers:  # warm-up, unmeasured
            for model in server.targets:
                measured_run(server, model, 8, 1)
        rows = round_robin(servers, models, concurrencies, args.rounds, args.seconds)
        for server in processes.values():
            assert server.proc is not None
            memory[server.name] = {"rss_mb": rss_mb(server.proc.pid), "processes": len(tree(server.proc.pid))}
        summary = summarize(rows)
        for server in servers:
            if processes[id(server.argv)] is not server:
                server.proc = None  # stopped once, through `processes`
    overloaded: dict[str, Any] = {}
    if not args.skip_overload:
        overloaded = overload(
            client,
            logs,
            args.overload_rate,
            args.overload_seconds,
            max(args.seconds, 3),
            args.overload_connections,
            args.overload_max_connections,
            args.overload_wide_connections,
        )
    results = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "template": project.get("template_head"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()} (runner)",
        "config": {
            "mode": "quick" if args.quick else "full",
            "rounds": args.rounds,
            "seconds": args.seconds,
            "models": models,
            "concurrencies": concurrencies,
            "cold_starts": args.cold_starts,
            "overload_seconds": args.overload_seconds,
            "overload_connections": args.overload_connections,
            "overload_max_connections": args.overload_max_connections,
            "overload_wide_connections": args.overload_wide_connections,
            "server_cpus": SERVER_CPU,
            "client_cpus": CLIENT_CPU,
        },
        "versions": {
            "wrk": subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0],
            **{
                f"{env}:{pkg}": package_version(venv, pkg)
                for env, venv in venvs.items()
                for pkg in (
                    "bentoml",
                    "mlserver",
                    "mlserver_sklearn",
                    "scikit_learn",
                    "fastapi",
                    "uvloop",
                    "onnxruntime",
                )
                if package_version(venv, pkg) != "?"
            },
            **{
                f"project:{pkg}": package_version(PROJECT / ".venv", pkg)
                for pkg in ("scikit_learn", "fastapi", "uvicorn", "onnxruntime", "uvloop")
            },
        },
        "refit": project.get("refit"),
        "cold_start_s": cold,
        "labels": {f"{s.name.split('/')[0]}/{m}": label for s in servers for m, label in s.labels.items()},
        "fleet_start_s": fleet_start,
        "memory": memory,
        "rows": rows,
        "summary": summary,
        "heavy_forest": project.get("heavy_forest"),
        "overload": overloaded,
        "duration_s": {"prepare": round(prepared - begun), "measure": round(time.monotonic() - prepared)},
    }
    write_outputs(results, out, readme=out == HERE and not args.quick)
    print(report(results))


if __name__ == "__main__":
    main()
