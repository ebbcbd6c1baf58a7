"""Template releases built in temporary git repos, for update tests: v1.0.0 (an older template) and
v2.0.0 (the working tree), without relying on any tag of the clone.

`build_versions(dst, make_old, make_new)` copies the working tree, applies `make_old` and tags
v1.0.0, then restores the working tree, applies `make_new` (if any) and tags v2.0.0. Edits are exact
string replacements that fail loudly when the text they expect is gone, so a template change that
invalidates a synthetic version breaks the helper, never a test silently.

Also here, shared by the update and adoption tests and benchmarks/bench_update.py: projects rendered
from these releases, the team's edits that updates must keep, faked run outputs (.venv, data, models,
MLflow) and the checks that an update merged cleanly.
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess
import tarfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from copier import Settings, run_copy, run_update

from template_spec import TEMPLATE_ROOT
from tests.support.process import git, run
from tests.support.snapshot import copy_working_tree, project_files
from tests.support.tools import VENV_BIN

V1 = "v1.0.0"
V2 = "v2.0.0"

TemplateEdit = Callable[[Path], None]
"""Edits a template repository in place (its root holds copier.yml)."""

TPL = Path("template")
MAKEFILE = TPL / "Makefile.jinja"
DOCKERFILE = TPL / "Dockerfile.jinja"
README = TPL / "README.md.jinja"
PARAMS = TPL / "params.yaml.jinja"
CI_WORKFLOW = TPL / "{% if use_github %}.github{% endif %}" / "workflows" / "ci.yml.jinja"
SERVING_DIR = TPL / "src" / "{{ package_name }}" / "serving"


# ---------------------------------------------------------------- building versions


def _clear(repo: Path) -> None:
    """Remove everything but .git."""
    for entry in repo.iterdir():
        if entry.name == ".git":
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _commit_and_tag(repo: Path, tag: str) -> None:
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--no-verify", "--allow-empty", "--message", f"Template {tag}")
    git(repo, "tag", tag)


def build_versions(
    dst: Path,
    make_old: TemplateEdit,
    make_new: TemplateEdit | None = None,
    root: Path = TEMPLATE_ROOT,
) -> Path:
    """A template repo at `dst` with tags v1.0.0 (working tree + `make_old`) and v2.0.0 (working
    tree + `make_new`); HEAD is v2.0.0, so a plain `copier update` moves to it."""
    dst.mkdir(parents=True)
    copy_working_tree(dst, root)
    make_old(dst)
    git(dst, "init", "--quiet", "--initial-branch=main")
    _commit_and_tag(dst, V1)
    _clear(dst)
    copy_working_tree(dst, root)
    if make_new is not None:
        make_new(dst)
    _commit_and_tag(dst, V2)
    return dst


PRE_TARGET_FOLDERS = "0ae10b99da2cc971a2ab68860a412a2aaff869e0"
"""The last template commit before each deployment target got a folder of its own (deploy/<target>/,
v1.0.0): compose.yaml and the compose stack's Prometheus and Grafana files were elsewhere."""


def build_from_history(
    dst: Path, old_commit: str, old_tag: str, new_tag: str, root: Path = TEMPLATE_ROOT
) -> Path:
    """A template repo at `dst` with `old_tag` on the template as committed at `old_commit` in this
    repository's history and `new_tag` on the working tree (HEAD)."""
    dst.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", "--format=tar", old_commit],
        cwd=root,
        capture_output=True,
        check=False,
        timeout=120,
    )
    if archive.returncode != 0:
        raise AssertionError(
            f"commit {old_commit} is not in this clone's history (a shallow clone?): "
            f"{archive.stderr.decode(errors='replace').strip()}"
        )
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        # The "data" filter (Python 3.11.4+) refuses links out of dst; git archive writes none.
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dst, filter="data")
        else:
            tar.extractall(dst)
    git(dst, "init", "--quiet", "--initial-branch=main")
    _commit_and_tag(dst, old_tag)
    _clear(dst)
    copy_working_tree(dst, root)
    _commit_and_tag(dst, new_tag)
    return dst


def no_change(template: Path) -> None:
    """A version identical to the working tree."""


# ---------------------------------------------------------------- edit primitives


