"""The render matrix: pairwise coverage of copier.yml's multi-valued questions, refused combinations
excluded, and the named answer sets every layer renders (all features off).

Every case is an accepted set of answers, resolved by the same rules copier applies (questions.py),
so the matrix can never skip a combination a user is allowed to pick, nor render one they are not.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from template_spec.questions import Question, axes, refusal, resolve, resolved_values

# Every optional feature off: the smallest project the template renders (render matrix, e2e, benchmark).
ALL_OFF: dict[str, Any] = {
    "data_versioning": "none",
    "experiment_tracking": "none",
    "deployment_target": "none",
    "monitoring": "none",
    "ci_provider": "none",
    "docs_site": False,
    "pre_commit": False,
}


@dataclass(frozen=True)
class Case:
    """One render of the matrix: the answers passed (those that differ from the defaults)."""

    id: str
    answers: dict[str, Any]
    values: dict[str, Any] = field(default_factory=dict)
    """Every asked question's value once copier resolves the defaults."""


def combinations(over: Sequence[Question]) -> Iterator[dict[str, Any]]:
    """Every combination of the values of these questions, in copier.yml order."""
    for values in itertools.product(*(q.values for q in over)):
        yield {q.name: value for q, value in zip(over, values, strict=True)}


# ---------------------------------------------------------------- pairwise cases

Pair = tuple[tuple[int, int], tuple[int, int]]
"""((axis index, value index), (axis index, value index)), first axis < second axis."""


def _pairs(indices: Sequence[int]) -> frozenset[Pair]:
    return frozenset(
        ((i, indices[i]), (j, indices[j])) for i, j in itertools.combinations(range(len(indices)), 2)
    )


def minimal_answers(values: Mapping[str, Any]) -> dict[str, Any]:
    """The answers to pass: those that differ from the defaults copier would use on its own.

    Defaults are recomputed after each kept answer, since later defaults depend on earlier answers.
    """
    kept: dict[str, Any] = {}
    for name, value in values.items():
        if resolve(kept).values.get(name) != value:
            kept[name] = value
    return kept


def case_id(answers: Mapping[str, Any]) -> str:
    if not answers:
        return "defaults"
    return ",".join(f"{name}={value}" for name, value in answers.items())


def make_case(answers: Mapping[str, Any], id: str | None = None) -> Case:
    """A case for these answers (refused answers are a bug in the caller)."""
    return Case(id or case_id(answers), dict(answers), resolved_values(answers))


@functools.cache
def matrix_cases() -> tuple[Case, ...]:
    """Pairwise coverage of the axes, refused combinations excluded (greedy, deterministic).

    Every pair of values of two axes that some accepted combination contains is covered by at least
    one case, hence every value of every axis appears. Each round adds the accepted combination that
    covers most uncovered pairs (the first one in copier.yml order on ties).
    """
    over = axes()
    candidates: list[tuple[tuple[int, ...], frozenset[Pair]]] = []
    for indices in itertools.product(*(range(len(q.values)) for q in over)):
        answers = {q.name: q.values[i] for q, i in zip(over, indices, strict=True)}
        if refusal(answers) is None:
            candidates.append((indices, _pairs(indices)))
    uncovered: set[Pair] = set().union(*(pairs for _, pairs in candidates))
    chosen: list[tuple[int, ...]] = []
    while uncovered:
        indices, pairs = max(candidates, key=lambda candidate: len(candidate[1] & uncovered))
        chosen.append(indices)
        uncovered -= pairs
    cases = []
    for number, indices in enumerate(chosen, start=1):
        values = {q.name: q.values[i] for q, i in zip(over, indices, strict=True)}
        answers = minimal_answers(values)
        cases.append(make_case(answers, f"p{number:02d}:{case_id(answers)}"))
    return tuple(cases)


def reachable_pairs() -> frozenset[frozenset[tuple[str, Any]]]:
    """Every pair of axis values that some accepted combination contains."""
    over = axes()
    result: set[frozenset[tuple[str, Any]]] = set()
    for answers in combinations(over):
        if refusal(answers) is None:
            items = list(answers.items())
            result.update(frozenset(pair) for pair in itertools.combinations(items, 2))
    return frozenset(result)
