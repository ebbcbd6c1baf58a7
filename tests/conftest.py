"""Isolation for the whole suite, and the template snapshot every render starts from."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.process import GIT_ENV
from tests.support.snapshot import make_template_snapshot


@pytest.fixture(scope="session", autouse=True)
def isolated_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Git without user/system config and with a fixed identity; copier without user settings.

    HOME is left alone: tools keep their caches, and nothing here writes to it.
    """
    missing_settings = tmp_path_factory.mktemp("copier-settings") / "absent-settings.yml"
    with pytest.MonkeyPatch.context() as patch:
        for name, value in GIT_ENV.items():
            patch.setenv(name, value)
        patch.setenv("COPIER_SETTINGS_PATH", str(missing_settings))
        yield


@pytest.fixture(scope="session")
def template_repo(isolated_environment: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A committed, tagged (v999.0.0) snapshot of the working tree, uncommitted edits included."""
    return make_template_snapshot(tmp_path_factory.mktemp("template") / "copier-mlops")
