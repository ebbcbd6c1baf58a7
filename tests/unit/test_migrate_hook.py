"""hooks/migrate.py, the script template releases call from `_migrations`: its functions and its CLI."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from hooks import migrate
from template_spec import TEMPLATE_ROOT
from tests.support.process import git, run

HOOK = TEMPLATE_ROOT / "hooks" / "migrate.py"

ANSWERS = """\
# Changes here will be overwritten by Copier; do NOT edit manually
_commit: v1.0.0
_src_path: /templates/copier-mlops
ci_provider: github
description: 'A service: "quoted" text'
tracking: none
tracking_uri: sqlite:///mlflow.db
extras:
- dvc
- tracking
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repo holding config/params.yaml, committed."""
    project = tmp_path / "project"
    (project / "config").mkdir(parents=True)
    (project / "config" / "params.yaml").write_text("seed: 7\n", encoding="utf-8")
    git(project, "init", "--quiet", "--initial-branch=main")
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "--message", "init")
    return project


def run_hook(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, HOOK, *args], cwd, merge_stderr=False)


# ---------------------------------------------------------------- rename_file


def test_rename_file_git_mvs_the_users_file(repo: Path) -> None:
    assert migrate.rename_file(repo, "config/params.yaml", "params.yaml") is True
    assert (repo / "params.yaml").read_text(encoding="utf-8") == "seed: 7\n"
    assert not (repo / "config").exists(), "the emptied folder stays behind"
    assert git(repo, "status", "--porcelain") == "R  config/params.yaml -> params.yaml\n"


def test_rename_file_creates_the_new_folder(repo: Path) -> None:
    assert migrate.rename_file(repo, "config/params.yaml", "conf/pipeline/params.yaml") is True
    assert (repo / "conf/pipeline/params.yaml").read_text(encoding="utf-8") == "seed: 7\n"


def test_rename_file_keeps_a_folder_that_still_holds_files(repo: Path) -> None:
    (repo / "config" / "other.yaml").write_text("a: 1\n", encoding="utf-8")
    migrate.rename_file(repo, "config/params.yaml", "params.yaml")
    assert (repo / "config" / "other.yaml").is_file()


def test_rename_file_without_the_old_file_does_nothing(repo: Path) -> None:
    """A project generated after the rename, or one whose team deleted the file."""
    assert migrate.rename_file(repo, "config/missing.yaml", "missing.yaml") is False
    assert git(repo, "status", "--porcelain") == ""


def test_rename_file_never_overwrites(repo: Path) -> None:
    (repo / "params.yaml").write_text("seed: 1\n", encoding="utf-8")
    assert migrate.rename_file(repo, "config/params.yaml", "params.yaml") is False
    assert (repo / "params.yaml").read_text(encoding="utf-8") == "seed: 1\n"
    assert (repo / "config" / "params.yaml").read_text(encoding="utf-8") == "seed: 7\n"


def test_rename_file_is_idempotent(repo: Path) -> None:
    assert migrate.rename_file(repo, "config/params.yaml", "params.yaml") is True
    assert migrate.rename_file(repo, "config/params.yaml", "params.yaml") is False
    assert (repo / "params.yaml").read_text(encoding="utf-8") == "seed: 7\n"


def test_rename_file_moves_an_untracked_file_on_disk(repo: Path) -> None:
    (repo / "notes.txt").write_text("mine\n", encoding="utf-8")
    assert migrate.rename_file(repo, "notes.txt", "docs/notes.txt") is True
    assert (repo / "docs" / "notes.txt").read_text(encoding="utf-8") == "mine\n"
    assert not (repo / "notes.txt").exists()


@pytest.mark.parametrize("path", ["../outside.yaml", "/etc/passwd", "."])
def test_rename_file_refuses_paths_outside_the_project(repo: Path, path: str) -> None:
    with pytest.raises(migrate.MigrationError, match="not a path inside the project"):
        migrate.rename_file(repo, path, "params.yaml")
    with pytest.raises(migrate.MigrationError, match="not a path inside the project"):
        migrate.rename_file(repo, "config/params.yaml", path)


# ---------------------------------------------------------------- rename_answer


def test_rename_answer_renames_one_key_and_keeps_every_other_line(tmp_path: Path) -> None:
    answers = tmp_path / ".copier-answers.yml"
    answers.write_text(ANSWERS, encoding="utf-8")
    assert migrate.rename_answer(answers, "tracking", "experiment_tracking") is True
    expected = ANSWERS.replace("\ntracking: none\n", "\nexperiment_tracking: none\n")
    assert answers.read_text(encoding="utf-8") == expected  # tracking_uri and `- tracking` untouched


def test_rename_answer_keeps_a_block_value(tmp_path: Path) -> None:
    answers = tmp_path / ".copier-answers.yml"
    answers.write_text("_commit: v1.0.0\nextras:\n- dvc\n- mlflow\nname: x\n", encoding="utf-8")
    assert migrate.rename_answer(answers, "extras", "optional_tools") is True
    assert (
        answers.read_text(encoding="utf-8") == "_commit: v1.0.0\noptional_tools:\n- dvc\n- mlflow\nname: x\n"
    )


def test_rename_answer_handles_a_quoted_key(tmp_path: Path) -> None:
    answers = tmp_path / ".copier-answers.yml"
    answers.write_text("'tracking': none\nother: 1\n", encoding="utf-8")
    assert migrate.rename_answer(answers, "tracking", "experiment_tracking") is True
    assert answers.read_text(encoding="utf-8") == "experiment_tracking: none\nother: 1\n"


def test_rename_answer_ignores_nested_and_longer_keys(tmp_path: Path) -> None:
    answers = tmp_path / ".copier-answers.yml"
    text = "settings:\n  tracking: none\ntracking_uri: x\n"
    answers.write_text(text, encoding="utf-8")
    assert migrate.rename_answer(answers, "tracking", "experiment_tracking") is False
    assert answers.read_text(encoding="utf-8") == text


def test_rename_answer_is_idempotent(tmp_path: Path) -> None:
    answers = tmp_path / ".copier-answers.yml"
    answers.write_text(ANSWERS, encoding="utf-8")
    migrate.rename_answer(answers, "tracking", "experiment_tracking")
    once = answers.read_text(encoding="utf-8")
    assert migrate.rename_answer(answers, "tracking", "experiment_tracking") is False
    assert answers.read_text(encoding="utf-8") == once


def test_rename_answer_refuses_when_both_keys_are_answered(tmp_path: Path) -> None:
    answers = tmp_path / ".copier-answers.yml"
    answers.write_text("tracking: none\nexperiment_tracking: mlflow\n", encoding="utf-8")
    with pytest.raises(migrate.MigrationError, match="both 'tracking' and 'experiment_tracking'"):
        migrate.rename_answer(answers, "tracking", "experiment_tracking")
    assert answers.read_text(encoding="utf-8") == "tracking: none\nexperiment_tracking: mlflow\n"


def test_rename_answer_without_an_answers_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(migrate.MigrationError, match="no such answers file"):
        migrate.rename_answer(tmp_path / ".copier-answers.yml", "tracking", "experiment_tracking")


# ---------------------------------------------------------------- the command line copier runs


def test_cli_rename_file_in_the_current_directory(repo: Path) -> None:
    result = run_hook(repo, "rename-file", "config/params.yaml", "params.yaml")
    assert result.returncode == 0, result.stderr
    assert "renamed config/params.yaml -> params.yaml" in result.stderr
    assert (repo / "params.yaml").is_file()
    again = run_hook(repo, "rename-file", "config/params.yaml", "params.yaml")
    assert again.returncode == 0 and "nothing to rename" in again.stderr


def test_cli_rename_answer_with_an_answers_file(tmp_path: Path) -> None:
    (tmp_path / "answers.yml").write_text(ANSWERS, encoding="utf-8")
    result = run_hook(
        tmp_path, "rename-answer", "tracking", "experiment_tracking", "--answers-file", "answers.yml"
    )
    assert result.returncode == 0, result.stderr
    assert "experiment_tracking: none\n" in (tmp_path / "answers.yml").read_text(encoding="utf-8")


def test_cli_rename_answer_defaults_to_the_copier_answers_file(tmp_path: Path) -> None:
    (tmp_path / ".copier-answers.yml").write_text(ANSWERS, encoding="utf-8")
    result = run_hook(tmp_path, "rename-answer", "tracking", "experiment_tracking")
    assert result.returncode == 0, result.stderr
    assert "experiment_tracking: none\n" in (tmp_path / ".copier-answers.yml").read_text(encoding="utf-8")


def test_cli_errors_exit_non_zero_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / ".copier-answers.yml").write_text("a: 1\nb: 2\n", encoding="utf-8")
    result = run_hook(tmp_path, "rename-answer", "a", "b")
    assert result.returncode == 1
    assert "migrate.py: error:" in result.stderr and "both 'a' and 'b'" in result.stderr
    usage = run_hook(tmp_path, "rename-everything")
    assert usage.returncode == 2 and "invalid choice" in usage.stderr


def test_hook_uses_only_the_standard_library() -> None:
    """Copier runs it with its own interpreter, where nothing but copier's dependencies exist."""
    tree = ast.parse(HOOK.read_text(encoding="utf-8"))
    modules = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    modules |= {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
    }
    assert modules <= set(sys.stdlib_module_names) | {"__future__"}, modules - set(sys.stdlib_module_names)
