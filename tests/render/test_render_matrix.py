"""Render every matrix case: exact file set, answers file, and every artifact's validator.

One test per case runs all validators on that project (not one test per validator), so each project
is rendered once and xdist spreads the cases.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import template_spec as spec
from template_spec import TEMPLATE_ROOT
from tests.support.artifacts import Checks, check_all, check_answers_file
from tests.support.manifest import expected_files
from tests.support.snapshot import project_files, render
from tests.support.typecheck import mypy_rendered, shared_typecheck_python

# User text that must survive every format it lands in (TOML, YAML, JSON, Markdown, Python).
TRICKY_TEXT = {
    "project_name": "Churn Predictor-v2",
    "description": 'Predicts "churn" & it\'s <fast>: 100% \\ $HOME #1 `code` [link]',
    "author_name": 'O\'Brien "ML" Team',
}


def _cases() -> list[spec.Case]:
    cases = list(spec.matrix_cases())
    extra = [
        spec.make_case({}, "defaults"),
        spec.make_case(spec.ALL_OFF, "all-off"),
        spec.make_case(TRICKY_TEXT, "tricky-text"),
        # Free-text storage answers that change what renders: an S3-compatible endpoint (CI signs in
        # with secrets instead of OIDC; DVC gets endpointurl) and a nested prefix.
        spec.make_case(
            {
                "data_storage": "s3",
                "storage_bucket": "ml.team-data",
                "storage_prefix": "teams/churn/v2",
                "aws_region": "eu-west-3",
                "s3_endpoint_url": "https://minio.example.com:9000",
            },
            "s3-compatible",
        ),
    ]
    seen = [case.answers for case in cases]
    cases += [case for case in extra if case.answers not in seen]
    return cases


CASES = _cases()
TYPECHECK_CACHE = TEMPLATE_ROOT / ".cache" / "typecheck"


@pytest.fixture(scope="session")
def typecheck_python(template_repo: Path) -> Path:
    return shared_typecheck_python(template_repo, TYPECHECK_CACHE)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_render(template_repo: Path, tmp_path: Path, typecheck_python: Path, case: spec.Case) -> None:
    project = render(template_repo, tmp_path / "project", **case.answers)

    expected = expected_files(case.values)
    actual = project_files(project)
    assert actual == expected, (
        f"unexpected files: {sorted(actual - expected)}\nmissing files: {sorted(expected - actual)}"
    )
    check_answers_file(project, template_repo, case.values, spec.derived_names())

    checks = Checks()
    check_all(project, tmp_path / "work", checks)
    checks.finish()

    # mypy --strict with the project's own config, against an environment holding its dependencies;
    # one mypy cache per worker keeps third-party analysis from being repeated for every case.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    mypy_rendered(
        project,
        typecheck_python,
        args=("--cache-dir", str(TYPECHECK_CACHE / f"mypy-{worker}")),
    )
