"""The form: every free-text validator, and refused combinations, checked against real copier."""

from __future__ import annotations

import keyword
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from copier import Settings, run_copy

import template_spec as spec
from tests.support.process import run
from tests.support.snapshot import SNAPSHOT_TAG, render
from tests.support.tools import require_tool


@pytest.fixture(scope="session")
def questions_only_template(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The snapshot's copier.yml over an empty template tree: real copier asks and validates the
    real questions, and files still being written cannot get in the way of testing the form."""
    root = tmp_path_factory.mktemp("questions-only")
    shutil.copy2(template_repo / "copier.yml", root / "copier.yml")
    (root / str(spec.load_config().get("_subdirectory", "."))).mkdir(exist_ok=True)
    return root


def copier_resolve(template: Path, dst: Path, answers: Mapping[str, Any]) -> dict[str, Any]:
    """What real copier makes of these answers (pretend: nothing is written); raises its error."""
    worker = run_copy(
        str(template),
        dst,
        data=dict(answers),
        defaults=True,
        pretend=True,
        quiet=True,
        unsafe=False,
        settings=Settings(),
    )
    combined = worker.answers.combined
    # Questions whose `when` is false are neither asked nor stored: copier hides them.
    return {q.name: combined[q.name] for q in spec.asked_questions() if q.name not in worker.answers.hidden}


# ---------------------------------------------------------------- free-text validators

PACKAGE_NAME_RULE = "The package name must be a lowercase Python identifier"
EMAIL_RULE = "is not a valid email address"

VALID = [
    ("project_name", "Churn Predictor"),
    ("project_name", "X-ray_model 2"),
    ("project_name", "ab"),
    ("project_name", "X"),
    ("project_name", "Café model"),
    ("project_name", "Prévision des ventes"),
    ("project_name", "O'Brien's churn model"),
    ("project_name", 'Zoë: fraud & <b>co</b> #1 | $x \\ "q"'),
    ("project_name", "x" * 100),
    ("package_name", "churn"),
    ("package_name", "churn_model_2"),
    ("package_name", "a"),
    ("description", "Predicts churn from usage data."),
    ("description", "x" * 200),
    ("author_name", "Data Science Team"),
    ("author_email", "ml-team@example.com"),
    ("author_email", "first.last+ml@sub.example.co.uk"),
]

INVALID = [
    ("project_name", "", "The project name cannot be empty."),
    ("project_name", "   ", "The project name cannot be empty."),
    ("project_name", "two\nlines", "The project name must fit on one line."),
    ("project_name", "line\u2028separator", "The project name must fit on one line."),
    ("project_name", "tab\there", "cannot contain control characters"),
    ("project_name", "red\x1b[31m", "cannot contain control characters"),
    ("project_name", " padded", "cannot start or end with a space"),
    ("project_name", "x" * 101, "at most 100 characters (this one has 101)"),
    ("package_name", "Churn", PACKAGE_NAME_RULE),
    ("package_name", "2fast", "The package name must start with a letter, and '2fast' starts with a digit"),
    ("package_name", "café", PACKAGE_NAME_RULE),
    ("package_name", "churn-model", PACKAGE_NAME_RULE),
    ("package_name", "_private", PACKAGE_NAME_RULE),
    ("package_name", "", PACKAGE_NAME_RULE),
    ("package_name", "class", "'class' is a Python keyword; pick another package name."),
    ("package_name", "match", "'match' is a Python keyword"),
    ("package_name", "sklearn", "'sklearn' would shadow a standard or dependency module"),
    ("package_name", "tests", "'tests' would shadow a standard or dependency module"),
    ("package_name", "json", "'json' would shadow a standard or dependency module"),
    ("description", "", "The description cannot be empty."),
    ("description", "   ", "The description cannot be empty."),
    ("description", "first line\nsecond line", "Keep the description to one line"),
    ("description", "x" * 201, "Keep the description to one line of at most 200 characters."),
    ("description", "bell\x07", "The description cannot contain control characters"),
    ("author_name", "del\x7f", "The author name cannot contain control characters"),
    ("author_name", "", "The author name cannot be empty."),
    ("author_name", "Team\nTwo", "Keep the author name to one line"),
    ("author_email", "not-an-email", "'not-an-email' is not a valid email address"),
    ("author_email", "team@localhost", EMAIL_RULE),
    ("author_email", "team@example.c", EMAIL_RULE),
    ("author_email", "two words@example.com", EMAIL_RULE),
]


def test_every_free_text_question_has_a_validator() -> None:
    free_text = [q for q in spec.asked_questions() if q.type == "str" and not q.choices]
    assert free_text
    for q in free_text:
        assert q.validator.strip(), f"{q.name} takes free text but has no validator"


@pytest.mark.parametrize(("name", "value"), VALID, ids=[f"{n}={v[:20]!r}" for n, v in VALID])
def test_validator_accepts(name: str, value: str) -> None:
    assert spec.refusal({name: value}) is None


@pytest.mark.parametrize(
    ("name", "value", "message"), INVALID, ids=[f"{n}={v[:20]!r}" for n, v, _ in INVALID]
)
def test_validator_rejects(name: str, value: str, message: str) -> None:
    resolution = spec.resolve({name: value})
    assert resolution.question == name
    assert resolution.reason is not None
    assert message in resolution.reason


def test_every_python_keyword_is_refused_as_package_name() -> None:
    for word in sorted({*keyword.kwlist, *keyword.softkwlist}):
        assert spec.refusal({"package_name": word.lower()}) is not None, word


def test_package_name_default_follows_the_project_name() -> None:
    values = spec.resolved_values({"project_name": "Churn Predictor-v2"})
    assert values["package_name"] == "churn_predictor_v2"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("package_name", "class", "'class' is a Python keyword"),
        ("package_name", "sklearn", "would shadow a standard or dependency module"),
        ("project_name", "x" * 101, "at most 100 characters"),
        ("package_name", "2fast", "starts with a digit"),
        ("description", "first line\nsecond line", "Keep the description to one line"),
        ("author_email", "not-an-email", EMAIL_RULE),
    ],
)
def test_copier_refuses_invalid_answer_and_leaves_nothing(
    template_repo: Path, tmp_path: Path, name: str, value: str, message: str
) -> None:
    dst = tmp_path / "project"
    with pytest.raises(ValueError, match=rf"question '{name}'") as error:
        render(template_repo, dst, **{name: value})
    assert message in str(error.value)
    assert not dst.exists()


# ---------------------------------------------------------------- object storage

S3, GCS, AZURE = ({"data_storage": b} for b in ("s3", "gcs", "azure"))
S3_COMPATIBLE = {"data_storage": "s3", "s3_endpoint_url": "https://minio.example.com:9000"}
S3_RULE = "An S3 bucket name has 3-63 characters"
GCS_RULE = "A GCS bucket name has 3-63 characters"
AZURE_RULE = "An Azure container name has 3-63 characters"
PREFIX_RULE = "The prefix is a folder path"

STORAGE_VALID = [
    (S3, "storage_bucket", "team-data"),
    (S3, "storage_bucket", "team.data.2026"),
    (S3, "storage_bucket", "abc"),
    (GCS, "storage_bucket", "team_data-2026"),
    (GCS, "storage_bucket", "a.b.c"),
    (AZURE, "storage_bucket", "team-data-1"),
    (S3, "storage_prefix", "churn"),
    (AZURE, "storage_prefix", "team/churn/v1.2_x"),
    (S3, "aws_region", "eu-west-3"),
    (S3, "aws_region", "us-gov-west-1"),
    (S3, "aws_region", "ap-southeast-5"),
    (S3, "aws_region", "eusc-de-east-1"),
    (S3_COMPATIBLE, "aws_region", "auto"),
    (S3_COMPATIBLE, "aws_region", "my_minio-region"),
    (S3, "s3_endpoint_url", ""),
    (S3, "s3_endpoint_url", "http://127.0.0.1:9000"),
    (S3, "s3_endpoint_url", "https://minio.example.com"),
    (AZURE, "azure_storage_account", "churndata01"),
    (AZURE, "azure_storage_account", "abc"),
]

STORAGE_INVALID = [
    (S3, "storage_bucket", "Team-Data", S3_RULE),
    (S3, "storage_bucket", "ab", S3_RULE),
    (S3, "storage_bucket", "team_data", S3_RULE),
    (S3, "storage_bucket", "x" * 64, S3_RULE),
    (S3, "storage_bucket", "-team", S3_RULE),
    (S3, "storage_bucket", "team..data", "cannot contain '..', '.-' or '-.'"),
    (S3, "storage_bucket", "team.-data", "cannot contain '..', '.-' or '-.'"),
    (S3, "storage_bucket", "192.168.5.4", "cannot look like an IP address"),
    (S3, "storage_bucket", "xn--team", "reserves"),
    (S3, "storage_bucket", "team-s3alias", "reserves"),
    (GCS, "storage_bucket", "Team", GCS_RULE),
    (GCS, "storage_bucket", "team_", GCS_RULE),
    (GCS, "storage_bucket", "a..b", "cannot contain '..'"),
    (GCS, "storage_bucket", "goog-data", "cannot start with 'goog' or contain 'google'"),
    (GCS, "storage_bucket", "my-google-data", "cannot start with 'goog' or contain 'google'"),
    (AZURE, "storage_bucket", "team_data", AZURE_RULE),
    (AZURE, "storage_bucket", "team.data", AZURE_RULE),
    (AZURE, "storage_bucket", "team--data", "cannot contain '--'"),
    (AZURE, "storage_bucket", "-team", AZURE_RULE),
    (S3, "storage_prefix", "/churn", PREFIX_RULE),
    (S3, "storage_prefix", "churn/", PREFIX_RULE),
    (GCS, "storage_prefix", "a//b", PREFIX_RULE),
    (AZURE, "storage_prefix", "a/../b", PREFIX_RULE),
    (S3, "storage_prefix", "", PREFIX_RULE),
    (S3, "storage_prefix", "has space", PREFIX_RULE),
    (S3, "aws_region", "us-east", "is not an AWS region name"),
    (S3, "aws_region", "auto", "is not an AWS region name"),
    (S3_COMPATIBLE, "aws_region", "has space", "is not a region name"),
    (S3, "storage_bucket", "team.mrap", "reserves"),
    (GCS, "storage_bucket", "10.0.0.1", "cannot look like an IP address"),
    (S3, "aws_region", "US-EAST-1", "is not an AWS region name"),
    (S3, "s3_endpoint_url", "minio:9000", "The endpoint URL is http(s)://host[:port]"),
    (S3, "s3_endpoint_url", "http://minio:9000/bucket", "The endpoint URL is http(s)://host[:port]"),
    (AZURE, "azure_storage_account", "Churn", "3-24 characters, lowercase letters and digits"),
    (AZURE, "azure_storage_account", "churn-data", "3-24 characters, lowercase letters and digits"),
    (AZURE, "azure_storage_account", "x" * 25, "3-24 characters, lowercase letters and digits"),
]


def _storage_id(context: Mapping[str, Any], name: str, value: str) -> str:
    return f"{context['data_storage']}:{name}={value[:20]!r}"


@pytest.mark.parametrize(
    ("context", "name", "value"), STORAGE_VALID, ids=[_storage_id(*case) for case in STORAGE_VALID]
)
def test_storage_validator_accepts(context: dict[str, Any], name: str, value: str) -> None:
    assert spec.refusal({**context, name: value}) is None


@pytest.mark.parametrize(
    ("context", "name", "value", "message"),
    STORAGE_INVALID,
    ids=[_storage_id(*case[:3]) for case in STORAGE_INVALID],
)
def test_storage_validator_rejects(context: dict[str, Any], name: str, value: str, message: str) -> None:
    resolution = spec.resolve({**context, name: value})
    assert resolution.question == name
    assert resolution.reason is not None and message in resolution.reason, resolution.reason


@pytest.mark.parametrize("backend", ["s3", "gcs", "azure"])
@pytest.mark.parametrize(
    "project_name", ["My ML Project", "Ab", "x_" * 31 + "y", "Churn__Model_", "data-2026 v2"]
)
def test_storage_defaults_are_valid_for_every_project_name(backend: str, project_name: str) -> None:
    """The default bucket, prefix and account follow the project name and pass their own rules."""
    assert spec.refusal({"project_name": project_name}) is None
    values = spec.resolve({"project_name": project_name, "data_storage": backend})
    assert values.reason is None, values.reason


def test_storage_questions_are_asked_only_for_object_stores() -> None:
    local = spec.resolve({})
    assert local.reason is None and local.values["storage_url"] == ""
    s3 = spec.resolve({"project_name": "Churn Model", "data_storage": "s3"})
    assert s3.values["storage_url"] == "s3://churn-model-data/churn-model"
    azure = spec.resolve({"project_name": "Churn Model", "data_storage": "azure"})
    assert azure.values["storage_url"] == "az://churn-model-data/churn-model"
    assert azure.values["azure_storage_account"] == "churnmodeldata"


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"data_storage": "s3", "storage_bucket": "Team_Data"}, S3_RULE),
        ({"data_storage": "gcs", "storage_bucket": "google-data"}, "cannot start with 'goog'"),
        ({"data_storage": "azure", "azure_storage_account": "has-dash"}, "lowercase letters and digits"),
    ],
)
def test_copier_refuses_invalid_storage_answers(
    questions_only_template: Path, tmp_path: Path, answers: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match="question") as error:
        copier_resolve(questions_only_template, tmp_path / "project", answers)
    assert message in str(error.value)


def test_cli_refuses_keyword_package_name(template_repo: Path, tmp_path: Path) -> None:
    dst = tmp_path / "project"
    result = run(
        [
            *(require_tool("copier"), "copy", "--defaults", "--vcs-ref", SNAPSHOT_TAG),
            *("-d", "package_name=class", template_repo, dst),
        ],
        tmp_path,
        timeout=60,
        merge_stderr=False,
    )
    assert result.returncode != 0
    assert "'class' is a Python keyword" in result.stderr, result.stderr
    assert not dst.exists()


# ---------------------------------------------------------------- refused combinations


def _combination_id(answers: Mapping[str, Any]) -> str:
    verdict = "refused" if spec.refusal(answers) else "accepted"
    changed = {name: value for name, value in answers.items() if value != DEFAULTS.get(name)}
    return f"{verdict}:{spec.case_id(changed)}"


DEFAULTS = spec.default_values()
ALL_COMBINATIONS = list(spec.combinations(spec.choice_questions()))
REFUSED = [answers for answers in ALL_COMBINATIONS if spec.refusal(answers) is not None]
ACCEPTED = [answers for answers in ALL_COMBINATIONS if spec.refusal(answers) is None]


def _refusal_signature(answers: Mapping[str, Any]) -> tuple[Any, ...]:
    """What a refusal depends on: the refusing question, its value, and every value its validators
    read. Combinations with equal signatures are refused by copier for the same reason."""
    resolution = spec.resolve(answers)
    assert resolution.question is not None
    q = spec.question(resolution.question)
    value = resolution.values.get(q.name, answers.get(q.name))
    choice = q.choice(value)
    sources = [q.validator] + ([choice.validator] if choice else [])
    names = sorted({name for source in sources for name in spec.template_inputs(source)})
    return (q.name, value, tuple((name, resolution.values.get(name)) for name in names))


def _one_per_signature(combinations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[tuple[Any, ...], dict[str, Any]] = {}
    for answers in combinations:
        seen.setdefault(_refusal_signature(answers), answers)
    return list(seen.values())


REFUSED_SAMPLE = _one_per_signature(REFUSED)
ACCEPTED_SAMPLE = ACCEPTED[:: max(1, len(ACCEPTED) // 12)]


def test_some_combination_is_refused() -> None:
    """copier.yml refuses deployment_target=none with service metrics; the matrix must know."""
    assert spec.refusal({"deployment_target": "none", "monitoring": "metrics"})
    assert spec.refusal({"deployment_target": "none", "monitoring": "both"})
    assert spec.refusal({"deployment_target": "none"}) is None
    assert spec.resolved_values({"deployment_target": "none"})["monitoring"] == "drift"
    assert REFUSED and ACCEPTED


@pytest.mark.parametrize("monitoring", ["metrics", "both"])
def test_copier_refuses_metrics_without_deployment(
    template_repo: Path, tmp_path: Path, monitoring: str
) -> None:
    answers = {"deployment_target": "none", "monitoring": monitoring}
    reason = spec.refusal(answers)
    assert reason and "service metrics are scraped from a deployed API" in reason
    dst = tmp_path / "project"
    with pytest.raises(ValueError, match="Invalid choice for 'monitoring'") as error:
        render(template_repo, dst, **answers)
    assert reason in str(error.value)
    assert not dst.exists()


def _assert_copier_agrees(template: Path, dst: Path, answers: Mapping[str, Any]) -> None:
    resolution = spec.resolve(answers)
    if resolution.reason is None:
        assert copier_resolve(template, dst, answers) == spec.resolved_values(answers)
    else:
        with pytest.raises(ValueError, match=rf"'{resolution.question}'") as error:
            copier_resolve(template, dst, answers)
        assert resolution.reason in str(error.value)
    assert not dst.exists()


@pytest.mark.parametrize("answers", REFUSED_SAMPLE + ACCEPTED_SAMPLE, ids=_combination_id)
def test_matrix_agrees_with_copier(
    questions_only_template: Path, tmp_path: Path, answers: dict[str, Any]
) -> None:
    """The pure-Jinja `refusal()` ran on every combination (above); real copier checks a sample:
    one refused combination per distinct reason and inputs, and an even spread of accepted ones."""
    _assert_copier_agrees(questions_only_template, tmp_path / "project", answers)


EXHAUSTIVE = REFUSED
CHUNK = 32


@pytest.mark.slow
@pytest.mark.parametrize("start", range(0, len(EXHAUSTIVE), CHUNK))
def test_matrix_agrees_with_copier_on_every_refused_combination(
    questions_only_template: Path, tmp_path: Path, start: int
) -> None:
    """Slow tier: real copier on every refused combination, in chunks that xdist can spread."""
    for number, answers in enumerate(EXHAUSTIVE[start : start + CHUNK]):
        _assert_copier_agrees(questions_only_template, tmp_path / f"project-{number}", answers)
