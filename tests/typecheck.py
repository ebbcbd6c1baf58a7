"""Hook: mypy on a rendered project, run by an interpreter that has the project's dependencies.

Type-checking rendered code needs its dependencies (scikit-learn, fastapi, mlflow...) importable,
which the template's dev venv does not have. Whoever owns the shared environment for generated
projects (e.g. a `uv sync` into a cached venv, see tests/e2e/) calls this with that venv's python.
Nothing is installed here.
"""

from __future__ import annotations

import subprocess
import tomllib
from collections.abc import Sequence
from pathlib import Path


def mypy_rendered(
    project_dir: Path, python: Path, args: Sequence[str] = (), timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run `python -m mypy` in a rendered project (its own [tool.mypy] config); fail on errors.

    `python` must have the project's dependencies and mypy installed. `args` default to mypy's
    configured `files`, else `src tests`.
    """
    argv = [str(python), "-m", "mypy", *(args or _default_targets(project_dir))]
    result = subprocess.run(
        argv,
        cwd=project_dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(
            f"mypy failed (exit {result.returncode}) in {project_dir}\n$ {' '.join(argv)}\n{result.stdout}"
        )
    return result


def _default_targets(project_dir: Path) -> list[str]:
    """Nothing when the project's config names its files; otherwise its package and tests."""
    pyproject = project_dir / "pyproject.toml"
    if pyproject.is_file():
        config = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        if config.get("tool", {}).get("mypy", {}).get("files"):
            return []
    return [name for name in ("src", "tests") if (project_dir / name).is_dir()]
