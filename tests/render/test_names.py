# ruff: noqa: RUF001  (look-alike letters and quotes are the point of these names)
"""Names people really use: accents, punctuation, quotes, scripts without an ASCII form, emoji.

Each hostile name is rendered as the project name (and, with a prefix, as the description and the
author) with the default answers and with every option off, and every rendered file is parsed by
its format. The places where Markdown or HTML shows the name are rendered and read back, so an
escape that shows up as a stray backslash fails as surely as markup that gets through.
"""

from __future__ import annotations

import ast
import configparser
import html
import json
import re
import tomllib
import warnings
from collections.abc import Iterator
from pathlib import Path

import markdown  # type: ignore[import-untyped]  # Python-Markdown, as mkdocs renders the docs
import pytest
import yaml
from copier import Settings, run_copy

import template_spec as spec
from tests.support.process import run
from tests.support.snapshot import SNAPSHOT_TAG, read_answers, render

CLI_SUFFIX = ": the pipeline and serving commands."

# Names the template must accept and derive an ASCII package name from.
HOSTILE_NAMES = [
    "Prévision des ventes",
    "O'Brien's churn model",
    "Zoë: fraud",
    'The "best" model',
    "It's a \"quoted\" name's",
    "R&D: churn #2 & co",
    "C:\\data\\new model\\",
    "Costs $HOME ${X} $(id) `id`",
    "a | b || c",
    "<b>bold</b> & <script>alert(1)</script>",
    "Straße Ørsted Æble Œuvre Łódź Þór",
    "İstanbul çağrı merkezi",
    "— dashes – and ’curly’ “quotes” —",
    "Only 50% of %(prog)s",
    "{{ not jinja }} {% raw %}",
    "[link](https://example.com) *em* _u_ ~s~ **b**",
    "- starts like a list",
    "# starts like a heading #",
    "key: value # comment",
    "\"\"\"triple\"\"\" and '''more'''",
    "Vidéo 🎬 analyse",
    "Ωmega Ψ model",
    "x" * 100,
    "Ünïcödé " * 12 + "end",
]

# Names that leave nothing usable for a package name: the default is refused with the reason.
UNDERIVABLE = [
    ("日本語の売上予測", "No package name can be derived from the project name"),
    ("🚀🔥", "No package name can be derived from the project name"),
    ("Прогноз продаж", "No package name can be derived from the project name"),
    ("2048 Game", "The package name must start with a letter, and '2048_game' starts with a digit"),
    ("9lives", "The package name must start with a letter, and '9lives' starts with a digit"),
    ("1. Starts like a list", "and '1_starts_like_a_list' starts with a digit: type one such as"),
]

TRANSLITERATED = [
    ("Prévision des ventes", "prevision_des_ventes"),
    ("O'Brien's churn model", "obriens_churn_model"),
    ("O’Brien’s churn model", "obriens_churn_model"),
    ("Zoë: fraud", "zoe_fraud"),
    ("Straße", "strasse"),
    ("Ørsted", "orsted"),
    ("Æble Œuvre", "aeble_oeuvre"),
    ("Łódź", "lodz"),
    ("Þór", "thor"),
    ("İstanbul", "istanbul"),
    ("Cafe\u0301 model", "cafe_model"),
    ("R&D: churn #2", "r_d_churn_2"),
    ("Vidéo 🎬 analyse", "video_analyse"),
    ("My ML Project", "my_ml_project"),
    ("Churn Predictor-v2", "churn_predictor_v2"),
    ("x" * 100, "x" * 63),
    (("ab " * 30).strip(), ("ab_" * 21)[:62]),
]

ANSWER_SETS = {"defaults": {}, "all-off": spec.ALL_OFF}


def _answers(name: str) -> dict[str, str]:
    """The hostile text in every free-text answer that is shown in the project."""
    return {
        "project_name": name,
        "description": f"About {name}"[:200],
        "author_name": name[:100],
    }


class _YamlLoader(yaml.SafeLoader):
    """safe_load, plus mkdocs' `!!python/name:` tags read as plain values."""


_YamlLoader.add_multi_constructor(
    "tag:yaml.org,2002:python/", lambda loader, suffix, node: loader.construct_scalar(node)
)


def _files(project: Path) -> Iterator[tuple[Path, str]]:
    for path in sorted(project.rglob("*")):
        if path.is_file() and ".git" not in path.parts:
            yield path, path.read_text(encoding="utf-8")


def _markdown_text(text: str) -> tuple[str, str]:
    """The first heading and the first paragraph of a Markdown page, as HTML."""
    page = markdown.markdown(text, extensions=["tables", "attr_list", "toc"])
    heading = re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S)
    paragraph = re.search(r"<p>(.*?)</p>", page, re.S)
    assert heading and paragraph, page
    return heading[1], paragraph[1]


def _shown(fragment: str) -> str:
    """What a browser shows for an HTML fragment that must hold text only, never markup."""
    assert "<" not in fragment, f"markup got through: {fragment!r}"
    return html.unescape(fragment)


