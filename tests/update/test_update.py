"""`copier update` of generated projects: a newer release, changed answers, failures.

Releases are built in temporary repos (tests/support/versions.py): v1.0.0 is the working tree
without the practices of OLDER_CHANGES, v2.0.0 the working tree. Answer changes update the
working-tree snapshot to itself (`--vcs-ref=:current:`). Migrations: test_migrations.py.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from copier import VcsRef

from template_spec import derived_names, resolved_values
from tests.support.artifacts import Checks, check_all, check_answers_file
from tests.support.manifest import expected_files
from tests.support.process import git, run
from tests.support.projects import init_project
from tests.support.snapshot import read_answers, render
from tests.support.tools import require_tool
from tests.support.versions import (
    OLDER_CHANGES,
    PACKAGE,
    USER_FILE,
    V1,
    V2,
    add_run_outputs,
    assert_merged_cleanly,
    build_versions,
    change,
    cli_update,
    commit_all,
    conflict_markers,
    copier_cli,
    copy_version,
    edit_everywhere,
    edit_readme_and_features,
    fingerprint,
    ignored_files,
    init_repo,
    make_older,
    read_text,
    replace_once_in,
    scatter_artifacts,
    unmerged,
    update_api,
    working_files,
)


@pytest.fixture(scope="session")
def older_template(isolated_environment: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Releases v1.0.0 (without OLDER_CHANGES) and v2.0.0 (the working tree)."""
    return build_versions(tmp_path_factory.mktemp("versions") / "copier-mlops", make_older)


def assert_changes_arrived(project: Path) -> None:
    for item in OLDER_CHANGES:
        text = read_text(project, item.rendered_file)
        assert item.arrived in text, f"{item.name}: {item.arrived!r} not in {item.rendered_file}"
        if item.gone is not None:
            assert item.gone not in text, f"{item.name}: {item.gone!r} still in {item.rendered_file}"


# ---------------------------------------------------------------- a. v1.0.0 -> v2.0.0


def test_older_version_lacks_the_newer_practices(older_template: Path, tmp_path: Path) -> None:
    """The premise of the update tests: a v1.0.0 project has none of OLDER_CHANGES."""
    project = copy_version(older_template, tmp_path / "project")
    for item in OLDER_CHANGES:
        assert item.arrived not in read_text(project, item.rendered_file), item.name
    assert read_answers(project)["_commit"] == V1


@pytest.mark.parametrize("via", ["cli", "api"])
def test_update_keeps_user_edits_and_brings_the_new_release(
    older_template: Path, tmp_path: Path, via: str
) -> None:
    project = copy_version(older_template, tmp_path / "project")
    outputs = add_run_outputs(project)
    init_repo(project)  # commits the .gitignore files DVC writes, never the outputs themselves
    kept = edit_everywhere(project, PACKAGE)
    commit_all(project, "Team edits")
    assert git(project, "status", "--porcelain") == "", "an output is not ignored"
    ignored = ignored_files(project)
    assert set(outputs) <= set(ignored), sorted(set(outputs) - set(ignored))
    assert len(ignored) >= 1000
    before = fingerprint(project, ignored)

    if via == "cli":
        pending = copier_cli(project, "check-update", "--quiet")
        assert pending.returncode == 2, pending.stdout  # what template-update.yml acts on
        result = cli_update(project)
        assert "Updating to template version 2.0.0" in result.stdout, result.stdout
    else:
        update_api(project)

    kept.assert_kept(project)
    assert "seed: 42" not in read_text(project, "params.yaml")
    assert_changes_arrived(project)
    assert_merged_cleanly(project)
    assert fingerprint(project, ignored_files(project)) == before, "ignored files changed"
    assert read_answers(project)["_commit"] == V2
    if via == "cli":
        assert copier_cli(project, "check-update", "--quiet").returncode == 0


