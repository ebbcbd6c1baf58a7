"""What the template is, read from copier.yml: its questions, what copier makes of answers, and the
render matrix. Tests, scripts and benchmarks import it; it tests nothing itself.

    import template_spec as spec
    spec.refusal({"package_name": "class"})  # copier's message, or None when accepted
    spec.matrix_cases()                      # pairwise cases over the multi-valued questions
"""

from __future__ import annotations

from template_spec.matrix import (
    ALL_OFF,
    Case,
    case_id,
    combinations,
    make_case,
    matrix_cases,
    minimal_answers,
    reachable_pairs,
)
from template_spec.paths import COPIER_YML, TEMPLATE_ROOT
from template_spec.questions import (
    Choice,
    Question,
    Resolution,
    asked_questions,
    axes,
    cast_to_bool,
    choice_questions,
    default_values,
    derived_names,
    load_config,
    question,
    questions,
    refusal,
    refusal_inputs,
    render_value,
    resolve,
    resolved_values,
    template_inputs,
)

__all__ = [
    "ALL_OFF",
    "COPIER_YML",
    "TEMPLATE_ROOT",
    "Case",
    "Choice",
    "Question",
    "Resolution",
    "asked_questions",
    "axes",
    "case_id",
    "cast_to_bool",
    "choice_questions",
    "combinations",
    "default_values",
    "derived_names",
    "load_config",
    "make_case",
    "matrix_cases",
    "minimal_answers",
    "question",
    "questions",
    "reachable_pairs",
    "refusal",
    "refusal_inputs",
    "render_value",
    "resolve",
    "resolved_values",
    "template_inputs",
]
