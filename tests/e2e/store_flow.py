"""End-to-end flows of a project whose data lives in an object store, shared by the three backends.

With DVC: the pipeline reads its source from the bucket, `dvc push` sends data and model to the DVC
remote in the bucket, the local cache and outputs are wiped, `dvc pull` restores them byte for byte and
a forced `dvc repro` reproduces the same metrics. Without DVC: every data file is read and written
through the storage layer in the bucket. Failure cases: wrong credentials, a missing bucket, an
unreachable endpoint and a malformed source file, each with a clear message, exit status 2, untouched
outputs, and a bounded run time.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import yaml

from tests.e2e.smoke import SETOSA
from tests.e2e.stores import Store
from tests.support.process import free_port, http, post_json, serving
from tests.support.projects import Project, init_project
from tests.support.snapshot import render

BUCKET = "team-data"
PREFIX = "churn"  # each project gets its own folder under it: churn/dvc, churn/plain
PACKAGE = "store_project"
# Upper bound of one failing command: the slowest store client gives up after its own retries
# (azure-storage-blob backs off for about 85 s against a closed port).
FAILURE_TIMEOUT = 240


def store_url(project: Project) -> str:
    """The project's folder in the store, as rendered into params.yaml (data.source = <folder>/source/...)."""
    source = str(params(project)["data"]["source"])
    assert "/source/" in source, source
    return source.rsplit("/source/", 1)[0]


def make_project(store: Store, template_repo: Path, folder: Path, *, dvc: bool, **answers: Any) -> Project:
    """Render (data in the store), git commit, `make setup`, create the bucket, upload the sample."""
    path = render(
        template_repo,
        folder / f"{store.backend}-{'dvc' if dvc else 'plain'}",
        project_name="Store Project",
        data_storage=store.backend,
        storage_bucket=BUCKET,
        storage_prefix=f"{PREFIX}/{'dvc' if dvc else 'plain'}",
        data_versioning="dvc" if dvc else "none",
        deployment_target="none",
        ci_provider="none",
        docs_site=False,
        pre_commit=False,
        **answers,
    )
    project = init_project(path, PACKAGE, "3.12")
    project.env.update(store.env)
    if store.backend == "s3" and not answers.get("s3_endpoint_url"):
        project.env["AWS_ENDPOINT_URL"] = store.endpoint  # not rendered: the standard variable then
    if BUCKET not in store.buckets:
        create_bucket(project, BUCKET)
    out = project.ok("make", "data-seed", timeout=300)
    scheme = {"s3": "s3", "gcs": "gs", "azure": "az"}[store.backend]
    assert store_url(project).startswith(f"{scheme}://{BUCKET}/{PREFIX}/"), store_url(project)
    assert f"uploaded the bundled sample (150 rows) to {store_url(project)}/source/iris.csv" in out, out
    again = project.run("make", "data-seed", timeout=300)
    assert again.returncode != 0 and "already exists; pass --overwrite" in again.stdout, again.stdout
    return project


def create_bucket(project: Project, bucket: str) -> None:
    """Create the bucket with the project's own filesystem and options (as a user's script would)."""
    project.python(
        "import fsspec\n"
        f"from {PACKAGE} import storage\n"
        f"url = {store_scheme_url(project)!r}\n"
        "fs, _ = fsspec.core.url_to_fs(url, **storage.storage_options(storage.protocol(url)))\n"
        f"fs.exists({bucket!r}) or fs.mkdir({bucket!r})\n"
        f"assert fs.exists({bucket!r})\n"
    )


def store_scheme_url(project: Project) -> str:
    source = str(params(project)["data"]["source"])
    return source.split("://", 1)[0] + f"://{BUCKET}"


def params(project: Project) -> dict[str, Any]:
    data = yaml.safe_load((project.path / "params.yaml").read_text())
    assert isinstance(data, dict)
    return data


def remote_listing(project: Project, url: str) -> dict[str, str]:
    """{relative path: md5} of every object under `url`, read through the project's storage layer."""
    code = (
        "import fsspec, hashlib, json\n"
        f"from {PACKAGE} import storage\n"
        f"url = {url!r}\n"
        "fs, root = fsspec.core.url_to_fs(url, **storage.storage_options(storage.protocol(url)))\n"
        "out = {p[len(root):].lstrip('/'): hashlib.md5(fs.cat_file(p)).hexdigest() for p in fs.find(root)}\n"
        "print(json.dumps(out))\n"
    )
    listing = json.loads(project.python(code).strip().splitlines()[-1])
    assert isinstance(listing, dict)
    return {str(k): str(v) for k, v in listing.items()}


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()


def local_outputs(project: Project) -> dict[str, str]:
    """{path: md5} of every pipeline output on disk (data, models, reports)."""
    files = {}
    for folder in ("data", "models", "reports"):
        for path in sorted((project.path / folder).rglob("*")):
            if path.is_file() and path.name != ".gitignore":
                files[str(path.relative_to(project.path))] = md5(path)
    return files


