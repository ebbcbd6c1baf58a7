"""Which files a rendered project holds, declared by hand for each answer.

Deliberately independent of the template tree: a file that appears, disappears or moves without this
declaration changing is a failure of the render matrix, never silently accepted. `{pkg}` stands for
the package name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Answers = Mapping[str, Any]

ALWAYS = {
    ".copier-answers.yml",
    ".dockerignore",
    ".env.example",
    ".gitignore",
    ".yamllint.yaml",
    "Dockerfile",
    "LICENSE",
    "Makefile",
    "README.md",
    "params.yaml",
    "pyproject.toml",
    # package
    "src/{pkg}/__init__.py",
    "src/{pkg}/__main__.py",
    "src/{pkg}/cli.py",
    "src/{pkg}/config.py",
    "src/{pkg}/data.py",
    "src/{pkg}/errors.py",
    "src/{pkg}/evaluate.py",
    "src/{pkg}/features.py",
    "src/{pkg}/fitted.py",
    "src/{pkg}/lineage.py",
    "src/{pkg}/model_card.py",
    "src/{pkg}/model_files.py",
    "src/{pkg}/onnx_model.py",
    "src/{pkg}/py.typed",
    "src/{pkg}/schema.py",
    "src/{pkg}/storage.py",
    "src/{pkg}/train.py",
    "src/{pkg}/serving/__init__.py",
    "src/{pkg}/serving/app.py",
    "src/{pkg}/serving/batcher.py",
    "src/{pkg}/serving/limits.py",
    "src/{pkg}/serving/metrics.py",
    "src/{pkg}/serving/model.py",
    "src/{pkg}/serving/schemas.py",
    "src/{pkg}/serving/server.py",
    # the project's own tests
    "tests/conftest.py",
    "tests/load/locustfile.py",
    "tests/test_api.py",
    "tests/test_data.py",
    "tests/test_fuzz.py",
    "tests/test_server.py",
    "tests/test_storage.py",
    "tests/test_train.py",
}

# (what adds the files, when, the files): one entry per answer that adds files.
ADDED_BY: list[tuple[str, Callable[[Answers], bool], set[str]]] = [
    (
        "data_versioning=dvc",
        lambda a: a["data_versioning"] == "dvc",
        {".dvcignore", ".dvc/.gitignore", ".dvc/config", "dvc.yaml"},
    ),
    (
        "ml_framework=scikit-learn",
        lambda a: a["ml_framework"] == "scikit-learn",
        {"src/{pkg}/sklearn_model.py"},
    ),
    (
        "ml_framework=pytorch",
        lambda a: a["ml_framework"] == "pytorch",
        {"src/{pkg}/torch_model.py", "tests/test_torch.py"},
    ),
    (
        "compute=distributed",
        lambda a: a["compute"] == "distributed",
        {"src/{pkg}/ray_cluster.py"},
    ),
    (
        "ml_framework=pytorch and compute=distributed",
        lambda a: a["ml_framework"] == "pytorch" and a["compute"] == "distributed",
        {"src/{pkg}/ray_train.py"},
    ),
    (
        "compute=gpu or distributed: the training image",
        lambda a: a["compute"] in {"gpu", "distributed"},
        {"Dockerfile.train"},
    ),
    (
        "experiment_tracking=mlflow",
        lambda a: a["experiment_tracking"] == "mlflow",
        {"src/{pkg}/tracking.py", "tests/test_registry.py"},
    ),
    (
        "deployment_target=docker-compose",
        lambda a: a["deployment_target"] == "docker-compose",
        {"deploy/compose/README.md", "deploy/compose/compose.mk", "deploy/compose/compose.yaml"},
    ),
    (
        "deployment_target=kubernetes",
        lambda a: a["deployment_target"] == "kubernetes",
        {
            "deploy/kubernetes/.gitignore",
            "deploy/kubernetes/README.md",
            "deploy/kubernetes/deploy.sh",
            "deploy/kubernetes/kubernetes.mk",
            "deploy/kubernetes/base/deployment.yaml",
            "deploy/kubernetes/base/hpa.yaml",
            "deploy/kubernetes/base/kustomization.yaml",
            "deploy/kubernetes/base/networkpolicy.yaml",
            "deploy/kubernetes/base/pdb.yaml",
            "deploy/kubernetes/base/service.yaml",
            "deploy/kubernetes/base/serviceaccount.yaml",
            "deploy/kubernetes/base/settings.env",
            "deploy/kubernetes/overlays/production/kustomization.yaml",
            "deploy/kubernetes/overlays/staging/kustomization.yaml",
        },
    ),
    (
        "deployment_target=kubernetes, monitoring=metrics|both",
        lambda a: a["deployment_target"] == "kubernetes" and a["monitoring"] in {"metrics", "both"},
        {
            "deploy/kubernetes/sync_monitoring.py",
            "deploy/kubernetes/base/dashboards/api.json",
            "deploy/kubernetes/base/prometheusrule.yaml",
            "deploy/kubernetes/base/servicemonitor.yaml",
        },
    ),
    (
        "deployment_target=kubernetes, monitoring=drift|both, data_storage!=local",
        lambda a: (
            a["deployment_target"] == "kubernetes"
            and a["monitoring"] in {"drift", "both"}
            and a["data_storage"] != "local"
        ),
        {"deploy/kubernetes/base/drift-cronjob.yaml"},
    ),
    (
        "deployment_target=kubernetes, compute=gpu or distributed: the training run",
        lambda a: a["deployment_target"] == "kubernetes" and a["compute"] in {"gpu", "distributed"},
        {
            "deploy/kubernetes/training/kustomization.yaml",
            "deploy/kubernetes/training/networkpolicy.yaml",
            "deploy/kubernetes/training/serviceaccount.yaml",
        },
    ),
    (
        "deployment_target=kubernetes, compute=gpu: the training Job",
        lambda a: a["deployment_target"] == "kubernetes" and a["compute"] == "gpu",
        {"deploy/kubernetes/training/job.yaml"},
    ),
    (
        "deployment_target=kubernetes, compute=distributed: the training RayJob",
        lambda a: a["deployment_target"] == "kubernetes" and a["compute"] == "distributed",
        {"deploy/kubernetes/training/rayjob.yaml"},
    ),
    (
        "deployment_target!=none, docs_site",
        lambda a: a["deployment_target"] != "none" and bool(a["docs_site"]),
        {"docs/deployment.md"},
    ),
    (
        "deployment_target!=none, ci_provider=github",
        lambda a: a["deployment_target"] != "none" and a["ci_provider"] == "github",
        {".github/workflows/cd.yml"},
    ),
    (
        "monitoring=metrics|both",
        lambda a: a["monitoring"] in {"metrics", "both"},
        {
            "monitoring/grafana/dashboards/api.json",
            "monitoring/prometheus/alerts.test.yml",
            "monitoring/prometheus/alerts.yml",
        },
    ),
    (
        "deployment_target=docker-compose, monitoring=metrics|both",
        lambda a: a["deployment_target"] == "docker-compose" and a["monitoring"] in {"metrics", "both"},
        {
            "deploy/compose/grafana/provisioning/dashboards/dashboards.yml",
            "deploy/compose/grafana/provisioning/datasources/prometheus.yml",
            "deploy/compose/prometheus.yml",
        },
    ),
    (
        "monitoring=drift|both",
        lambda a: a["monitoring"] in {"drift", "both"},
        {"src/{pkg}/drift.py", "tests/test_drift.py"},
    ),
    (
        "ci_provider=github",
        lambda a: a["ci_provider"] == "github",
        {".github/dependabot.yml", ".github/workflows/ci.yml", ".github/workflows/template-update.yml"},
    ),
    (
        "docs_site",
        lambda a: bool(a["docs_site"]),
        {
            "mkdocs.yml",
            "docs/architecture.md",
            "docs/compute.md",
            "docs/data.md",
            "docs/index.md",
            "docs/model-card.md",
            "docs/runbook.md",
            "docs/serving.md",
            "docs/storage.md",
            "docs/updating.md",
        },
    ),
    (
        "pre_commit",
        lambda a: bool(a["pre_commit"]),
        {".pre-commit-config.yaml"},
    ),
]


def expected_files(answers: Answers) -> set[str]:
    """The exact file set (POSIX paths) for fully resolved answers (every asked question)."""
    files = set(ALWAYS)
    for _, applies, added in ADDED_BY:
        if applies(answers):
            files |= added
    return {path.format(pkg=answers["package_name"]) for path in files}
