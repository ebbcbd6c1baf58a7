"""Self-tests of the validator layer (tests/support/artifacts.py, tools.py) and the snapshot
(tests/support/snapshot.py).

Each validator must fail on a broken artifact: one that passes everything would make the render
matrix meaningless. Inputs are tiny inline files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from template_spec import TEMPLATE_ROOT
from tests.support import artifacts, tools
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


def test_every_tool_but_promtool_comes_from_the_lock_file() -> None:
    """A new user gets the validators from `uv sync --locked` alone, nothing installed by hand."""
    for name in ("shellcheck", "actionlint", "hadolint", "zizmor", "check-jsonschema", "yamllint", "typos"):
        tool = tools.find_tool(name)
        assert tool is not None and tool.parent == tools.VENV_BIN, f"{name}: {tool}"


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
