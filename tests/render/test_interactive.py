"""The real interactive `copier copy`, driven through a pseudo-terminal the way a person types."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path

import pexpect  # type: ignore[import-untyped]
import pytest

import template_spec as spec
from tests.support.snapshot import SNAPSHOT_TAG, read_answers
from tests.support.tools import require_tool

EXPECT_TIMEOUT = 60  # seconds, per prompt
CTRL_U = "\x15"  # clears the prefilled default of a text prompt
DOWN = "\x1b[B"
ENTER = "\r"

# What to type at a prompt, given the child; the default for every question is Enter.
Typing = Callable[["pexpect.spawn"], None]


def _send(keys: str) -> Typing:
    def typing(child: pexpect.spawn) -> None:
        child.send(keys)

    return typing


def _prompt_text(question: spec.Question) -> str:
    """The start of the prompt copier prints for a question (its help), short enough not to wrap
    and cut before any Jinja, which copier renders."""
    text = question.help.split("{")[0].strip()
    return text[:50] if text else question.name


def _asked_with_defaults() -> list[spec.Question]:
    """The questions copier will prompt for (a templated `when` evaluated on the defaults)."""
    values = spec.resolve({}).values
    return [q for q in spec.asked_questions() if spec.cast_to_bool(spec.render_value(q.when, values))]


def run_interactive(template_repo: Path, dst: Path, typing: dict[str, Typing]) -> tuple[int | None, str]:
    """Answer every asked question in copier.yml order; return exit status and transcript."""
    copier = require_tool("copier")
    transcript = io.StringIO()
    child = pexpect.spawn(
        str(copier),
        ["copy", "--vcs-ref", SNAPSHOT_TAG, str(template_repo), str(dst)],
        env={**os.environ, "PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm-256color"},
        encoding="utf-8",
        dimensions=(40, 120),
        timeout=EXPECT_TIMEOUT,
    )
    child.logfile_read = transcript
    try:
        for question in _asked_with_defaults():
            child.expect_exact(_prompt_text(question))
            typing.get(question.name, _send(ENTER))(child)
        child.expect(pexpect.EOF)
    except (pexpect.TIMEOUT, pexpect.EOF) as error:
        child.close(force=True)
        pytest.fail(f"{type(error).__name__} while answering; transcript:\n{transcript.getvalue()}")
    child.close()
    return child.exitstatus, transcript.getvalue()


def _next_choice(name: str) -> object:
    """The value one step down from the default choice of a select question."""
    q = spec.question(name)
    values = list(q.values)
    return values[values.index(spec.default_values()[name]) + 1]


def test_interactive_copy(template_repo: Path, tmp_path: Path) -> None:
    dst = tmp_path / "project"
    status, transcript = run_interactive(
        template_repo,
        dst,
        {
            "project_name": _send(CTRL_U + "Churn Predictor" + ENTER),
            "package_name": _send(ENTER),  # accept the name derived from the project name
            "license": _send(DOWN + ENTER),
            "docs_site": _send("n"),
        },
    )
    assert status == 0, transcript
    answers = read_answers(dst)
    assert answers["project_name"] == "Churn Predictor"
    assert answers["package_name"] == "churn_predictor"
    assert answers["license"] == _next_choice("license")
    assert answers["docs_site"] is False
    assert answers["pre_commit"] is True
    assert (dst / "src" / "churn_predictor" / "__init__.py").is_file()


def test_interactive_validator_message_then_correction(template_repo: Path, tmp_path: Path) -> None:
    def invalid_then_valid(child: pexpect.spawn) -> None:
        child.send(CTRL_U + "class" + ENTER)
        child.expect_exact("is a Python keyword")
        child.send(CTRL_U + "churn_model" + ENTER)

    dst = tmp_path / "project"
    status, transcript = run_interactive(template_repo, dst, {"package_name": invalid_then_valid})
    assert status == 0, transcript
    assert read_answers(dst)["package_name"] == "churn_model"
    assert (dst / "src" / "churn_model").is_dir()
