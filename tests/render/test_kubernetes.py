"""The Kubernetes target's deploy script, without a cluster: what `make deploy` refuses (and that it
refuses before calling kubectl), and the release settings it writes into the manifests."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.support import kube
from tests.support.process import run
from tests.support.snapshot import render
from tests.support.tools import require_tool


@pytest.fixture(scope="module")
def s3_project(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(
        template_repo,
        tmp_path_factory.mktemp("k8s") / "p",
        deployment_target="kubernetes",
        data_storage="s3",
    )


def _fake_kubectl(tmp_path: Path) -> tuple[Path, Path]:
    """A kubectl that records each call and fails: any call before a refusal is a bug."""
    calls = tmp_path / "kubectl-calls"
    fake = tmp_path / "kubectl"
    fake.write_text(f'#!/bin/sh\necho "$@" >>{calls}\nexit 99\n', encoding="utf-8")
    fake.chmod(0o755)
    return fake, calls


def _deploy(project: Path, tmp_path: Path, *args: str, **settings: str) -> tuple[int, str, list[str]]:
    fake, calls = _fake_kubectl(tmp_path)
    result = run(["bash", "deploy/kubernetes/deploy.sh", *args], project, {"KUBECTL": str(fake), **settings})
    called = calls.read_text().splitlines() if calls.exists() else []
    return result.returncode, result.stdout, called


RELEASE = {key: kube.RELEASE_SETTINGS[key] for key in ("IMAGE", "JOBS_IMAGE", "POD_AWS_ROLE_ARN")}


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("IMAGE", "IMAGE is not set"),
        ("JOBS_IMAGE", "JOBS_IMAGE is not set"),
        ("POD_AWS_ROLE_ARN", "POD_AWS_ROLE_ARN is not set: the IAM roles for service accounts (IRSA, EKS)"),
    ],
)
def test_deploy_refuses_without_a_setting(
    s3_project: Path, tmp_path: Path, missing: str, message: str
) -> None:
    settings = {key: value for key, value in RELEASE.items() if key != missing}
    status, out, called = _deploy(s3_project, tmp_path, "apply", "staging", **settings)
    assert status == 2 and message in out, out
    assert called == [], f"kubectl was called before the refusal: {called}"


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("IMAGE", "ghcr.io/acme/api", "has neither a tag nor a digest"),
        ("IMAGE", "ghcr.io/acme/api@sha256:abc", "is not a sha256 digest"),
        ("IMAGE", "ghcr.io/acme/api:1; rm -rf /", "is not an image reference"),
        ("POD_AWS_ROLE_ARN", "arn with spaces", "is not a valid identity"),
    ],
)
def test_manifests_refuse_malformed_settings(
    s3_project: Path, tmp_path: Path, setting: str, value: str, message: str
) -> None:
    status, out, _ = _deploy(s3_project, tmp_path, "manifests", "staging", **{**RELEASE, setting: value})
    assert status == 2 and message in out, out


def test_unknown_environment_is_refused(s3_project: Path, tmp_path: Path) -> None:
    status, out, called = _deploy(s3_project, tmp_path, "apply", "prod", **RELEASE)
    assert status == 2 and "ENV must be staging or production, not 'prod'" in out, out
    assert called == []


def test_release_settings_reach_the_manifests(s3_project: Path) -> None:
    """The image by digest on the API, the jobs image on the CronJob, the workload identity on the
    drift job's ServiceAccount only (the API reads nothing from the bucket), the overlay's namespace
    on everything."""
    docs = kube.build_releases(s3_project)["production"]
    by_name = {(doc["kind"], doc["metadata"]["name"]): doc for doc in docs}
    deployment = by_name["Deployment", "my-ml-project"]
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == RELEASE["IMAGE"]
    cron = by_name["CronJob", "my-ml-project-drift"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert cron["containers"][0]["image"] == RELEASE["JOBS_IMAGE"]
    assert cron["serviceAccountName"] == "my-ml-project-drift"
    drift_account = by_name["ServiceAccount", "my-ml-project-drift"]
    assert drift_account["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": RELEASE["POD_AWS_ROLE_ARN"]
    }
    assert "annotations" not in by_name["ServiceAccount", "my-ml-project"]["metadata"]
    assert {doc["metadata"].get("namespace") for doc in docs} == {"my-ml-project-production"}
    assert by_name["HorizontalPodAutoscaler", "my-ml-project"]["spec"]["minReplicas"] == 3


def test_no_identity_is_asked_without_a_drift_job(template_repo: Path, tmp_path: Path) -> None:
    """With object storage but no drift job, nothing in the cluster reads the bucket: `make deploy`
    needs the image only."""
    project = render(
        template_repo, tmp_path / "p", deployment_target="kubernetes", data_storage="s3", monitoring="metrics"
    )
    kubectl = str(require_tool("kubectl"))
    argv = ["bash", "deploy/kubernetes/deploy.sh", "manifests", "staging"]
    result = run(argv, project, {"KUBECTL": kubectl, "IMAGE": RELEASE["IMAGE"]})
    assert result.returncode == 0, result.stdout
    assert "POD_AWS_ROLE_ARN" not in (project / "deploy/kubernetes/deploy.sh").read_text()


def test_azure_drift_pods_carry_the_workload_identity_label(template_repo: Path, tmp_path: Path) -> None:
    project = render(template_repo, tmp_path / "p", deployment_target="kubernetes", data_storage="azure")
    docs = list(yaml.safe_load_all((project / "deploy/kubernetes/base/drift-cronjob.yaml").read_text()))
    (cron,) = [doc for doc in docs if doc["kind"] == "CronJob"]
    labels = cron["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert labels["azure.workload.identity/use"] == "true"
    deployment = yaml.safe_load((project / "deploy/kubernetes/base/deployment.yaml").read_text())
    assert "azure.workload.identity/use" not in deployment["spec"]["template"]["metadata"]["labels"]