def replace_once(path: Path, old: str, new: str) -> None:
    """Replace the one occurrence of `old` in `path`; fail if it occurs zero or several times."""
    text = path.read_text(encoding="utf-8")
    count = text.count(old)
    assert count == 1, f"{path}: expected exactly one occurrence of {old!r}, found {count}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def move(template: Path, old: Path | str, new: Path | str) -> None:
    """Move a template file or folder (relative to the template repo root)."""
    source, target = template / old, template / new
    assert source.exists(), f"{source} does not exist"
    assert not target.exists(), f"{target} already exists"
    target.parent.mkdir(parents=True, exist_ok=True)
    source.rename(target)


def append_to_copier_yml(template: Path, text: str) -> None:
    copier_yml = template / "copier.yml"
    current = copier_yml.read_text(encoding="utf-8")
    copier_yml.write_text(current.rstrip("\n") + "\n\n" + text.strip("\n") + "\n", encoding="utf-8")


# ---------------------------------------------------------------- the older template


@dataclass(frozen=True)
class TemplateChange:
    """A practice the newer template adds: how v1 lacked it, and how a project shows it arrived."""

    name: str
    template_file: Path
    newer: str
    """Text of the template file in the working tree (v2.0.0)."""
    older: str
    """What v1.0.0 has instead."""
    rendered_file: str
    """The project file it lands in (default answers)."""
    arrived: str
    """Text of the rendered file that only v2.0.0 produces."""
    gone: str | None = None
    """Text of the rendered file that only v1.0.0 produces, if any."""


OLDER_CHANGES: tuple[TemplateChange, ...] = (
    TemplateChange(
        name="Makefile clean target",
        template_file=MAKEFILE,
        newer=(
            "\n\n.PHONY: clean\n"
            "clean: ## Remove caches and build outputs (keeps data, models and .venv)\n"
            "\trm -rf .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov site dist\n"
        ),
        older="\n",
        rendered_file="Makefile",
        arrived="\n.PHONY: clean\nclean: ## Remove caches",
    ),
    TemplateChange(
        name="Dockerfile OMP_NUM_THREADS",
        template_file=DOCKERFILE,
        newer="    PYTHONUNBUFFERED=1 \\\n    OMP_NUM_THREADS=1\n",
        older="    PYTHONUNBUFFERED=1\n",
        rendered_file="Dockerfile",
        arrived="    PYTHONUNBUFFERED=1 \\\n    OMP_NUM_THREADS=1\n",
    ),
    TemplateChange(
        name="README API section",
        template_file=README,
        newer=(
            "## The API\n\n| route | |\n|---|---|\n"
            '| `POST /predict` | `{"instances": [{...}, ...]}` (1 to 1000) -> '
            '`{"predictions": [...], "model_version": "..."}`; bad input gets a 422 naming the '
            "field, a body over `MAX_BODY_BYTES` a 413 |\n"
            "| `GET /health` | the process is up |\n"
            "| `GET /ready` | a model is loaded (503 until `make pipeline` has produced one), with its"
            " version{% if use_mlflow %} and, for a model exported from the registry (`make model-fetch`),"
            " its registered name and version{% endif %} |\n"
            "| `GET /metrics` | Prometheus metrics: requests, latency, errors, predictions, batch "
            "sizes, model version |\n"
            "| `GET /docs` | OpenAPI UI |\n\n"
        ),
        older="",
        rendered_file="README.md",
        arrived="## The API\n",
    ),
    TemplateChange(
        name="params cv_folds",
        template_file=PARAMS,
        newer="  cv_folds: 5\n",
        older="  cv_folds: 3\n",
        rendered_file="params.yaml",
        arrived="  cv_folds: 5\n",
        gone="  cv_folds: 3\n",
    ),
    TemplateChange(
        name="CI pipeline job timeout",
        template_file=CI_WORKFLOW,
        newer=(
            "    timeout-minutes: 20\n"
            "    permissions:\n"
            "      contents: read\n"
            "{%- if use_object_store and not s3_endpoint_url %}\n"
            "      id-token: write"
        ),
        older="    permissions:\n      contents: read\n{%- if use_object_store and not s3_endpoint_url %}\n      id-token: write",
        rendered_file=".github/workflows/ci.yml",
        arrived=(
            "    name: Pipeline smoke (ingest, train, evaluate)\n"
            "    runs-on: ubuntu-latest\n"
            "    timeout-minutes: 20\n"
        ),
    ),
)


def apply_changes(template: Path, changes: Sequence[TemplateChange]) -> None:
    for change in changes:
        replace_once(template / change.template_file, change.newer, change.older)


