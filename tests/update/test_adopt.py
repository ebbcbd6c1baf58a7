"""Adopting the template in a repository that was not generated from it: docs/adopting.md, run as
written (its `<!-- adopt: NAME -->` bash blocks) on a synthetic existing ML repository."""

from __future__ import annotations

import os
import re
from pathlib import Path

from template_spec import TEMPLATE_ROOT
from tests.support.process import git, run
from tests.support.snapshot import read_answers
from tests.support.tools import VENV_BIN
from tests.support.versions import (
    V1,
    V2,
    assert_merged_cleanly,
    build_versions,
    change,
    conflict_markers,
    make_older,
    unmerged,
)

DOC = TEMPLATE_ROOT / "docs" / "adopting.md"
BRANCH = "adopt-copier-mlops"

# The team's repository before adoption.
EXISTING = {
    "src/legacy_model/__init__.py": '"""Credit risk scoring (pre-template)."""\n',
    "src/legacy_model/train.py": (
        "import pickle\n\nfrom sklearn.linear_model import LogisticRegression\n\n\n"
        "def train(x, y):\n    model = LogisticRegression().fit(x, y)\n"
        "    with open('model.pkl', 'wb') as out:\n        pickle.dump(model, out)\n"
    ),
    "README.md": "# Credit Risk\n\nScores loan applications. Owned by the risk team.\n",
    ".github/workflows/ci.yml": (
        "name: Legacy CI\non: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - uses: actions/checkout@v4\n      - run: pip install -r requirements.txt\n"
    ),
    "requirements.txt": "scikit-learn==1.5.2\npandas==2.2.3\n",
    ".gitignore": "*.pkl\n.venv/\n",
}
KEPT_AS_IS = [
    "src/legacy_model/__init__.py",
    "src/legacy_model/train.py",
    "README.md",
    ".github/workflows/ci.yml",
    "requirements.txt",
]
"""Files the procedure leaves untouched: skipped (README, CI) or unknown to the template."""


def doc_block(name: str) -> str:
    found = re.findall(
        rf"<!-- adopt: {name} -->\n```bash\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL
    )
    assert len(found) == 1, (
        f"{DOC.name}: expected one `<!-- adopt: {name} -->` bash block, found {len(found)}"
    )
    return str(found[0])


def run_block(repo: Path, name: str, template: Path) -> str:
    """A block of the doc, in `repo`, with `copier` on PATH and $TEMPLATE the template's path."""
    result = run(
        ["bash", "-euo", "pipefail", "-c", doc_block(name)],
        repo,
        {"TEMPLATE": str(template), "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"},
    )
    assert result.returncode == 0, f"adopting.md block {name!r} exited {result.returncode}:\n{result.stdout}"
    return result.stdout


def existing_repository(path: Path) -> Path:
    for relpath, content in EXISTING.items():
        (path / relpath).parent.mkdir(parents=True, exist_ok=True)
        (path / relpath).write_text(content, encoding="utf-8")
    git(path, "init", "--quiet", "--initial-branch=main")
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "--message", "Credit risk model")
    return path


def assert_kept(repo: Path) -> None:
    changed = [path for path in KEPT_AS_IS if (repo / path).read_text(encoding="utf-8") != EXISTING[path]]
    assert not changed, f"the team's files changed: {changed}"


def test_adopt_then_update(tmp_path: Path) -> None:
    template = build_versions(tmp_path / "template", make_older)
    v2_commit = git(template, "rev-parse", V2).strip()
    git(template, "tag", "--delete", V2)  # at adoption time, v1.0.0 is the newest release
    repo = existing_repository(tmp_path / "credit-risk")

    # 1. Render the template on a branch.
    run_block(repo, "copy", template)
    status = git(repo, "status", "--porcelain")
    assert git(repo, "branch", "--show-current").strip() == BRANCH
    assert_kept(repo)
    assert " M .gitignore\n" in status, status  # the one file of theirs the template rewrote
    assert "README.md" not in status and ".github/workflows/ci.yml" not in status, status
    assert (repo / "src/credit_risk/train.py").is_file() and (repo / "Makefile").is_file()

    # 2. Merge by hand: their .gitignore entries go back into the template's.
    gitignore = repo / ".gitignore"
    gitignore.write_text(
        gitignore.read_text(encoding="utf-8") + "\n# Legacy model\n*.pkl\n", encoding="utf-8"
    )

    # 3. Commit; the answers file is part of it.
    run_block(repo, "commit", template)
    assert git(repo, "status", "--porcelain") == ""
    answers = read_answers(repo)
    assert answers["_commit"] == V1
    assert answers["_src_path"] == str(template) and Path(answers["_src_path"]).is_absolute()
    assert answers["project_name"] == "Credit Risk" and answers["package_name"] == "credit_risk"
    git(repo, "switch", "--quiet", "main")
    git(repo, "merge", "--quiet", "--ff-only", BRANCH)

    # 4. A new release appears; without the --skip options, copier merges its README into theirs.
    git(template, "tag", V2, v2_commit)
    bare = run([VENV_BIN / "copier", "update", "--defaults", "--trust"], repo, merge_stderr=False)
    assert bare.returncode == 0, bare.stderr
    assert "README.md" in unmerged(repo) and "README.md" in conflict_markers(repo)
    git(repo, "reset", "--quiet", "--hard")
    git(repo, "clean", "--quiet", "-d", "--force")

    # ... the documented update keeps their files and brings the release.
    out = run_block(repo, "update", template)
    assert "Updating to template version 2.0.0" in out, out
    assert_merged_cleanly(repo)
    assert read_answers(repo)["_commit"] == V2
    assert change("Makefile clean target").arrived in (repo / "Makefile").read_text(encoding="utf-8")
    assert change("Dockerfile OMP_NUM_THREADS").arrived in (repo / "Dockerfile").read_text(encoding="utf-8")
    assert_kept(repo)
    assert "# Legacy model\n*.pkl\n" in gitignore.read_text(encoding="utf-8")
