"""Slow tier: the python_version choices other than the default, end to end.

Each renders the default stack (DVC, MLflow, drift) on that Python, sets it up from the shared uv
cache, runs its own `make check` and the DVC pipeline, and serves a prediction.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.smoke import serve_smoke
from tests.support.projects import init_project
from tests.support.snapshot import render


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.parametrize("version", ["3.11", "3.13"])
def test_python_version_end_to_end(template_repo: Path, tmp_path: Path, version: str) -> None:
    name = f"Py{version.replace('.', '')} Model"
    path = render(template_repo, tmp_path / "project", project_name=name, python_version=version)
    project = init_project(path, name.lower().replace(" ", "_"), version)

    assert project.python("import sys; print('%d.%d' % sys.version_info[:2])").strip() == version
    project.ok("make", "check", timeout=1200)
    project.ok("make", "pipeline", timeout=900)
    assert json.loads((path / "reports/metrics.json").read_text())["accuracy"] >= 0.8
    serve_smoke(project)
