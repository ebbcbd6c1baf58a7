"""Generate docs/options.md from copier.yml: one table per group of questions.

Usage:
    python scripts/gen_options_doc.py           # write docs/options.md
    python scripts/gen_options_doc.py --check   # exit 1 if docs/options.md is out of date
    python scripts/gen_options_doc.py --stdout  # print instead of writing

Groups are copier.yml's section comments (`# ----- project`); refused combinations are found by
rendering copier.yml's own validators over every combination (template_spec), so the page says
exactly what copier refuses.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import template_spec as spec  # noqa: E402  (the repo root must be importable first)

OUTPUT = ROOT / "docs" / "options.md"
NONE = "\N{EN DASH}"  # an empty cell
SECTION = re.compile(r"^#\s*-{3,}\s*(?P<title>\S.*?)\s*$")
KEY = re.compile(r"^(?P<name>[A-Za-z]\w*)\s*:")

HEADER = """\
<!-- Generated from copier.yml by scripts/gen_options_doc.py: do not edit by hand. -->
# Options

Every question `copier copy` asks, in the order it asks them. Answer any of them up front with
`--data name=value` (or `-d`), or put them in a file for `--data-file`. The names are stable:
presets, data files and `copier update` rely on them.

Some combinations are refused at the prompt, with the reason shown below; the template's test
matrix reads the same rules from copier.yml, so every combination you can pick is tested.
"""


def groups() -> list[tuple[str, list[str]]]:
    """copier.yml's section titles, each with the questions under it, in file order."""
    result: list[tuple[str, list[str]]] = [("", [])]
    for line in spec.COPIER_YML.read_text(encoding="utf-8").splitlines():
        if section := SECTION.match(line):
            result.append((section["title"], []))
        elif (key := KEY.match(line)) and not key["name"].startswith("_"):
            result[-1][1].append(key["name"])
    return [(title, names) for title, names in result if names]


def cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def code(value: Any) -> str:
    if isinstance(value, bool):
        value = str(value).lower()
    return f"`{value}`"


def is_templated(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def refused_when() -> dict[tuple[str, Any], list[str]]:
    """For each refused choice: when it is refused and why, from every combination of the axes."""
    # Only the axes a rule reads can decide a refusal (spec.refusal_inputs): the others never appear
    # in a condition, since every value of theirs is refused alike.
    axes = tuple(axis for axis in spec.axes() if axis.name in spec.refusal_inputs())
    refused: dict[tuple[str, Any], list[dict[str, Any]]] = defaultdict(list)
    reasons: dict[tuple[str, Any], set[str]] = defaultdict(set)
    for answers in spec.combinations(axes):
        resolution = spec.resolve(answers)
        if resolution.question is None or resolution.reason is None:
            continue
        key = (resolution.question, answers.get(resolution.question))
        refused[key].append(answers)
        reasons[key].add(resolution.reason)
    result: dict[tuple[str, Any], list[str]] = {}
    for key, combos in refused.items():
        conditions = []
        for axis in axes:
            if axis.name == key[0]:
                continue
            seen = [value for value in axis.values if any(c[axis.name] == value for c in combos)]
            if len(seen) < len(axis.values):
                conditions.append(f"{axis.name} is " + " or ".join(code(v) for v in seen))
        when = " and ".join(conditions) or "always"
        result[key] = [f"{code(key[1])} when {when}: {reason}" for reason in sorted(reasons[key])]
    return result


def question_row(q: spec.Question, refusals: dict[tuple[str, Any], list[str]]) -> str:
    if q.choices:
        choices = "<br>".join(f"{code(c.value)}: {cell(c.label)}" for c in q.choices)
    elif q.type == "bool":
        choices = "`true` / `false`"
    else:
        choices = "text" + (" (validated)" if q.validator.strip() else "")
    # Computed even where the question is skipped (`when`), so every question shows its default.
    default = spec.resolve({}).values[q.name]
    default_text = code(default) + (" (computed, see below)" if is_templated(q.default) else "")
    refused = [line for c in q.choices for line in refusals.get((q.name, c.value), [])]
    help_text = q.help if q.when is True else f"{q.help} (asked when `{str(q.when).strip()}`)"
    return (
        f"| {code(q.name)} | {cell(help_text)} | {choices} | {default_text} | "
        f"{'<br>'.join(cell(line) for line in refused) or NONE} |"
    )


def render() -> str:
    refusals = refused_when()
    parts = [HEADER]
    computed: list[spec.Question] = []
    for title, names in groups():
        asked = [q for q in map(spec.question, names) if not q.derived]
        if not asked:
            continue
        parts.append(f"## {title[:1].upper()}{title[1:]}\n")
        parts.append("| Question | Help | Choices | Default | Refused |")
        parts.append("|---|---|---|---|---|")
        parts.extend(question_row(q, refusals) for q in asked)
        parts.append("")
        computed += [q for q in asked if is_templated(q.default)]
    if computed:
        parts.append("## Computed defaults\n")
        parts.append("A default computed from earlier answers (Jinja, as in copier.yml):\n")
        parts.extend(f"- {code(q.name)}: `{q.default.strip()}`" for q in computed)
        parts.append("")
    derived = [q for q in spec.questions() if q.derived]
    if derived:
        parts.append("## Derived values\n")
        parts.append("Never asked and never stored: computed from the answers, used by the files.\n")
        parts.extend(f"- {code(q.name)}: `{str(q.default).strip()}`" for q in derived)
        parts.append("")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="fail if the page is out of date")
    mode.add_argument("--stdout", action="store_true", help="print instead of writing")
    args = parser.parse_args(argv)
    text = render()
    if args.stdout:
        sys.stdout.write(text)
        return 0
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.is_file() else ""
        if current != text:
            print(f"{OUTPUT.relative_to(ROOT)} is out of date: run {Path(__file__).name}")
            return 1
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
