"""End to end on a PyTorch project (CPU): setup, `make check`, the pipeline with DVC and MLflow, the
API answering from the exported ONNX model, and the drift job, all for real."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.smoke import serve_smoke
from tests.support.projects import PYTORCH_FROM_PYPI, Project, init_project
from tests.support.snapshot import render

pytestmark = pytest.mark.e2e

ANSWERS = {"project_name": "Torch Model", "python_version": "3.12", "ml_framework": "pytorch"}


@pytest.fixture(scope="session")
def torch_project(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Project:
    path = render(template_repo, tmp_path_factory.mktemp("e2e") / "torch-model", **ANSWERS)
    return init_project(path, "torch_model", "3.12", **PYTORCH_FROM_PYPI)


@pytest.fixture(scope="session")
def torch_pipeline(torch_project: Project) -> Project:
    torch_project.ok("make", "pipeline", timeout=900)
    return torch_project


def test_torch_project_declares_the_cpu_wheel_index(torch_project: Project) -> None:
    """Users get torch from PyTorch's CPU index; only this test run swaps it for PyPI."""
    pyproject = (torch_project.path / "pyproject.toml").read_text()
    assert 'torch = { index = "pytorch-cpu" }' in pyproject
    assert 'url = "https://download.pytorch.org/whl/cpu"' in pyproject
    # The serving environment (what the image installs) has onnxruntime and neither torch nor scikit-learn.
    serving = torch_project.ok(
        "uv", "export", "--frozen", "--no-default-groups", "--no-dev", "--no-hashes", "--no-emit-project"
    )
    names = {line.split("==")[0] for line in serving.splitlines() if "==" in line}
    assert "onnxruntime" in names and not names & {"torch", "scikit-learn", "scipy", "nvidia-cublas"}, names


def test_torch_make_check_and_slow_tests(torch_project: Project) -> None:
    torch_project.ok("make", "check", timeout=900)
    # Whole commands: the CLI pipeline, every estimator through the registry, the DVC stages' deps.
    torch_project.ok("make", "test-slow", timeout=900)


def test_torch_pipeline_trains_exports_and_registers(torch_pipeline: Project) -> None:
    project = torch_pipeline
    metadata = json.loads((project.path / "models/metadata.json").read_text())
    assert metadata["framework"] == "pytorch" and metadata["estimator"] == "mlp"
    assert metadata["training"]["device"] == "cpu"
    assert 0 < metadata["cv_metrics"]["best_epoch"] <= metadata["cv_metrics"]["epochs_run"]
    assert json.loads((project.path / "reports/metrics.json").read_text())["accuracy"] >= 0.8
    assert (project.path / "checkpoints/best.pt").stat().st_size > 0
    # MLflow holds the ONNX export (loads without torch) and the checkpoint, and registered it.
    check = (
        "import mlflow, onnx; from mlflow import MlflowClient; c = MlflowClient();"
        "v = c.get_model_version_by_alias('torch_model', 'champion');"
        "m = mlflow.onnx.load_model(f'models:/torch_model/{v.version}');"
        "print(v.run_id, [o.name for o in m.graph.output],"
        " sorted(a.path for a in c.list_artifacts(v.run_id, 'checkpoint')))"
    )
    out = project.python(check)
    assert metadata["mlflow_run_id"] in out and "['probabilities']" in out and "checkpoint/best.pt" in out, (
        out
    )


def test_torch_api_serves_the_exported_model(torch_pipeline: Project) -> None:
    serve_smoke(torch_pipeline)


def test_torch_drift_job(torch_pipeline: Project) -> None:
    torch_pipeline.ok("make", "drift", timeout=300)
    result = json.loads((torch_pipeline.path / "reports/drift/result.json").read_text())
    assert result["dataset_drift"] is False
