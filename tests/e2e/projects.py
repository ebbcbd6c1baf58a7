"""Running generated projects for real: interpreters, a shared uv cache, commands and servers."""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.helpers import GIT_ENV, TEMPLATE_ROOT, git

UV_CACHE_DIR = Path(os.environ.get("UV_CACHE_DIR", TEMPLATE_ROOT / ".cache" / "uv"))
"""One uv cache for every generated project: after the first sync, each costs about a second."""


def find_python(version: str) -> Path:
    """An interpreter for `version` ("3.12"): $PYTHON312, pyenv's versions, then PATH."""
    candidates = [os.environ.get(f"PYTHON{version.replace('.', '')}", "")]
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates += sorted(glob.glob(f"{pyenv_root}/versions/{version}.*/bin/python{version}"), reverse=True)
    candidates += [f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"]
    candidates += [shutil.which(f"python{version}") or ""]
    uv = os.environ.get("UV") or shutil.which("uv")
    if uv:  # interpreters that `uv python install` manages
        found = subprocess.run(
            [uv, "python", "find", "--no-project", version],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
        )
        candidates.append(found.stdout.strip() if found.returncode == 0 else "")
    for candidate in filter(None, candidates):
        try:
            out = subprocess.run(
                [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except OSError:
            continue
        if out.returncode == 0 and out.stdout.strip() == version:
            return Path(candidate)
    raise LookupError(f"no Python {version} interpreter found (set PYTHON{version.replace('.', '')})")


def project_env(python: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    env.update(GIT_ENV)
    env.update(
        UV_CACHE_DIR=str(UV_CACHE_DIR),
        UV_PYTHON=str(python),
        UV_PYTHON_DOWNLOADS="never",
        UV_NO_PROGRESS="1",
        DVC_NO_ANALYTICS="1",
        NO_MKDOCS_2_WARNING="1",
    )
    env.update(extra)
    return env


@dataclass
class Project:
    path: Path
    package: str
    env: dict[str, str]

    def run(
        self, *argv: str, timeout: float = 600, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(argv),
            cwd=self.path,
            env={**self.env, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )

    def ok(self, *argv: str, timeout: float = 600) -> str:
        result = self.run(*argv, timeout=timeout)
        assert result.returncode == 0, (
            f"{' '.join(argv)} exited {result.returncode}:\n{result.stdout[-6000:]}"
        )
        return result.stdout

    def python(self, code: str) -> str:
        return self.ok(str(self.path / ".venv" / "bin" / "python"), "-c", code)


def init_project(path: Path, package: str, python_version: str) -> Project:
    """git init + commit (as a user would right after `copier copy`), then `make setup`."""
    git(path, "init", "--quiet", "--initial-branch=main")
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "--no-verify", "--message", "Generate from copier-mlops")
    project = Project(path=path, package=package, env=project_env(find_python(python_version)))
    project.ok("make", "setup", timeout=900)
    return project


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Response:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http(method: str, url: str, body: bytes | None = None, timeout: float = 10) -> Response:
    request = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return Response(reply.status, reply.read())
    except urllib.error.HTTPError as error:
        return Response(error.code, error.read())


def post_json(url: str, payload: Any) -> Response:
    return http("POST", url, json.dumps(payload).encode())


@contextmanager
def running(
    argv: list[str], cwd: Path, env: Mapping[str, str], ready_url: str, timeout: float = 90
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a server in its own process group, wait (bounded) for `ready_url`, kill it by PID after."""
    log = Path(tempfile.mkstemp(prefix="server-", suffix=".log")[1])
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise AssertionError(f"server exited {process.returncode}:\n{log.read_text()[-4000:]}")
            try:
                if http("GET", ready_url, timeout=2).status == 200:
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{ready_url} not ready after {timeout}s:\n{log.read_text()[-4000:]}")
            time.sleep(0.25)
        yield process
    finally:
        stop(process)
        log.unlink(missing_ok=True)


def stop(process: subprocess.Popen[bytes], grace: float = 10) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=grace)
