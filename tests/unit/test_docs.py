"""Docs generated from copier.yml must match what is committed, so they cannot drift."""

from __future__ import annotations

import sys

import template_spec as spec
from template_spec import TEMPLATE_ROOT
from tests.support.process import run

GENERATOR = TEMPLATE_ROOT / "scripts" / "gen_options_doc.py"
OPTIONS_PAGE = TEMPLATE_ROOT / "docs" / "options.md"


def generated_options_page() -> str:
    result = run([sys.executable, GENERATOR, "--stdout"], TEMPLATE_ROOT, timeout=120, merge_stderr=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_options_page_is_up_to_date() -> None:
    assert OPTIONS_PAGE.is_file(), f"run: python {GENERATOR.relative_to(TEMPLATE_ROOT)}"
    assert OPTIONS_PAGE.read_text(encoding="utf-8") == generated_options_page(), (
        f"{OPTIONS_PAGE.relative_to(TEMPLATE_ROOT)} is stale: "
        f"run python {GENERATOR.relative_to(TEMPLATE_ROOT)}"
    )


def test_options_page_lists_every_question_and_choice() -> None:
    page = OPTIONS_PAGE.read_text(encoding="utf-8")
    for q in spec.asked_questions():
        assert f"| `{q.name}` |" in page, q.name
        for choice in q.choices:
            assert f"`{choice.value}`: {choice.label}" in page, (q.name, choice.value)
        for choice in q.choices:
            if choice.validator:
                assert f"`{choice.value}` when " in page, f"{q.name}={choice.value} refusal"
