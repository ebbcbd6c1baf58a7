"""Self-tests of the validator layer (tests/support/artifacts.py, kube.py, tools.py) and the snapshot
(tests/support/snapshot.py).

Each validator must fail on a broken artifact: one that passes everything would make the render
matrix meaningless. Inputs are tiny inline files, and for Kubernetes a small valid kustomize tree
(fixtures/kustomize-ok) that every check passes and the tests break one thing of.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from template_spec import TEMPLATE_ROOT
from tests.support import artifacts, kube, tools
from tests.support.process import git
from tests.support.snapshot import SNAPSHOT_TAG, working_tree_files


def write(root: Path, files: dict[str, str]) -> Path:
    for relpath, text in files.items():
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def fails(check: object, *args: object, match: str = "") -> str:
    with pytest.raises((AssertionError, pytest.fail.Exception)) as error:
        check(*args)  # type: ignore[operator]
    assert match in str(error.value), str(error.value)
    return str(error.value)


# ---------------------------------------------------------------- the snapshot


def test_snapshot_commits_every_file_of_the_working_tree(template_repo: Path) -> None:
    """A file the snapshot's own .gitignore would ignore is copied but never committed, so copier
    would not render it: the commit must hold exactly the working tree's files."""
    names = {path.as_posix() for path in working_tree_files()}
    assert "copier.yml" in names
    committed = set(git(template_repo, "ls-files", "-z").split("\0")) - {""}
    assert committed == names, (
        f"not committed: {sorted(names - committed)}\nnot in the working tree: {sorted(committed - names)}"
    )
    assert (template_repo / "copier.yml").read_bytes() == (TEMPLATE_ROOT / "copier.yml").read_bytes()
    assert git(template_repo, "tag", "--points-at", "HEAD").split() == [SNAPSHOT_TAG]


# ---------------------------------------------------------------- file endings


@pytest.mark.parametrize("text", ["no newline", "two newlines\n\n"])
def test_bad_file_ending_is_caught(tmp_path: Path, text: str) -> None:
    write(tmp_path, {"docs/page.md": text})
    fails(artifacts.check_file_endings, tmp_path, match="docs/page.md")


def test_good_file_endings_pass(tmp_path: Path) -> None:
    write(tmp_path, {"docs/page.md": "one line\n", "empty.txt": ""})
    artifacts.check_file_endings(tmp_path)


# ---------------------------------------------------------------- runbook links

RULES = """groups:
  - name: api
    rules:
      - alert: ApiDown
        expr: up == 0
        annotations:
          runbook_url: docs/runbook.md#api-down
"""


def test_alert_without_its_runbook_section_is_caught(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"monitoring/prometheus/alerts.yml": RULES, "docs/runbook.md": "# Runbook\n\n## API is down\n"},
    )
    fails(artifacts.check_runbook_links, tmp_path, match="ApiDown")


def test_alert_with_its_runbook_section_passes(tmp_path: Path) -> None:
    write(
        tmp_path, {"monitoring/prometheus/alerts.yml": RULES, "docs/runbook.md": "# Runbook\n\n## API down\n"}
    )
    artifacts.check_runbook_links(tmp_path)


# ---------------------------------------------------------------- leftover Jinja


@pytest.mark.parametrize(
    ("relpath", "line"),
    [
        ("README.md", "Welcome to {{ project_name }}"),
        ("src/pkg/app.py", "{% if use_mlflow %}"),
        ("Makefile", "{# comment #}"),
        (".github/workflows/ci.yml", "run: echo {{ python_version }}"),
        ("monitoring/grafana/dashboards/api.json", '"title": "{{route}}",'),
        ("monitoring/prometheus/alerts.yml", "summary: {{ project_name }} is down"),
        ("docs/index.md", "${{ github.sha }}"),
        ("{{ package_name }}/x.py", "ok"),
    ],
)
def test_leftover_jinja_is_caught(tmp_path: Path, relpath: str, line: str) -> None:
    write(tmp_path, {relpath: f"before\n{line}\nafter\n"})
    fails(artifacts.check_no_leftover_jinja, tmp_path, match="leftover Jinja")


