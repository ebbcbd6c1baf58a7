"""The load test and the fuzz tests of a generated project, checked beyond the render matrix: Locust
stays out of the default environment, `make loadtest` builds the command it documents, the fuzz tests
are in the slow tier only, and the load test's report counts shed requests apart from errors and sets
the exit status from the errors."""

from __future__ import annotations

import ast
import importlib.util
import json
import sys
import tomllib
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any
from unittest import mock

import pytest

import template_spec as spec
from tests.support.process import run
from tests.support.snapshot import render


@pytest.fixture(scope="module")
def default_project(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(template_repo, tmp_path_factory.mktemp("load") / "project")


@pytest.mark.parametrize("answers", [{}, spec.ALL_OFF], ids=["defaults", "all-off"])
def test_locust_is_locked_but_outside_the_default_environment(
    template_repo: Path, tmp_path: Path, answers: dict[str, Any]
) -> None:
    project = render(template_repo, tmp_path / "p", **answers)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    groups = pyproject["dependency-groups"]
    assert [dep.split(">")[0] for dep in groups["loadtest"]] == ["locust"]
    assert "loadtest" not in pyproject["tool"]["uv"]["default-groups"]
    assert not any(
        dep.startswith("locust") for name, deps in groups.items() if name != "loadtest" for dep in deps
    )
    assert any(dep.startswith("schemathesis") for dep in groups["dev"])
    # mypy reads the locustfile without Locust installed
    overrides = pyproject["tool"]["mypy"]["overrides"]
    assert any("locust.*" in o["module"] and o.get("ignore_missing_imports") for o in overrides)
    assert "slow" in " ".join(pyproject["tool"]["pytest"]["ini_options"]["markers"])


def _make_n(project: Path, *args: str) -> str:
    result = run(["make", "--no-print-directory", "-n", "loadtest", "UV=uv", *args], project)
    assert result.returncode == 0, result.stdout
    return " ".join(result.stdout.replace("\\\n", " ").split())


def test_make_loadtest_runs_locust_from_its_group_against_make_serve(default_project: Path) -> None:
    command = _make_n(default_project)
    assert "uv run --frozen --group loadtest locust -f tests/load/locustfile.py --headless" in command
    for option in (
        "--host http://127.0.0.1:8000",
        "--users 32",
        "--spawn-rate 8",
        "--run-time 30s",
        "--max-error-ratio 0.01",
        "--csv reports/loadtest/locust",
        "--html reports/loadtest/report.html",
    ):
        assert option in command, command

    assert "--host http://127.0.0.1:9001" in _make_n(default_project, "PORT=9001")
    overridden = _make_n(
        default_project,
        "LOADTEST_URL=https://api.example.com",
        "LOADTEST_USERS=4",
        "LOADTEST_DURATION=5s",
        "LOADTEST_REPORT=build/load",
    )
    for option in ("--host https://api.example.com", "--users 4", "--run-time 5s", "--csv build/load/locust"):
        assert option in overridden, overridden


def test_fuzz_tests_are_in_the_slow_tier_only(default_project: Path) -> None:
    tree = ast.parse((default_project / "tests" / "test_fuzz.py").read_text())
    marks = [
        ast.unparse(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and [ast.unparse(t) for t in node.targets] == ["pytestmark"]
    ]
    assert marks == ["pytest.mark.slow"]
    makefile = (default_project / "Makefile").read_text()
    assert 'pytest -m "not slow"' in makefile and "pytest -m slow" in makefile


# ---------------------------------------------------------------- the load test's report


def _locustfile(project: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The rendered locustfile, imported against a stand-in for Locust (not in this environment)."""
    locust = ModuleType("locust")
    locust.FastHttpUser = type("FastHttpUser", (), {})  # type: ignore[attr-defined]
    locust.events = mock.MagicMock()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "locust", locust)
    spec_ = importlib.util.spec_from_file_location(
        "rendered_locustfile", project / "tests/load/locustfile.py"
    )
    assert spec_ is not None and spec_.loader is not None
    module = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(module)
    return module


class _Entry:
    def __init__(self, requests: int, rps: float = 0.0) -> None:
        self.num_requests = requests
        self.total_rps = rps
        self.max_response_time = 41.26

    def get_response_time_percentile(self, q: float) -> float:
        return {0.5: 3, 0.95: 9, 0.99: 12}[q]


def _stats(requests: int, failures: dict[str, int]) -> SimpleNamespace:
    errors = {
        message: SimpleNamespace(method="POST", name="/predict (1 row)", error=message, occurrences=count)
        for message, count in failures.items()
    }
    return SimpleNamespace(
        total=_Entry(requests, rps=requests / 10),
        entries={("/predict (1 row)", "POST"): _Entry(requests)},
        errors=errors,
    )


def _environment(stats: SimpleNamespace, csv_prefix: str, exceptions: int = 0) -> SimpleNamespace:
    return SimpleNamespace(
        stats=stats,
        host="http://127.0.0.1:8000",
        runner=SimpleNamespace(exceptions=dict.fromkeys(range(exceptions))),
        parsed_options=SimpleNamespace(csv_prefix=csv_prefix, max_error_ratio=0.01, num_users=32),
        process_exit_code=None,
    )


def test_report_counts_shed_requests_apart_from_errors(
    default_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locustfile = _locustfile(default_project, monkeypatch)
    shed = f"CatchResponseError('{locustfile.SHED}')"
    environment = _environment(_stats(1000, {shed: 300}), str(tmp_path / "report" / "locust"))
    locustfile._report(environment)

    assert environment.process_exit_code == 0  # shedding is the API's documented overload answer
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert (summary["requests"], summary["shed"], summary["errors"]) == (1000, 300, 0)
    assert summary["requests_per_second"] == 100.0 and summary["answered_per_second"] == 70.0
    assert summary["latency_ms"] == {"p50": 3, "p95": 9, "p99": 12, "max": 41.3}
    assert summary["users"] == 32
    markdown = (tmp_path / "report" / "summary.md").read_text()
    assert "| 1000 | 100.0 | 70.0 | 3 | 9 | 12 | 41 | 300 | 0 |" in markdown
    assert "shed 300 requests" in markdown


@pytest.mark.parametrize(
    ("requests", "failures", "exceptions", "exit_code"),
    [
        (1000, {"status 500: boom": 10}, 0, 0),  # 1%: at the limit
        (1000, {"status 500: boom": 11}, 0, 1),  # past it
        (1000, {"no answer: ConnectionRefusedError(111)": 1000}, 0, 1),
        (0, {}, 0, 1),  # nothing was measured
        (1000, {}, 1, 1),  # the load test's own code raised
    ],
)
def test_report_exit_status_follows_the_errors(
    default_project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    requests: int,
    failures: dict[str, int],
    exceptions: int,
    exit_code: int,
) -> None:
    locustfile = _locustfile(default_project, monkeypatch)
    environment = _environment(_stats(requests, failures), str(tmp_path / "locust"), exceptions)
    locustfile._report(environment)
    assert environment.process_exit_code == exit_code
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["errors"] == sum(failures.values()) and summary["shed"] == 0
    if failures:
        assert next(iter(failures)) in (tmp_path / "summary.md").read_text()


def test_requests_carry_plausible_measurements(
    default_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locustfile = _locustfile(default_project, monkeypatch)
    rows = [locustfile.instance() for _ in range(500)]
    assert all(set(row) == {"sepal_length", "sepal_width", "petal_length", "petal_width"} for row in rows)
    assert all(0.1 <= value <= 10 and round(value, 1) == value for row in rows for value in row.values())
    assert len({row["petal_length"] for row in rows}) > 20  # drawn, not a fixed payload