def check_project(project: Path, answers: dict[str, str]) -> None:
    """Every rendered file parses by its format; the answers read back exactly where they are shown."""
    name, description, author = answers["project_name"], answers["description"], answers["author_name"]
    free_text = [name, description, author]
    shell_files: list[Path] = []
    seen: set[str] = set()
    for path, text in _files(project):
        rel = path.relative_to(project).as_posix()
        suffix = path.suffix
        if suffix == ".toml":
            tomllib.loads(text)
        elif suffix in {".yml", ".yaml"}:
            list(yaml.load_all(text, Loader=_YamlLoader))
        elif suffix == ".json":
            json.loads(text)
        elif suffix == ".py":
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # an invalid escape is a SyntaxWarning
                compile(text, rel, "exec", dont_inherit=True)
        elif suffix == ".sh" or (text.startswith("#!") and "sh" in text.splitlines()[0]):
            shell_files.append(path)
        elif rel == ".dvc/config":
            configparser.ConfigParser().read_string(text)
        if rel in {"Makefile", "Dockerfile"} or rel.startswith((".env", ".github/")):
            # make, docker and the shell read these: the answers never reach them (only the slug does).
            for value in free_text:
                assert value not in text, f"{rel} holds the free text {value!r}"
        if suffix == ".md" and any(c in name for c in "<&`*_[]#|$~\\"):
            assert name not in text, f"{rel} holds the project name unescaped"
        seen.add(rel)

    for path in shell_files:
        result = run(["bash", "-n", path], project, merge_stderr=False)
        assert result.returncode == 0, f"{path}: {result.stderr}"

    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert pyproject["description"] == description
    assert pyproject["authors"][0]["name"] == author
    assert re.fullmatch(r"[a-z][a-z0-9-]*", pyproject["name"]), pyproject["name"]

    stored = read_answers(project)
    assert (stored["project_name"], stored["description"], stored["author_name"]) == (
        name,
        description,
        author,
    )
    package = stored["package_name"]

    heading, paragraph = _markdown_text((project / "README.md").read_text(encoding="utf-8"))
    assert (_shown(heading), _shown(paragraph)) == (name, description)

    cli = ast.parse((project / "src" / package / "cli.py").read_text(encoding="utf-8"))
    descriptions = [
        ast.literal_eval(keyword.value)
        for node in ast.walk(cli)
        if isinstance(node, ast.Call)
        for keyword in node.keywords
        if keyword.arg == "description"
    ]
    argparse_text = name.replace("%", "%%") if "%(prog)" in name else name
    assert descriptions == [argparse_text + CLI_SUFFIX]

    if "docs/index.md" in seen:
        heading, paragraph = _markdown_text((project / "docs" / "index.md").read_text(encoding="utf-8"))
        assert (_shown(heading), _shown(paragraph)) == (name, description)
        config = yaml.load((project / "mkdocs.yml").read_text(encoding="utf-8"), Loader=_YamlLoader)
        shown = {key: html.unescape(config[key]) for key in ("site_name", "site_description", "site_author")}
        assert shown == {"site_name": name, "site_description": description, "site_author": author}
        for key in ("site_name", "site_description", "site_author"):
            assert not set(config[key]) & set('<>"'), f"mkdocs.yml {key} is pasted into HTML: {config[key]!r}"


# ---------------------------------------------------------------- the questions (no render)


@pytest.mark.parametrize(("name", "package"), TRANSLITERATED, ids=[n[:24] for n, _ in TRANSLITERATED])
def test_package_name_is_transliterated(name: str, package: str) -> None:
    values = spec.resolved_values({"project_name": name})
    assert values["package_name"] == package


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=[n[:24] for n in HOSTILE_NAMES])
def test_hostile_names_are_accepted(name: str) -> None:
    assert spec.refusal(_answers(name)) is None


@pytest.mark.parametrize(("name", "message"), UNDERIVABLE, ids=[n for n, _ in UNDERIVABLE])
def test_underivable_package_name_is_asked_for(name: str, message: str) -> None:
    resolution = spec.resolve({"project_name": name})
    assert resolution.question == "package_name"
    assert resolution.reason is not None and message in resolution.reason, resolution.reason
    assert spec.refusal({"project_name": name, "package_name": "sales_forecast"}) is None


# ---------------------------------------------------------------- real renders


@pytest.mark.parametrize("answer_set", list(ANSWER_SETS))
@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=[n[:24] for n in HOSTILE_NAMES])
def test_hostile_name_renders_valid_files(
    template_repo: Path, tmp_path: Path, name: str, answer_set: str
) -> None:
    answers = _answers(name)
    project = render(template_repo, tmp_path / "project", **ANSWER_SETS[answer_set], **answers)
    assert read_answers(project)["package_name"] == spec.resolved_values(answers)["package_name"]
    check_project(project, answers)


@pytest.mark.parametrize(("name", "message"), UNDERIVABLE, ids=[n for n, _ in UNDERIVABLE])
def test_underivable_name_needs_package_name(
    template_repo: Path, tmp_path: Path, name: str, message: str
) -> None:
    answers = _answers(name)
    refused = tmp_path / "refused"
    with pytest.raises(ValueError, match="Validation error for question 'package_name'") as error:
        render(template_repo, refused, **answers)
    assert message in str(error.value)
    assert not refused.exists()

    project = render(template_repo, tmp_path / "project", **answers, package_name="sales_forecast")
    assert read_answers(project)["package_name"] == "sales_forecast"
    assert (project / "src" / "sales_forecast" / "__init__.py").is_file()
    check_project(project, answers)


def test_message_after_copy_quotes_the_destination(
    template_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The `cd` it suggests works for a destination with spaces and quotes."""
    dst = tmp_path / "my 'ML' project"
    run_copy(
        str(template_repo),
        dst,
        data={"project_name": 'Zoë "fraud"', **spec.ALL_OFF},
        defaults=True,
        quiet=False,
        settings=Settings(),
        vcs_ref=SNAPSHOT_TAG,
    )
    message = capsys.readouterr().err
    assert 'Your project "Zoë "fraud"" is ready' in message
    cd_line = next(line for line in message.splitlines() if line.strip().startswith("cd "))
    result = run(["bash", "-c", f"{cd_line.strip()} && pwd"], tmp_path, merge_stderr=False)
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == dst