@pytest.mark.parametrize(
    ("relpath", "line"),
    [
        (".github/workflows/ci.yml", "group: ${{ github.workflow }}-${{ github.ref }}"),
        ("monitoring/grafana/dashboards/api.json", '"legendFormat": "{{route}} {{status}}",'),
        ("monitoring/prometheus/alerts.yml", "description: {{ $labels.instance }} is down"),
        ("monitoring/prometheus/alerts.yml", 'description: "{{ $value | humanizePercentage }}"'),
        ("Makefile", "\t@echo $${#FILES}"),
        ("README.md", "Braces { like this } and }} are fine"),
    ],
)
def test_legitimate_braces_are_allowed(tmp_path: Path, relpath: str, line: str) -> None:
    write(tmp_path, {relpath: f"{line}\n"})
    artifacts.check_no_leftover_jinja(tmp_path)


# ---------------------------------------------------------------- validators fail on broken input


def test_ruff_fails_on_unformatted_code(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": "[tool.ruff]\n", "x.py": "x = {'a':1}\n"})
    fails(artifacts.check_python, tmp_path, match="ruff format")


def test_hadolint_fails_on_bad_dockerfile(tmp_path: Path) -> None:
    write(tmp_path, {"Dockerfile": "FROM python:latest\nRUN cd /app\n"})
    fails(artifacts.check_dockerfiles, tmp_path, match="hadolint")


def test_github_checks_run_shellcheck_even_when_it_is_not_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """actionlint passes `run:` scripts unchecked when it finds no shellcheck on PATH."""
    workflow = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo $FOO\n"
    write(tmp_path, {".github/workflows/ci.yml": workflow})
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    fails(artifacts.check_github, tmp_path, match="SC2086")


def test_github_checks_fail_on_bad_workflow(tmp_path: Path) -> None:
    workflow = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ x.y }}\n"
    write(tmp_path, {".github/workflows/ci.yml": workflow})
    fails(artifacts.check_github, tmp_path, match="actionlint")


def test_compose_fails_on_invalid_file(tmp_path: Path) -> None:
    write(tmp_path, {"compose.yaml": "services:\n  api:\n    image: x\n    ports: 8000\n"})
    fails(artifacts.check_compose, tmp_path, match="compose")


def test_yamllint_fails_on_bad_yaml(tmp_path: Path) -> None:
    write(tmp_path, {".yamllint.yaml": "extends: default\n", "a.yml": "key: [1,2\n"})
    fails(artifacts.check_yamllint, tmp_path, match="yamllint")


