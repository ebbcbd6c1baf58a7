"""End to end on the default project: setup, its own `make check`, the DVC pipeline with MLflow
registration, push/pull of data, serving, drift detection and the docs site, all for real."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest

from tests.e2e.smoke import make_targets, serve_smoke, sha256
from tests.support.process import free_port, git, serving
from tests.support.projects import Project, init_project
from tests.support.snapshot import render

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def default_project(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Project:
    path = render(
        template_repo,
        tmp_path_factory.mktemp("e2e") / "fraud-detector",
        project_name="Fraud Detector",
    )
    return init_project(path, "fraud_detector", "3.12")


@pytest.fixture(scope="session")
def default_pipeline(default_project: Project) -> tuple[Project, str]:
    """The default project after `make pipeline` (run once; later tests rely on its outputs)."""
    return default_project, default_project.ok("make", "pipeline", timeout=900)


def test_default_make_help_lists_the_contract(default_project: Project) -> None:
    listed = make_targets(default_project)
    for target in (
        "setup",
        "check",
        "test-slow",
        "coverage",
        "pipeline",
        "serve",
        "loadtest",
        "drift",
        "docs",
        "docker-build",
        "data-push",
    ):
        assert target in listed, listed


def test_default_make_check(default_project: Project) -> None:
    out = default_project.ok("make", "check", timeout=900)
    assert "passed" in out and "failed" not in out.splitlines()[-1]


def test_default_slow_tests_and_every_pre_commit_hook(default_project: Project) -> None:
    """The slow tier (whole commands, every estimator, DVC stage deps) and every pre-commit hook,
    each from the project's own environment: what CI and a commit run."""
    summary = default_project.ok("make", "test-slow", timeout=900).splitlines()[-1]
    passed = re.search(r"(\d+) passed", summary)
    # The pipeline by CLI, each of the two estimators, the DVC stages' deps, the drift CLI.
    assert passed and int(passed.group(1)) >= 5 and "failed" not in summary, summary

    hooks = default_project.ok(
        str(default_project.path / ".venv" / "bin" / "pre-commit"), "run", "--all-files", timeout=600
    )
    assert "Failed" not in hooks, hooks
    for hook in ("ruff (lint", "spelling (typos)", "Dockerfile (hadolint)", "workflows (actionlint)", "mypy"):
        assert re.search(re.escape(hook) + r".*Passed", hooks), hooks


def test_default_pipeline_runs_through_dvc_and_registers_the_model(
    default_pipeline: tuple[Project, str],
) -> None:
    project, out = default_pipeline
    for stage in ("ingest", "train", "evaluate"):
        assert f"Running stage '{stage}'" in out, out

    lock = (project.path / "dvc.lock").read_text()
    train_md5 = hashlib.md5((project.path / "data/processed/train.csv").read_bytes()).hexdigest()
    assert train_md5 in lock
    metadata = json.loads((project.path / "models/metadata.json").read_text())
    assert metadata["data_version"] == f"md5:{train_md5}"
    card = (project.path / "models/model_card.md").read_text()
    assert metadata["git_commit"] in card and len(metadata["git_commit"]) >= 40
    metrics = json.loads((project.path / "reports/metrics.json").read_text())
    assert metrics["accuracy"] >= 0.8

    # Evaluate registers the model as the challenger; the first version of all is the champion too
    # (later ones only by `promote`).
    registered = json.loads(
        project.python(
            "import json; from mlflow import MlflowClient;"
            "c = MlflowClient('sqlite:///mlflow.db');"
            f"v = c.get_model_version_by_alias('{project.package}', 'challenger');"
            f"aliases = c.get_registered_model('{project.package}').aliases;"
            "print(json.dumps({'run': v.run_id, 'version': v.version,"
            " 'aliases': {k: str(n) for k, n in aliases.items()},"
            " 'acc': c.get_run(v.run_id).data.metrics['accuracy']}))"
        )
        .strip()
        .splitlines()[-1]
    )
    assert registered["run"] == metadata["mlflow_run_id"]
    assert registered["aliases"] == {"challenger": "1", "champion": "1"}, registered
    assert registered["acc"] == metrics["accuracy"]

    # .gitignore files keep data, models and the MLflow store out of git; DVC tracks them instead.
    status = git(project.path, "status", "--porcelain", "--untracked-files=all")
    changed = {line[3:] for line in status.splitlines()}
    for ignored in ("data/processed/train.csv", "models/model.onnx", "mlflow.db"):
        assert ignored not in changed, status
    assert {"dvc.lock", "reports/metrics.json", "models/model_card.md"} <= changed, status
    assert not any(name.startswith(("mlruns/", "mlartifacts/", ".dvc-remote/")) for name in changed), status

    # A second run with nothing changed is a no-op: DVC reuses every stage.
    again = project.ok("make", "pipeline", timeout=300)
    assert "didn't change, skipping" in again or "Data and pipelines are up to date" in again


