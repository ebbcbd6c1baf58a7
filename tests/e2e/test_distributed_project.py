"""End to end on a distributed PyTorch project: the pipeline trains on a local Ray instance with two
Ray Train workers (distinct ranks and processes, recorded with the model), and the API serves it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.smoke import serve_smoke
from tests.support.projects import PYTORCH_FROM_PYPI, Project, init_project
from tests.support.snapshot import render

pytestmark = pytest.mark.e2e

ANSWERS = {
    "project_name": "Ray Model",
    "python_version": "3.12",
    "ml_framework": "pytorch",
    "compute": "distributed",
    "deployment_target": "none",
    "monitoring": "none",
    "data_versioning": "none",
}


@pytest.fixture(scope="session")
def ray_pipeline(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Project:
    path = render(template_repo, tmp_path_factory.mktemp("e2e") / "ray-model", **ANSWERS)
    project = init_project(path, "ray_model", "3.12", **PYTORCH_FROM_PYPI)
    project.ok("make", "pipeline", timeout=900)
    return project


def test_pipeline_trains_on_two_ray_workers(ray_pipeline: Project) -> None:
    metadata = json.loads((ray_pipeline.path / "models/metadata.json").read_text())
    training = metadata["training"]
    assert training["ray_workers"] == "2"
    assert training["ray_worker_ranks"] == "0,1"
    pids = training["ray_worker_pids"].split(",")
    # Two processes, neither of them the driver (the `train` command); the MLflow run records them.
    assert len(set(pids)) == 2 and training["ray_driver_pid"] not in pids, training
    run = ray_pipeline.python(
        "import json; from mlflow import MlflowClient;"
        f"print(json.dumps(MlflowClient().get_run('{metadata['mlflow_run_id']}').data.tags))"
    )
    tags = json.loads(run.strip().splitlines()[-1])
    assert tags["ray_worker_pids"] == training["ray_worker_pids"], tags
    assert json.loads((ray_pipeline.path / "reports/metrics.json").read_text())["accuracy"] >= 0.8


def test_api_serves_the_model_ray_trained(ray_pipeline: Project) -> None:
    serve_smoke(ray_pipeline)


SKLEARN_ON_RAY = {
    "project_name": "Ray Forest",
    "python_version": "3.12",
    "compute": "distributed",
    "deployment_target": "none",
    "monitoring": "none",
    "data_versioning": "none",
    "experiment_tracking": "none",
}


def test_scikit_learn_cross_validates_on_ray_and_serves(
    template_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = render(template_repo, tmp_path_factory.mktemp("e2e") / "ray-forest", **SKLEARN_ON_RAY)
    project = init_project(path, "ray_forest", "3.12")
    out = project.ok("make", "pipeline", timeout=900)
    assert "ray: starting a local instance with 2 CPU(s)" in out, out[-3000:]
    metadata = json.loads((project.path / "models/metadata.json").read_text())
    assert metadata["framework"] == "scikit-learn" and metadata["training"]["ray_cv_tasks"] == "2"
    assert metadata["cv_metrics"]["cv_accuracy"] > 0.8
    serve_smoke(project)
