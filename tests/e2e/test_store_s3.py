"""S3 end to end on a real local server (moto, with IAM authentication): with and without DVC."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e import store_flow
from tests.e2e.projects import Project
from tests.e2e.stores import Store, moto_s3

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def store() -> Iterator[Store]:
    with moto_s3(store_flow.BUCKET, store_flow.PREFIX) as running:
        yield running


@pytest.fixture(scope="module")
def dvc_project(store: Store, template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Project:
    # Rendered with the endpoint as an answer, as for MinIO: .dvc/config and the storage layer carry it.
    return store_flow.make_project(
        store, template_repo, tmp_path_factory.mktemp("s3"), dvc=True, s3_endpoint_url=store.endpoint
    )


def test_s3_dvc_push_pull_reproduces(dvc_project: Project, store: Store) -> None:
    store_flow.check_dvc_round_trip(dvc_project)


def test_s3_failures_are_clear_and_keep_outputs(dvc_project: Project, store: Store, tmp_path: Path) -> None:
    messages = store_flow.check_failures(dvc_project, store, tmp_path)
    assert "AWS_PROFILE" in messages["wrong credentials"], messages


def test_s3_missing_credentials_are_named(dvc_project: Project) -> None:
    """No key, no profile, no instance role: the chain finds nothing, and the message says where to look."""
    before = store_flow.local_outputs(dvc_project)
    nothing = {
        "AWS_ACCESS_KEY_ID": "",
        "AWS_SECRET_ACCESS_KEY": "",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
        "AWS_CONFIG_FILE": "/nonexistent/config",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    result = dvc_project.run(
        f".venv/bin/{store_flow.PACKAGE}", "ingest", timeout=store_flow.FAILURE_TIMEOUT, env=nothing
    )
    assert result.returncode == 2, result.stdout[-3000:]
    assert "Unable to locate credentials" in result.stdout and "AWS_PROFILE" in result.stdout, result.stdout
    assert store_flow.local_outputs(dvc_project) == before


def test_s3_without_dvc_reads_and_writes_through_storage(
    store: Store, template_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    project = store_flow.make_project(
        store, template_repo, tmp_path_factory.mktemp("s3"), dvc=False, experiment_tracking="none"
    )
    store_flow.check_plain_round_trip(project)