@pytest.mark.e2e
def test_update_real_project_then_make_check(older_template: Path, tmp_path: Path) -> None:
    """A v1.0.0 project that really ran (.venv, DVC data, MLflow store, model) updates cleanly, and
    its own `make check` passes afterwards."""
    path = copy_version(older_template, tmp_path / "project")
    project = init_project(path, PACKAGE, "3.12")
    project.ok("make", "pipeline", timeout=900)
    scatter_artifacts(path)
    commit_all(path, "Lock file, DVC lock and pipeline reports")
    kept = edit_everywhere(path, PACKAGE)
    commit_all(path, "Team edits")
    assert git(path, "status", "--porcelain") == ""
    ignored = ignored_files(path)
    for output in (".venv/pyvenv.cfg", "data/raw/iris.csv", "mlflow.db", "models/model.onnx"):
        assert output in ignored, output
    before = fingerprint(path, ignored)

    cli_update(path)

    kept.assert_kept(path)
    assert_changes_arrived(path)
    assert_merged_cleanly(path)
    assert fingerprint(path, ignored_files(path)) == before, "ignored files changed"
    assert read_answers(path)["_commit"] == V2
    out = project.ok("make", "check", timeout=900)
    assert "tests/test_team.py ." in out, out[-4000:]  # the team's tests ran, and passed


# ---------------------------------------------------------------- b. changing answers


@dataclass(frozen=True)
class AnswerChange:
    before: dict[str, Any]
    """Answers of the project as generated (on top of the defaults)."""
    change: dict[str, Any]
    """`-d` values of the update."""
    via: str = "api"

    @property
    def id(self) -> str:
        values = resolved_values(self.before)
        return ",".join(
            f"{key}={values.get(key, '(not asked)')}->{value}" for key, value in self.change.items()
        )


_MONITORING_CYCLE = ["both", "metrics", "drift", "none", "both"]
ANSWER_CHANGES = [
    pytest.param(case, id=case.id, marks=marks)
    for case, marks in [
        (AnswerChange({}, {"data_versioning": "none"}), ()),
        (AnswerChange({"data_versioning": "none"}, {"data_versioning": "dvc"}), ()),
        (AnswerChange({}, {"experiment_tracking": "none"}), ()),
        (AnswerChange({"experiment_tracking": "none"}, {"experiment_tracking": "mlflow"}), ()),
        # Monitoring 'both'/'metrics' needs a deployment: the update passes both answers.
        (
            AnswerChange({}, {"deployment_target": "none", "monitoring": "drift"}, via="cli"),
            (),
        ),
        (
            AnswerChange(
                {"deployment_target": "none"},
                {"deployment_target": "docker-compose", "monitoring": "both"},
                via="cli",
            ),
            (),
        ),
        # Deployment targets: compose -> kubernetes -> none -> kubernetes -> compose, object storage
        # included (its workload identity and drift CronJob come and go with the target).
        (AnswerChange({}, {"deployment_target": "kubernetes"}, via="cli"), ()),
        (
            AnswerChange(
                {"deployment_target": "kubernetes"},
                {"deployment_target": "none", "monitoring": "drift"},
            ),
            (),
        ),
        (
            AnswerChange(
                {"deployment_target": "none", "data_storage": "s3"},
                {"deployment_target": "kubernetes", "monitoring": "both"},
                via="cli",
            ),
            (),
        ),
        (
            AnswerChange(
                {"deployment_target": "kubernetes", "data_storage": "gcs"},
                {"deployment_target": "docker-compose"},
            ),
            (),
        ),
        # Every pair of neighbours of the cycle, in both directions.
        *[
            (AnswerChange({"monitoring": old}, {"monitoring": new}), ())
            for cycle in (_MONITORING_CYCLE, _MONITORING_CYCLE[::-1])
            for old, new in itertools.pairwise(cycle)
        ],
        # Moving the data: local -> each object store -> another -> back, with and without DVC.
        (AnswerChange({}, {"data_storage": "s3"}), ()),
        (AnswerChange({"data_storage": "s3"}, {"data_storage": "gcs"}, via="cli"), ()),
        (AnswerChange({"data_storage": "gcs"}, {"data_storage": "azure"}), ()),
        (AnswerChange({"data_storage": "azure"}, {"data_storage": "local"}, via="cli"), ()),
        (
            AnswerChange(
                {"data_versioning": "none"},
                {"data_storage": "s3", "s3_endpoint_url": "http://127.0.0.1:9000"},
                via="cli",
            ),
            (),
        ),
        # Framework and compute: scikit-learn -> PyTorch (CPU) -> PyTorch on Ray -> on a GPU with
        # Kubernetes -> back to scikit-learn on the CPU, and scikit-learn on Ray.
        (AnswerChange({}, {"ml_framework": "pytorch"}, via="cli"), ()),
        (AnswerChange({"ml_framework": "pytorch"}, {"compute": "distributed"}), ()),
        (
            AnswerChange(
                {"ml_framework": "pytorch", "compute": "distributed"},
                {"compute": "gpu", "deployment_target": "kubernetes"},
                via="cli",
            ),
            (),
        ),
        (
            AnswerChange(
                {"ml_framework": "pytorch", "compute": "gpu"},
                {"ml_framework": "scikit-learn", "compute": "cpu"},
            ),
            (),
        ),
        (AnswerChange({}, {"compute": "distributed"}), ()),
        (AnswerChange({}, {"ci_provider": "none"}), ()),
        (AnswerChange({"ci_provider": "none"}, {"ci_provider": "github"}), ()),
        (AnswerChange({}, {"docs_site": False}, via="cli"), ()),
        (AnswerChange({"docs_site": False}, {"docs_site": True}), ()),
        (AnswerChange({}, {"pre_commit": False}), ()),
        (AnswerChange({"pre_commit": False}, {"pre_commit": True}, via="cli"), ()),
    ]
]


