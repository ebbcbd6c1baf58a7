"""Offline checks of a rendered project's Kubernetes manifests (deploy/kubernetes/): each helper fails
with the tool's output.

- build_overlays: `kubectl kustomize` of every overlay, parsed
- validate_kubernetes: kubernetes-validate --strict against one Kubernetes version's API schemas;
  monitoring.coreos.com documents (ServiceMonitor, PrometheusRule) go to crd_validate.mjs (the
  prometheus-operator CRD schemas) instead, and a kind neither knows fails
- check_references: what no schema sees (names, selectors, references to documents and ports)
- check_prometheus_rule_groups: every PrometheusRule's spec.groups through `promtool check rules`
- check_dashboard_configmaps: Grafana dashboards carried in ConfigMaps, through the dashboard recipe
- run_checkov: checkov's Kubernetes and Dockerfile policies, offline; a finding may only be skipped
  where it arises, with a reason (a `checkov.io/skip<N>: CKV_K8S_<id>=<reason>` annotation on the
  resource's own metadata, a `#checkov:skip=<ID>:<reason>` comment in the Dockerfile), never by a
  global list
- check_kubernetes: all of them, on every overlay

kubectl and the CRD validator come from scripts/install-k8s-tools.sh (npm), promtool from apt: a
missing one skips outside CI (tools.py). kubernetes-validate comes from uv.lock, checkov from
tools/checkov/uv.lock.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.artifacts import Checks, check_grafana_dashboards
from tests.support.process import run
from tests.support.tools import require_tool

CRD_GROUP = "monitoring.coreos.com"
"""API group whose kinds (ServiceMonitor, PrometheusRule...) are validated against the CRD schemas."""

KUSTOMIZE_TIMEOUT = 60
VALIDATE_TIMEOUT = 120
CHECKOV_TIMEOUT = 300
"""Seconds each tool may run (checkov takes ~6 s on one core, most of it start-up)."""

Document = dict[str, Any]

# Runs that passed, keyed on the command and the bytes of every input: identical manifests rendered
# by several matrix cases are checked once per worker.
_PASSED: set[str] = set()


def _key(argv: Sequence[str | Path], inputs: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for arg in argv:
        digest.update((Path(arg).name if isinstance(arg, Path) else arg).encode() + b"\0")
    for path in inputs:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _run(
    argv: Sequence[str | Path],
    cwd: Path,
    what: str,
    timeout: float,
    env: dict[str, str] | None = None,
    base_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a tool to completion, bounded in time: a hang fails the check, with what it printed."""
    try:
        return run(argv, cwd, env, base_env=base_env, timeout=timeout)
    except subprocess.TimeoutExpired as error:
        output = error.output.decode(errors="replace") if isinstance(error.output, bytes) else error.output
        pytest.fail(f"{what} timed out after {timeout}s\n$ {_command(argv)}\n{output or ''}", pytrace=False)


def _command(argv: Sequence[str | Path]) -> str:
    return " ".join(str(arg) for arg in argv)


def _run_ok(argv: Sequence[str | Path], cwd: Path, what: str, timeout: float, inputs: Sequence[Path]) -> str:
    key = _key(argv, inputs)
    if key in _PASSED:
        return ""
    result = _run(argv, cwd, what, timeout)
    if result.returncode != 0:
        pytest.fail(
            f"{what} failed (exit {result.returncode})\n$ {_command(argv)}\n{result.stdout}", pytrace=False
        )
    _PASSED.add(key)
    return result.stdout


def _name(doc: Document) -> str:
    metadata = doc.get("metadata") or {}
    namespace = f"{metadata['namespace']}/" if metadata.get("namespace") else ""
    return f"{doc.get('kind')}/{namespace}{metadata.get('name')}"


# ---------------------------------------------------------------- kustomize


RELEASE_SETTINGS = {
    "IMAGE": "ghcr.io/example/api@sha256:" + "0" * 64,
    "JOBS_IMAGE": "ghcr.io/example/api-jobs@sha256:" + "1" * 64,
    "POD_AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/example-api",
    "POD_GCP_SERVICE_ACCOUNT": "example-api@example-project.iam.gserviceaccount.com",
    "POD_AZURE_CLIENT_ID": "00000000-0000-0000-0000-000000000000",
}
"""Example settings of a release, as CD passes them to `make deploy` (a setting a project does not
use is ignored by its deploy.sh)."""


