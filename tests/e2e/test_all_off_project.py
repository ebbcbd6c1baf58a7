"""End to end on the all-off project: no DVC, MLflow, deployment, monitoring, CI, docs or pre-commit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import template_spec as spec
from tests.e2e.smoke import make_targets, serve_smoke
from tests.support.projects import Project, init_project
from tests.support.snapshot import render

pytestmark = pytest.mark.e2e

ALL_OFF = {"project_name": "Plain Model", "python_version": "3.12", **spec.ALL_OFF}


@pytest.fixture(scope="session")
def all_off_project(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Project:
    path = render(template_repo, tmp_path_factory.mktemp("e2e") / "plain-model", **ALL_OFF)
    return init_project(path, "plain_model", "3.12")


@pytest.fixture(scope="session")
def all_off_pipeline(all_off_project: Project) -> Project:
    """The all-off project after `make pipeline` (run once; later tests rely on its outputs)."""
    all_off_project.ok("make", "pipeline", timeout=600)
    return all_off_project


def test_all_off_make_check(all_off_project: Project) -> None:
    listed = make_targets(all_off_project)
    assert {"drift", "docs", "data-push", "mlflow-ui"}.isdisjoint(listed), listed
    assert {"setup", "check", "pipeline", "serve", "docker-build"} <= listed, listed
    all_off_project.ok("make", "check", timeout=900)
    # Every test, the slow ones included (every estimator without MLflow), under branch coverage
    # and the project's threshold.
    report = all_off_project.ok("make", "coverage", timeout=900)
    assert "Required test coverage of 85" in report, report[-3000:]


def test_all_off_pipeline_without_dvc_or_mlflow(all_off_pipeline: Project) -> None:
    project = all_off_pipeline
    assert not (project.path / "dvc.lock").exists() and not (project.path / "mlflow.db").exists()
    assert json.loads((project.path / "reports/metrics.json").read_text())["accuracy"] >= 0.8
    assert "mlflow_run_id" not in json.loads((project.path / "models/metadata.json").read_text())


def test_all_off_serves_predictions(all_off_pipeline: Project) -> None:
    serve_smoke(all_off_pipeline)
