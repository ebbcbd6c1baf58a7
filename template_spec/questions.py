"""copier.yml's questions and what copier makes of answers: defaults, derived values, refusals.

copier.yml is the single source of truth. Refusals are the `validator`s of copier.yml rendered with
the same Jinja setup copier uses; nothing here repeats a rule by hand.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from jinja2 import Template, meta
from jinja2.sandbox import SandboxedEnvironment

from template_spec.paths import COPIER_YML

# Copier loads these extensions into every environment (copier/_main.py, `Worker.jinja_env`);
# copier.yml's validators use their `regex_search` / `regex_replace` filters.
COPIER_DEFAULT_EXTENSIONS = ("jinja2_ansible_filters.AnsibleCoreFiltersExtension",)


@dataclass(frozen=True)
class Choice:
    """One choice of a select question: the label shown, the value stored, the refusal rule."""

    label: str
    value: Any
    validator: str = ""


@dataclass(frozen=True)
class Question:
    """A copier.yml question (key not starting with `_`)."""

    name: str
    type: str
    help: str
    default: Any
    choices: tuple[Choice, ...] = ()
    validator: str = ""
    when: Any = True

    @property
    def derived(self) -> bool:
        """Never asked (`when: false`): a value computed from answers, not stored."""
        return self.when is False

    @property
    def values(self) -> tuple[Any, ...]:
        """Every value a user can give: the choices' values, or both booleans."""
        if self.choices:
            return tuple(choice.value for choice in self.choices)
        if self.type == "bool":
            return (True, False)
        return ()

    def choice(self, value: Any) -> Choice | None:
        return next((choice for choice in self.choices if choice.value == value), None)


@dataclass(frozen=True)
class Resolution:
    """What copier would do with some answers: the full values, or the refusal and its reason."""

    values: dict[str, Any]
    question: str | None = None
    reason: str | None = None
    skipped: frozenset[str] = frozenset()
    """Asked questions whose `when` is false for these answers: copier neither asks nor stores them."""


# ---------------------------------------------------------------- copier.yml


@functools.cache
def load_config() -> dict[str, Any]:
    """copier.yml, parsed."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(COPIER_YML.read_text(encoding="utf-8"), Loader=loader)
    assert isinstance(data, dict), f"{COPIER_YML} is not a mapping"
    return data


def _parse_choices(raw: Any) -> tuple[Choice, ...]:
    if not raw:
        return ()
    items = raw.items() if isinstance(raw, dict) else ((item, item) for item in raw)
    choices = []
    for label, spec in items:
        if isinstance(spec, dict):
            choices.append(Choice(str(label), spec["value"], str(spec.get("validator", ""))))
        else:
            choices.append(Choice(str(label), spec))
    return tuple(choices)


@functools.cache
def questions() -> tuple[Question, ...]:
    """Every question of copier.yml in order, derived ones included."""
    result = []
    for name, spec in load_config().items():
        if name.startswith("_"):
            continue
        if not isinstance(spec, dict):  # copier's short form `name: default`
            spec = {"default": spec}
        result.append(
            Question(
                name=name,
                type=str(spec.get("type", "yaml")),
                help=str(spec.get("help", "")),
                default=spec.get("default"),
                choices=_parse_choices(spec.get("choices")),
                validator=str(spec.get("validator", "")),
                when=spec.get("when", True),
            )
        )
    return tuple(result)


def asked_questions() -> tuple[Question, ...]:
    return tuple(question for question in questions() if not question.derived)


def derived_names() -> frozenset[str]:
    return frozenset(question.name for question in questions() if question.derived)


def question(name: str) -> Question:
    return next(q for q in questions() if q.name == name)


def axes() -> tuple[Question, ...]:
    """The questions the matrix varies: asked selects with several choices, and booleans."""
    return tuple(q for q in asked_questions() if len(q.values) > 1)


def choice_questions() -> tuple[Question, ...]:
    """Every asked select question, single-choice ones included."""
    return tuple(q for q in asked_questions() if q.choices)


# ---------------------------------------------------------------- the Jinja that copier runs


@functools.cache
def jinja_env() -> SandboxedEnvironment:
    """An environment configured like copier's: same extensions, same `_envops`."""
    envops = dict(load_config().get("_envops") or {})
    envops.setdefault("keep_trailing_newline", True)
    extensions = [*COPIER_DEFAULT_EXTENSIONS, *(load_config().get("_jinja_extensions") or [])]
    return SandboxedEnvironment(extensions=extensions, **envops)


@functools.cache
def _compile(source: str) -> tuple[Template, tuple[str, ...]]:
    """The compiled template and the names it reads from its context."""
    env = jinja_env()
    names = tuple(sorted(meta.find_undeclared_variables(env.parse(source))))
    return env.from_string(source), names


@functools.cache
def _render_cached(source: str, inputs: tuple[tuple[str, Any], ...]) -> str:
    template, _ = _compile(source)
    return template.render(dict(inputs))


def template_inputs(source: str) -> tuple[str, ...]:
    """The names a templated value reads from its context."""
    return _compile(source)[1]


def render_value(value: Any, context: Mapping[str, Any]) -> Any:
    """Render a templated copier.yml value (non-strings pass through, as in copier).

    A render depends only on the names the template reads, so it is cached on their values: the
    matrix resolves thousands of combinations that share most of them.
    """
    if not isinstance(value, str):
        return value
    template, names = _compile(value)
    inputs = tuple((name, context[name]) for name in names if name in context)
    try:
        return _render_cached(value, inputs)
    except TypeError:  # an unhashable value: render without the cache
        return template.render(dict(context))