# ---------------------------------------------------------------- with DVC


def check_dvc_round_trip(project: Project) -> None:
    out = project.ok("make", "pipeline", timeout=900)
    assert "Running stage 'ingest'" in out and "Running stage 'train'" in out, out
    lock = yaml.safe_load((project.path / "dvc.lock").read_text())
    train_md5 = next(
        o["md5"] for o in lock["stages"]["ingest"]["outs"] if o["path"] == "data/processed/train.csv"
    )
    metadata = json.loads((project.path / "models/metadata.json").read_text())
    assert metadata["data_version"] == f"md5:{train_md5}", (metadata["data_version"], train_md5)
    assert metadata["data_source"] == f"{store_url(project)}/source/iris.csv"
    card = (project.path / "models/model_card.md").read_text()
    assert f"`md5:{train_md5}`" in card and f"`{store_url(project)}/source/iris.csv`" in card, card
    check_mlflow_lineage(project, metadata)
    metrics = (project.path / "reports/metrics.json").read_text()

    # The source was read from the bucket: a second repro re-reads it, and skips what did not change.
    again = dvc(project, "repro")
    assert "Running stage 'ingest'" in again and "Stage 'train' didn't change, skipping" in again, again

    tracked = {
        "data/raw/iris.csv",
        "data/processed/train.csv",
        "data/processed/test.csv",
        "models/model.onnx",
        "models/metadata.json",
    }
    before = {name: md5(project.path / name) for name in tracked}
    pushed = project.ok("make", "data-push", timeout=600)
    assert "5 files pushed" in pushed, pushed
    remote = remote_listing(project, f"{store_url(project)}/dvc")
    assert set(before.values()) <= set(remote.values()), (before, remote)

    # Wipe the cache and every tracked output, then restore them from the bucket.
    for name in tracked:
        (project.path / name).unlink()
    cache = project.path / ".dvc" / "cache"
    assert cache.is_dir()
    shutil.rmtree(cache)
    pulled = project.ok("make", "data-pull", timeout=600)
    assert "5 files fetched" in pulled, pulled
    assert {name: md5(project.path / name) for name in tracked} == before

    # Retrain from the pulled data: the same model and the same metrics.
    dvc(project, "repro", "--force")
    assert (project.path / "reports/metrics.json").read_text() == metrics
    assert md5(project.path / "models/model.onnx") == before["models/model.onnx"]


def dvc(project: Project, *args: str) -> str:
    """DVC from the project's environment, as `uv run dvc` would (stages call the package's script)."""
    env = {"PATH": f"{project.path / '.venv' / 'bin'}{os.pathsep}{project.env.get('PATH', '')}"}
    result = project.run(str(project.path / ".venv" / "bin" / "dvc"), *args, timeout=900, env=env)
    assert result.returncode == 0, (
        f"dvc {' '.join(args)} exited {result.returncode}:\n{result.stdout[-6000:]}"
    )
    return result.stdout


def check_mlflow_lineage(project: Project, metadata: dict[str, Any]) -> None:
    tags = project.python(
        "import json, mlflow\n"
        "mlflow.set_tracking_uri('sqlite:///mlflow.db')\n"
        f"run = mlflow.get_run({metadata['mlflow_run_id']!r})\n"
        "print(json.dumps(run.data.tags))\n"
    )
    recorded = json.loads(tags.strip().splitlines()[-1])
    assert recorded["data_version"] == metadata["data_version"], recorded
    assert recorded["data_source"] == metadata["data_source"], recorded


# ---------------------------------------------------------------- without DVC


def check_plain_round_trip(project: Project) -> None:
    project.ok("make", "pipeline", timeout=900)
    root = store_url(project)
    listing = remote_listing(project, root)
    expected = {"source/iris.csv", "data/raw/iris.csv", "data/processed/train.csv", "data/processed/test.csv"}
    assert set(listing) == expected, listing
    assert listing["data/raw/iris.csv"] == listing["source/iris.csv"], "raw copy differs from the source"
    assert not (project.path / "data").exists(), "without DVC, data lives in the bucket only"
    metadata = json.loads((project.path / "models/metadata.json").read_text())
    assert metadata["data_version"] == f"md5:{listing['data/processed/train.csv']}", metadata
    version = metadata["data_object_version"]
    assert isinstance(version, str) and version.split(":", 1)[0] in {"version_id", "generation", "etag"}, (
        version
    )
    card = (project.path / "models/model_card.md").read_text()
    assert f"| Training data object version | `{version}` |" in card, card
    assert json.loads((project.path / "reports/metrics.json").read_text())["accuracy"] >= 0.8

    # The API loads its model from the bucket when MODEL_DIR is a URL (the image carries the backend).
    check_serving_from_bucket(project, f"{root}/models")

    # The drift job reads the reference and current data from the bucket too.
    drift = project.ok("make", "drift", timeout=600)
    assert "no dataset drift" in drift, drift

    # A malformed source stops ingest with the contract's message; the bucket's data stays as it was.
    listing = remote_listing(project, root)
    upload(project, f"{root}/source/iris.csv", malformed_csv())
    failed = project.run("make", "pipeline", timeout=FAILURE_TIMEOUT)
    assert failed.returncode != 0 and "petal_width" in failed.stdout, failed.stdout
    after = remote_listing(project, root)
    assert after["source/iris.csv"] != listing["source/iris.csv"], "the malformed file was not uploaded"
    assert {k: v for k, v in after.items() if k != "source/iris.csv"} == {
        k: v for k, v in listing.items() if k != "source/iris.csv"
    }, "a failed run changed data in the bucket"


