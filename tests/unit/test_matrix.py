"""Unit tests of the render matrix (template_spec): coverage, refusals, determinism."""

from __future__ import annotations

import itertools

import template_spec as spec


def test_defaults_are_accepted() -> None:
    assert spec.refusal({}) is None
    defaults = spec.default_values()
    skipped = spec.resolve({}).skipped
    assert skipped == {
        "storage_bucket",
        "storage_prefix",
        "aws_region",
        "s3_endpoint_url",
        "azure_storage_account",
        "torch_cpu_index",  # asked for PyTorch projects only
    }
    assert set(defaults) == {q.name for q in spec.asked_questions()} - skipped


def test_storage_questions_follow_the_backend() -> None:
    """Each backend asks what it needs and nothing else (`when`), and stores only those answers."""
    asked = {
        backend: set(spec.resolved_values({"data_storage": backend}))
        for backend in ("local", "s3", "gcs", "azure")
    }
    common = {"storage_bucket", "storage_prefix"}
    assert not asked["local"] & (common | {"aws_region", "s3_endpoint_url", "azure_storage_account"})
    assert asked["s3"] - asked["local"] == common | {"aws_region", "s3_endpoint_url"}
    assert asked["gcs"] - asked["local"] == common
    assert asked["azure"] - asked["local"] == common | {"azure_storage_account"}


def test_every_value_of_every_axis_appears() -> None:
    seen = {(name, value) for case in spec.matrix_cases() for name, value in case.values.items()}
    for q in spec.axes():
        for value in q.values:
            assert (q.name, value) in seen, f"{q.name}={value!r} is never rendered"


def test_every_reachable_pair_appears() -> None:
    covered: set[frozenset[tuple[str, object]]] = set()
    for case in spec.matrix_cases():
        items = [(q.name, case.values[q.name]) for q in spec.axes()]
        covered.update(frozenset(pair) for pair in itertools.combinations(items, 2))
    missing = spec.reachable_pairs() - covered
    assert not missing, f"pairs never rendered: {sorted(map(sorted, missing))}"


def test_unreachable_pairs_are_only_those_every_combination_refuses() -> None:
    reachable = spec.reachable_pairs()
    for first, second in itertools.combinations(spec.axes(), 2):
        for a, b in itertools.product(first.values, second.values):
            pair = frozenset({(first.name, a), (second.name, b)})
            if pair not in reachable:
                assert spec.refusal({first.name: a, second.name: b}) is not None


def test_cases_pass_only_answers_that_differ_from_the_defaults() -> None:
    for case in spec.matrix_cases():
        for name in case.answers:
            without = {key: value for key, value in case.answers.items() if key != name}
            resolved = spec.resolve(without)
            assert resolved.reason is not None or resolved.values[name] != case.answers[name], (
                f"{case.id}: {name} equals its default"
            )


def test_cases_are_few_unique_and_deterministic() -> None:
    cases = spec.matrix_cases()
    assert 1 < len(cases) <= 30
    assert len({case.id for case in cases}) == len(cases)
    signatures = {tuple(sorted(case.values.items(), key=str)) for case in cases}
    assert len(signatures) == len(cases), "two cases render the same answers"
    spec.matrix_cases.cache_clear()
    assert spec.matrix_cases() == cases


def test_refusal_reports_the_validators_message() -> None:
    assert spec.refusal({"package_name": "class"}) == (
        "'class' is a Python keyword; pick another package name."
    )
    assert spec.refusal({"license": "GPL"}) is not None


def test_derived_defaults_are_rendered() -> None:
    assert spec.derived_names(), "copier.yml declares no derived (when: false) value"
    values = spec.resolve({"project_name": "Churn Predictor-v2"}).values
    assert values["package_name"] == "churn_predictor_v2"
    for name in spec.derived_names():
        assert name in values
