"""The one way the tests run a command and start a local server.

`run` runs a command to completion (text output, a timeout, never raising on a non-zero exit); `git`
is `run` for git, isolated from the user's and the system's config. `serving` starts a server in its
own process group on 127.0.0.1, waits (bounded) until it answers, and stops it by PID afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GIT_ENV: dict[str, str] = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Template Tests",
    "GIT_AUTHOR_EMAIL": "template-tests@example.com",
    "GIT_COMMITTER_NAME": "Template Tests",
    "GIT_COMMITTER_EMAIL": "template-tests@example.com",
}
"""Git isolated from the user's and the system's config, with a fixed identity."""


def run(
    argv: Sequence[str | Path],
    cwd: Path,
    env: Mapping[str, str] | None = None,
    *,
    base_env: Mapping[str, str] | None = None,
    timeout: float = 300,
    merge_stderr: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a command to completion and return it, whatever its exit status.

    `env` is set over `base_env` (this process's environment when None). With `merge_stderr`,
    stderr is folded into stdout in the order written; otherwise each is captured on its own.
    """
    return subprocess.run(
        [str(arg) for arg in argv],
        cwd=cwd,
        env={**(os.environ if base_env is None else base_env), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
        text=True,
        timeout=timeout,
        check=False,
    )


def git(cwd: Path, *args: str) -> str:
    """Run git isolated from user/system config; return stdout, fail loudly with stderr."""
    result = run(["git", *args], cwd, GIT_ENV, merge_stderr=False)
    if result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result.stdout


# ---------------------------------------------------------------- local servers


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
    """One HTTP request; an error status is a Response too, not an exception."""
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


def _status(url: str) -> int | None:
    """The HTTP status a server answers at `url`, or None when nothing answers."""
    try:
        return http("GET", url, timeout=2).status
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


@contextmanager
def serving(
    argv: Sequence[str | Path],
    ready_url: str,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    base_env: Mapping[str, str] | None = None,
    timeout: float = 90,
    any_status: bool = False,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a server in its own process group, wait until `ready_url` answers 200 (any status with
    `any_status`), stop it by PID on exit. Fails with the end of its log if it exits or is not ready
    within `timeout` seconds. `env` and `base_env` as for `run`."""
    name = Path(str(argv[0])).name
    log = Path(tempfile.mkstemp(prefix=f"{name}-", suffix=".log")[1])
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(arg) for arg in argv],
            cwd=cwd,
            env={**(os.environ if base_env is None else base_env), **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise AssertionError(f"{name} exited {process.returncode}:\n{log.read_text()[-4000:]}")
            status = _status(ready_url)
            if status is not None and (any_status or status == 200):
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"{ready_url} not ready after {timeout}s:\n{log.read_text()[-4000:]}")
            time.sleep(0.25)
        yield process
    finally:
        stop(process)
        log.unlink(missing_ok=True)


def stop(process: subprocess.Popen[bytes], grace: float = 10) -> None:
    """SIGTERM the process group, SIGKILL it after `grace` seconds."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=grace)
