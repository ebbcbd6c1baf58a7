"""The Kubernetes target's deploy script, without a cluster: what `make deploy` refuses (and that it
refuses before calling kubectl), and the release settings it writes into the manifests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


# ---------------------------------------------------------------- training on the cluster

TRAIN_IMAGE = "ghcr.io/example/api-train@sha256:" + "2" * 64
HARDENED_CONTAINER = {
    "allowPrivilegeEscalation": False,
    "privileged": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
}


def _train_manifests(project: Path, env: str, **settings: str) -> list[dict[str, Any]]:
    kubectl = str(require_tool("kubectl"))
    argv = ["bash", "deploy/kubernetes/deploy.sh", "train-manifests", env]
    result = run(argv, project, {"KUBECTL": kubectl, **settings})
    assert result.returncode == 0, result.stdout
    manifest = Path(result.stdout.strip().splitlines()[-1])
    return [doc for doc in yaml.safe_load_all(manifest.read_text()) if doc]


def _assert_hardened(pod: dict[str, Any]) -> None:
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsUser"] == 10001 and pod["securityContext"]["runAsNonRoot"]
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    tmp = {volume["name"] for volume in pod["volumes"] if "emptyDir" in volume}
    for container in pod.get("initContainers", []) + pod["containers"]:
        assert container["securityContext"] == HARDENED_CONTAINER, container["name"]
        assert container["image"] == TRAIN_IMAGE, container["name"]
        mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
        assert mounts["/tmp"] in tmp, container["name"]


@pytest.fixture(scope="module")
def gpu_project(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(
        template_repo,
        tmp_path_factory.mktemp("k8s-gpu") / "p",
        deployment_target="kubernetes",
        ml_framework="pytorch",
        compute="gpu",
        data_storage="s3",
    )


@pytest.fixture(scope="module")
def ray_project(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(
        template_repo,
        tmp_path_factory.mktemp("k8s-ray") / "p",
        deployment_target="kubernetes",
        ml_framework="pytorch",
        compute="distributed",
    )


def test_gpu_training_job(gpu_project: Path) -> None:
    """The Job asks for a GPU, tolerates the GPU taint, runs hardened and bounded in time, with the
    run's image and the storage identity on its own ServiceAccount; it passes the strict schemas and
    checkov, in each environment's namespace."""
    for env in ("staging", "production"):
        docs = _train_manifests(
            gpu_project, env, TRAIN_IMAGE=TRAIN_IMAGE, POD_AWS_ROLE_ARN=RELEASE["POD_AWS_ROLE_ARN"]
        )
        by_kind = {doc["kind"]: doc for doc in docs}
        assert set(by_kind) == {"ServiceAccount", "NetworkPolicy", "Job"}
        assert {doc["metadata"]["namespace"] for doc in docs} == {f"my-ml-project-{env}"}
        job = by_kind["Job"]
        spec = job["spec"]
        assert spec["backoffLimit"] >= 0 and spec["activeDeadlineSeconds"] > 0
        assert spec["ttlSecondsAfterFinished"] > 0
        pod = spec["template"]["spec"]
        assert pod["restartPolicy"] == "Never"
        (train,) = pod["containers"]
        assert train["command"] == ["my_ml_project", "train"]
        assert train["resources"]["limits"]["nvidia.com/gpu"] == 1
        assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
        assert pod["nodeSelector"]
        _assert_hardened(pod)
        account = by_kind["ServiceAccount"]
        assert pod["serviceAccountName"] == account["metadata"]["name"] == "my-ml-project-train"
        assert account["metadata"]["annotations"] == {
            "eks.amazonaws.com/role-arn": RELEASE["POD_AWS_ROLE_ARN"]
        }
        kube.validate_kubernetes(docs, "1.29", name=f"train-{env}")
    kube.run_checkov(gpu_project / "deploy/kubernetes/.build/production-train/manifests.yaml")
    readme = (gpu_project / "deploy/kubernetes/README.md").read_text()
    for fact in ("nvidia.com/gpu.present", "580", "device plugin", "scales to zero"):
        assert fact in readme, fact