def make_older(template: Path) -> None:
    """v1.0.0: the working tree without the practices of OLDER_CHANGES."""
    apply_changes(template, OLDER_CHANGES)


def change(name: str) -> TemplateChange:
    return next(item for item in OLDER_CHANGES if item.name == name)


# ---------------------------------------------------------------- synthetic migrations (never in the real copier.yml)

MIGRATE_HOOK = "{{ _copier_conf.src_path }}/hooks/migrate.py"


def before_migration(version: str, *args: str) -> str:
    """A `_migrations` entry (YAML flow text) running hooks/migrate.py in the `before` stage."""
    command = ", ".join(f'"{part}"' for part in ("{{ _copier_python }}", MIGRATE_HOOK, *args))
    return f"  - version: {version}\n    when: \"{{{{ _stage == 'before' }}}}\"\n    command: [{command}]\n"


# (i) a rendered file rename: params.yaml lived in config/ before v2.0.0.
OLD_PARAMS = TPL / "config" / "params.yaml.jinja"


def params_in_config_dir(template: Path) -> None:
    """v1.0.0 of the rename: the template rendered config/params.yaml."""
    move(template, PARAMS, OLD_PARAMS)


def params_rename_migration(template: Path) -> None:
    """v2.0.0 of the rename: params.yaml at the root, and the migration that `git mv`s it."""
    append_to_copier_yml(
        template,
        "_migrations:\n" + before_migration(V2, "rename-file", "config/params.yaml", "params.yaml"),
    )


# (ii) a renamed question: v1.0.0 asked `tracking`, v2.0.0 asks `experiment_tracking`.
def tracking_question(template: Path) -> None:
    """v1.0.0 of the question rename: `tracking` is asked and stored; the templates still read
    `experiment_tracking`, a derived (never stored) alias of it."""
    copier_yml = template / "copier.yml"
    replace_once(
        copier_yml,
        "experiment_tracking:\n  type: str\n  help: Where runs",
        "tracking:\n  type: str\n  help: Where runs",
    )
    replace_once(
        copier_yml,
        "# ---------------------------------------------------------------- serving\n",
        "experiment_tracking:\n"
        "  type: str\n"
        '  default: "{{ tracking }}"\n'
        "  when: false\n\n"
        "# ---------------------------------------------------------------- serving\n",
    )


def tracking_rename_migration(template: Path) -> None:
    append_to_copier_yml(
        template,
        "_migrations:\n"
        + before_migration(
            V2,
            "rename-answer",
            "tracking",
            "experiment_tracking",
            "--answers-file",
            "{{ _copier_conf.answers_file }}",
        ),
    )


# (iii) a new boolean question that makes an existing feature optional.
NEW_BOOL_QUESTION = "serve_api"
NEW_BOOL_DIR = TPL / "src" / "{{ package_name }}" / "{% if serve_api %}serving{% endif %}"


def serve_api_question(template: Path) -> None:
    """v2.0.0 adds `serve_api`; the serving package is rendered only when it is true. Its default
    is true, so a project updated with `--defaults` keeps the API it has."""
    replace_once(
        template / "copier.yml",
        "# ---------------------------------------------------------------- monitoring\n",
        f"{NEW_BOOL_QUESTION}:\n"
        "  type: bool\n"
        "  help: Serve the model over HTTP (the FastAPI app in src/<package>/serving/)?\n"
        "  # Existing projects have the API: the default keeps it, never switches it off.\n"
        '  default: "{{ true }}"\n\n'
        "# ---------------------------------------------------------------- monitoring\n",
    )
    move(template, SERVING_DIR, NEW_BOOL_DIR)


# ---------------------------------------------------------------- projects rendered from these versions

COPIER = VENV_BIN / "copier"

PACKAGE = "my_ml_project"
"""The package name of the default answers."""


def copy_version(template: Path, dst: Path, ref: str = V1, **answers: Any) -> Path:
    """`copier copy` of one release, non-interactively, as a user would (API)."""
    run_copy(
        str(template),
        dst,
        data=answers,
        vcs_ref=ref,
        defaults=True,
        quiet=True,
        unsafe=False,
        settings=Settings(),
    )
    return dst


def init_repo(project: Path, message: str = "Generate from copier-mlops") -> None:
    git(project, "init", "--quiet", "--initial-branch=main")
    commit_all(project, message)


def commit_all(project: Path, message: str) -> None:
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "--no-verify", "--message", message)