def build_releases(project: Path) -> dict[str, list[Document]]:
    """What `make deploy ENV=<env>` would apply, for each overlay: the project's own
    deploy/kubernetes/deploy.sh `manifests` with RELEASE_SETTINGS (image by digest, workload
    identity), parsed. Overlay name -> its documents."""
    built: dict[str, list[Document]] = {}
    env = {**RELEASE_SETTINGS, "KUBECTL": str(require_tool("kubectl"))}
    for overlay in sorted((project / "deploy" / "kubernetes" / "overlays").glob("*")):
        argv: list[str | Path] = ["bash", "deploy/kubernetes/deploy.sh", "manifests", overlay.name]
        result = _run(argv, project, f"deploy.sh manifests {overlay.name}", KUSTOMIZE_TIMEOUT, env=env)
        if result.returncode != 0:
            pytest.fail(f"deploy.sh manifests {overlay.name} failed:\n{result.stdout}", pytrace=False)
        manifest = Path(result.stdout.strip().splitlines()[-1])
        docs = [doc for doc in yaml.safe_load_all(manifest.read_text(encoding="utf-8")) if doc]
        assert docs, f"release of {overlay.name} builds to no document"
        built[overlay.name] = docs
    assert built, f"no overlay in {project / 'deploy/kubernetes/overlays'}"
    return built


def build_overlays(project: Path) -> dict[str, list[Document]]:
    """`kubectl kustomize` of each deploy/kubernetes/overlays/*: overlay name -> its documents."""
    overlays_dir = project / "deploy" / "kubernetes" / "overlays"
    overlays = sorted(
        path
        for path in overlays_dir.glob("*")
        if any(
            (path / name).is_file() for name in ("kustomization.yaml", "kustomization.yml", "Kustomization")
        )
    )
    assert overlays, f"no overlay with a kustomization.yaml in {overlays_dir}"
    kubectl = require_tool("kubectl")
    built: dict[str, list[Document]] = {}
    for overlay in overlays:
        argv: list[str | Path] = [kubectl, "kustomize", overlay.relative_to(project).as_posix()]
        result = _run(argv, project, f"kubectl kustomize {overlay.name}", KUSTOMIZE_TIMEOUT)
        if result.returncode != 0:
            pytest.fail(
                f"kubectl kustomize {overlay.name} failed (exit {result.returncode})\n"
                f"$ {_command(argv)}\n{result.stdout}",
                pytrace=False,
            )
        docs = [doc for doc in yaml.safe_load_all(result.stdout) if doc is not None]
        assert docs, f"overlay {overlay.name} builds to no document"
        for index, doc in enumerate(docs):
            assert isinstance(doc, dict), f"overlay {overlay.name}: document {index} is not a mapping"
            for key in ("apiVersion", "kind"):
                assert isinstance(doc.get(key), str), f"overlay {overlay.name}: {_name(doc)} has no {key}"
            assert (doc.get("metadata") or {}).get("name"), (
                f"overlay {overlay.name}: {_name(doc)} has no name"
            )
        built[overlay.name] = docs
    return built


# ---------------------------------------------------------------- schemas


def is_crd_document(doc: Document) -> bool:
    return str(doc.get("apiVersion", "")).split("/")[0] == CRD_GROUP


def validate_kubernetes(docs: Sequence[Document], kube_version: str, *, name: str = "manifests") -> None:
    """Every document against the schemas of Kubernetes `kube_version` ("1.33"): the built-in kinds
    with kubernetes-validate --strict (unknown fields rejected; it reports the first error of each
    document), monitoring.coreos.com kinds with the prometheus-operator CRD schemas; any other kind,
    or an apiVersion that release does not serve, fails."""
    builtin = [doc for doc in docs if not is_crd_document(doc)]
    crds = [doc for doc in docs if is_crd_document(doc)]
    with tempfile.TemporaryDirectory(prefix="kube-validate-") as scratch:
        workdir = Path(scratch)
        if builtin:
            manifests = workdir / f"{name}.yaml"
            manifests.write_text(yaml.safe_dump_all(builtin, sort_keys=False), encoding="utf-8")
            argv: list[str | Path] = [
                require_tool("kubernetes-validate"),
                "--strict",
                "--quiet",
                "--kubernetes-version",
                kube_version,
                manifests.name,
            ]
            output = _run_ok(argv, workdir, "kubernetes-validate", VALIDATE_TIMEOUT, [manifests])
            # A kind without a schema is only a warning (exit 0) for kubernetes-validate.
            unknown = [line for line in output.splitlines() if line.startswith("WARN")]
            if unknown:
                pytest.fail(
                    f"kubernetes-validate: no schema in Kubernetes {kube_version} "
                    f"(nor a {CRD_GROUP} kind):\n" + "\n".join(unknown),
                    pytrace=False,
                )
        if crds:
            documents = workdir / f"{name}-crds.json"
            documents.write_text(json.dumps(crds, indent=1), encoding="utf-8")
            argv = [require_tool("crd-validate"), documents.name]
            _run_ok(argv, workdir, f"crd-validate ({CRD_GROUP} schemas)", VALIDATE_TIMEOUT, [documents])