def check_serving_from_bucket(project: Project, model_url: str) -> None:
    for name in ("model.onnx", "metadata.json"):
        upload(project, f"{model_url}/{name}", (project.path / "models" / name).read_bytes())
    version = json.loads((project.path / "models/metadata.json").read_text())["model_version"]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**project.env, "MODEL_DIR": model_url, "HOST": "127.0.0.1", "PORT": str(port)}
    with serving([f".venv/bin/{PACKAGE}", "serve"], f"{base}/ready", cwd=project.path, base_env=env):
        assert http("GET", f"{base}/ready").json()["model_version"] == version
        reply = post_json(f"{base}/predict", {"instances": [SETOSA]})
        assert (reply.status, reply.json()) == (200, {"predictions": ["setosa"], "model_version": version})


def upload(project: Project, url: str, data: bytes) -> None:
    project.python(f"from {PACKAGE} import storage\nstorage.write_bytes({url!r}, {data!r})\n")


def malformed_csv() -> bytes:
    """The contract's columns, with a negative width in row 1 and a missing value in row 2."""
    return (
        b"sepal_length,sepal_width,petal_length,petal_width,species\n"
        b"5.1,3.5,1.4,0.2,setosa\n"
        b"4.9,3.0,1.4,-7.0,setosa\n"
        b"4.7,3.2,1.3,,setosa\n"
    )


# ---------------------------------------------------------------- failures


def check_failures(project: Project, store: Store, tmp: Path) -> dict[str, str]:
    """Each failure: exit 2, a message naming the cause, outputs untouched. Returns the messages."""
    project.ok("make", "pipeline", timeout=900)  # outputs to protect (a no-op when up to date)
    before = local_outputs(project)
    assert before, "no outputs to protect"
    url = f"{store_url(project)}/source/iris.csv"
    messages: dict[str, str] = {}

    def attempt(name: str, expected: str, env: dict[str, str], *args: str, command: str = "ingest") -> None:
        started = time.monotonic()
        argv = [f".venv/bin/{PACKAGE}", *args, *command.split()]
        result = project.run(*argv, timeout=FAILURE_TIMEOUT, env=env)
        print(f"{store.backend} {name}: exit {result.returncode} in {time.monotonic() - started:.1f}s")
        assert result.returncode == 2, f"{name}: exit {result.returncode}:\n{result.stdout[-3000:]}"
        error = result.stdout[result.stdout.rfind("error: ") :].strip() if "error: " in result.stdout else ""
        assert expected in error, f"{name}: {result.stdout[-3000:]}"
        assert "Traceback" not in result.stdout, f"{name}: a stack trace reached the user:\n{result.stdout}"
        assert local_outputs(project) == before, f"{name}: outputs changed"
        messages[name] = error

    # Wrong credentials.
    expected = store.bad_credentials_error
    attempt("wrong credentials", expected, store.bad_credentials_env)
    # Writes are refused the same way (the upload is the only write that does not follow a read).
    attempt(
        "wrong credentials on write",
        expected,
        store.bad_credentials_env,
        command=f"upload-sample --to {url}.copy",
    )

    # A missing bucket.
    missing = tmp / "missing-bucket.yaml"
    data = params(project)
    data["data"]["source"] = url.replace(f"://{BUCKET}/", "://no-such-bucket/")
    missing.write_text(yaml.safe_dump(data))
    attempt("missing bucket", store.missing_bucket_error, {}, "--params", str(missing))

    # An unreachable endpoint (a closed port): the client's bounded retries end in an error.
    attempt("unreachable endpoint", "onnect", store.unreachable_env())

    # A malformed source file: the data contract names the column and the rows.
    upload(project, url, malformed_csv())
    try:
        attempt("malformed data", "petal_width", {})
        # Through DVC too: the stage fails and DVC keeps the previous outputs (persist: true).
        result = project.run("make", "pipeline", timeout=FAILURE_TIMEOUT)
        assert result.returncode != 0 and "petal_width" in result.stdout, result.stdout
        assert local_outputs(project) == before, "dvc repro changed the outputs of a failed run"
    finally:
        project.ok(f".venv/bin/{PACKAGE}", "upload-sample", "--overwrite", timeout=300)
    return messages