def test_default_dvc_push_and_pull_restore_identical_data(default_pipeline: tuple[Project, str]) -> None:
    project = default_pipeline[0]
    tracked = ["data/raw/iris.csv", "data/processed/train.csv", "models/model.onnx"]
    before = {name: sha256(project.path / name) for name in tracked}
    project.ok("make", "data-push")
    assert any((project.path / ".dvc-remote").rglob("*")), "the local DVC remote is empty after push"

    shutil.rmtree(project.path / ".dvc" / "cache")
    for name in tracked:
        (project.path / name).unlink()
    project.ok("make", "data-pull")
    assert {name: sha256(project.path / name) for name in tracked} == before


def test_default_serves_predictions_and_metrics(default_pipeline: tuple[Project, str]) -> None:
    metrics = serve_smoke(default_pipeline[0])
    assert "model_prediction_batch_size_bucket" in metrics


def test_default_load_test_against_make_serve(default_pipeline: tuple[Project, str]) -> None:
    """`make loadtest` for a few seconds against a real `make serve` on the same PORT: every request
    answered, the summary printed and written with Locust's CSV files, and git ignoring the report."""
    project = default_pipeline[0]
    port = free_port()
    env = {**project.env, "HOST": "127.0.0.1", "PORT": str(port)}
    with serving(["make", "serve"], f"http://127.0.0.1:{port}/ready", cwd=project.path, base_env=env):
        result = project.run(
            "make",
            "loadtest",
            f"PORT={port}",
            "LOADTEST_USERS=8",
            "LOADTEST_SPAWN_RATE=8",
            "LOADTEST_DURATION=5s",
            timeout=300,
        )
    assert result.returncode == 0, result.stdout[-6000:]
    assert "| requests | req/s | answered/s |" in result.stdout, result.stdout[-3000:]

    report = project.path / "reports" / "loadtest"
    summary = json.loads((report / "summary.json").read_text())
    assert summary["requests"] > 0 and summary["errors"] == 0, summary
    assert summary["answered_per_second"] > 0, summary
    assert set(summary["by_request"]) == {"/predict (1 row)", "/predict (batch)"}, summary
    assert (report / "summary.md").is_file() and (report / "locust_stats.csv").is_file()
    status = git(project.path, "status", "--porcelain", "--untracked-files=all")
    assert "reports/loadtest" not in status, status


def test_default_drift_job(default_pipeline: tuple[Project, str]) -> None:
    project = default_pipeline[0]
    clean = project.run("make", "drift", timeout=300)
    assert clean.returncode == 0, clean.stdout
    result = json.loads((project.path / "reports/drift/result.json").read_text())
    assert result["dataset_drift"] is False
    assert "<html" in (project.path / "reports/drift/report.html").read_text()[:2000].lower()

    shifted = project.path.parent / "shifted.csv"
    rows = (project.path / "data/processed/test.csv").read_text().splitlines()
    header, body = rows[0], rows[1:]
    scaled = []
    for line in body:
        *values, label = line.split(",")
        scaled.append(",".join([*(f"{float(v) * 1.5 + 1:.2f}" for v in values), label]))
    shifted.write_text("\n".join([header, *scaled]) + "\n")
    drifted = project.run(
        str(project.path / ".venv" / "bin" / project.package), "drift", "--current", str(shifted), timeout=300
    )
    assert drifted.returncode == 1, drifted.stdout
    assert "DRIFT DETECTED" in drifted.stdout
    result = json.loads((project.path / "reports/drift/result.json").read_text())
    assert result["dataset_drift"] is True and len(result["drifted_columns"]) == 4


def test_default_docs_build(default_project: Project) -> None:
    default_project.ok("make", "docs", timeout=300)
    assert (default_project.path / "site" / "index.html").is_file()


def test_default_bad_data_stops_the_pipeline_and_keeps_outputs(default_pipeline: tuple[Project, str]) -> None:
    project = default_pipeline[0]
    bad = project.path.parent / "bad.csv"
    bad.write_text(
        "sepal_length,sepal_width,petal_length,petal_width,species\n"
        "5.1,3.5,1.4,0.2,setosa\n-4.0,3.0,4.5,1.5,versicolor\n6.3,,6.0,2.5,tulip\n"
    )
    train_before = sha256(project.path / "data/processed/train.csv")
    params = project.path / "params.yaml"
    original = params.read_text()
    params.write_text(original.replace("source: sklearn:iris", f"source: {bad}"))
    try:
        result = project.run("make", "pipeline", timeout=300)
    finally:
        params.write_text(original)
    assert result.returncode != 0
    assert "column 'sepal_length'" in result.stdout and "rows [1]" in result.stdout
    assert "column 'species'" in result.stdout and "'tulip'" in result.stdout
    assert sha256(project.path / "data/processed/train.csv") == train_before
