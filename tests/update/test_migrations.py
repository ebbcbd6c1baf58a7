"""Migrations on synthetic template releases: a renamed file, a renamed question and a new boolean
question, each with hooks/migrate.py called from a `before` migration, and what happens without it.

Releases are built in temporary repos (tests/support/versions.py). The last test runs the real
migrations of copier.yml from the template as committed before them.
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
    PRE_TARGET_FOLDERS,
    USER_FILE,
    V2,
    append_text,
    assert_merged_cleanly,
    build_from_history,
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


def test_v1_moves_the_compose_stack_into_its_target_folder(tmp_path: Path) -> None:
    """The real migrations of copier.yml: a project rendered before deployment targets got folders of
    their own (the template as committed then, from this repository's history) updates to the working
    tree; the team's edits of compose.yaml and the compose stack's Prometheus and Grafana files follow
    them into deploy/compose/, and every other file merges cleanly."""
    template = build_from_history(tmp_path / "template", PRE_TARGET_FOLDERS, "v0.9.0", "v1.0.0")
    project = copy_version(template, tmp_path / "project", ref="v0.9.0")
    moved = {
        "compose.yaml": "deploy/compose/compose.yaml",
        "monitoring/prometheus/prometheus.yml": "deploy/compose/prometheus.yml",
        "monitoring/grafana/provisioning/datasources/prometheus.yml": (
            "deploy/compose/grafana/provisioning/datasources/prometheus.yml"
        ),
        "monitoring/grafana/provisioning/dashboards/dashboards.yml": (
            "deploy/compose/grafana/provisioning/dashboards/dashboards.yml"
        ),
    }
    assert set(moved) <= working_files(project)
    init_repo(project)
    edits = {
        "compose.yaml": ("      LOG_LEVEL: ${LOG_LEVEL:-info}\n", "      LOG_LEVEL: ${LOG_LEVEL:-debug}\n"),
        "monitoring/prometheus/prometheus.yml": ("  scrape_interval: 15s\n", "  scrape_interval: 30s\n"),
        "monitoring/grafana/provisioning/datasources/prometheus.yml": (
            "    editable: false\n",
            "    editable: true\n",
        ),
    }
    for relpath, (old, new) in edits.items():
        replace_once_in(project, relpath, old, new)
    team_note = "\n# Team: dashboards reviewed monthly.\n"
    append_text(project, "monitoring/grafana/provisioning/dashboards/dashboards.yml", team_note)
    commit_all(project, "Team edits")

    result = cli_update(project)
    for old, new in moved.items():
        assert f"renamed {old} -> {new}" in result.stdout, result.stdout

    values = resolved_values({})
    assert working_files(project) == expected_files(values)
    assert read_answers(project)["_commit"] == "v1.0.0"
    for relpath, (_, new_line) in edits.items():
        assert new_line in read_text(project, moved[relpath]), relpath
    assert team_note in read_text(project, moved["monitoring/grafana/provisioning/dashboards/dashboards.yml"])
    # The lines the team changed come back as conflicts to review at the new paths (copier has no
    # common base there); no other file conflicts.
    assert set(unmerged(project)) <= set(moved.values())
    assert set(conflict_markers(project)) <= set(moved.values())
    # The team's line is on its side ("before updating") of a conflict in the moved file.
    compose = read_text(project, moved["compose.yaml"])
    ours = [block.split("=======\n")[0] for block in compose.split("<<<<<<< ")[1:]]
    assert any("      LOG_LEVEL: ${LOG_LEVEL:-debug}\n" in block for block in ours), compose
