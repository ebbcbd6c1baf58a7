"""Migrations on synthetic template releases: a renamed file, a renamed question and a new boolean
question, each with hooks/migrate.py called from a `before` migration, and what happens without it.

Releases are built in temporary repos (tests/support/versions.py); the real copier.yml holds no
migration yet.
"""

from __future__ import annotations

from pathlib import Path

from template_spec import resolved_values
from tests.support.manifest import expected_files
from tests.support.process import git
from tests.support.snapshot import read_answers
from tests.support.versions import (
    NEW_BOOL_QUESTION,
    PACKAGE,
    USER_FILE,
    V2,
    append_text,
    assert_merged_cleanly,
    build_versions,
    cli_update,
    commit_all,
    conflict_markers,
    copier_cli,
    copy_version,
    edit_readme_and_features,
    init_repo,
    no_change,
    params_in_config_dir,
    params_rename_migration,
    read_text,
    replace_once_in,
    serve_api_question,
    tracking_question,
    tracking_rename_migration,
    unmerged,
    update_api,
    working_files,
)


def test_migration_moves_a_renamed_file_with_the_user_edit(tmp_path: Path) -> None:
    """v1.0.0 rendered config/params.yaml; v2.0.0 renders params.yaml and ships a `before`
    migration (hooks/migrate.py rename-file) that `git mv`s the user's file first."""
    template = build_versions(tmp_path / "template", params_in_config_dir, params_rename_migration)
    project = copy_version(template, tmp_path / "project")
    assert (project / "config/params.yaml").is_file() and not (project / "params.yaml").exists()
    init_repo(project)
    replace_once_in(project, "config/params.yaml", "seed: 42\n", "seed: 7\n")
    commit_all(project, "Team edits")

    untrusted = copier_cli(project, "update", "--defaults")
    assert untrusted.returncode == 4 and "migrations" in untrusted.stdout, untrusted.stdout
    assert git(project, "status", "--porcelain") == ""

    result = cli_update(project, "--trust")
    assert "renamed config/params.yaml -> params.yaml" in result.stdout, result.stdout

    assert not (project / "config").exists()
    params = read_text(project, "params.yaml")
    assert "seed: 7" in params
    # Copier has no common base for a file at its new path, so the user's changed line comes back
    # as a conflict to review; every other line is the new template's, and nothing is lost.
    assert unmerged(project) == ["params.yaml"]
    assert conflict_markers(project) == ["params.yaml"]
    assert "<<<<<<< before updating\nseed: 7\n=======\nseed: 42\n>>>>>>> after updating\n" in params
    assert params.count("<<<<<<<") == 1
    assert read_answers(project)["_commit"] == V2


def test_without_the_migration_a_renamed_file_loses_the_user_edit(tmp_path: Path) -> None:
    """Why the rename migration exists: without it the update silently drops the edit."""
    template = build_versions(tmp_path / "template", params_in_config_dir, no_change)
    project = copy_version(template, tmp_path / "project")
    init_repo(project)
    replace_once_in(project, "config/params.yaml", "seed: 42\n", "seed: 7\n")
    commit_all(project, "Team edits")

    cli_update(project)

    assert not (project / "config/params.yaml").exists()
    assert "seed: 7" not in read_text(project, "params.yaml")
    assert_merged_cleanly(project)


def test_migration_renames_a_question_keeping_the_answer(tmp_path: Path) -> None:
    """v1.0.0 asked `tracking`; v2.0.0 asks `experiment_tracking` and a `before` migration
    (hooks/migrate.py rename-answer) renames the recorded answer."""
    template = build_versions(tmp_path / "template", tracking_question, tracking_rename_migration)
    project = copy_version(template, tmp_path / "project", tracking="none")
    answers = read_answers(project)
    assert answers["tracking"] == "none" and "experiment_tracking" not in answers
    assert not (project / f"src/{PACKAGE}/tracking.py").exists()
    init_repo(project)
    kept = edit_readme_and_features(project, PACKAGE)
    commit_all(project, "Team edits")

    update_api(project)

    answers = read_answers(project)
    assert answers["experiment_tracking"] == "none", answers  # not the default, mlflow
    assert "tracking" not in answers
    assert answers["_commit"] == V2
    values = resolved_values({"experiment_tracking": "none"})
    assert working_files(project) == expected_files(values) | {USER_FILE}
    kept.assert_kept(project)
    assert_merged_cleanly(project)


def test_without_the_migration_a_renamed_question_falls_back_to_its_default(tmp_path: Path) -> None:
    """Why the answer migration exists: without it the feature the team turned off comes back."""
    template = build_versions(tmp_path / "template", tracking_question, no_change)
    project = copy_version(template, tmp_path / "project", tracking="none")
    init_repo(project)

    update_api(project)

    assert read_answers(project)["experiment_tracking"] == "mlflow"
    assert (project / f"src/{PACKAGE}/tracking.py").is_file()


def test_new_boolean_question_keeps_existing_features(tmp_path: Path) -> None:
    """v2.0.0 makes the serving package optional behind a new `serve_api` question; its default keeps
    what existing projects have, so `update --defaults` neither deletes it nor loses edits in it."""
    template = build_versions(tmp_path / "template", no_change, serve_api_question)
    project = copy_version(template, tmp_path / "project")
    serving = {path for path in working_files(project) if f"src/{PACKAGE}/serving/" in path}
    assert f"src/{PACKAGE}/serving/app.py" in serving
    init_repo(project)
    note = "\n# Team: request limits reviewed with the platform team.\n"
    append_text(project, f"src/{PACKAGE}/serving/schemas.py", note)
    commit_all(project, "Team edits")

    cli_update(project)

    assert read_answers(project)[NEW_BOOL_QUESTION] is True
    assert serving <= working_files(project)
    assert note.strip() in read_text(project, f"src/{PACKAGE}/serving/schemas.py")
    assert " D " not in f" {git(project, 'status', '--porcelain')}"
    assert_merged_cleanly(project)

    # The question does gate the files: answered false, v2.0.0 renders no serving package.
    without = copy_version(template, tmp_path / "without", ref=V2, **{NEW_BOOL_QUESTION: False})
    assert not (without / f"src/{PACKAGE}/serving").exists()