def cast_to_bool(value: Any) -> bool:
    """Copier's `cast_to_bool` (copier/_tools.py): numbers, YAML booleans and nulls, else bool()."""
    if isinstance(value, bool):
        return value
    try:
        return bool(float(value))
    except (TypeError, ValueError):
        pass
    if isinstance(value, str):
        lower = value.strip().lower()
        if lower in {"", "n", "no", "f", "false", "off", "~", "null", "none"}:
            return False
        if lower in {"y", "yes", "t", "true", "on"}:
            return True
    return bool(value)


def cast(question: Question, value: Any) -> Any:
    if question.type == "bool":
        return cast_to_bool(value)
    if question.type == "str":
        return str(value)
    if question.type == "int":
        return int(value)
    if question.type == "float":
        return float(value)
    # copier parses a rendered default of a yaml or json question (the fact tables of copier.yml).
    if question.type == "yaml" and isinstance(value, str):
        return yaml.safe_load(value)
    if question.type == "json" and isinstance(value, str):
        return json.loads(value)
    return value


# ---------------------------------------------------------------- refusals


def resolve(answers: Mapping[str, Any]) -> Resolution:
    """Resolve answers like `copier copy --defaults --data ...`: defaults, derived values, refusals.

    Mirrors copier's `Worker._ask`: questions are walked in order; templates see every answer
    passed in plus the values resolved so far. A given answer is checked against the choices (a
    choice whose `validator` renders a message is refused with it) and the question's `validator`,
    even for a `when: false` question (copier lets `--data` override those). A default is checked
    likewise, except for `when: false` questions, whose computed values copier never validates.
    """
    context: dict[str, Any] = dict(answers)
    skipped: set[str] = set()
    for q in questions():
        given = q.name in answers
        value = cast(q, answers[q.name] if given else render_value(q.default, context))
        asked = cast_to_bool(render_value(q.when, context))
        if not asked and not q.derived:
            skipped.add(q.name)
        if given or asked:
            reason = _check(q, value, context)
            if reason:
                return Resolution(context, q.name, reason, frozenset(skipped))
        context[q.name] = value
    return Resolution(context, skipped=frozenset(skipped))


def _check(q: Question, value: Any, context: Mapping[str, Any]) -> str:
    """copier's `Question.parse_answer` then `validate_answer`: the refusal message, or ""."""
    if q.choices:
        refused = {c.value: str(render_value(c.validator, context)).strip() for c in q.choices}
        if value not in refused:
            valid = [choice for choice, reason in refused.items() if not reason]
            return f"{value!r} is not in {valid}"
        if refused[value]:
            return refused[value]
    return str(render_value(q.validator, {**context, q.name: value})).strip()


def refusal(answers: Mapping[str, Any]) -> str | None:
    """Why copier refuses these answers (its validator's message), or None if it accepts them.

    Only the answers a refusal can depend on are resolved (`refusal_inputs`), once per distinct set of
    their values: the matrix and the options page ask this of every combination of the axes.
    """
    relevant = refusal_inputs()
    for name, value in answers.items():  # a value no choice offers is refused whatever the rules
        if (
            name not in relevant
            and (q := _by_name().get(name)) is not None
            and q.choices
            and value not in q.values
        ):
            return resolve(answers).reason
    key = tuple(sorted((name, value) for name, value in answers.items() if name in relevant))
    try:
        return _refusal_of(key)
    except TypeError:  # an unhashable answer: resolve it whole
        return resolve(answers).reason


@functools.cache
def _refusal_of(relevant_answers: tuple[tuple[str, Any], ...]) -> str | None:
    return resolve(dict(relevant_answers)).reason


@functools.cache
def _by_name() -> dict[str, Question]:
    return {q.name: q for q in questions()}


@functools.cache
def refusal_inputs() -> frozenset[str]:
    """The questions whose answers can change whether copier refuses: those with a validator (on the
    question or a choice), and every name their validators, `when`s and defaults read, transitively.
    An answer to any other question is a valid choice whose value no rule reads."""

    def inputs(value: Any) -> set[str]:
        return set(template_inputs(value)) if isinstance(value, str) else set()

    by_name = {q.name: q for q in questions()}
    validated = {q.name for q in questions() if q.validator or any(c.validator for c in q.choices)}
    pending = set(validated)
    for name in validated:
        q = by_name[name]
        pending |= inputs(q.validator)
        for choice in q.choices:
            pending |= inputs(choice.validator)
    found: set[str] = set()
    while pending:
        name = pending.pop()
        if name in found or name not in by_name:
            continue
        found.add(name)
        q = by_name[name]
        pending |= inputs(q.default) | inputs(q.when)
    return frozenset(found)


def resolved_values(answers: Mapping[str, Any]) -> dict[str, Any]:
    """Every asked question's value for accepted answers."""
    resolution = resolve(answers)
    assert resolution.reason is None, f"refused: {resolution.question}: {resolution.reason}"
    return {q.name: resolution.values[q.name] for q in asked_questions() if q.name not in resolution.skipped}


def default_values() -> dict[str, Any]:
    return resolved_values({})