def copier_cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The `copier` command line in `project`, stdout and stderr together."""
    return run([COPIER, *args], project)


def cli_update(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`copier update --defaults --trust ARGS` in `project` (the template ships migrations, which
    need --trust); fails unless it exits 0."""
    trust = () if "--trust" in args else ("--trust",)
    result = copier_cli(project, "update", "--defaults", *trust, *args)
    assert result.returncode == 0, (
        f"copier update {' '.join(args)} exited {result.returncode}:\n{result.stdout}"
    )
    return result


def update_api(project: Path, **options: Any) -> None:
    """`run_update` as the update tests call it: defaults, overwrite, trusted, no user settings."""
    options = {"defaults": True, "overwrite": True, "unsafe": True, "quiet": True, **options}
    run_update(project, settings=Settings(), **options)


def working_files(project: Path) -> set[str]:
    """The project's files as POSIX paths, .git excluded."""
    return {path for path in project_files(project) if not path.startswith(".git/")}


_MARKER = re.compile(rb"^(<<<<<<<|>>>>>>>)( |$)", re.MULTILINE)


def conflict_markers(project: Path) -> list[str]:
    """Files (outside .git) holding a line that opens or closes a conflict (`<<<<<<<`, `>>>>>>>`)."""
    return sorted(
        relpath
        for relpath in working_files(project)
        if not (project / relpath).is_symlink() and _MARKER.search((project / relpath).read_bytes())
    )


def unmerged(project: Path) -> list[str]:
    return git(project, "diff", "--name-only", "--diff-filter=U").split()


def assert_merged_cleanly(project: Path) -> None:
    """No conflict markers, no .rej file, no unmerged index entry."""
    assert not conflict_markers(project), f"conflict markers in {conflict_markers(project)}"
    rejects = sorted(path for path in working_files(project) if path.endswith(".rej"))
    assert not rejects, f".rej files: {rejects}"
    assert not unmerged(project), f"unmerged: {unmerged(project)}"


# ---------------------------------------------------------------- the team's edits


def read_text(project: Path, relpath: str) -> str:
    return (project / relpath).read_text(encoding="utf-8")


def append_text(project: Path, relpath: str, text: str) -> None:
    path = project / relpath
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def replace_once_in(project: Path, relpath: str, old: str, new: str) -> None:
    replace_once(project / relpath, old, new)


FEATURE_FUNCTION = '''

def petal_area(petal_length: float, petal_width: float) -> float:
    """Petal area in square centimetres, as the team's features use it."""
    return petal_length * petal_width
'''
README_SECTION = "\n## Team\n\nOwned by the risk team; questions in #risk-ml.\n"
USER_FILE = "notes/decisions.md"


@dataclass
class Kept:
    """Text of the team's edits that every update must keep, by file."""

    texts: dict[str, list[str]] = field(default_factory=dict)

    def add(self, relpath: str, *texts: str) -> None:
        self.texts.setdefault(relpath, []).extend(texts)

    def assert_kept(self, project: Path) -> None:
        lost = [
            f"{relpath}: {text!r}"
            for relpath, texts in self.texts.items()
            for text in texts
            if not (project / relpath).is_file() or text not in read_text(project, relpath)
        ]
        assert not lost, "user edits lost:\n" + "\n".join(lost)


def edit_readme_and_features(project: Path, package: str) -> Kept:
    """Edits in files every answer renders, plus a file of the team's own."""
    kept = Kept()
    append_text(project, "README.md", README_SECTION)
    kept.add("README.md", README_SECTION.strip())
    append_text(project, f"src/{package}/features.py", FEATURE_FUNCTION)
    kept.add(f"src/{package}/features.py", FEATURE_FUNCTION.strip())
    (project / USER_FILE).parent.mkdir(parents=True, exist_ok=True)
    (project / USER_FILE).write_text("# Decisions\n\n- Keep the iris sample until Q3.\n", encoding="utf-8")
    kept.add(USER_FILE, "Keep the iris sample until Q3.")
    return kept