def _cli_value(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _data_flags(data: Mapping[str, Any]) -> list[str]:
    return [flag for key, value in data.items() for flag in ("-d", f"{key}={_cli_value(value)}")]


@pytest.mark.parametrize("case", ANSWER_CHANGES)
def test_changing_an_answer(template_repo: Path, tmp_path: Path, case: AnswerChange) -> None:
    before = resolved_values(case.before)
    after = resolved_values({**before, **case.change})
    project = render(template_repo, tmp_path / "project", **case.before)
    init_repo(project)
    kept = edit_readme_and_features(project, PACKAGE)
    commit_all(project, "Team edits")

    if case.via == "cli":
        cli_update(project, "--vcs-ref=:current:", *_data_flags(case.change))
    else:
        update_api(project, data=case.change, vcs_ref=VcsRef.CURRENT)

    actual, expected = working_files(project), expected_files(after) | {USER_FILE}
    assert actual == expected, (
        f"unexpected: {sorted(actual - expected)}\nmissing: {sorted(expected - actual)}"
    )
    check_answers_file(project, template_repo, after, derived_names())
    kept.assert_kept(project)
    export = tmp_path / "export"  # the validators see the project's files, not its .git
    shutil.copytree(project, export, ignore=shutil.ignore_patterns(".git"))
    checks = Checks()
    check_all(export, tmp_path / "work", checks)
    checks.finish()
    assert_merged_cleanly(project)


# ---------------------------------------------------------------- c. failure modes


def _v1_project(template: Path, dst: Path) -> tuple[Path, str]:
    project = copy_version(template, dst)
    init_repo(project)
    return project, git(project, "rev-parse", "HEAD").strip()


def test_dirty_tree_is_refused_and_the_edit_kept(older_template: Path, tmp_path: Path) -> None:
    project, head = _v1_project(older_template, tmp_path / "project")
    replace_once_in(project, "params.yaml", "seed: 42\n", "seed: 7\n")  # not committed

    result = copier_cli(project, "update", "--defaults")

    assert result.returncode != 0
    assert "dirty" in result.stdout.lower(), result.stdout
    assert "seed: 7" in read_text(project, "params.yaml")
    assert git(project, "status", "--porcelain").split() == ["M", "params.yaml"]
    assert git(project, "rev-parse", "HEAD").strip() == head
    assert read_answers(project)["_commit"] == V1


def test_missing_answers_file_is_refused(older_template: Path, tmp_path: Path) -> None:
    project, _ = _v1_project(older_template, tmp_path / "project")
    git(project, "rm", "--quiet", ".copier-answers.yml")
    commit_all(project, "Lose the answers file")
    head, files = git(project, "rev-parse", "HEAD").strip(), fingerprint(project, working_files(project))

    update = copier_cli(project, "update", "--defaults")
    # copier's own message for it is terse ("Template not found", with a traceback); check-update,
    # which the template-update workflow runs first, names the file.
    assert update.returncode != 0
    assert "Template not found" in update.stdout, update.stdout
    check = copier_cli(project, "check-update")
    assert check.returncode != 0
    assert "cannot obtain old template references from `.copier-answers.yml`" in check.stdout, check.stdout

    assert git(project, "status", "--porcelain") == ""
    assert git(project, "rev-parse", "HEAD").strip() == head
    assert fingerprint(project, working_files(project)) == files


MAKEFILE_LAST_LINE = "include $(wildcard deploy/*/*.mk)\n"
MAKEFILE_USER_LINE = "include $(wildcard deploy/*/*.mk) $(wildcard team/*.mk)\n"


def _conflicting_project(template: Path, dst: Path) -> Path:
    """A v1.0.0 project whose team changed the Makefile line next to which v2.0.0 adds `clean`."""
    project, _ = _v1_project(template, dst)
    assert read_text(project, "Makefile").endswith(MAKEFILE_LAST_LINE)
    replace_once_in(project, "Makefile", MAKEFILE_LAST_LINE, MAKEFILE_USER_LINE)
    commit_all(project, "Team edits")
    return project


def test_conflicting_edit_is_left_inline_and_unmerged(older_template: Path, tmp_path: Path) -> None:
    project = _conflicting_project(older_template, tmp_path / "project")

    cli_update(project)  # exits 0 despite the conflict: the checks below are what CI must run

    assert unmerged(project) == ["Makefile"]
    assert conflict_markers(project) == ["Makefile"]
    stages = {line.split()[2] for line in git(project, "ls-files", "--unmerged", "Makefile").splitlines()}
    assert stages == {"1", "2", "3"}
    makefile = read_text(project, "Makefile")
    ours, theirs = makefile.split("<<<<<<< before updating\n", 1)[1].split("=======\n", 1)
    theirs = theirs.split(">>>>>>> after updating\n", 1)[0]
    assert MAKEFILE_USER_LINE in ours
    assert MAKEFILE_LAST_LINE in theirs and change("Makefile clean target").arrived in theirs
    # The rest of the release arrived cleanly.
    assert change("Dockerfile OMP_NUM_THREADS").arrived in read_text(project, "Dockerfile")
    assert read_answers(project)["_commit"] == V2


def test_conflict_rej_mode_writes_a_rej_file(older_template: Path, tmp_path: Path) -> None:
    project = _conflicting_project(older_template, tmp_path / "project")

    cli_update(project, "--conflict", "rej")

    assert (project / "Makefile.rej").is_file()
    assert "team/*.mk" in read_text(project, "Makefile.rej")
    assert change("Makefile clean target").arrived in read_text(project, "Makefile")
    assert not conflict_markers(project)
    assert "?? Makefile.rej" in git(project, "status", "--porcelain")


def test_pre_commit_guards_against_update_leftovers(template_repo: Path, tmp_path: Path) -> None:
    """The rendered pre-commit config holds the two guards; `no-rej-files`, which needs no
    environment, really refuses a .rej file (every hook runs in the default project's e2e test)."""
    project = render(template_repo, tmp_path / "project")
    config = yaml.safe_load(read_text(project, ".pre-commit-config.yaml"))
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    assert "--assume-in-merge" in hooks["check-merge-conflict"]["entry"].split()
    no_rej = hooks["no-rej-files"]
    assert no_rej["language"] == "fail"

    local = {"repos": [repo for repo in config["repos"] if repo["repo"] == "local"]}
    local["repos"][0]["hooks"] = [no_rej]
    (project / "local-hooks.yaml").write_text(yaml.safe_dump(local), encoding="utf-8")
    (project / "Makefile.rej").write_text("@@ -1 +1 @@\n", encoding="utf-8")
    init_repo(project)
    pre_commit = [str(require_tool("pre-commit"))]
    env = {"PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    flagged = run(
        [*pre_commit, "run", "--config", "local-hooks.yaml", "no-rej-files", "--files", "Makefile.rej"],
        project,
        env,
    )
    assert flagged.returncode == 1 and "rejected hunk" in flagged.stdout, flagged.stdout
    clean = run(
        [*pre_commit, "run", "--config", "local-hooks.yaml", "no-rej-files", "--files", "Makefile"],
        project,
        env,
    )
    assert clean.returncode == 0, clean.stdout
