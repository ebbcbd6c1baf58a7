"""The template repository's own files pass the same kind of checks as what it renders."""

from __future__ import annotations

from pathlib import Path

import pytest

from template_spec import TEMPLATE_ROOT
from tests.support.process import run
from tests.support.tools import VENV_BIN, require_tool

SHELL_SCRIPTS = [TEMPLATE_ROOT / ".ci" / "run", *sorted((TEMPLATE_ROOT / "scripts").glob("*.sh"))]


def _ok(argv: list[str | Path], cwd: Path = TEMPLATE_ROOT, **env: str) -> None:
    result = run(argv, cwd, env)
    assert result.returncode == 0, f"{' '.join(map(str, argv))} exited {result.returncode}:\n{result.stdout}"


def test_shell_scripts_pass_shellcheck() -> None:
    _ok([require_tool("shellcheck"), "-x", *SHELL_SCRIPTS])


def test_own_workflow_passes_actionlint_and_zizmor() -> None:
    workflows = sorted((TEMPLATE_ROOT / ".github" / "workflows").glob("*.yml"))
    assert workflows
    _ok([require_tool("actionlint"), f"-shellcheck={require_tool('shellcheck')}", *workflows])
    _ok([require_tool("zizmor"), "--offline", TEMPLATE_ROOT / ".github"])


@pytest.mark.parametrize("argv", [["check", "."], ["format", "--check", "."]], ids=["check", "format"])
def test_own_python_passes_ruff(argv: list[str]) -> None:
    _ok([VENV_BIN / "ruff", *argv, "--no-cache"])


def test_own_python_passes_mypy(tmp_path: Path) -> None:
    _ok([VENV_BIN / "mypy", "--cache-dir", str(tmp_path / "mypy")])


def test_own_docs_build_strict(tmp_path: Path) -> None:
    _ok(
        [VENV_BIN / "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(tmp_path / "site")],
        NO_MKDOCS_2_WARNING="1",
    )