def edit_everywhere(project: Path, package: str) -> Kept:
    """The team's edits across the project, each away from the lines OLDER_CHANGES touch; every one
    passes the project's own `make check` (ruff, mypy --strict, pytest)."""
    kept = edit_readme_and_features(project, package)
    replace_once_in(project, "params.yaml", "seed: 42\n", "seed: 7\n")
    kept.add("params.yaml", "seed: 7\n")
    label = 'LABEL org.opencontainers.image.authors="risk-team@example.com"\n'
    replace_once_in(project, "Dockerfile", " AS runtime\n", f" AS runtime\n\n{label}")
    kept.add("Dockerfile", label)
    step = "      - name: Show the image\n        run: docker image ls\n"
    replace_once_in(
        project,
        ".github/workflows/ci.yml",
        "      - run: make docker-build\n",
        f"      - run: make docker-build\n{step}",
    )
    kept.add(".github/workflows/ci.yml", step)
    team_test = (
        '"""The team\'s own tests."""\n\n'
        f"from {package}.features import petal_area\n\n\n"
        "def test_petal_area() -> None:\n"
        "    assert petal_area(2.0, 0.5) == 1.0\n"
    )
    (project / "tests/test_team.py").write_text(team_test, encoding="utf-8")
    kept.add("tests/test_team.py", team_test)
    data_test = "\n\ndef test_team_expects_four_measurements() -> None:\n    assert len(FEATURES) == 4\n"
    append_text(project, "tests/test_data.py", data_test)
    kept.add("tests/test_data.py", data_test.strip())
    return kept


# ---------------------------------------------------------------- what a project holds once it runs

Fingerprint = dict[str, tuple[int, int, str]]


def fingerprint(project: Path, relpaths: Iterable[str]) -> Fingerprint:
    """Size, mtime and (below 4 MiB) SHA-256 of files: equal fingerprints mean untouched files."""
    result: Fingerprint = {}
    for relpath in relpaths:
        path = project / relpath
        stat = path.lstat()
        digest = ""
        if path.is_file() and not path.is_symlink() and stat.st_size < 4 << 20:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        result[relpath] = (stat.st_size, stat.st_mtime_ns, digest)
    return result


def ignored_files(project: Path) -> list[str]:
    """Every file git ignores in the project (listed one by one, inside ignored folders too)."""
    listing = git(project, "ls-files", "-z", "--others", "--ignored", "--exclude-standard")
    return sorted(name for name in listing.split("\0") if name)


def add_run_outputs(project: Path, venv_files: int = 20, artifacts: int = 1000) -> list[str]:
    """What `make setup` and `make pipeline` leave in a default project (DVC, MLflow), faked: a
    .venv, the data, the model, the MLflow store and `artifacts` files scattered over mlruns/
    folders. Where DVC tracks outputs, the .gitignore files DVC writes next to them are added too
    (the project commits those).

    Returns the fake files, all of which the project's .gitignore files must ignore.
    """
    files: dict[str, bytes] = {
        ".venv/pyvenv.cfg": b"home = /usr/bin\nversion_info = 3.12.1\n",
        "data/raw/iris.csv": b"sepal_length,sepal_width,petal_length,petal_width,species\n"
        + b"5.1,3.5,1.4,0.2,setosa\n" * 150,
        "data/processed/train.csv": b"sepal_length,species\n5.1,setosa\n",
        "data/processed/test.csv": b"sepal_length,species\n4.9,setosa\n",
        "models/model.joblib": bytes(range(256)) * 64,
        "models/metadata.json": b'{"data_version": "md5:0"}\n',
        "mlflow.db": b"SQLite format 3\x00" + bytes(4096),
    }
    for number in range(venv_files):
        files[f".venv/lib/python3.12/site-packages/pkg{number % 7}/mod{number}.py"] = b"VALUE = 1\n"
    _write(project, files)
    if (project / "dvc.yaml").is_file():
        # What `dvc repro` writes for the outputs it caches (dvc.yaml `outs`).
        (project / "data/raw/.gitignore").write_text("/iris.csv\n", encoding="utf-8")
        (project / "data/processed/.gitignore").write_text("/train.csv\n/test.csv\n", encoding="utf-8")
        (project / "models/.gitignore").write_text("/model.joblib\n/metadata.json\n", encoding="utf-8")
    return sorted([*files, *scatter_artifacts(project, artifacts)])


def scatter_artifacts(project: Path, count: int = 1000) -> list[str]:
    """`count` small MLflow-like artifact files spread over mlruns/ folders (which MLflow projects
    ignore); returns their paths."""
    files = {
        f"mlruns/{n % 3}/run{n % 97:03d}/artifacts/part-{n:04d}.txt": f"artifact {n}\n".encode()
        for n in range(count)
    }
    _write(project, files)
    return sorted(files)


def _write(project: Path, files: dict[str, bytes]) -> None:
    for relpath, content in files.items():
        path = project / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