def test_typos_fails_on_a_misspelling(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": "[project]\nname = 'x'\n", "README.md": "Teh model is trained.\n"})
    fails(artifacts.check_spelling, tmp_path, match="typos")


def test_promtool_fails_on_broken_rule(tmp_path: Path) -> None:
    rules = "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: sum(rate(x[5m])\n"
    write(tmp_path, {"monitoring/prometheus/alerts.yml": rules})
    fails(artifacts.check_prometheus, tmp_path, match="promtool")


def test_grafana_recipe_fails_on_broken_expr(tmp_path: Path) -> None:
    source = {"type": "prometheus", "uid": "${datasource}"}
    dashboard = {
        "uid": "u",
        "title": "t",
        "schemaVersion": 39,
        "templating": {"list": [{"name": "datasource", "type": "datasource"}]},
        "panels": [
            {
                "id": 1,
                "type": "timeseries",
                "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8},
                "datasource": source,
                "targets": [{"expr": "sum(rate(x[$__rate_interval])"}],
            }
        ],
    }
    write(tmp_path, {"monitoring/grafana/dashboards/d.json": json.dumps(dashboard)})
    fails(artifacts.check_grafana_dashboards, tmp_path, tmp_path / "work", match="promtool")
    dashboard["panels"][0]["targets"] = [{"expr": "sum(rate(x[$__rate_interval]))"}]  # type: ignore[index]
    write(tmp_path, {"monitoring/grafana/dashboards/d.json": json.dumps(dashboard)})
    artifacts.check_grafana_dashboards(tmp_path, tmp_path / "work")
    dashboard["panels"][0]["datasource"] = {"type": "prometheus", "uid": "prom"}  # type: ignore[index]
    write(tmp_path, {"monitoring/grafana/dashboards/d.json": json.dumps(dashboard)})
    fails(artifacts.check_grafana_dashboards, tmp_path, tmp_path / "work", match="panel 1")


def test_pre_commit_fails_on_invalid_config(tmp_path: Path) -> None:
    write(tmp_path, {".pre-commit-config.yaml": "repos:\n  - repo: https://x/y\n    hooks: []\n"})
    fails(artifacts.check_pre_commit, tmp_path, tmp_path / "work", match="pre-commit")


def test_mkdocs_fails_on_broken_link(tmp_path: Path) -> None:
    write(tmp_path, {"mkdocs.yml": "site_name: x\n", "docs/index.md": "[gone](missing.md)\n"})
    fails(artifacts.check_mkdocs, tmp_path, tmp_path / "work", match="mkdocs")


def test_validate_pyproject_fails_on_bad_table(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": '[project]\nname = "x"\nversion = 1\n'})
    fails(artifacts.check_pyproject, tmp_path, match="validate-pyproject")


def test_dvc_stage_without_command_fails(tmp_path: Path) -> None:
    write(tmp_path, {"dvc.yaml": "stages:\n  train:\n    deps: [a]\n"})
    fails(artifacts.check_dvc_files, tmp_path, match="no cmd")


def test_passed_runs_are_cached_by_content(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": '[project]\nname = "x"\nversion = "1"\n'})
    artifacts.check_pyproject(tmp_path)
    write(tmp_path, {"pyproject.toml": '[project]\nname = "x"\nversion = 1\n'})
    fails(artifacts.check_pyproject, tmp_path, match="validate-pyproject")


# ---------------------------------------------------------------- missing tools


def test_missing_tool_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tools, "find_tool", lambda name: None)
    fails(tools.require_tool, "hadolint", match="hadolint not found")


def test_missing_promtool_skips_outside_ci_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tools, "find_tool", lambda name: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install prometheus, or put promtool on PATH"):
        tools.require_tool("promtool")
    monkeypatch.setenv("CI", "true")
    fails(tools.require_tool, "promtool", match="promtool not found")


@pytest.mark.parametrize("name", ["kubectl", "crd-validate"])
def test_missing_npm_tools_skip_outside_ci_only(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setattr(tools, "find_tool", lambda name: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"scripts/install-k8s-tools\.sh"):
        tools.require_tool(name)
    monkeypatch.setenv("CI", "true")
    fails(tools.require_tool, name, match=f"{name} not found")


def test_missing_checkov_fails_even_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """checkov has a lock file (tools/checkov/uv.lock): like every locked tool, it must be there."""
    monkeypatch.setattr(tools, "find_tool", lambda name: None)
    monkeypatch.delenv("CI", raising=False)
    fails(tools.require_tool, "checkov", match="uv sync --locked --project tools/checkov")


def test_every_tool_with_a_pypi_package_comes_from_a_lock_file() -> None:
    """A new user gets the validators from the lock files alone, nothing installed by hand: uv.lock
    (`uv sync --locked`), and tools/checkov/uv.lock for checkov (scripts/test.sh syncs both). Only
    the tools without a PyPI package are installed otherwise (and skipped without them outside CI)."""
    names = ("shellcheck", "actionlint", "hadolint", "zizmor", "check-jsonschema", "yamllint", "typos")
    for name in (*names, "kubernetes-validate"):
        tool = tools.find_tool(name)
        assert tool is not None and tool.parent == tools.VENV_BIN, f"{name}: {tool}"
    checkov = tools.find_tool("checkov")
    assert checkov == tools.K8S_TOOLS / "checkov" / "bin" / "checkov", checkov
    assert 'name = "checkov"' in tools.CHECKOV_LOCK.read_text(encoding="utf-8")
    assert set(tools.NOT_ON_PYPI) == {"promtool", "kubectl", "helm", "crd-validate"}


def test_checks_report_every_failure() -> None:
    checks = artifacts.Checks()
    with checks.check("first"):
        raise AssertionError("one")
    with checks.check("second"):
        pytest.fail("two")
    with checks.check("third"):
        pass
    with pytest.raises(pytest.fail.Exception) as error:
        checks.finish()
    assert "one" in str(error.value) and "two" in str(error.value)


def test_dvc_config_with_undefined_default_remote_fails(tmp_path: Path) -> None:
    write(tmp_path, {".dvc/config": "[core]\n    remote = storage\n['remote \"local\"']\n    url = ../r\n"})
    fails(artifacts.check_dvc_files, tmp_path, match="default remote 'storage' not defined")


def test_dvc_config_remote_without_url_fails(tmp_path: Path) -> None:
    write(tmp_path, {".dvc/config": "[core]\n    remote = storage\n['remote \"storage\"']\n    region = x\n"})
    fails(artifacts.check_dvc_files, tmp_path, match="has no url")


# ---------------------------------------------------------------- Kubernetes manifests (kube.py)

KUSTOMIZE_OK = Path(__file__).parent / "fixtures" / "kustomize-ok"
"""A small kustomize tree (deploy/kubernetes: base + staging and production overlays, every kind the
template renders) and a Dockerfile, hardened so that every check passes."""
KUBE_VERSION = "1.33"


@functools.cache
def _built() -> dict[str, list[dict[str, Any]]]:
    return kube.build_overlays(KUSTOMIZE_OK)


def fixture_docs(overlay: str = "staging") -> list[dict[str, Any]]:
    """The fixture's built documents (a fresh copy each time: the tests break them)."""
    return copy.deepcopy(_built()[overlay])


def doc_of(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(doc for doc in docs if doc["kind"] == kind)


def test_hardened_kustomize_tree_passes_every_kubernetes_check(tmp_path: Path) -> None:
    built = kube.build_overlays(KUSTOMIZE_OK)
    assert sorted(built) == ["production", "staging"]
    for overlay, docs in built.items():
        kinds = {doc["kind"] for doc in docs}
        assert {"Deployment", "Service", "ServiceMonitor", "PrometheusRule", "CronJob"} <= kinds, overlay
        assert {doc["metadata"].get("namespace") for doc in docs} == {f"demo-{overlay}"}
    kube.check_kubernetes(KUSTOMIZE_OK, KUBE_VERSION, workdir=tmp_path)


def test_kustomize_fails_on_a_missing_resource(tmp_path: Path) -> None:
    project = tmp_path / "project"
    write(project, {"deploy/kubernetes/overlays/staging/kustomization.yaml": "resources:\n  - ../../base\n"})
    write(project, {"deploy/kubernetes/base/kustomization.yaml": "resources:\n  - gone.yaml\n"})
    fails(kube.build_overlays, project, match="kubectl kustomize staging failed")


def test_kubernetes_validate_fails_on_a_misspelled_field() -> None:
    docs = fixture_docs()
    deployment = doc_of(docs, "Deployment")
    deployment["spec"]["replicass"] = deployment["spec"].pop("replicas")
    fails(kube.validate_kubernetes, docs, KUBE_VERSION, match="'replicass' was unexpected")


def test_kubernetes_validate_fails_on_a_wrong_type() -> None:
    docs = fixture_docs()
    doc_of(docs, "Service")["spec"]["ports"][0]["port"] = "80"
    fails(kube.validate_kubernetes, docs, KUBE_VERSION, match="'80' is not of type 'integer'")


@pytest.mark.parametrize(
    ("api_version", "kind"),
    [
        ("autoscaling/v2beta2", "HorizontalPodAutoscaler"),  # served until Kubernetes 1.25
        ("example.com/v1", "Widget"),  # a CRD with no schema here
    ],
)
def test_kubernetes_validate_fails_on_a_kind_without_schema(api_version: str, kind: str) -> None:
    docs = [{"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}, "spec": {}}]
    fails(kube.validate_kubernetes, docs, KUBE_VERSION, match="no schema")


def test_kubernetes_validate_fails_on_an_unsupported_kubernetes_version() -> None:
    fails(kube.validate_kubernetes, fixture_docs(), "1.99", match="kubernetes-validate")


def test_crd_validator_fails_on_a_wrong_field_type() -> None:
    docs = fixture_docs()
    doc_of(docs, "ServiceMonitor")["spec"]["endpoints"][0]["port"] = 8000
    fails(kube.validate_kubernetes, docs, KUBE_VERSION, match="/spec/endpoints/0/port: must be string")


def test_crd_validator_fails_on_an_unknown_field() -> None:
    """The package's schemas allow unknown fields; crd_validate.mjs rejects them, as the API server does."""
    docs = fixture_docs()
    endpoint = doc_of(docs, "ServiceMonitor")["spec"]["endpoints"][0]
    endpoint["intervall"] = endpoint.pop("interval")
    fails(kube.validate_kubernetes, docs, KUBE_VERSION, match="/spec/endpoints/0/intervall: unknown field")
    docs = fixture_docs()
    doc_of(docs, "PrometheusRule")["spec"]["groups"][0]["rules"][0]["fore"] = "5m"
    fails(kube.validate_kubernetes, docs, KUBE_VERSION, match="/spec/groups/0/rules/0/fore: unknown field")


def test_crd_validator_fails_on_a_monitoring_kind_it_does_not_know() -> None:
    docs = [{"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitr", "metadata": {"name": "x"}}]
    fails(kube.validate_kubernetes, docs, KUBE_VERSION, match="no schema for apiVersion")


def _break_service_selector(docs: list[dict[str, Any]]) -> None:
    doc_of(docs, "Service")["spec"]["selector"]["app.kubernetes.io/component"] = "apii"


def _break_servicemonitor_port(docs: list[dict[str, Any]]) -> None:
    doc_of(docs, "ServiceMonitor")["spec"]["endpoints"][0]["port"] = "metrics"


def _break_hpa_target(docs: list[dict[str, Any]]) -> None:
    doc_of(docs, "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]["name"] = "demo"


def _break_cronjob_restart_policy(docs: list[dict[str, Any]]) -> None:
    del doc_of(docs, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]["restartPolicy"]


def _break_configmap_reference(docs: list[dict[str, Any]]) -> None:
    docs.remove(
        next(
            doc for doc in docs if doc["kind"] == "ConfigMap" and "data" in doc and "LOG_LEVEL" in doc["data"]
        )
    )


@pytest.mark.parametrize(
    ("breakage", "match"),
    [
        (_break_service_selector, "selects no pod template"),
        (_break_servicemonitor_port, "endpoint port 'metrics' is no port name"),
        (_break_hpa_target, "scaleTargetRef Deployment/demo is not defined"),
        (_break_cronjob_restart_policy, "restartPolicy OnFailure or Never"),
        (_break_configmap_reference, "ConfigMap 'demo-api' is not defined"),
    ],
)
def test_references_between_documents_fail_when_broken(
    breakage: Callable[[list[dict[str, Any]]], None], match: str
) -> None:
    """Mistakes every schema passes: each one leaves a valid document that points at nothing."""
    docs = fixture_docs()
    breakage(docs)
    kube.validate_kubernetes(docs, KUBE_VERSION)
    fails(kube.check_references, docs, match=match)


def test_promtool_fails_on_broken_prometheus_rule(tmp_path: Path) -> None:
    docs = fixture_docs()
    doc_of(docs, "PrometheusRule")["spec"]["groups"][0]["rules"][0]["expr"] = "sum(rate(x[5m])"
    kube.validate_kubernetes(docs, KUBE_VERSION)  # the schema cannot tell
    fails(kube.check_prometheus_rule_groups, docs, tmp_path, match="promtool check rules")


def test_dashboard_configmap_fails_on_broken_expr(tmp_path: Path) -> None:
    docs = fixture_docs()
    configmap = next(doc for doc in docs if "dashboard.json" in doc.get("data", {}))
    dashboard = json.loads(configmap["data"]["dashboard.json"])
    dashboard["panels"][0]["targets"][0]["expr"] = "sum(rate(x[$__rate_interval])"
    configmap["data"]["dashboard.json"] = json.dumps(dashboard)
    fails(kube.check_dashboard_configmaps, docs, tmp_path, match="promtool")


def _skip(doc: dict[str, Any], check: str, reason: str) -> None:
    doc["metadata"].setdefault("annotations", {})["checkov.io/skip1"] = f"{check}={reason}"


def test_checkov_fails_on_a_privileged_container_until_fixed_or_skipped_with_a_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One run with four privileged Deployments (plain, skipped without a reason, skipped with one,
    fixed) and a root Dockerfile; a global skip list in the environment is ignored. Then a run of the
    ones skipped with a reason or fixed passes."""
    docs = fixture_docs()
    deployment = doc_of(docs, "Deployment")
    others = [doc for doc in docs if doc is not deployment]
    variants = {}
    for name in ("plain", "no-reason", "reason", "fixed"):
        variant = copy.deepcopy(deployment)
        variant["metadata"]["name"] = f"privileged-{name}"
        variant["spec"]["template"]["spec"]["containers"][0]["securityContext"]["privileged"] = (
            name != "fixed"
        )
        variants[name] = variant
    _skip(variants["no-reason"], "CKV_K8S_16", "")
    _skip(variants["reason"], "CKV_K8S_16", "the GPU device plugin needs it")
    dockerfile = 'FROM python:3.12-slim-bookworm\nCMD ["python"]\n'
    write(tmp_path / "broken", {"Dockerfile": dockerfile})
    broken = tmp_path / "broken" / "manifests.yaml"
    broken.write_text(yaml.safe_dump_all([*others, *variants.values()]), encoding="utf-8")
    monkeypatch.setenv("CKV_SKIP_CHECK", "CKV_K8S_16,CKV_DOCKER_2,CKV_DOCKER_3")
    error = fails(kube.run_checkov, tmp_path / "broken", match="FAILED CKV_K8S_16")
    assert "Deployment.demo-staging.privileged-plain" in error, error
    assert "SKIPPED WITHOUT A REASON CKV_K8S_16" in error and "privileged-no-reason" in error, error
    assert "privileged-reason" not in error and "privileged-fixed" not in error, error
    assert "FAILED CKV_DOCKER_3" in error and "FAILED CKV_DOCKER_2" in error, error

    skipped = "#checkov:skip=CKV_DOCKER_2:a batch image, no server to probe\n"
    write(tmp_path / "ok", {"Dockerfile": skipped + dockerfile.replace("CMD", "USER 10001:10001\nCMD")})
    ok = tmp_path / "ok" / "manifests.yaml"
    ok.write_text(yaml.safe_dump_all([*others, variants["reason"], variants["fixed"]]), encoding="utf-8")
    kube.run_checkov(tmp_path / "ok")
