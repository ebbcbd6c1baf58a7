"""Azure Blob Storage end to end on a real local server (Azurite, which checks request signatures): with and without DVC."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e import store_flow
from tests.e2e.projects import Project
from tests.e2e.stores import Store, azurite_blob

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    with azurite_blob(tmp_path_factory.mktemp("azurite")) as running:
        yield running


@pytest.fixture(scope="module")
def dvc_project(store: Store, template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Project:
    return store_flow.make_project(store, template_repo, tmp_path_factory.mktemp("azure"), dvc=True)


def test_azure_dvc_push_pull_reproduces(dvc_project: Project, store: Store) -> None:
    store_flow.check_dvc_round_trip(dvc_project)


def test_azure_failures_are_clear_and_keep_outputs(
    dvc_project: Project, store: Store, tmp_path: Path
) -> None:
    messages = store_flow.check_failures(dvc_project, store, tmp_path)
    assert "AZURE_STORAGE_CONNECTION_STRING" in messages["wrong credentials"], messages


def test_azure_without_dvc_reads_and_writes_through_storage(
    store: Store, template_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    project = store_flow.make_project(
        store, template_repo, tmp_path_factory.mktemp("azure"), dvc=False, experiment_tracking="none"
    )
    store_flow.check_plain_round_trip(project)
