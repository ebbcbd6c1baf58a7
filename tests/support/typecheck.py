"""Hook: mypy on a rendered project, run by an interpreter that has the project's dependencies.

Type-checking rendered code needs its dependencies (scikit-learn, fastapi, mlflow...) importable,
which the template's dev venv does not have: `shared_typecheck_python` builds one environment with
every optional dependency, once, and `mypy_rendered` runs that environment's mypy on a project.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tomllib
from collections.abc import Sequence
from pathlib import Path

from tests.support.process import run
from tests.support.projects import find_python, project_env
from tests.support.snapshot import render


def mypy_rendered(
    project_dir: Path, python: Path, args: Sequence[str] = (), timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run `python -m mypy` in a rendered project (its own [tool.mypy] config); fail on errors.

    `python` must have the project's dependencies and mypy installed. `args` default to mypy's
    configured `files`, else `src tests`.
    """
    argv = [
        str(python),
        "-m",
        "mypy",
        *_python_version(project_dir),
        *(args or _default_targets(project_dir)),
    ]
    result = run(argv, project_dir, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(
            f"mypy failed (exit {result.returncode}) in {project_dir}\n$ {' '.join(argv)}\n{result.stdout}"
        )
    return result


def _python_version(project_dir: Path) -> list[str]:
    """The project's own Python: its config leaves the version to the interpreter of its .venv, which
    uv picks from requires-python (">=3.11" -> 3.11); the shared environment may be another one."""
    pyproject = project_dir / "pyproject.toml"
    if not pyproject.is_file():
        return []
    requires = (
        tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {}).get("requires-python", "")
    )
    return ["--python-version", requires.removeprefix(">=")] if requires.startswith(">=") else []


def _default_targets(project_dir: Path) -> list[str]:
    """Nothing when the project's config names its files; otherwise its package and tests."""
    pyproject = project_dir / "pyproject.toml"
    if pyproject.is_file():
        config = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        if config.get("tool", {}).get("mypy", {}).get("files"):
            return []
    return [name for name in ("src", "tests") if (project_dir / name).is_dir()]


def shared_typecheck_python(template_repo: Path, cache_root: Path) -> Path:
    """An interpreter with every optional dependency of a generated project, built once and reused.

    The default project enables every dependency group, so its environment can type-check any
    matrix case (mypy targets each case's own `python_version`). The environment is keyed on the
    rendered pyproject.toml and guarded by a file lock, so xdist workers build it once between them.
    """
    cache_root.mkdir(parents=True, exist_ok=True)
    with (cache_root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            probe = cache_root / f"probe-{os.getpid()}"
            if probe.exists():
                shutil.rmtree(probe)
            render(template_repo, probe, project_name="Typecheck Env")
            key = hashlib.sha256((probe / "pyproject.toml").read_bytes()).hexdigest()[:16]
            env_dir = cache_root / f"env-{key}"
            python = env_dir / ".venv" / "bin" / "python"
            if not python.exists():
                if env_dir.exists():
                    shutil.rmtree(env_dir)
                probe.rename(env_dir)
                uv = os.environ.get("UV") or shutil.which("uv") or "uv"
                synced = run(
                    [uv, "sync", "--no-install-project", "--quiet"],
                    env_dir,
                    base_env=project_env(find_python("3.12")),
                    timeout=900,
                )
                assert synced.returncode == 0, f"uv sync of {env_dir} failed:\n{synced.stdout}"
            else:
                shutil.rmtree(probe)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return python
