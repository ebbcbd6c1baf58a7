"""Generated projects run for real: interpreters, a shared uv cache, and commands in a project."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from template_spec import TEMPLATE_ROOT
from tests.support.process import GIT_ENV, git, run

UV_CACHE_DIR = Path(
    os.environ.get("UV_CACHE_DIR")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "copier-mlops" / "uv"
)
"""One uv cache for every generated project: after the first sync, each costs about a second. It lives
outside the clone (as scripts/bootstrap-uv.sh sets it), so a fresh clone on the same machine reuses it."""


def find_python(version: str) -> Path:
    """An interpreter for `version` ("3.12"): $PYTHON312, pyenv's versions, PATH, then uv's own."""
    candidates = [os.environ.get(f"PYTHON{version.replace('.', '')}", "")]
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates += sorted(glob.glob(f"{pyenv_root}/versions/{version}.*/bin/python{version}"), reverse=True)
    candidates += [f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"]
    candidates += [shutil.which(f"python{version}") or ""]
    uv = os.environ.get("UV") or shutil.which("uv")
    if uv:  # interpreters that `uv python install` manages
        found = run(
            [uv, "python", "find", "--no-project", version],
            Path.cwd(),
            {"UV_PYTHON_DOWNLOADS": "never"},
            timeout=60,
            merge_stderr=False,
        )
        candidates.append(found.stdout.strip() if found.returncode == 0 else "")
    for candidate in filter(None, candidates):
        try:
            out = run(
                [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                Path.cwd(),
                timeout=30,
                merge_stderr=False,
            )
        except OSError:
            continue
        if out.returncode == 0 and out.stdout.strip() == version:
            return Path(candidate)
    raise LookupError(f"no Python {version} interpreter found (set PYTHON{version.replace('.', '')})")


def project_env(python: Path, **extra: str) -> dict[str, str]:
    """The environment a generated project runs in: the shared uv cache, `python`, isolated git."""
    # As on a user's laptop, Python may cache bytecode: without PYTHONDONTWRITEBYTECODE (set on some
    # CI machines) each generated project compiles a module once, not in every command.
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE"}
    }
    env.update(GIT_ENV)
    env.update(
        UV_CACHE_DIR=str(UV_CACHE_DIR),
        UV_PYTHON=str(python),
        UV_PYTHON_DOWNLOADS="never",
        UV_NO_PROGRESS="1",
        DVC_NO_ANALYTICS="1",
        NO_MKDOCS_2_WARNING="1",
    )
    # A generated project's pre-commit hooks call `uv` by name, as on a user's machine: where uv is
    # only in $UV (scripts/bootstrap-uv.sh), a folder holding just that binary goes first on PATH.
    uv = os.environ.get("UV")
    if uv and not shutil.which("uv"):
        uv_only = TEMPLATE_ROOT / ".cache" / "uv-on-path"
        uv_only.mkdir(parents=True, exist_ok=True)
        link = uv_only / "uv"
        if not link.exists():
            link.symlink_to(Path(uv).resolve())
        env["PATH"] = f"{uv_only}{os.pathsep}{env.get('PATH', '')}"
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
        """A command in the project, in its environment (`env` set over it)."""
        return run(argv, self.path, env, base_env=self.env, timeout=timeout)

    def ok(self, *argv: str, timeout: float = 600) -> str:
        result = self.run(*argv, timeout=timeout)
        assert result.returncode == 0, (
            f"{' '.join(argv)} exited {result.returncode}:\n{result.stdout[-6000:]}"
        )
        return result.stdout

    def python(self, code: str) -> str:
        return self.ok(str(self.path / ".venv" / "bin" / "python"), "-c", code)


# PyTorch's CPU wheel index is out of reach here (only PyPI is): a PyTorch project's `pytorch-cpu`
# index is replaced by PyPI for every command, as a user behind a mirror would (UV_INDEX). PyPI's Linux
# torch is the CUDA build, so these projects download gigabytes once per uv cache.
PYTORCH_FROM_PYPI = {"UV_INDEX": "pytorch-cpu=https://pypi.org/simple"}


def init_project(path: Path, package: str, python_version: str, **extra_env: str) -> Project:
    """git init + commit (as a user would right after `copier copy`), then `make setup`."""
    git(path, "init", "--quiet", "--initial-branch=main")
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "--no-verify", "--message", "Generate from copier-mlops")
    project = Project(path=path, package=package, env=project_env(find_python(python_version), **extra_env))
    project.ok("make", "setup", timeout=900)
    return project