# ---------------------------------------------------------------- Prometheus and Grafana content


def check_prometheus_rule_groups(docs: Sequence[Document], workdir: Path) -> None:
    """Each PrometheusRule's spec.groups as a Prometheus rules file, through `promtool check rules`
    (PromQL syntax, durations, duplicate or invalid rule and label names, templates)."""
    rules = [doc for doc in docs if is_crd_document(doc) and doc.get("kind") == "PrometheusRule"]
    if not rules:
        return
    workdir.mkdir(parents=True, exist_ok=True)
    files = []
    for doc in rules:
        metadata = doc.get("metadata") or {}
        stem = "-".join(str(part) for part in (metadata.get("namespace"), metadata.get("name")) if part)
        groups = (doc.get("spec") or {}).get("groups")
        assert isinstance(groups, list) and groups, f"{_name(doc)}: no spec.groups"
        path = workdir / f"{stem}.rules.yml"
        path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False), encoding="utf-8")
        files.append(path)
    argv: list[str | Path] = [require_tool("promtool"), "check", "rules", *(path.name for path in files)]
    _run_ok(argv, workdir, "promtool check rules (PrometheusRule spec.groups)", VALIDATE_TIMEOUT, files)


def check_dashboard_configmaps(docs: Sequence[Document], workdir: Path) -> None:
    """Grafana dashboards carried as .json entries of ConfigMaps, through the dashboard recipe of
    artifacts.check_grafana_dashboards (structure, datasource variable, every panel expr by promtool)."""
    dashboards = workdir / "configmap-dashboards"
    found = False
    for doc in docs:
        if doc.get("apiVersion") != "v1" or doc.get("kind") != "ConfigMap":
            continue
        for key, text in (doc.get("data") or {}).items():
            if not str(key).endswith(".json"):
                continue
            try:
                dashboard = json.loads(text)
            except (TypeError, json.JSONDecodeError) as error:
                pytest.fail(f"{_name(doc)} data {key!r}: not JSON: {error}", pytrace=False)
            if not (isinstance(dashboard, dict) and "panels" in dashboard):
                continue
            target = (
                dashboards / "monitoring" / "grafana" / "dashboards" / f"{_name(doc).replace('/', '_')}-{key}"
            )
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            found = True
    if found:
        check_grafana_dashboards(dashboards, workdir / "configmap-dashboards-work")


# ---------------------------------------------------------------- references between documents

_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_CRON_MACROS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
_WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"}


def _pod_template(doc: Document) -> Document | None:
    if doc.get("kind") not in _WORKLOADS:
        return None
    spec = doc.get("spec") or {}
    if doc["kind"] == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    template = spec.get("template")
    return template if isinstance(template, dict) else None


