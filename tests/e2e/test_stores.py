"""Object storage end to end on real local servers, with and without DVC, one class per backend:

- S3: moto's server, with IAM authentication (the DVC project is rendered with the endpoint as an
  answer, as for MinIO: .dvc/config and the storage layer carry it);
- GCS: gcp-storage-emulator;
- Azure: Azurite, which checks request signatures (skipped with the install command when missing).

A backend's store and DVC project are built once per class and shared by its tests; scripts/test.sh
runs the end-to-end tests with `--dist loadscope`, which keeps each class on one worker and spreads
the classes (and the other end-to-end files) over both.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import ClassVar

import pytest

from tests.e2e import store_flow
from tests.e2e.stores import Store, azurite_blob, gcs_emulator, moto_s3
from tests.support.projects import Project

pytestmark = pytest.mark.e2e


class StoreFlows:
    """The flows every backend passes; a subclass names its backend and what its messages say."""

    backend: ClassVar[str]
    credentials_hint: ClassVar[str]
    """Where the project's message for refused credentials tells the user to look."""

    @classmethod
    def start(cls, workdir: Path) -> AbstractContextManager[Store]:
        raise NotImplementedError

    @classmethod
    def dvc_answers(cls, store: Store) -> dict[str, str]:
        """Answers the DVC project is rendered with, beyond the storage backend."""
        return {}

    # Class-scoped fixtures are classmethods: they run once for all the tests of a backend.
    @pytest.fixture(scope="class")
    @classmethod
    def store(cls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
        with cls.start(tmp_path_factory.mktemp(f"{cls.backend}-store")) as running:
            yield running

    @pytest.fixture(scope="class")
    @classmethod
    def dvc_project(
        cls, store: Store, template_repo: Path, tmp_path_factory: pytest.TempPathFactory
    ) -> Project:
        folder = tmp_path_factory.mktemp(cls.backend)
        return store_flow.make_project(store, template_repo, folder, dvc=True, **cls.dvc_answers(store))

    def test_dvc_push_pull_reproduces(self, dvc_project: Project) -> None:
        store_flow.check_dvc_round_trip(dvc_project)

    def test_failures_are_clear_and_keep_outputs(
        self, dvc_project: Project, store: Store, tmp_path: Path
    ) -> None:
        messages = store_flow.check_failures(dvc_project, store, tmp_path)
        assert self.credentials_hint in messages["wrong credentials"], messages

    def test_without_dvc_reads_and_writes_through_storage(
        self, store: Store, template_repo: Path, tmp_path_factory: pytest.TempPathFactory
    ) -> None:
        folder = tmp_path_factory.mktemp(self.backend)
        project = store_flow.make_project(store, template_repo, folder, dvc=False, experiment_tracking="none")
        store_flow.check_plain_round_trip(project)


class TestS3(StoreFlows):
    backend = "s3"
    credentials_hint = "AWS_PROFILE"

    @classmethod
    def start(cls, workdir: Path) -> AbstractContextManager[Store]:
        return moto_s3(store_flow.BUCKET, store_flow.PREFIX)

    @classmethod
    def dvc_answers(cls, store: Store) -> dict[str, str]:
        return {"s3_endpoint_url": store.endpoint}

    def test_missing_credentials_are_named(self, dvc_project: Project) -> None:
        """No key, no profile, no instance role: the chain finds nothing, and the message says where
        to look."""
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
        assert "Unable to locate credentials" in result.stdout and "AWS_PROFILE" in result.stdout, (
            result.stdout
        )
        assert store_flow.local_outputs(dvc_project) == before


class TestGcs(StoreFlows):
    backend = "gcs"
    credentials_hint = "gcloud auth application-default login"

    @classmethod
    def start(cls, workdir: Path) -> AbstractContextManager[Store]:
        return gcs_emulator(workdir)


class TestAzure(StoreFlows):
    backend = "azure"
    credentials_hint = "AZURE_STORAGE_CONNECTION_STRING"

    @classmethod
    def start(cls, workdir: Path) -> AbstractContextManager[Store]:
        return azurite_blob(workdir)