def test_ray_training_rayjob(ray_project: Path) -> None:
    """The RayJob (a CRD: no schema offline) has the fields that matter asserted here, its worker
    group sized as params.yaml's defaults; its pod templates and the ServiceAccount go through the
    strict Kubernetes schemas (as PodTemplates)."""
    params = yaml.safe_load((ray_project / "params.yaml").read_text())["train"]
    docs = _train_manifests(ray_project, "staging", TRAIN_IMAGE=TRAIN_IMAGE)
    by_kind = {doc["kind"]: doc for doc in docs}
    assert set(by_kind) == {"ServiceAccount", "NetworkPolicy", "RayJob"}
    rayjob = by_kind.pop("RayJob")
    assert rayjob["apiVersion"] == "ray.io/v1"
    assert rayjob["metadata"]["namespace"] == "my-ml-project-staging"
    spec = rayjob["spec"]
    assert spec["entrypoint"] == "my_ml_project train"
    assert spec["shutdownAfterJobFinishes"] is True
    assert spec["ttlSecondsAfterFinished"] > 0 and spec["activeDeadlineSeconds"] > 0
    cluster = spec["rayClusterSpec"]
    (workers,) = cluster["workerGroupSpecs"]
    assert workers["replicas"] == workers["minReplicas"] == workers["maxReplicas"] == params["workers"]
    (worker,) = workers["template"]["spec"]["containers"]
    resources = worker["resources"]
    assert resources["requests"]["cpu"] == resources["limits"]["cpu"] == str(params["cpus_per_worker"])
    assert resources["limits"].get("nvidia.com/gpu", 0) == params["gpus_per_worker"]
    templates = [cluster["headGroupSpec"]["template"], workers["template"]]
    for template in templates:
        _assert_hardened(template["spec"])
        assert template["spec"]["serviceAccountName"] == "my-ml-project-train"
    pod_templates = [
        {
            "apiVersion": "v1",
            "kind": "PodTemplate",
            "metadata": {"name": f"ray-{index}"},
            "template": template,
        }
        for index, template in enumerate(templates)
    ]
    kube.validate_kubernetes([*by_kind.values(), *pod_templates], "1.29", name="train-ray")
    readme = (ray_project / "deploy/kubernetes/README.md").read_text()
    for fact in ("KubeRay operator", "RAY_ADDRESS", "train.workers", "scales to zero"):
        assert fact in readme, fact


@pytest.mark.parametrize("project_name", ["gpu_project", "ray_project"])
def test_train_job_refuses_without_a_train_image(
    project_name: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    project = request.getfixturevalue(project_name)
    fake, calls = _fake_kubectl(tmp_path)
    settings = {"KUBECTL": str(fake), "POD_AWS_ROLE_ARN": RELEASE["POD_AWS_ROLE_ARN"]}
    result = run(["make", "train-job", "ENV=staging"], project, settings)
    assert result.returncode != 0 and "TRAIN_IMAGE is not set" in result.stdout, result.stdout
    assert not calls.exists(), f"kubectl was called before the refusal: {calls.read_text()}"


def test_train_job_refuses_without_the_storage_identity(gpu_project: Path, tmp_path: Path) -> None:
    status, out, called = _deploy(gpu_project, tmp_path, "train", "staging", TRAIN_IMAGE=TRAIN_IMAGE)
    assert status == 2 and "POD_AWS_ROLE_ARN is not set" in out, out
    assert called == []


def test_no_training_manifests_without_a_training_image(s3_project: Path) -> None:
    assert not (s3_project / "deploy/kubernetes/training").exists()
    assert "train-job" not in (s3_project / "deploy/kubernetes/kubernetes.mk").read_text()
