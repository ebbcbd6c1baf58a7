"""GCS end to end on a real local server (gcp-storage-emulator): with and without DVC."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e import store_flow
from tests.e2e.projects import Project
from tests.e2e.stores import Store, gcs_emulator

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    with gcs_emulator(tmp_path_factory.mktemp("gcs-key")) as running:
        yield running


@pytest.fixture(scope="module")
def dvc_project(store: Store, template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Project:
    return store_flow.make_project(store, template_repo, tmp_path_factory.mktemp("gcs"), dvc=True)


def test_gcs_dvc_push_pull_reproduces(dvc_project: Project, store: Store) -> None:
    store_flow.check_dvc_round_trip(dvc_project)


def test_gcs_failures_are_clear_and_keep_outputs(dvc_project: Project, store: Store, tmp_path: Path) -> None:
    messages = store_flow.check_failures(dvc_project, store, tmp_path)
    assert "gcloud auth application-default login" in messages["wrong credentials"], messages


def test_gcs_without_dvc_reads_and_writes_through_storage(
    store: Store, template_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    project = store_flow.make_project(
        store, template_repo, tmp_path_factory.mktemp("gcs"), dvc=False, experiment_tracking="none"
    )
    store_flow.check_plain_round_trip(project)