def _selects(selector: Document | None, labels: dict[str, str]) -> bool:
    """Whether a label selector (matchLabels and matchExpressions) selects these labels; a missing or
    empty selector selects nothing here (every use below needs a real one)."""
    if not selector:
        return False
    if not all(labels.get(key) == value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = (
            expression.get("key"),
            expression.get("operator"),
            expression.get("values") or [],
        )
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def check_references(docs: Sequence[Document]) -> None:
    """What the schemas cannot see: names, selectors that select what they should, and references to
    documents and ports that exist (within a namespace). The API server or a controller would reject
    or silently ignore each of these."""
    problems: list[str] = []
    by_kind: dict[str, list[Document]] = {}
    for doc in docs:
        by_kind.setdefault(str(doc.get("kind")), []).append(doc)
        name = str((doc.get("metadata") or {}).get("name", ""))
        if not (_DNS_SUBDOMAIN.fullmatch(name) and len(name) <= 253):
            problems.append(
                f"{_name(doc)}: name {name!r} is not a DNS subdomain (lowercase, digits, '-', '.')"
            )

    def namespace(doc: Document) -> str | None:
        return (doc.get("metadata") or {}).get("namespace")

    def exists(kind: str, name: str, near: Document) -> bool:
        return any(
            (other.get("metadata") or {}).get("name") == name and namespace(other) == namespace(near)
            for other in by_kind.get(kind, [])
        )

    pods = [(doc, template) for doc in docs if (template := _pod_template(doc)) is not None]
    for doc, template in pods:
        labels = (template.get("metadata") or {}).get("labels") or {}
        pod = template.get("spec") or {}
        # A Job's selector is generated; every other workload's must select its own pods.
        job = doc["kind"] in {"CronJob", "Job"}
        if not job and not _selects((doc.get("spec") or {}).get("selector"), labels):
            problems.append(f"{_name(doc)}: spec.selector does not select its pod template's labels {labels}")
        if job and pod.get("restartPolicy") not in {"OnFailure", "Never"}:
            problems.append(f"{_name(doc)}: a Job's pods need restartPolicy OnFailure or Never")
        account = pod.get("serviceAccountName")
        if account and account != "default" and not exists("ServiceAccount", account, doc):
            problems.append(f"{_name(doc)}: serviceAccountName {account!r} is not defined")
        containers = [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]
        for container in containers:
            refs = [source.get("configMapRef") for source in container.get("envFrom") or []]
            refs += [
                (env.get("valueFrom") or {}).get("configMapKeyRef") for env in container.get("env") or []
            ]
            for ref in refs:
                if ref and not ref.get("optional") and not exists("ConfigMap", ref.get("name"), doc):
                    problems.append(
                        f"{_name(doc)}: container {container.get('name')}: ConfigMap {ref.get('name')!r} is not defined"
                    )
            for port in container.get("ports") or []:
                if len(str(port.get("name", ""))) > 15:
                    problems.append(f"{_name(doc)}: port name {port['name']!r} is longer than 15 characters")
        for volume in pod.get("volumes") or []:
            ref = volume.get("configMap")
            if ref and not ref.get("optional") and not exists("ConfigMap", ref.get("name"), doc):
                problems.append(
                    f"{_name(doc)}: volume {volume.get('name')}: ConfigMap {ref.get('name')!r} is not defined"
                )
        if doc["kind"] == "CronJob":
            schedule = str((doc.get("spec") or {}).get("schedule", ""))
            if not (schedule in _CRON_MACROS or len(schedule.split()) == 5):
                problems.append(f"{_name(doc)}: schedule {schedule!r} is not a 5-field cron expression")

    def selected_pods(selector: Document | None, near: Document) -> list[Document]:
        return [
            template
            for doc, template in pods
            if namespace(doc) == namespace(near)
            and _selects(selector, (template.get("metadata") or {}).get("labels") or {})
        ]

    def port_names(templates: list[Document]) -> set[str]:
        return {
            str(port.get("name"))
            for template in templates
            for container in (template.get("spec") or {}).get("containers") or []
            for port in container.get("ports") or []
        }

    for service in by_kind.get("Service", []):
        spec = service.get("spec") or {}
        if spec.get("type") == "ExternalName":
            continue
        targets = (
            selected_pods({"matchLabels": spec.get("selector")}, service) if spec.get("selector") else []
        )
        if not targets:
            problems.append(f"{_name(service)}: selector {spec.get('selector')} selects no pod template")
            continue
        for port in spec.get("ports") or []:
            target = port.get("targetPort")
            if isinstance(target, str) and target not in port_names(targets):
                problems.append(
                    f"{_name(service)}: targetPort {target!r} is no container port of the selected pods"
                )
    for hpa in by_kind.get("HorizontalPodAutoscaler", []):
        spec = hpa.get("spec") or {}
        ref = spec.get("scaleTargetRef") or {}
        if not exists(str(ref.get("kind")), str(ref.get("name")), hpa):
            problems.append(
                f"{_name(hpa)}: scaleTargetRef {ref.get('kind')}/{ref.get('name')} is not defined"
            )
        if spec.get("minReplicas", 1) > spec.get("maxReplicas", 0):
            problems.append(f"{_name(hpa)}: minReplicas > maxReplicas")
    for pdb in by_kind.get("PodDisruptionBudget", []):
        if not selected_pods((pdb.get("spec") or {}).get("selector"), pdb):
            problems.append(f"{_name(pdb)}: selector selects no pod template")
    for policy in by_kind.get("NetworkPolicy", []):
        selector = (policy.get("spec") or {}).get("podSelector")
        if selector and not selected_pods(selector, policy):
            problems.append(f"{_name(policy)}: podSelector selects no pod template")
    for monitor in by_kind.get("ServiceMonitor", []):
        spec = monitor.get("spec") or {}
        any_namespace = bool(spec.get("namespaceSelector"))
        services = [
            service
            for service in by_kind.get("Service", [])
            if (any_namespace or namespace(service) == namespace(monitor))
            and _selects(spec.get("selector"), (service.get("metadata") or {}).get("labels") or {})
        ]
        if not services:
            problems.append(f"{_name(monitor)}: selector selects no Service (by the Services' own labels)")
            continue
        names = {
            str(port.get("name"))
            for service in services
            for port in (service.get("spec") or {}).get("ports") or []
        }
        for endpoint in spec.get("endpoints") or []:
            if "port" in endpoint and endpoint["port"] not in names:
                problems.append(
                    f"{_name(monitor)}: endpoint port {endpoint['port']!r} is no port name of the selected Services {sorted(names)}"
                )
    assert not problems, "references between the documents:\n" + "\n".join(problems)


# ---------------------------------------------------------------- checkov

# Everything that would configure checkov from outside the command line: a global --skip-check list
# (CKV_SKIP_CHECK), soft-fail, an API key (network), a config file ($HOME/.checkov.yaml, ./.checkov.yaml).
_CHECKOV_ENV_PREFIXES = ("CKV_", "BC_", "PRISMA_", "CHECKOV_", "LOG_LEVEL")
_CHECKOV_OFFLINE_ENV = {
    "BC_SKIP_MAPPING": "TRUE",  # no download of the guideline / ID mapping
    "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true",  # no PyPI query for a newer checkov
}
_NO_REASON = {"", "No comment provided"}
_MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


def _checkov_inputs(paths: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(
                    child
                    for child in path.rglob("*")
                    if child.is_file()
                    and (child.suffix in _MANIFEST_SUFFIXES or child.name.startswith("Dockerfile"))
                )
            )
        else:
            assert path.is_file(), f"checkov: {path} does not exist"
            files.append(path)
    assert files, f"checkov: no manifest or Dockerfile in {[str(path) for path in paths]}"
    return [file.resolve() for file in files]


def run_checkov(*paths: Path) -> None:
    """checkov's kubernetes and dockerfile policies on the given files, or on the manifests (.yaml,
    .yml, .json) and Dockerfiles under the given folders. Offline, without any configuration from the
    environment; fails on any finding, on a parsing error and on a skip without a reason."""
    files = _checkov_inputs(paths)
    checkov = require_tool("checkov")
    frameworks = []
    if any(file.suffix in _MANIFEST_SUFFIXES for file in files):
        frameworks.append("kubernetes")
    if any(file.name.startswith("Dockerfile") for file in files):
        frameworks.append("dockerfile")
    argv: list[str | Path] = [
        checkov,
        "--file",
        *files,
        "--framework",
        *frameworks,
        "--skip-download",
        "--skip-results-upload",
        "--output",
        "json",
    ]
    key = _key(argv, files)
    if key in _PASSED:
        return
    with tempfile.TemporaryDirectory(prefix="checkov-") as scratch:
        # No config file reaches it: the working folder and HOME are empty scratch folders.
        env = {
            name: value for name, value in os.environ.items() if not name.startswith(_CHECKOV_ENV_PREFIXES)
        }
        env.update(_CHECKOV_OFFLINE_ENV, HOME=scratch)
        result = _run(argv, Path(scratch), "checkov", CHECKOV_TIMEOUT, base_env=env)
    report = _checkov_report(result.stdout)
    problems = []
    for framework in report:
        results = framework.get("results", {})
        for check in results.get("failed_checks", []):
            problems.append(f"FAILED {_checkov_line(check)}")
        for check in results.get("skipped_checks", []):
            reason = (check.get("check_result") or {}).get("suppress_comment") or ""
            if reason.strip() in _NO_REASON:
                problems.append(f"SKIPPED WITHOUT A REASON {_checkov_line(check)}")
        for error in results.get("parsing_errors", []):
            problems.append(f"PARSING ERROR {error}")
    evaluated = sum(
        framework.get("summary", {}).get(count, 0)
        for framework in report
        for count in ("passed", "failed", "skipped")
    )
    command = _command(argv)
    if problems:
        pytest.fail(f"checkov (exit {result.returncode})\n$ {command}\n" + "\n".join(problems), pytrace=False)
    if result.returncode != 0:
        pytest.fail(
            f"checkov failed (exit {result.returncode})\n$ {command}\n{result.stdout[-8000:]}", pytrace=False
        )
    assert evaluated, f"checkov evaluated no check\n$ {command}\n{result.stdout[-4000:]}"
    _PASSED.add(key)


def _checkov_report(stdout: str) -> list[dict[str, Any]]:
    """checkov's JSON report: one object per framework (a single object when only one ran)."""
    start = min((index for index in (stdout.find("["), stdout.find("{")) if index >= 0), default=-1)
    try:
        report = json.loads(stdout[start:]) if start >= 0 else None
    except json.JSONDecodeError:
        report = None
    if isinstance(report, dict):
        report = [report]
    if not isinstance(report, list):
        pytest.fail(f"checkov printed no JSON report:\n{stdout[-8000:]}", pytrace=False)
    return report


def _checkov_line(check: dict[str, Any]) -> str:
    lines = check.get("file_line_range") or []
    where = f"{check.get('file_abs_path') or check.get('file_path')}:{'-'.join(map(str, lines))}"
    reason = (check.get("check_result") or {}).get("suppress_comment")
    suffix = f" (reason: {reason!r})" if reason is not None else ""
    return f"{check.get('check_id')} {check.get('check_name')!r} {check.get('resource')} {where}{suffix}"


# ---------------------------------------------------------------- everything


def check_kubernetes(
    project: Path, kube_version: str, *, workdir: Path | None = None, dockerfiles: bool = True
) -> None:
    """Every overlay built, its documents validated against Kubernetes `kube_version` and the CRD
    schemas, its PrometheusRule groups and dashboard ConfigMaps checked; then one checkov run over
    every overlay's manifests (and the project's Dockerfiles with `dockerfiles`). Reports every
    failure, not just the first."""
    with tempfile.TemporaryDirectory(prefix="kube-check-") as scratch:
        work = workdir or Path(scratch)
        checks = Checks()
        built: dict[str, list[Document]] = {}
        with checks.check("kubectl kustomize"):
            built = build_overlays(project)
        # The overlays as committed (what a GitOps tool reads), then as `make deploy` applies them.
        for overlay, docs in built.items():
            with checks.check(f"{overlay} (as committed): schemas (Kubernetes {kube_version}, {CRD_GROUP})"):
                validate_kubernetes(docs, kube_version, name=overlay)
        releases: dict[str, list[Document]] = {}
        if (project / "deploy/kubernetes/deploy.sh").is_file():
            with checks.check("deploy.sh manifests"):
                releases = build_releases(project)
        manifests: list[Path] = []
        for overlay, docs in (releases or built).items():
            with checks.check(f"{overlay}: schemas (Kubernetes {kube_version}, {CRD_GROUP})"):
                validate_kubernetes(docs, kube_version, name=overlay)
            with checks.check(f"{overlay}: references between documents"):
                check_references(docs)
            with checks.check(f"{overlay}: PrometheusRule groups"):
                check_prometheus_rule_groups(docs, work / overlay / "rules")
            with checks.check(f"{overlay}: dashboard ConfigMaps"):
                check_dashboard_configmaps(docs, work / overlay)
            manifest = work / "manifests" / overlay / "manifests.yaml"
            manifest.parent.mkdir(parents=True, exist_ok=True)
            manifest.write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")
            manifests.append(manifest)
        docker = sorted(project.glob("Dockerfile*")) if dockerfiles else []
        if manifests or docker:
            with checks.check("checkov"):
                run_checkov(*manifests, *docker)
        checks.finish()
